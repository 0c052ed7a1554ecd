import { Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';

/**
 * Connection settings follow Temporal's standard environment configuration:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH, TEMPORAL_API_KEY,
 * TEMPORAL_PROFILE and the TOML config file. Unset, they point at the local dev server.
 */
export interface TemporalOverrides {
  /** host:port of the frontend, over TEMPORAL_ADDRESS (drctl --address). */
  address?: string;
  /** over TEMPORAL_NAMESPACE (drctl --namespace). */
  namespace?: string;
}

export function temporalSettings(overrides: TemporalOverrides = {}): {
  address: string;
  namespace: string;
  connectionOptions: ReturnType<typeof loadClientConnectConfig>['connectionOptions'];
} {
  const config = loadClientConnectConfig();
  const address = overrides.address ?? config.connectionOptions.address ?? 'localhost:7233';
  return {
    address,
    namespace: overrides.namespace ?? config.namespace ?? 'default',
    connectionOptions: { ...config.connectionOptions, address },
  };
}

/**
 * Where humans open the Temporal UI, for links printed by the CLI: `uiAddress` (drctl --ui-address), else
 * TEMPORAL_UI_URL, else, for a Temporal on a loopback address, the UI a dev server serves beside it (`temporal server
 * start-dev` and the local stack put it on the frontend's port + 1000, e.g. 8233 beside 7233); else undefined.
 */
export function temporalUiUrl(from: { uiAddress?: string; address?: string } = {}): string | undefined {
  const configured = from.uiAddress || process.env.TEMPORAL_UI_URL;
  if (configured) return configured.replace(/\/+$/, '');
  const match = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]):(\d+)$/.exec(from.address ?? '');
  if (!match) return undefined;
  return `http://${match[1]}:${Number(match[2]) + 1000}`;
}

/** Connects to Temporal; a failure names the address it tried. */
export async function connectClient(
  overrides: TemporalOverrides = {},
): Promise<{ connection: Connection; namespace: string; address: string }> {
  const { connectionOptions, namespace, address } = temporalSettings(overrides);
  try {
    // The client and the worker take the same option shape apart from the worker-only fields.
    const connection = await Connection.connect(
      connectionOptions as Parameters<typeof Connection.connect>[0],
    );
    return { connection, namespace, address };
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${address}: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
}
