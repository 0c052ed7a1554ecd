import { ApplicationFailure } from '@temporalio/common';
import { getSystemErrorName } from 'node:util';
import type ovh from '@ovhcloud/node-ovh';
import { resolveSecret, SecretUnavailableError } from '../../config/secrets';
import type { TrafficConfig } from '../../config/schema';
import { trafficFailure } from './errors';
import { formatMs } from './poll';
import { redact } from '../../common/redact';

/**
 * A thin typed wrapper around OVH's node client (`@ovhcloud/node-ovh` 3.x) for the OVH traffic providers: one client
 * per DR pair, created at first use from the runbook's secret references (never logged, never in a message) with
 * either an application's credentials (signed requests) or an OAuth2 service account (bearer tokens), and every
 * call's failure turned into a typed `Error`:
 * - `OvhInvalidCredentials` (401, 403, 400 "Invalid signature", a refused OAuth2 token request): the credentials
 *   are wrong, revoked or lack the right; retrying cannot help.
 * - `OvhUnavailable` (5xx, 408, 429, network errors, TLS errors, no answer in time): retry.
 * - `OvhApiError` (any other non-2xx): the status and OVH's message; retryable only for 409 and a stale timestamp.
 * `ovhFailure()` turns them into Temporal `ApplicationFailure`s with the same type names.
 *
 * Client quirks handled here: it reports failures as `(error, message)` where `error` is the HTTP status for any
 * non-2xx reply, a negative errno or an `Error` for network failures, an `'[OVH] …'` text (time fetch or JSON parse
 * failure) or `{statusCode, error, message}` for a failed token request; its `request` is `async`, so what it throws
 * (reading a token error it does not understand) only rejects the promise it returns, which is therefore always
 * handled here; its own `timeout` option leaks socket listeners on kept-alive sockets, so every call is bounded here
 * instead; it fills `{name}` placeholders without URL-encoding, so paths are built encoded by the caller.
 */

export type OvhCredentialsConfig = Extract<TrafficConfig, { provider: 'ovh-iplb' }>['ovh'];

/** OVH `errorCode`s recognised from the message, since node-ovh passes on only the status and the message. */
const KNOWN_REASONS: [RegExp, string][] = [
  [/credential is not valid|credential does not exist/i, 'INVALID_CREDENTIAL'],
  [/invalid signature/i, 'INVALID_SIGNATURE'],
  [/application key/i, 'INVALID_KEY'],
  [/not been granted/i, 'NOT_GRANTED_CALL'],
  [/must login/i, 'NOT_CREDENTIAL'],
  [/out of time/i, 'QUERY_TIME_OUT'],
];

function reasonOf(message: string): string | undefined {
  return KNOWN_REASONS.find(([pattern]) => pattern.test(message))?.[1];
}

export interface OvhCall {
  method: ovh.HttpMethod;
  path: string;
}

/** A reply other than HTTP 200, with OVH's message. */
export class OvhApiError extends Error {
  readonly status: number;
  /** The `message` of OVH's reply ('' when there was none). */
  readonly ovhMessage: string;
  /** OVH's error code, when recognised from the message (e.g. INVALID_CREDENTIAL). */
  readonly reason?: string;
  readonly method: ovh.HttpMethod;
  readonly path: string;
  readonly retryable: boolean;

  constructor(call: OvhCall, status: number, ovhMessage: string, message?: string) {
    const reason = reasonOf(ovhMessage);
    super(
      message ??
        `OVH API ${call.method} ${call.path} answered ${status}${reason ? ` ${reason}` : ''}: ${ovhMessage || '(no message)'}`,
    );
    this.name = 'OvhApiError';
    this.status = status;
    this.ovhMessage = ovhMessage;
    this.reason = reason;
    this.method = call.method;
    this.path = call.path;
    this.retryable = status === 409 || reason === 'QUERY_TIME_OUT';
  }
}

/**
 * The credentials are refused: unknown or wrong application key, bad signature (secret), revoked or unknown consumer
 * key, call not granted, or a service account whose token request is refused.
 */
