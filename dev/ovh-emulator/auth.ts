import type { IncomingHttpHeaders } from 'node:http';
import {
  invalidApplicationKey,
  invalidCredential,
  invalidSignature,
  notAuthenticated,
  queryOutOfTime,
  unknownCredential,
} from './errors';
import type { Faults } from './faults';
import type { OAuth2Issuer } from './oauth2';
import type { Route } from './router';
import { ovhSignature, signaturesEqual, signedUrl } from './signature';
import type { EmulatorClock } from './state';

export interface OvhCredential {
  applicationKey: string;
  applicationSecret: string;
  consumerKey: string;
}

interface CredentialRecord extends OvhCredential {
  applicationId: number;
  credentialId: number;
  creation: string;
  lastUse: string | null;
}

export interface SignedRequest {
  method: string;
  /** Raw request target: path and query string exactly as received. */
  url: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Checks `X-Ovh-*` headers the way the OVH API does; throws the OVH error reply otherwise. */
export class Authenticator {
  private readonly byConsumerKey = new Map<string, CredentialRecord>();
  private readonly secretByApplicationKey = new Map<string, string>();

  constructor(
    credentials: readonly OvhCredential[],
    private readonly clock: EmulatorClock,
    private readonly faults: Faults,
    /** Accepted distance between `X-Ovh-Timestamp` and the API clock (the real window is undocumented). */
    private readonly toleranceSeconds: number,
    /** Bearer tokens of OAuth2 service accounts. */
    private readonly oauth2: OAuth2Issuer,
  ) {
    const applicationIds = new Map<string, number>();
    credentials.forEach((credential, index) => {
      if (!applicationIds.has(credential.applicationKey))
        applicationIds.set(credential.applicationKey, 100 + index);
      this.secretByApplicationKey.set(credential.applicationKey, credential.applicationSecret);
      this.byConsumerKey.set(credential.consumerKey, {
        ...credential,
        applicationId: applicationIds.get(credential.applicationKey) as number,
        credentialId: 1000 + index,
        creation: clock.iso(),
        lastUse: null,
      });
    });
  }

  /** The Unix time of the API, as `GET /auth/time` reports it. */
  apiTime(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /**
   * A signed request's application credential, or the service account of a bearer token (node-ovh sends either
   * `X-Ovh-*` signature headers or `Authorization: Bearer`, never both).
   */
  authenticate(request: SignedRequest): OvhCredential | { serviceAccount: string } {
    const authorization = header(request.headers, 'authorization');
    if (authorization !== undefined && /^Bearer\s/i.test(authorization)) {
      return { serviceAccount: this.oauth2.identify(authorization) };
    }
    const applicationKey = header(request.headers, 'x-ovh-application');
    const applicationSecret =
      applicationKey === undefined ? undefined : this.secretByApplicationKey.get(applicationKey);
    if (applicationSecret === undefined) throw invalidApplicationKey();
    const consumerKey = header(request.headers, 'x-ovh-consumer');
    if (consumerKey === undefined || consumerKey === '') throw notAuthenticated();
    const timestamp = header(request.headers, 'x-ovh-timestamp') ?? '';
    if (!/^\d+$/.test(timestamp) || Math.abs(Number(timestamp) - this.apiTime()) > this.toleranceSeconds) {
      throw queryOutOfTime();
    }
    const expected = ovhSignature({
      applicationSecret,
      consumerKey,
      method: request.method,
      url: signedUrl(header(request.headers, 'host') ?? '', request.url),
      body: request.rawBody,
      timestamp,
    });
    if (!signaturesEqual(expected, header(request.headers, 'x-ovh-signature') ?? ''))
      throw invalidSignature();
    const record = this.byConsumerKey.get(consumerKey);
    if (!record || record.applicationKey !== applicationKey) throw unknownCredential();
    if (this.faults.isRevoked(consumerKey)) throw invalidCredential();
    record.lastUse = this.clock.iso();
    return record;
  }

  routes(): Route[] {
    return [
      { method: 'GET', path: '/auth/time', handle: () => this.apiTime() },
      {
        // node-ovh never signs a path containing `/auth`, so through node-ovh this answers 401 (see README).
        method: 'GET',
        path: '/auth/currentCredential',
        handle: ({ credential }) => {
          const record = credential && this.byConsumerKey.get(credential.consumerKey);
          if (!record) throw notAuthenticated();
          return {
            allowedIPs: null,
            applicationId: record.applicationId,
            creation: record.creation,
            credentialId: record.credentialId,
            expiration: null,
            lastUse: record.lastUse,
            ovhSupport: false,
            rules: ['GET', 'POST', 'PUT', 'DELETE'].map((method) => ({ method, path: '/*' })),
            status: 'validated',
          };
        },
      },
    ];
  }
}
