import { Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';

/**
 * Connection settings follow Temporal's standard environment configuration:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH, TEMPORAL_API_KEY,
 * TEMPORAL_PROFILE and the TOML config file. Unset, they point at the local dev server.
 */
export function temporalSettings(): {
  address: string;
  namespace: string;
  connectionOptions: ReturnType<typeof loadClientConnectConfig>['connectionOptions'];
} {
  const config = loadClientConnectConfig();
  const address = config.connectionOptions.address ?? 'localhost:7233';
  return {
    address,
    namespace: config.namespace ?? 'default',
    connectionOptions: { ...config.connectionOptions, address },
  };
}

/** Where humans open the Temporal UI, for links printed by the CLI: TEMPORAL_UI_URL, else the local dev server's. */
export function temporalUiUrl(): string {
  return (process.env.TEMPORAL_UI_URL || 'http://localhost:8233').replace(/\/+$/, '');
}

export async function connectClient(): Promise<{ connection: Connection; namespace: string }> {
  const { connectionOptions, namespace } = temporalSettings();
  // The client and the worker take the same option shape apart from the worker-only fields.
  const connection = await Connection.connect(connectionOptions as Parameters<typeof Connection.connect>[0]);
  return { connection, namespace };
}
