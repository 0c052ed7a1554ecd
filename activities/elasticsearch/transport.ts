import {
  SniffingTransport,
  type TransportRequestOptions,
  type TransportRequestParams,
} from '@elastic/elasticsearch';
import { describeEsError, esDecision, hasEsType, untrustedCertificate } from './errors';

/** The Elasticsearch major versions the activities speak to. */
export type EsMajorVersion = 8 | 9;

/** The REST compatibility headers the client sends for `compatible-with=major` (the client's own shapes). */
function compatibilityHeaders(major: EsMajorVersion) {
  const json = `application/vnd.elasticsearch+json; compatible-with=${major}`;
  return {
    json,
    ndjson: `application/vnd.elasticsearch+x-ndjson; compatible-with=${major}`,
    accept: `${json},text/plain`,
  };
}

/** The headers of one request, as the transport would choose them, for `compatible-with=major`. */
function requestHeaders(major: EsMajorVersion, params: TransportRequestParams): Record<string, string> {
  const h = compatibilityHeaders(major);
  if (params.body != null && params.body !== '') {
    return typeof params.body === 'string' || Buffer.isBuffer(params.body)
      ? { 'content-type': 'text/plain', accept: h.accept }
      : { 'content-type': h.json, accept: h.json };
  }
  if (params.bulkBody != null) return { 'content-type': h.ndjson, accept: h.json };
  return { 'content-type': h.json, accept: h.accept };
}

/** Where a cluster is configured, to name it in a failure. */
export interface VersionedTransportTarget {
  site: string;
  /** The runbook's entry of the cluster, e.g. `elasticsearch.clusters[1]`, to name its fields in failures. */
  field: string;
  /** The runbook's version; undefined to detect it from `GET /` on the first request. */
  version?: EsMajorVersion;
}

/**
 * A transport that speaks the cluster's own major version: the 9.x client hard-codes `compatible-with=9`, which an
 * 8.x server refuses (400 media_type_header_exception). The version is the runbook's, or read once from `GET /`
 * sent as plain `application/json` (which every major reads as its current version).
 */
export function versionedTransport(target: VersionedTransportTarget): typeof SniffingTransport {
  return class VersionedTransport extends SniffingTransport {
    private major: Promise<EsMajorVersion> | undefined =
      target.version === undefined ? undefined : Promise.resolve(target.version);

    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the base method's overloads return any shape
    override async request(params: TransportRequestParams, options?: TransportRequestOptions): Promise<any> {
      try {
        const major = await this.serverMajor(options);
        return await super.request(params, {
          ...options,
          headers: { ...requestHeaders(major, params), ...options?.headers },
        });
      } catch (err) {
        throw this.explained(err);
      }
    }

    /** The failures that come from the runbook's cluster entry, as a sentence naming the field to fix. */
    private explained(err: unknown): unknown {
      if (untrustedCertificate(err))
        return esDecision(
          'EsCertificateUntrusted',
          `${target.site}: the cluster's certificate is not trusted (${(err as Error).message}): set ${target.field}.ca to the CA certificate that signed it ("file:PATH"), or give the cluster a certificate that names the url's host`,
        );
      if (target.version !== undefined && hasEsType(err, 'media_type_header_exception'))
        return esDecision(
          'EsVersionUnsupported',
          `${target.site}: the cluster refuses REST compatibility version ${target.version} (${describeEsError(err)}): it does not run Elasticsearch ${target.version}; correct ${target.field}.version, or remove it to have it read from GET /`,
        );
      return err;
    }

    private serverMajor(options?: TransportRequestOptions): Promise<EsMajorVersion> {
      this.major ??= this.detect(options).catch((err: unknown) => {
        this.major = undefined; // a failed detection is tried again on the next request
        throw err;
      });
      return this.major;
    }

    private async detect(options?: TransportRequestOptions): Promise<EsMajorVersion> {
      const info = await super.request<{ version?: { number?: unknown } }>(
        { method: 'GET', path: '/' },
        {
          maxRetries: 0,
          requestTimeout: options?.requestTimeout,
          signal: options?.signal,
          headers: { accept: 'application/json', 'content-type': 'application/json' },
        },
      );
      const number = String(info?.version?.number ?? '');
      const major = Number(number.split('.')[0]);
      if (major !== 8 && major !== 9)
        throw esDecision(
          'EsVersionUnsupported',
          `${target.site}: the cluster runs Elasticsearch ${number || '(no version.number in GET /)'}; only 8.x and 9.x are supported (${target.field}.version)`,
        );
      return major;
    }
  };
}
