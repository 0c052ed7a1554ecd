/**
 * The last `limit` bytes of a UTF-8 text, cut on a character boundary (never more than `limit` bytes), for command
 * output kept in results: a byte bound, since a character bound lets multi-byte output grow several times larger.
 */
export function utf8Tail(text: string | Buffer, limit: number): string {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  if (bytes.length <= limit) return bytes.toString('utf8');
  let start = bytes.length - limit;
  // Skip continuation bytes (10xxxxxx) of a character cut in two.
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start += 1;
  return bytes.subarray(start).toString('utf8');
}
