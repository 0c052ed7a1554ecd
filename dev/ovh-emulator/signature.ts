import { createHash, timingSafeEqual } from 'node:crypto';

export interface SignatureInput {
  applicationSecret: string;
  consumerKey: string;
  method: string;
  /** The full URL as the client signed it: `https://` + host (no port) + path and query string. */
  url: string;
  body: string;
  timestamp: string | number;
}

/** `"$1$" + sha1_hex(AS+"+"+CK+"+"+METHOD+"+"+URL+"+"+BODY+"+"+TIMESTAMP)`, as documented by OVH. */
export function ovhSignature(input: SignatureInput): string {
  const material = [
    input.applicationSecret,
    input.consumerKey,
    input.method,
    input.url,
    input.body,
    input.timestamp,
  ];
  return '$1$' + createHash('sha1').update(material.join('+')).digest('hex');
}

/**
 * The URL a client signs for a request that reached us with this Host header. node-ovh (and any client talking to
 * the real API on port 443) signs `https://<host><path>` without a port, so the port is dropped here too.
 */
export function signedUrl(hostHeader: string, pathAndQuery: string): string {
  return `https://${hostWithoutPort(hostHeader)}${pathAndQuery}`;
}

export function hostWithoutPort(hostHeader: string): string {
  if (hostHeader.startsWith('[')) {
    const end = hostHeader.indexOf(']');
    return end < 0 ? hostHeader : hostHeader.slice(0, end + 1);
  }
  const colon = hostHeader.lastIndexOf(':');
  return colon < 0 ? hostHeader : hostHeader.slice(0, colon);
}

export function signaturesEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
