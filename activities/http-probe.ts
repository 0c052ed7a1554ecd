import { STATUS_CODES } from 'node:http';

/**
 * One HTTP GET of a health or entry URL. Never throws: a failure is a probe that did not pass. What the remote
 * server sent never goes into the probe as text (probes reach results, heartbeats and failures, so workflow
 * history): only its status, with the standard reason phrase, and a `site` it names among the known ones.
 */
export interface HttpProbe {
  /** ISO time the probe started. */
  at: string;
  ok: boolean;
  status?: number;
  durationMs: number;
  /** The `site` field of a JSON answer, when there is one (the sample app names the site that served). */
  site?: string;
  /** Short reason: "200 OK", "503 Service Unavailable", "connect ECONNREFUSED", "no answer within 2000 ms". */
  detail: string;
}

/** What a site name in a health answer may look like; anything else is not taken from the answer. */
const SITE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Error codes of Node's network and TLS layers (ECONNREFUSED, CERT_HAS_EXPIRED…). */
const ERROR_CODE = /^[A-Z][A-Z0-9_]{1,63}$/;

/** `sites`: the site names the answer may name (the runbook's); others are not taken from it. */
export async function httpProbe(
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
  sites?: readonly string[],
): Promise<HttpProbe> {
  const at = new Date().toISOString();
  const started = Date.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, {
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      headers: { connection: 'close', accept: 'application/json' },
    });
    const site = siteNamed(await res.text(), sites);
    return {
      at,
      ok: res.ok,
      status: res.status,
      durationMs: Date.now() - started,
      site,
      detail: statusDetail(res.status),
    };
  } catch (err) {
    return {
      at,
      ok: false,
      durationMs: Date.now() - started,
      detail: failureDetail(err, timeoutMs, timeout, signal),
    };
  }
}

/** "503 Service Unavailable": the status and its standard reason phrase, never the server's own words. */
export function statusDetail(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'non-standard status'}`;
}

function siteNamed(body: string, sites?: readonly string[]): string | undefined {
  try {
    const site = (JSON.parse(body) as { site?: unknown }).site;
    if (typeof site !== 'string') return undefined;
    return (sites ? sites.includes(site) : SITE_NAME.test(site)) ? site : undefined;
  } catch {
    return undefined; // not JSON
  }
}

function failureDetail(err: unknown, timeoutMs: number, timeout: AbortSignal, signal?: AbortSignal): string {
  if (timeout.aborted) return `no answer within ${timeoutMs} ms`;
  if (signal?.aborted) return 'cancelled';
  const code = (err as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' && ERROR_CODE.test(code) ? `connect ${code}` : 'request failed';
}
