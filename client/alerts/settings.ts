import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { AlertReceiverConfig } from '../../config/alerts';
import type { LoadedRunbook } from '../../config/load';
import { resolvePublicReference, resolveSecret } from '../../config/secrets';

/** The receiver's settings, with the runbook file they came from (its folder resolves relative `file:` paths). */
export interface ReceiverSettings {
  config: AlertReceiverConfig;
  file: string;
}

/**
 * The receiver's settings: the `alerts.receiver` section of the runbooks that have one. Runbooks that give it must
 * agree; none giving it is an error naming the files read.
 */
export function receiverSettings(runbooks: Iterable<LoadedRunbook>): ReceiverSettings {
  const all = [...runbooks];
  const given = all.filter((r) => r.runbook.alerts?.receiver !== undefined);
  const first = given[0];
  if (!first)
    throw new Error(
      `no runbook has an alerts.receiver section (read: ${all.map((r) => r.file).join(', ') || 'none'}): give the receiver's port and token in one`,
    );
  const other = given.find(
    (r) => !isDeepStrictEqual(r.runbook.alerts!.receiver, first.runbook.alerts!.receiver),
  );
  if (other)
    throw new Error(
      `alerts.receiver differs between ${first.file} and ${other.file}: the one receiver has one set of settings; give it in one runbook only`,
    );
  return { config: first.runbook.alerts!.receiver!, file: first.file };
}

/** The secrets the receiver needs, read now: the token, and the TLS files when mutual TLS is on. */
export function readReceiverSecrets(settings: ReceiverSettings): {
  token: string;
  tls?: { cert: string; key: string; ca: string };
} {
  const dir = path.dirname(settings.file);
  const { token, tls } = settings.config;
  return {
    token: resolveSecret(token, dir),
    ...(tls
      ? {
          tls: {
            cert: resolvePublicReference(tls.cert, dir),
            key: resolveSecret(tls.key, dir),
            ca: resolvePublicReference(tls.clientCa, dir),
          },
        }
      : {}),
  };
}
