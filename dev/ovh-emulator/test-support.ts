import https from 'node:https';
import tls from 'node:tls';

/**
 * Makes this process trust the emulator's CA, on top of the public roots, so certificate verification stays on:
 * for requests through `https.globalAgent` (which node-ovh's API calls use), and for any other TLS connection opened
 * without a `ca` of its own (node-ovh's OAuth2 token requests go through @hapi/wreck's own agents). NODE_EXTRA_CA_CERTS
 * cannot do this in-process: Node reads it once at start, and Node 20 has no call to extend the default store later.
 * Returns a function that restores the previous setting.
 */
export function trustCaInProcess(caPem: string): () => void {
  const options = https.globalAgent.options;
  const previous = options.ca;
  const trusted = [...tls.rootCertificates, caPem];
  options.ca = trusted;
  https.globalAgent.destroy(); // drop pooled sockets made under the previous trust
  const connect = tls.connect;
  const withCa = (...args: unknown[]) => {
    const opts = args.find((a): a is tls.ConnectionOptions => typeof a === 'object' && a !== null);
    if (opts && opts.ca === undefined && opts.secureContext === undefined) opts.ca = trusted;
    return (connect as (...a: unknown[]) => tls.TLSSocket)(...args);
  };
  (tls as { connect: unknown }).connect = withCa;
  return () => {
    if (tls.connect === (withCa as unknown)) (tls as { connect: unknown }).connect = connect;
    if (previous === undefined) delete options.ca;
    else options.ca = previous;
    https.globalAgent.destroy();
  };
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed JSON body (`undefined` when empty or not JSON). */
  json: unknown;
}

/** One HTTPS request through the global agent, reporting status and body whatever they are. */
export function rawHttpsRequest(options: {
  host: string;
  port: number;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: options.host,
        port: options.port,
        method: options.method,
        path: options.path,
        headers: options.headers,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Calls the emulator's `/_emulator/*` admin endpoint. */
export async function adminRequest(
  emulator: { host: string; port: number },
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<RawReply> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return rawHttpsRequest({
    host: emulator.host,
    port: emulator.port,
    method,
    path: `/_emulator/${path.replace(/^\//, '')}`,
    headers: text === undefined ? {} : { 'Content-Type': 'application/json' },
    body: text,
  });
}
