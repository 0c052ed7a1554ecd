/** The most a caller-provided text (a reason, a name, an answer) may hold: it goes into history and reports. */
export const MAX_TEXT_BYTES = 1024;

/** Why a caller-provided text is refused (too long), or undefined. Counts UTF-8 bytes, as history stores them. */
export function textTooLong(field: string, value: string, maxBytes = MAX_TEXT_BYTES): string | undefined {
  const bytes = new TextEncoder().encode(value).length;
  return bytes > maxBytes ? `${field}: at most ${maxBytes} bytes (got ${bytes})` : undefined;
}
