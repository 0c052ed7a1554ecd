import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** Why a request is not authenticated (a sentence safe to return to the caller), or undefined when it is. */
export type AuthCheck = (request: IncomingMessage) => string | undefined;

/**
 * Every request must carry `Authorization: Bearer <token>` with the receiver's token. The comparison takes the same
 * time whatever the token sent: both sides are hashed to one length first, then compared with timingSafeEqual. With
 * mutual TLS, the client's certificate must also have been verified against the client CA.
 */
export function bearerAuth(token: string, requireClientCertificate: boolean): AuthCheck {
  const expected = digest(token);
  return (request) => {
    if (requireClientCertificate && !(request.socket as TLSSocket).authorized)
      return "a client certificate signed by the receiver's client CA is required";
    const header = request.headers.authorization;
    if (header === undefined)
      return 'the Authorization header is missing: send "Authorization: Bearer <token>"';
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!m) return 'the Authorization header is not "Bearer <token>"';
    return timingSafeEqual(digest(m[1]!), expected) ? undefined : "the bearer token is not the receiver's";
  };
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
