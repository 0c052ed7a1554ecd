import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { OvhHttpError } from './errors';
import type { Faults } from './faults';
import type { EmulatorClock } from './state';

/** An OAuth2 service account of OVHcloud IAM: a client ID and secret for the client-credentials grant. */
export interface ServiceAccount {
  clientId: string;
  clientSecret: string;
}

export interface OAuth2Stats {
  tokensIssued: number;
  /** Token requests refused (unknown client, wrong secret, revoked, malformed). */
  refused: number;
  /** API calls authenticated by a bearer token. */
  bearerCalls: number;
}

export interface TokenReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** The path the emulator serves the token endpoint on (node-ovh appends `oauth2/token` to its `tokenURL`). */
export const TOKEN_PATH = '/auth/oauth2/token';

/**
 * The OAuth2 token endpoint of OVHcloud service accounts, and the bearer tokens it issues.
 *
 * What node-ovh 3 does (lib/ovh.js, lib/endpoints.js): `tokenURL` per endpoint (`https://www.ovh.com/auth/` for
 * ovh-eu), `tokenPath: "oauth2/token"`, `getToken({scope: "all"})` through simple-oauth2 5, which POSTs
 * `grant_type=client_credentials&scope=all` (form-encoded) with the client authenticated by HTTP Basic
 * (`base64(urlencode(id) + ":" + urlencode(secret))`, RFC 6749 §2.3.1); then `Authorization: Bearer <access_token>`
 * on every API call, renewing the token 10 s before `expires_in` runs out. OVHcloud documents service accounts as
 * OAuth2 client-credentials clients (docs.ovhcloud.com, "Managing OVHcloud service accounts").
 * The replies follow RFC 6749 §5.1 (`access_token`, `token_type: "Bearer"`, `expires_in`, `scope`; `Cache-Control:
 * no-store`) and §5.2 (`invalid_client` 401 with `WWW-Authenticate: Basic` for a client authenticated by the header,
 * `invalid_request`/`unsupported_grant_type` 400). OVH's exact error bodies and the API's reply to an invalid bearer
 * token are not confirmed (see README).
 */
export class OAuth2Issuer {
  private readonly secrets = new Map<string, string>();
  private readonly tokens = new Map<string, { clientId: string; expiresAt: number }>();
  readonly stats: OAuth2Stats = { tokensIssued: 0, refused: 0, bearerCalls: 0 };

  constructor(
    accounts: readonly ServiceAccount[],
    private readonly clock: EmulatorClock,
    private readonly faults: Faults,
    private readonly lifetimeSeconds: number,
  ) {
    for (const account of accounts) this.secrets.set(account.clientId, account.clientSecret);
  }

  /** `POST /auth/oauth2/token`. */
  tokenRequest(method: string, headers: IncomingHttpHeaders, rawBody: string): TokenReply {
    if (method !== 'POST') return this.refuse(400, 'invalid_request', 'the token endpoint takes POST only');
    const form = new URLSearchParams(rawBody);
    const basic = /^Basic\s+(\S+)$/i.exec(headers.authorization ?? '');
    const [clientId, clientSecret] = basic
      ? decodeBasic(basic[1]!)
      : [form.get('client_id'), form.get('client_secret')];
    if (form.get('grant_type') !== 'client_credentials') {
      return this.refuse(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
    }
    if (
      !clientId ||
      !clientSecret ||
      this.secrets.get(clientId) !== clientSecret ||
      this.faults.isRevoked(clientId)
    ) {
      return this.refuse(401, 'invalid_client', 'client authentication failed', basic !== null);
    }
    const accessToken = randomBytes(32).toString('base64url');
    this.tokens.set(accessToken, { clientId, expiresAt: this.clock.now() + this.lifetimeSeconds * 1000 });
    this.stats.tokensIssued += 1;
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
      body: {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: this.lifetimeSeconds,
        scope: form.get('scope') ?? 'all',
      },
    };
  }

  /** The service account of a bearer token, or the API's refusal. */
  identify(authorization: string): ServiceAccount['clientId'] {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    const issued = token === undefined ? undefined : this.tokens.get(token);
    if (!issued || issued.expiresAt <= this.clock.now() || this.faults.isRevoked(issued.clientId)) {
      throw new OvhHttpError(401, 'Invalid or expired access token');
    }
    this.stats.bearerCalls += 1;
    return issued.clientId;
  }

  private refuse(status: number, error: string, description: string, basicAuth = false): TokenReply {
    this.stats.refused += 1;
    return {
      status,
      headers: basicAuth ? { 'WWW-Authenticate': 'Basic realm="ovhcloud"' } : {},
      body: { error, error_description: description },
    };
  }
}

/** `base64(urlencode(id) + ":" + urlencode(secret))` (RFC 6749 §2.3.1: form-urlencoded, so "+" is a space). */
function decodeBasic(encoded: string): [string | null, string | null] {
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return [null, null];
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return null;
    }
  };
  return [decode(text.slice(0, colon)), decode(text.slice(colon + 1))];
}
