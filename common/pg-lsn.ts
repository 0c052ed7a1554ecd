/** An LSN ("16/B374D848") as a number of bytes, for comparisons and differences (pg_lsn's own order). */
export function lsnBytes(lsn: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!match) throw new Error(`"${lsn}" is not an LSN`);
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
}

/** How many bytes of WAL lie from `from` to `to` (negative when `to` is before `from`). */
export const lsnDiff = (to: string, from: string): number => Number(lsnBytes(to) - lsnBytes(from));
