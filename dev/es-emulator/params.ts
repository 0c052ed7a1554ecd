import { illegalArgument } from './errors';

const TIME_UNITS_MS: Record<string, number> = {
  nanos: 1e-6,
  micros: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses an Elasticsearch time value ("30s", "500ms", "1m", "0", "-1" meaning no limit). */
export function parseTimeValue(raw: string | undefined, defaultMs: number, name: string): number {
  if (raw === undefined || raw === '') return defaultMs;
  if (raw === '-1') return Number.POSITIVE_INFINITY;
  if (raw === '0') return 0;
  const match = /^(\d+(?:\.\d+)?)(nanos|micros|ms|s|m|h|d)$/.exec(raw.trim().toLowerCase());
  if (!match) {
    throw illegalArgument(
      `failed to parse setting [${name}] with value [${raw}] as a time value: unit is missing or unrecognized`,
    );
  }
  return Number(match[1]) * (TIME_UNITS_MS[match[2] as string] as number);
}

export function formatTimeValue(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Elasticsearch's lenient REST boolean: present without value, or "true", means true. */
export function parseBooleanParam(raw: string | undefined, defaultValue: boolean): boolean {
  if (raw === undefined) return defaultValue;
  if (raw === '' || raw === 'true') return true;
  if (raw === 'false') return false;
  throw illegalArgument(`Failed to parse value [${raw}] as only [true] or [false] are allowed.`);
}

export function parseIntParam(raw: string | undefined, defaultValue: number, name: string): number {
  if (raw === undefined || raw === '') return defaultValue;
  const value = Number(raw);
  if (!Number.isInteger(value))
    throw illegalArgument(`Failed to parse int parameter [${name}] with value [${raw}]`);
  return value;
}

/** ActiveShardCount: "all", a number, "index-setting" or absent (the last two mean the API's default: undefined). */
export function parseActiveShardCount(raw: string | undefined): number | 'all' | undefined {
  if (raw === undefined || raw === '' || raw === 'index-setting') return undefined;
  if (raw === 'all') return 'all';
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 0) {
    throw illegalArgument(`cannot parse ActiveShardCount[${raw}]`);
  }
  return count;
}

/** Splits a comma-separated index expression from a path segment. */
export function splitIndexExpression(expression: string): string[] {
  return expression
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** Regex.simpleMatch: `*` matches any run of characters. */
export function simpleMatch(pattern: string, value: string): boolean {
  const regex = new RegExp('^' + pattern.split('*').map(escapeRegExp).join('.*') + '$');
  return regex.test(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
  tb: 1024 ** 4,
  pb: 1024 ** 5,
};

/** Parses an Elasticsearch byte size value ("40mb", "512kb", "0"; "-1" means no limit, read as 0). */
export function parseByteSize(raw: string | undefined, defaultBytes: number): number {
  if (raw === undefined || raw === '') return defaultBytes;
  if (raw === '-1' || raw === '0') return 0;
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|pb)$/.exec(raw.trim().toLowerCase());
  if (!match)
    throw illegalArgument(`failed to parse [${raw}] as a byte size value: unit is missing or unrecognized`);
  return Number(match[1]) * (BYTE_UNITS[match[2] as string] as number);
}
