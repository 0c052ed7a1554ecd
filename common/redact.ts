/**
 * Replaces every occurrence of each secret by "***", also in the escaped form it takes inside an SQL string
 * literal, so that no message, log line or failure carries a secret whichever layer quoted it.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, secret.replace(/\\/g, '\\\\').replace(/'/g, "\\'")])) {
      out = out.split(form).join('***');
    }
  }
  return out;
}
