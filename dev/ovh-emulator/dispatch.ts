import type { IncomingMessage } from 'node:http';
import type { Authenticator } from './auth';
import { badRequest, invalidUrl, OvhHttpError } from './errors';
import type { Faults } from './faults';
import { matchRoute, NO_CONTENT, type HttpMethod, type Route } from './router';
import type { OvhSchemas } from './schema';
import { validateRequest } from './validate';

export const API_BASE_PATH = '/1.0';

export interface ApiReply {
  status: number;
  /** The JSON body; `undefined` for a 204 (no body at all). */
  body: unknown;
  route?: Route;
}

/**
 * One API request, in the order the pieces apply: injected faults, routing, authentication (unless the schema
 * operation has `noAuthentication`), JSON parsing, validation against the schema, then the route's handler.
 * Refusals are thrown as `OvhHttpError`.
 */
export async function dispatchApiRequest(
  deps: { schemas: OvhSchemas; faults: Faults; routes: readonly Route[]; auth: Authenticator },
  req: IncomingMessage,
  rawUrl: string,
  rawBody: string,
): Promise<ApiReply> {
  const method = (req.method ?? 'GET') as HttpMethod;
  const [pathname = '', queryString = ''] = rawUrl.split(/\?(.*)/s);
  const apiPath = pathname.slice(API_BASE_PATH.length);

  const effect = deps.faults.forRequest(method, apiPath);
  if (effect.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, effect.delayMs));
  if (effect.errorStatus !== undefined) {
    throw new OvhHttpError(effect.errorStatus, `HTTP ${effect.errorStatus} injected by the emulator`);
  }

  const match = matchRoute(deps.routes, method, apiPath);
  if (match.kind !== 'found') throw invalidUrl();
  const operation = deps.schemas.operation(method, match.route.path);
  if (!operation) throw invalidUrl();
  const principal = operation.noAuthentication
    ? undefined
    : deps.auth.authenticate({ method, url: rawUrl, headers: req.headers, rawBody });
  const credential = principal && 'consumerKey' in principal ? principal : undefined;
  const serviceAccount = principal && 'serviceAccount' in principal ? principal.serviceAccount : undefined;

  let body: unknown;
  try {
    body = rawBody === '' ? undefined : JSON.parse(rawBody);
  } catch {
    throw badRequest('Invalid JSON received');
  }
  const query = new URLSearchParams(queryString);
  validateRequest(deps.schemas, operation, { params: match.params, query, body });
  const result = match.route.handle({
    method,
    path: apiPath,
    query,
    body,
    params: match.params,
    credential,
    serviceAccount,
  });
  if (result === NO_CONTENT) return { status: 204, body: undefined, route: match.route };
  return { status: 200, body: result === undefined ? null : result, route: match.route };
}
