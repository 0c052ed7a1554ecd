import type { OvhCredential } from './auth';

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface ApiRequest {
  method: HttpMethod;
  /** Path below `/1.0`, without the query string. */
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body, `undefined` when the request had none. */
  body: unknown;
  /** Values of the `{name}` segments of the route's schema path. */
  params: Record<string, string>;
  /** The authenticated application credential (absent on `noAuthentication` operations and for bearer tokens). */
  credential?: OvhCredential;
  /** The client ID of the service account whose bearer token authenticated the request. */
  serviceAccount?: string;
}

/**
 * What a handler returns for an operation the real API answers `204 No Content` (no body): the DNS zone refresh
 * (ovh/node-ovh#51 and ovh/php-ovh#140, October 2023) and the record DELETE (ovh/node-ovh#50).
 */
export const NO_CONTENT: unique symbol = Symbol('204 No Content');

export interface Route {
  method: HttpMethod;
  /** The operation's path exactly as the schema spells it, e.g. `/ipLoadbalancing/{serviceName}/refresh`. */
  path: string;
  /**
   * Returns the JSON reply; `undefined` for the schema's `void` answered 200 with a `null` body, `NO_CONTENT` for a
   * `void` the real API answers 204.
   */
  handle(request: ApiRequest): unknown;
}

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'unknown-path' }
  | { kind: 'wrong-method' };

function matchTemplate(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i] as string;
    const value = got[i] as string;
    if (segment.startsWith('{') && segment.endsWith('}')) {
      if (value === '') return undefined;
      params[segment.slice(1, -1)] = decodeURIComponent(value);
    } else if (segment !== value) return undefined;
  }
  return params;
}

/** Literal segments win over `{param}` segments, as in `/ipLoadbalancing/availableZones` vs `/{serviceName}`. */
function specificity(template: string): number {
  return template.split('/').filter((segment) => !segment.startsWith('{')).length;
}

export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const candidates = routes
    .map((route) => ({ route, params: matchTemplate(route.path, path) }))
    .filter((c): c is { route: Route; params: Record<string, string> } => c.params !== undefined)
    .sort((a, b) => specificity(b.route.path) - specificity(a.route.path));
  if (candidates.length === 0) return { kind: 'unknown-path' };
  const hit = candidates.find((c) => c.route.method === method);
  return hit ? { kind: 'found', ...hit } : { kind: 'wrong-method' };
}