export class OvhInvalidCredentials extends OvhApiError {
  constructor(
    call: OvhCall,
    status: number,
    ovhMessage: string,
    check: string,
    refused = 'refused the credentials',
  ) {
    const reason = reasonOf(ovhMessage);
    super(
      call,
      status,
      ovhMessage,
      `OVH API ${call.method} ${call.path} ${refused} (${status}${reason ? ` ${reason}` : ''}: ${ovhMessage || 'no message'}); ${check}`,
    );
    this.name = 'OvhInvalidCredentials';
  }
}

/** The API did not answer usably: 5xx, 408, 429, a network or TLS error, or no answer in time. */
export class OvhUnavailable extends Error {
  readonly status?: number;
  /** The network error code (ECONNREFUSED, ETIMEDOUT, a TLS code…) when there is one. */
  readonly code?: string;
  readonly method: ovh.HttpMethod;
  readonly path: string;

  constructor(call: OvhCall, detail: string, extra: { status?: number; code?: string } = {}) {
    super(`OVH API ${call.method} ${call.path} is unavailable: ${detail}`);
    this.name = 'OvhUnavailable';
    this.status = extra.status;
    this.code = extra.code;
    this.method = call.method;
    this.path = call.path;
  }
}

/** The runbook's `ovh` section cannot make a client (e.g. an endpoint node-ovh does not know). */
export class OvhClientMisconfigured extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OvhClientMisconfigured';
  }
}

/** Turns the wrapper's errors into `ApplicationFailure`s named after them; anything else passes through. */
export function ovhFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof SecretUnavailableError) return trafficFailure('SecretUnavailable', err.message);
  if (err instanceof OvhClientMisconfigured) return trafficFailure('TrafficMisconfigured', err.message);
  if (err instanceof OvhApiError) {
    return ApplicationFailure.create({
      type: err.name,
      message: err.message,
      nonRetryable: err instanceof OvhInvalidCredentials || !err.retryable,
      details: [{ status: err.status, reason: err.reason ?? null, method: err.method, path: err.path }],
    });
  }
  if (err instanceof OvhUnavailable) {
    return ApplicationFailure.create({
      type: err.name,
      message: err.message,
      nonRetryable: false,
      details: [{ status: err.status ?? null, code: err.code ?? null, method: err.method, path: err.path }],
    });
  }
  return err;
}

export interface OvhClientOptions {
  /** Upper bound of one API call, in ms (default 30 s): past it the call fails with `OvhUnavailable`. */
  requestTimeoutMs?: number;
  /** Builds the node-ovh client; tests replace it. */
  factory?: (options: ovh.ClientOptions) => ovh.Client;
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|DEPTH_ZERO/;

/** One node-ovh client for one DR pair's `ovh` section, created at first use. */
export class OvhClient {
  /** Where calls go, for messages: "eu.api.ovh.com" style endpoint name or host:port. */
  readonly where: string;
  private client?: ovh.Client;
  private secrets: string[] = [];
  private readonly requestTimeoutMs: number;
  private readonly factory?: (options: ovh.ClientOptions) => ovh.Client;

  constructor(
    private readonly config: OvhCredentialsConfig,
    /** Folder that relative `file:` references resolve against (the runbook's). */
    private readonly baseDir: string,
    options: OvhClientOptions = {},
  ) {
    this.where = config.host ? `${config.host}:${config.port ?? 443}` : config.endpoint;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.factory = options.factory;
  }

  /** The secret references, for messages. */
  get references(): string {
    const { applicationKey, applicationSecret, consumerKey, clientId, clientSecret } = this.config;
    return this.serviceAccount
      ? `clientId ${clientId}, clientSecret ${clientSecret}`
      : `applicationKey ${applicationKey}, applicationSecret ${applicationSecret}, consumerKey ${consumerKey}`;
  }

  /** Whether the runbook gives an OAuth2 service account (the schema allows exactly one kind of credentials). */
  private get serviceAccount(): boolean {
    return this.config.clientId !== undefined;
  }

  get<T>(path: string, query?: Record<string, string | number>, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, query, signal);
  }

