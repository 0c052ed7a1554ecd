/** acknowledged: the server said OK; failed: the server refused (not committed); unknown: the connection died mid-write. */
export type WriteOutcome = 'acknowledged' | 'failed' | 'unknown';

/**
 * What an answer says about a write. The app answers JSON naming its site: 2xx = committed; 4xx and
 * "database is read-only" = refused before writing; any other 503 ("database error") may have committed.
 * An answer without JSON is HAProxy's own (configuration manual §1.3.1): 503 = no server took the request;
 * 502/504 = the server may have processed it.
 */
export function httpWriteOutcome(
  status: number,
  body: { site?: unknown; error?: unknown } | undefined,
): WriteOutcome {
  const fromApp = typeof body?.site === 'string';
  if (fromApp && status >= 200 && status < 300) return 'acknowledged';
  if (status >= 400 && status < 500) return 'failed';
  if (fromApp) return body?.error === 'database is read-only' ? 'failed' : 'unknown';
  return status === 503 ? 'failed' : 'unknown';
}
