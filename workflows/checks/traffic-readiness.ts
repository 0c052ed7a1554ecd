import type { TrafficState } from '../../activities/traffic';
import type { Check } from './check';

/**
 * Judges the traffic switch: its API answers and traffic goes to the primary site, live; and what the provider says
 * of the switch itself (for HAProxy, each node's `state-saved`: a reload would keep where traffic goes).
 */
export function evaluateTrafficReadiness(primarySite: string, state: TrafficState): Check[] {
  const onPrimary = state.site === primarySite && state.live !== false;
  return [
    {
      name: 'traffic.target',
      ok: onPrimary,
      sentence: onPrimary
        ? `traffic goes to the primary site ${primarySite}: ${state.description}`
        : `traffic does not go (only, or live) to the primary site ${primarySite}: ${state.description}`,
    },
    ...(state.checks ?? []).map((c) => ({ name: `traffic.${c.name}`, ok: c.ok, sentence: c.sentence })),
  ];
}
