/**
 * Types for `ovh` (node-ovh 2.0.3), which ships none. Written from `node_modules/ovh/lib/ovh.es6.js`.
 *
 * Behaviour worth knowing (see the OVH part of the reference notes):
 * - always HTTPS through Node's global agent; no CA or agent option (trust a private CA with NODE_EXTRA_CA_CERTS);
 * - signs `'https://' + host + path` without the port; never signs (nor sends the consumer key on) a path containing
 *   `/auth`, so `/auth/currentCredential` cannot be called authenticated through it;
 * - fetches `GET /auth/time` once before the first call unless `apiTimeDiff` is a non-zero number;
 * - only HTTP 200 is a success; `requestPromised` rejects with a plain object, not an `Error`.
 */
declare module 'ovh' {
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
      appKey: string;
      appSecret: string;
      consumerKey?: string;
      /** A preconfigured endpoint; it overrides `host` (and sets `basePath`). Unknown names make the constructor throw. */
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

    /**
     * First callback argument on failure: the HTTP status for any non-200 reply, a `'[OVH] ...'` text for time-fetch
     * and JSON parse failures, or the network error's `errno` (or the error itself).
     */
    type ErrorValue = number | string | Error;

    /** What `requestPromised` rejects with. `message` is the reply's `message` field (null when the body was empty). */
    interface RequestError {
      error: ErrorValue;
      message: string | null | undefined;
    }

    type Callback = (error: ErrorValue | null, result?: unknown) => void;

    interface Client {
      readonly appKey: string;
      readonly appSecret: string;
      readonly consumerKey: string | null;
      readonly host: string;
      readonly port: number;
      readonly basePath: string;
      readonly timeout: number | undefined;
      apiTimeDiff: number | null;
      request(method: HttpMethod, path: string, callback: Callback): void;
      request(method: HttpMethod, path: string, params: Params, callback: Callback): void;
      /** A Bluebird promise (it has the `Promise` methods used here); rejects with `RequestError`. */
      requestPromised<T = unknown>(method: HttpMethod, path: string, params?: Params): Promise<T>;
      /** `"$1$" + sha1_hex(appSecret+"+"+consumerKey+"+"+method+"+"+url+"+"+body+"+"+timestamp)`. */
      signRequest(method: string, url: string, body: string | null, timestamp: number | string): string;
    }
  }

  function ovh(options: ovh.ClientOptions): ovh.Client;
  export = ovh;
}
