import { catRoutes } from './api-cat';
import { ccrRoutes } from './api-ccr';
import { clusterRoutes } from './api-cluster';
import { documentRoutes } from './api-documents';
import { indexRoutes } from './api-indices';
import { searchRoutes } from './api-search';
import type { Handler, Route } from './http-types';

interface CompiledRoute extends Route {
  segments: string[];
  literalCount: number;
}

export type RouteMatch =
  | { kind: 'found'; handler: Handler; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

const ROUTES: CompiledRoute[] = [
  ...clusterRoutes,
  ...indexRoutes,
  ...documentRoutes,
  ...searchRoutes,
  ...ccrRoutes,
  ...catRoutes,
].map((route) => {
  const segments = splitPath(route.path);
  return { ...route, segments, literalCount: segments.filter((s) => !s.startsWith('{')).length };
});

/** Like Elasticsearch's path trie, a literal segment wins over a `{param}` one at the same position. */
export function matchRoute(method: string, path: string): RouteMatch {
  const segments = splitPath(path);
  const candidates: { route: CompiledRoute; params: Record<string, string> }[] = [];
  for (const route of ROUTES) {
    const params = matchSegments(route.segments, segments);
    if (params) candidates.push({ route, params });
  }
  if (candidates.length === 0) return { kind: 'not-found' };
  const best = Math.max(...candidates.map((c) => c.route.literalCount));
  const preferred = candidates.filter((c) => c.route.literalCount === best);
  const found = preferred.find((c) => c.route.method === method);
  if (found) return { kind: 'found', handler: found.route.handler, params: found.params };
  const fallback = candidates.find((c) => c.route.method === method);
  if (fallback) return { kind: 'found', handler: fallback.route.handler, params: fallback.params };
  return { kind: 'method-not-allowed', allowed: [...new Set(candidates.map((c) => c.route.method))] };
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i] as string;
    const value = actual[i] as string;
    if (expected.startsWith('{')) params[expected.slice(1, -1)] = value;
    else if (expected !== value) return undefined;
  }
  return params;
}

function splitPath(path: string): string[] {
  return path
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => decodeURIComponent(segment));
}