  put(path: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<void> {
    return this.request<void>('PUT', path, body, signal);
  }

  post<T>(path: string, body?: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
    return this.request<T>('POST', path, body, signal);
  }

  /**
   * One API call. `path` is below `/1.0` and already URL-encoded; `params` is the query (GET, DELETE) or the JSON
   * body (PUT, POST). Rejects with `OvhApiError`, `OvhInvalidCredentials`, `OvhUnavailable`,
   * `SecretUnavailableError`, `OvhClientMisconfigured`, or the signal's reason when it aborts.
   */
  async request<T>(
    method: ovh.HttpMethod,
    path: string,
    params?: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<T> {
    signal?.throwIfAborted();
    const client = await this.connect();
    const call: OvhCall = { method, path };
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new OvhUnavailable(
              call,
              `no answer from ${this.where} within ${formatMs(this.requestTimeoutMs)}`,
              {
                code: 'ETIMEDOUT',
              },
            ),
          ),
        this.requestTimeoutMs,
      );
      const onAbort = () => reject(signal?.reason ?? new Error('cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      // node-ovh deletes used placeholders and null values from params: give it a copy. Both the callback and the
      // returned promise are handled at once, so nothing is left unhandled even after the timeout.
      client
        .request(method, path, params ? { ...params } : {}, (error, result) => {
          settle();
          if (error === null || error === undefined) resolve(result as T);
          else reject(this.convert(call, { error, message: result }));
        })
        .catch((thrown: unknown) => {
          settle();
          reject(this.thrownFailure(call, thrown));
        });
    });
  }

  private async connect(): Promise<ovh.Client> {
    if (this.client) return this.client;
    const { endpoint, host, port, tokenUrl } = this.config;
    const secret = (field: keyof OvhCredentialsConfig) => this.readSecret(field);
    const credentials: ovh.ClientOptions = this.serviceAccount
      ? {
          clientID: secret('clientId'),
          clientSecret: secret('clientSecret'),
          ...(host ? { tokenURL: tokenUrl } : {}),
        }
      : {
          appKey: secret('applicationKey'),
          appSecret: secret('applicationSecret'),
          consumerKey: secret('consumerKey'),
        };
    this.secrets = Object.values(credentials).filter(
      (v): v is string => typeof v === 'string' && v.length >= 4,
    );
    const options: ovh.ClientOptions = {
      ...credentials,
      // No node-ovh `timeout`: it adds a socket 'timeout' listener per request that is never removed, which leaks
      // on the kept-alive sockets of Node's global agent. Calls are bounded in request() instead.
      ...(host ? { host } : { endpoint }),
      ...(port ? { port } : {}),
    };
    // node-ovh is loaded at the first call: its dependencies take ~0.2 s of CPU to load, at every start of a
    // worker, which may never call the OVH API.
    const factory = this.factory ?? (await import('@ovhcloud/node-ovh')).default;
    try {
      this.client = factory(options);
    } catch (err) {
      throw new OvhClientMisconfigured(
        `cannot create the OVH API client for ${this.where}: ${this.redact(String((err as Error)?.message ?? err))}`,
      );
    }
    return this.client;
  }

  /**
   * One credential, from its secret reference. It travels in an HTTP header: a value a header cannot carry would
   * make the request throw inside node-ovh, so it is refused here, naming the reference only.
   */
  private readSecret(field: keyof OvhCredentialsConfig): string {
    const reference = String(this.config[field]);
    const value = resolveSecret(reference, this.baseDir);
    if (!/^[\x21-\x7e]+$/.test(value)) {
      throw new OvhClientMisconfigured(
        `the OVH ${field} read from ${reference} holds spaces or characters an HTTP header cannot carry; check that secret`,
      );
    }
    return value;
  }

  /** What a human must check when the credentials are refused. */
  private get checkCredentials(): string {
    return this.serviceAccount
      ? `check the service account (${this.references}) and the IAM policies that must grant it this call`
      : `check the application key, application secret and consumer key (${this.references}) and the consumer key's rights`;
  }

