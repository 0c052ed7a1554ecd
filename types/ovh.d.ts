/**
 * Types for `@ovhcloud/node-ovh` 3.0.0 (OVH's official client, formerly `ovh`), which ships none. Written from
 * `node_modules/@ovhcloud/node-ovh/lib/ovh.js` and `lib/endpoints.js`.
 *
 * Behaviour worth knowing:
 * - always HTTPS through Node's global agent; no CA or agent option (trust a private CA with NODE_EXTRA_CA_CERTS);
 * - two ways to authenticate, exactly one per client (the constructor throws otherwise):
 *   - application key + secret (+ consumer key): signs `'https://' + host + path` without the port; never signs
 *     (nor sends the consumer key on) a path containing `/auth`; fetches `GET /auth/time` once before the first call
 *     unless `apiTimeDiff` is a non-zero number;
 *   - OAuth2 service account (`clientID` + `clientSecret`): before the first call, and when the token expires within
 *     10 s, POSTs the client-credentials grant (`scope=all`, HTTP Basic client authentication, by simple-oauth2) to
 *     `tokenURL + 'oauth2/token'`, then sends `Authorization: Bearer <token>` on every call, with no signature, no
 *     `X-Ovh-*` header and no `Content-Type`. `endpoint` sets `tokenURL` for ovh-eu, ovh-us and ovh-ca only;
 * - any 2xx is a success (an empty body resolves `null`); anything else rejects;
 * - `request` is an `async` function: an error thrown inside it (e.g. by the token fetch on a reply it cannot read)
 *   rejects the promise it returns and never reaches the callback. `requestPromised` drops that promise.
 */
declare module '@ovhcloud/node-ovh' {
  namespace ovh {
    type Endpoint =
      | 'ovh-eu'
      | 'ovh-us'
      | 'ovh-ca'
      | 'sys-eu'
      | 'sys-ca'
      | 'soyoustart-eu'
      | 'soyoustart-ca'
      | 'ks-eu'
      | 'ks-ca'
      | 'kimsufi-eu'
      | 'kimsufi-ca';

    type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

    interface ClientOptions {
      appKey?: string;
      appSecret?: string;
      consumerKey?: string;
      /** OAuth2 service account: both or neither, and not with `appKey`/`appSecret`. */
      clientID?: string;
      clientSecret?: string;
      /** Base of the OAuth2 token URL (`oauth2/token` is appended), e.g. `https://www.ovh.com/auth/`. */
      tokenURL?: string;
      /** A preconfigured endpoint; it overrides `host` and `tokenURL`. Unknown names make the constructor throw. */
      endpoint?: Endpoint;
      /** Default `eu.api.ovh.com`. */
      host?: string;
      /** Default 443. Not part of the signed URL. */
      port?: number;
      /** Default `/1.0`. */
      basePath?: string;
      /** Socket inactivity timeout in ms; the request is aborted and fails with a network error. */
      timeout?: number;
      /** Seconds to add to the local clock; when absent or 0, fetched from `GET /auth/time` before the first call. */
      apiTimeDiff?: number;
      /** API names whose schemas are fetched first to warn about unknown or deprecated calls. */
      apis?: string[];
      warn?: (...messages: unknown[]) => void;
      debug?: boolean | ((...messages: unknown[]) => void);
    }

    /** Path placeholders (`{name}`) are filled from these and removed; the rest is the query string or JSON body. */
    type Params = Record<string, unknown>;

    /** How a failed OAuth2 token request is reported (from simple-oauth2's error). */
    interface TokenError {
      statusCode?: number;
      error?: string;
      message?: unknown;
    }

    /**
     * First callback argument on failure: the HTTP status for a non-2xx reply, a `'[OVH] ...'` text for time-fetch
     * and JSON parse failures, the network error's `errno` (or the error itself), or a `TokenError`.
     */
    type ErrorValue = number | string | Error | TokenError;

    /** What `requestPromised` rejects with. `message` is the reply's `message` field (null when the body was empty). */
    interface RequestError {
      error: ErrorValue;
      message: string | null | undefined;
    }

    type Callback = (error: ErrorValue | null, result?: unknown) => void;

    interface Client {
      readonly host: string;
      readonly port: number;
      readonly basePath: string;
      readonly appKey?: string;
      readonly consumerKey?: string | null;
      apiTimeDiff: number | null;
      request(method: HttpMethod, path: string, callback: Callback): Promise<void>;
      request(method: HttpMethod, path: string, params: Params, callback: Callback): Promise<void>;
      /** A Bluebird promise (it has the `Promise` methods used here); rejects with `RequestError`. */
      requestPromised<T = unknown>(method: HttpMethod, path: string, params?: Params): Promise<T>;
      /** `"$1$" + sha1_hex(appSecret+"+"+consumerKey+"+"+method+"+"+url+"+"+body+"+"+timestamp)`. */
      signRequest(method: string, url: string, body: string | null, timestamp: number | string): string;
    }
  }

  function ovh(options: ovh.ClientOptions): ovh.Client;
  export = ovh;
}
