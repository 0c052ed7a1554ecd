import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { EmulatedCluster } from './cluster';
import { compatibilityRefusal } from './compatibility';
import { EsError, methodNotAllowedBody, noHandlerBody, xContentParseException } from './errors';
import type { EsRequest, EsResponse } from './http-types';
import { matchRoute } from './router';

/** Handles `/_emulator/...` requests; `afterResponse` runs once the answer is on the wire (e.g. going down). */
export type AdminHandler = (
  cluster: EmulatedCluster | undefined,
  method: string,
  path: string,
  body: unknown,
  query: Record<string, string>,
) => Promise<{ response: EsResponse; afterResponse?: () => Promise<void> }>;

/** A certificate (PEM, the chain to present) and its private key (PEM). */
export interface EsEmulatorTls {
  cert: string;
  key: string;
}

/** One HTTP listener. Closing it destroys open sockets, so clients see refused connections. */
export class Listener {
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  port: number;

  constructor(
    private readonly host: string,
    port: number,
    private readonly onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void,
    /** Serve HTTPS with this certificate chain and key (PEM) instead of HTTP. */
    private readonly tls?: EsEmulatorTls,
  ) {
    this.port = port;
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  async open(): Promise<number> {
    if (this.server) return this.port;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res);
    const server = this.tls
      ? https.createServer({ cert: this.tls.cert, key: this.tls.key }, handler)
      : http.createServer(handler);
    server.keepAliveTimeout = 65_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    return this.port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }
}

/** Serves one emulated cluster's REST API the way Elasticsearch's RestController answers it. */
export function clusterRequestHandler(cluster: EmulatedCluster, admin: AdminHandler) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    void readBody(req).then(
      (rawBody) => respond(cluster, admin, req, res, rawBody),
      () => res.destroy(),
    );
  };
}

/** The admin-only listener: no Elasticsearch API, just `/_emulator/...`. */
export function adminRequestHandler(admin: AdminHandler) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    void readBody(req).then(async (rawBody) => {
      const url = new URL(req.url ?? '/', 'http://emulator');
      const parsed = parseJson(rawBody);
      if (parsed instanceof EsError) return send(res, req, { status: 400, body: { error: parsed.reason } });
      try {
        const query = Object.fromEntries(url.searchParams);
        const { response, afterResponse } = await admin(
          undefined,
          req.method ?? 'GET',
          url.pathname,
          parsed,
          query,
        );
        if (afterResponse) res.on('finish', () => void afterResponse());
        send(res, req, response);
      } catch (error) {
        send(res, req, { status: 500, body: { error: (error as Error).message } });
      }
    });
  };
}

async function respond(
  cluster: EmulatedCluster,
  admin: AdminHandler,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rawBody: string,
): Promise<void> {
  const method = req.method ?? 'GET';
  const uri = req.url ?? '/';
  const url = new URL(uri, 'http://emulator');
  const query = Object.fromEntries(url.searchParams);
  if (url.pathname.startsWith('/_emulator/')) {
    const parsed = parseJson(rawBody);
    if (parsed instanceof EsError) return send(res, req, { status: 400, body: { error: parsed.reason } });
    try {
      const { response, afterResponse } = await admin(cluster, method, url.pathname, parsed, query);
      if (afterResponse) res.on('finish', () => void afterResponse());
      return send(res, req, response);
    } catch (error) {
      return send(res, req, { status: 500, body: { error: (error as Error).message } });
    }
  }
  if (cluster.faults.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, cluster.faults.delayMs));
  const refused = compatibilityRefusal(
    cluster.majorVersion,
    req.headers.accept,
    req.headers['content-type'],
    rawBody.length > 0,
  );
  if (refused) return send(res, req, refused);
  send(res, req, await dispatch(cluster, method, uri, url, query, rawBody), query.pretty !== undefined);
}

async function dispatch(
  cluster: EmulatedCluster,
  method: string,
  uri: string,
  url: URL,
  query: Record<string, string>,
  rawBody: string,
): Promise<EsResponse> {
  const match = matchRoute(method, url.pathname);
  if (match.kind === 'not-found') return { status: 400, body: noHandlerBody(uri, method) };
  if (match.kind === 'method-not-allowed') {
    return {
      status: 405,
      body: methodNotAllowedBody(uri, method, match.allowed),
      headers: { Allow: match.allowed.join(',') },
    };
  }
  try {
    const isBulk = url.pathname.endsWith('/_bulk');
    const body = isBulk ? undefined : parseJson(rawBody);
    if (body instanceof EsError) throw body;
    const request: EsRequest = {
      method,
      path: url.pathname,
      uri,
      params: match.params,
      query,
      body,
      rawBody,
    };
    return await match.handler(cluster, request);
  } catch (error) {
    if (error instanceof EsError) return { status: error.status, body: error.toBody() };
    console.error(`[es-emulator ${cluster.name}] ${method} ${uri} failed:`, error);
    const internal = new EsError(500, 'exception', error instanceof Error ? error.message : String(error));
    return { status: 500, body: internal.toBody() };
  }
}

function send(
  res: http.ServerResponse,
  req: http.IncomingMessage,
  response: EsResponse,
  pretty = false,
): void {
  const headers: Record<string, string> = {
    'X-elastic-product': 'Elasticsearch',
    'content-type': responseContentType(req),
    ...response.headers,
  };
  if (req.method === 'HEAD' || response.body === undefined) {
    res.writeHead(response.status, { ...headers, 'content-length': '0' });
    res.end();
    return;
  }
  const text = pretty ? JSON.stringify(response.body, null, 2) + '\n' : JSON.stringify(response.body);
  res.writeHead(response.status, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/**
 * A request that asks for REST API compatibility (`application/vnd.elasticsearch+json; compatible-with=N`
 * in Accept, else Content-Type) gets the vendor media type back; others get plain JSON.
 */
export function responseContentType(req: http.IncomingMessage): string {
  const pattern = /application\/vnd\.elasticsearch\+[a-z-]+\s*;\s*compatible-with=(\d+)/i;
  const match =
    pattern.exec(String(req.headers.accept ?? '')) ?? pattern.exec(String(req.headers['content-type'] ?? ''));
  return match ? `application/vnd.elasticsearch+json;compatible-with=${match[1]}` : 'application/json';
}

function parseJson(rawBody: string): unknown {
  if (rawBody.trim() === '') return undefined;
  try {
    return JSON.parse(rawBody);
  } catch (error) {
    return xContentParseException(`[1:1] ${(error as Error).message}`);
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