  /** A failed OAuth2 token request, as node-ovh reports it (from simple-oauth2's error). */
  private tokenFailure(call: OvhCall, error: ovh.TokenError): Error {
    const status = error.statusCode ?? 0;
    const detail = this.redact(
      [error.error, typeof error.message === 'string' ? error.message : JSON.stringify(error.message ?? null)]
        .filter((part) => part && part !== 'null')
        .join(' '),
    );
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      this.client = undefined;
      return new OvhInvalidCredentials(
        call,
        status,
        detail,
        this.checkCredentials,
        'could not get an OAuth2 token',
      );
    }
    return new OvhUnavailable(
      call,
      `could not get an OAuth2 token for ${this.where}: ${status || 'no status'} ${detail}`.trim() +
        (status === 502
          ? ' (the token request failed on the network or TLS: is the token URL reachable and its CA trusted?)'
          : ''),
      { status: status || undefined, code: 'OAUTH2_TOKEN_UNAVAILABLE' },
    );
  }

  /** What node-ovh's `request` throws instead of calling back: it fails reading a token error it does not expect. */
  private thrownFailure(call: OvhCall, thrown: unknown): Error {
    if (this.serviceAccount) {
      return new OvhUnavailable(
        call,
        `the OAuth2 token request for ${this.where} failed in a way the client cannot report (no answer in time, or an answer that is not JSON): ${this.redact(String(thrown))}`,
        { code: 'OAUTH2_TOKEN_UNAVAILABLE' },
      );
    }
    return this.convert(call, {
      error: thrown instanceof Error ? thrown : String(thrown),
      message: undefined,
    });
  }

  /** Removes any secret value from a text that came from outside (error messages). */
  private redact(text: string): string {
    return redact(text, this.secrets);
  }

  private convert(call: OvhCall, rejection: unknown): Error {
    const { error, message } =
      rejection !== null && typeof rejection === 'object' && 'error' in rejection
        ? (rejection as ovh.RequestError)
        : { error: rejection as ovh.ErrorValue, message: undefined };
    const ovhMessage = this.redact(typeof message === 'string' ? message : '');

    if (typeof error === 'number' && error >= 100 && error < 600) {
      const reason = reasonOf(ovhMessage);
      if (error === 401 || error === 403 || reason === 'INVALID_SIGNATURE') {
        // Read the secrets again at the next call: they may have been rotated.
        this.client = undefined;
        return new OvhInvalidCredentials(call, error, ovhMessage, this.checkCredentials);
      }
      if (error >= 500 || error === 408 || error === 429) {
        return new OvhUnavailable(call, `${error}${ovhMessage ? ` ${ovhMessage}` : ''}`, { status: error });
      }
      // A stale timestamp: a new client fetches the API time again.
      if (reason === 'QUERY_TIME_OUT') this.client = undefined;
      return new OvhApiError(call, error, ovhMessage);
    }
    if (typeof error === 'number') {
      const code = safeErrorName(error);
      return new OvhUnavailable(call, `network error ${code} reaching ${this.where}`, { code });
    }
    if (error instanceof Error) {
      const code = (error as NodeJS.ErrnoException).code;
      const tls = code !== undefined && TLS_CODES.test(code);
      return new OvhUnavailable(
        call,
        `${tls ? 'TLS' : 'network'} error reaching ${this.where}: ${this.redact(error.message)}${code ? ` (${code})` : ''}${
          tls ? '; is its CA trusted (NODE_EXTRA_CA_CERTS)?' : ''
        }`,
        { code },
      );
    }
    if (isTokenError(error)) return this.tokenFailure(call, error);
    if (typeof error === 'string' && /Unable to fetch OVH API time/.test(error)) {
      // node-ovh fetches GET /auth/time before its first call and drops the cause of a failure there.
      return new OvhUnavailable(
        call,
        `could not get the API time from ${this.where} before the call (node-ovh hides why: connection refused, name resolution, TLS trust — is the CA trusted, e.g. NODE_EXTRA_CA_CERTS? — or an error reply)`,
        { code: 'AUTH_TIME_UNAVAILABLE' },
      );
    }
    // '[OVH] Unable to parse JSON reponse', or anything unexpected.
    return new OvhUnavailable(call, this.redact(String(error)));
  }
}

function isTokenError(error: unknown): error is ovh.TokenError {
  return error !== null && typeof error === 'object' && !(error instanceof Error) && 'statusCode' in error;
}

function safeErrorName(errno: number): string {
  try {
    return getSystemErrorName(errno);
  } catch {
    return `errno ${errno}`;
  }
}

/**
 * Runs a provider operation with typed failures for everything the OVH API throws: a 404 means the runbook names
 * something that is not there (`hint` says which fields to check); anything else goes through ovhFailure.
 */
export async function guardOvh<T>(label: string, hint: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    if (err instanceof OvhApiError && err.status === 404) {
      throw trafficFailure('TrafficMisconfigured', `${label}: ${err.message}; ${hint}`);
    }
    throw ovhFailure(err);
  }
}
