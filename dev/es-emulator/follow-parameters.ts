import { validationFailed, xContentParseException } from './errors';
import { parseTimeValue } from './params';

/** Follow parameters with the defaults GET /<index>/_ccr/info shows (ES docs, get-follow-info). */
export interface FollowParameters {
  max_read_request_operation_count: number;
  max_read_request_size: string;
  max_outstanding_read_requests: number;
  max_write_request_operation_count: number;
  max_write_request_size: string;
  max_outstanding_write_requests: number;
  max_write_buffer_count: number;
  max_write_buffer_size: string;
  max_retry_delay: string;
  read_poll_timeout: string;
}

export const DEFAULT_FOLLOW_PARAMETERS: FollowParameters = {
  max_read_request_operation_count: 5120,
  max_read_request_size: '32mb',
  max_outstanding_read_requests: 12,
  max_write_request_operation_count: 5120,
  max_write_request_size: '9223372036854775807b',
  max_outstanding_write_requests: 9,
  max_write_buffer_count: 2147483647,
  max_write_buffer_size: '512mb',
  max_retry_delay: '500ms',
  read_poll_timeout: '1m',
};

const NUMERIC = new Set([
  'max_read_request_operation_count',
  'max_outstanding_read_requests',
  'max_write_request_operation_count',
  'max_outstanding_write_requests',
  'max_write_buffer_count',
]);
const TEXT = new Set([
  'max_read_request_size',
  'max_write_request_size',
  'max_write_buffer_size',
  'max_retry_delay',
  'read_poll_timeout',
]);

/** The follow parameters explicitly present in a request body (put-follow, resume-follow, auto-follow pattern). */
export function explicitFollowParameters(body: Record<string, unknown>): Partial<FollowParameters> {
  const explicit: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (NUMERIC.has(key)) {
      // XContent number parsing coerces numeric strings, as ObjectParser.declareInt does.
      const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof number !== 'number' || !Number.isInteger(number)) {
        throw xContentParseException(`[1:1] [${key}] failed to parse field [${key}]`);
      }
      if (number < 1) throw validationFailed([`[${key}] must be larger than 0`]);
      explicit[key] = number;
    } else if (TEXT.has(key)) {
      explicit[key] = String(value);
    }
  }
  if (explicit.read_poll_timeout !== undefined)
    parseTimeValue(String(explicit.read_poll_timeout), 0, 'read_poll_timeout');
  if (explicit.max_retry_delay !== undefined)
    parseTimeValue(String(explicit.max_retry_delay), 0, 'max_retry_delay');
  return explicit as Partial<FollowParameters>;
}

export function withDefaults(explicit: Partial<FollowParameters>): FollowParameters {
  return { ...DEFAULT_FOLLOW_PARAMETERS, ...explicit };
}
