import { errors } from '@elastic/elasticsearch';
import { ApplicationFailure } from '@temporalio/common';
import { redact } from '../../common/redact';
import { typedFailure } from '../failure';
import { ES_FAILURE_TYPES, isRetryableEsFailureType, type EsFailureType } from '../../common/es-failures';

export type { EsFailureType } from '../../common/es-failures';

/** Failures that concern the whole cluster (not one index): a batch stops at the first one. */
export const CLUSTER_LEVEL_FAILURES = new Set<string>([
  'EsUnreachable',
  'EsTimeout',
  'InvalidCredentials',
  'EsForbidden',
  'SecretUnavailable',
  'EsNotElasticsearch',
  'EsVersionUnsupported',
  'EsCertificateUntrusted',
]);

/** The `error` object of an Elasticsearch error response, when there is one. */
export interface EsErrorCause {
  type?: string;
  reason?: string;
  index?: string;
  caused_by?: EsErrorCause;
  root_cause?: EsErrorCause[];
  [key: string]: unknown;
}

export function esErrorCause(err: unknown): EsErrorCause | undefined {
  if (!(err instanceof errors.ResponseError)) return undefined;
  const body = err.body as { error?: unknown } | undefined;
  return body && typeof body.error === 'object' && body.error !== null
    ? (body.error as EsErrorCause)
    : undefined;
}

export function esStatus(err: unknown): number | undefined {
  return err instanceof errors.ResponseError ? err.statusCode : undefined;
}

/** True when the error (or one of its causes) has this Elasticsearch exception type. */
export function hasEsType(err: unknown, type: string): boolean {
  for (let cause = esErrorCause(err); cause; cause = cause.caused_by) {
    if (cause.type === type) return true;
  }
  return false;
}

const REMOTE_TYPES = [
  'connect_transport_exception',
  'node_disconnected_exception',
  'node_not_connected_exception',
];

export function classifyEsError(err: unknown): EsFailureType {
  // Raised typed already (by the transport: an untrusted certificate, an unsupported version).
  if (err instanceof ApplicationFailure && isEsFailureType(err.type)) return err.type;
  if ((err as Error)?.name === 'SecretUnavailableError') return 'SecretUnavailable';
  if (err instanceof errors.TimeoutError) return 'EsTimeout';
  if (err instanceof errors.ConnectionError || err instanceof errors.NoLivingConnectionsError)
    return 'EsUnreachable';
  if (err instanceof errors.ProductNotSupportedError) return 'EsNotElasticsearch';
  if (!(err instanceof errors.ResponseError)) return 'EsUnavailable';
  const status = err.statusCode ?? 0;
  const cause = esErrorCause(err);
  const reason = cause?.reason ?? '';
  if (status === 401) return 'InvalidCredentials';
  if (hasEsType(err, 'media_type_header_exception')) return 'EsVersionUnsupported';
  if (REMOTE_TYPES.some((t) => hasEsType(err, t))) return 'EsRemoteUnreachable';
  if (cause?.type === 'status_exception' && /could not be determined/.test(reason))
    return 'EsRemoteUnreachable';
  if (cause?.type === 'no_such_remote_cluster_exception') return 'RemoteClusterNotConfigured';
  if (cause?.type === 'index_not_found_exception') return 'EsIndexNotFound';
  if (cause?.type === 'index_closed_exception') return 'IndexClosed';
  if (/is not a follower index/.test(reason)) return 'IndexNotFollower';
  if (status === 403) return 'EsForbidden';
  if (status === 408) return 'EsTimeout';
  if (status === 429 || status >= 500) return 'EsUnavailable';
  return 'EsRequestRejected';
}

function isEsFailureType(type: string | null | undefined): type is EsFailureType {
  return typeof type === 'string' && Object.hasOwn(ES_FAILURE_TYPES, type);
}

/**
 * Node's TLS verification errors that mean the certificate is not trusted as configured, by code or, as the client
 * keeps only the message, by OpenSSL's and Node's message: DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN,
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE, UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ERR_TLS_CERT_ALTNAME_INVALID.
 */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const UNTRUSTED_CERTIFICATE_MESSAGES =
  /self[- ]signed certificate|unable to verify the first certificate|unable to get local issuer certificate|Hostname\/IP does not match certificate's altnames/;

export function untrustedCertificate(err: unknown): boolean {
  if (!(err instanceof errors.ConnectionError)) return false;
  const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && UNTRUSTED_CERTIFICATE_CODES.has(code)) return true;
  return UNTRUSTED_CERTIFICATE_MESSAGES.test(err.message);
}

/** A short description of an error: the Elasticsearch exception type and reason, or the transport error. */
export function describeEsError(err: unknown): string {
  const cause = esErrorCause(err);
  if (cause) {
    const root = cause.caused_by?.type
      ? ` (caused by ${cause.caused_by.type}: ${cause.caused_by.reason ?? ''})`
      : '';
    return `${cause.type ?? 'error'}: ${cause.reason ?? ''}${root} [HTTP ${esStatus(err) ?? '?'}]`;
  }
  if (err instanceof errors.ResponseError) return `HTTP ${err.statusCode ?? '?'}`;
  return (err as Error)?.message ?? String(err);
}

/**
 * A typed Temporal failure for an Elasticsearch error. The message names the site, the operation and the
 * Elasticsearch error (type and reason), never request headers (the API key) nor any of `secrets`.
 */
export function esFailure(
  site: string,
  operation: string,
  err: unknown,
  secrets: readonly string[] = [],
  override?: EsFailureType,
): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const type = override ?? classifyEsError(err);
  const message = redact(`${site}: ${operation}: ${describeEsError(err)}`, secrets);
  return ApplicationFailure.create({ message, type, nonRetryable: !isRetryableEsFailureType(type) });
}

/** A typed failure raised by an activity's own judgement (not an Elasticsearch error). */
export function esDecision(
  type: EsFailureType,
  message: string,
  details?: Record<string, unknown>,
  nonRetryable = !isRetryableEsFailureType(type),
): ApplicationFailure {
  return typedFailure(type, message, nonRetryable, details);
}
