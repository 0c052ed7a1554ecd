/** One HTTP GET of a health or entry URL. Never throws: a failure is a probe that did not pass. */
export interface HttpProbe {
  /** ISO time the probe started. */
  at: string;
  ok: boolean;
  status?: number;
  durationMs: number;
  /** The `site` field of a JSON answer, when there is one (the sample app names the site that served). */
  site?: string;
  /** Short reason: "200", "503 {…}", "connect ECONNREFUSED". */
  detail: string;
}

export async function httpProbe(url: string, timeoutMs: number, signal?: AbortSignal): Promise<HttpProbe> {
  const at = new Date().toISOString();
  const started = Date.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, {
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      headers: { connection: 'close', accept: 'application/json' },
    });
    const body = await res.text();
    let site: string | undefined;
    try {
      const json = JSON.parse(body) as { site?: unknown };
      if (typeof json.site === 'string') site = json.site;
    } catch {
      /* not JSON */
    }
    return {
      at,
      ok: res.ok,
      status: res.status,
      durationMs: Date.now() - started,
      site,
      detail: res.ok ? String(res.status) : `${res.status} ${body.replace(/\s+/g, ' ').slice(0, 160)}`,
    };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const detail = timeout.aborted
      ? `no answer within ${timeoutMs} ms`
      : cause?.code
        ? `connect ${cause.code}`
        : (cause?.message ?? (err as Error).message);
    return { at, ok: false, durationMs: Date.now() - started, detail };
  }
}
