import type { EmulatedCluster } from './cluster';

export interface EsRequest {
  method: string;
  /** Decoded path without the query string. */
  path: string;
  /** Path and query string as received, for error messages. */
  uri: string;
  params: Record<string, string>;
  query: Record<string, string>;
  /** Parsed JSON body, or undefined when the body is empty (bulk bodies stay in rawBody). */
  body: unknown;
  rawBody: string;
}

export interface EsResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (cluster: EmulatedCluster, request: EsRequest) => EsResponse | Promise<EsResponse>;

export interface Route {
  method: string;
  path: string;
  handler: Handler;
}

export function ok(body: unknown, status = 200): EsResponse {
  return { status, body };
}

export function acknowledged(): EsResponse {
  return ok({ acknowledged: true });
}

/** The JSON object body of a request, `{}` when absent. */
export function objectBody(request: EsRequest): Record<string, unknown> {
  const body = request.body;
  if (body !== null && typeof body === 'object' && !Array.isArray(body))
    return body as Record<string, unknown>;
  return {};
}
