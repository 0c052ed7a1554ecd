import type { TrafficState } from '../../activities/traffic';
import type { Check } from './check';

/** Judges the traffic switch: its API answers and traffic goes to the primary site, live. */
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
  ];
}
