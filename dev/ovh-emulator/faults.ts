import { z } from 'zod';

const pathPattern = z
  .string()
  .min(1)
  .describe('API path below /1.0 (a leading /1.0 is accepted); `*` matches any characters');
const method = z.enum(['GET', 'PUT', 'POST', 'DELETE']);
const count = z.number().int().min(1);

export const faultSpec = z.discriminatedUnion('type', [
  /** Answer matching requests with a 5xx (once, or `count` times). */
  z
    .object({
      type: z.literal('http-error'),
      status: z.number().int().min(500).max(599).default(500),
      path: pathPattern.default('*'),
      method: method.optional(),
      count: count.default(1),
    })
    .strict(),
  /** Delay matching requests (every time, or `count` times). */
  z
    .object({
      type: z.literal('slow'),
      delayMs: z.number().int().min(1),
      path: pathPattern.default('*'),
      method: method.optional(),
      count: count.optional(),
    })
    .strict(),
  /**
   * A credential is revoked until the fault is cleared: an application's consumer key (its calls answer
   * INVALID_CREDENTIAL) or an OAuth2 service account (token requests refused, its tokens no longer accepted).
   */
  z
    .object({
      type: z.literal('revoke-credential'),
      consumerKey: z.string().min(1).optional(),
      clientId: z.string().min(1).optional(),
    })
    .strict()
    .refine((f) => (f.consumerKey === undefined) !== (f.clientId === undefined), {
      message: 'give either consumerKey or clientId',
    }),
  /** The next refresh task(s) of the service (any service when omitted) end in `error`. */
  z
    .object({
      type: z.literal('refresh-task-error'),
      serviceName: z.string().optional(),
      count: count.default(1),
    })
    .strict(),
]);

export type FaultSpec = z.input<typeof faultSpec>;
export type Fault = z.output<typeof faultSpec> & { id: number };

function globToRegExp(pattern: string): RegExp {
  const relative = pattern.startsWith('/1.0/') ? pattern.slice(4) : pattern;
  const escaped = relative.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

export interface HttpFaultEffect {
  delayMs: number;
  errorStatus?: number;
}

/** Active faults. Count-limited faults disappear once used up. */
export class Faults {
  private faults: Fault[] = [];
  private nextId = 1;

  add(spec: FaultSpec): Fault {
    const fault = { ...faultSpec.parse(spec), id: this.nextId++ };
    this.faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return structuredClone(this.faults);
  }

  remove(id: number): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((fault) => fault.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }

  /** Delay and status to apply to an API request; consumes one use of each matching count-limited fault. */
  forRequest(requestMethod: string, apiPath: string): HttpFaultEffect {
    const effect: HttpFaultEffect = { delayMs: 0 };
    for (const fault of [...this.faults]) {
      if (fault.type !== 'http-error' && fault.type !== 'slow') continue;
      if (fault.method !== undefined && fault.method !== requestMethod) continue;
      if (!globToRegExp(fault.path).test(apiPath)) continue;
      if (fault.type === 'slow') effect.delayMs += fault.delayMs;
      else if (effect.errorStatus === undefined) effect.errorStatus = fault.status;
      else continue;
      this.consume(fault);
    }
    return effect;
  }

  /** Whether a consumer key or a service account's client ID is revoked. */
  isRevoked(consumerKeyOrClientId: string): boolean {
    return this.faults.some(
      (fault) =>
        fault.type === 'revoke-credential' &&
        (fault.consumerKey === consumerKeyOrClientId || fault.clientId === consumerKeyOrClientId),
    );
  }

  /** Whether the refresh task being created for this service must fail (consumes the fault). */
  takeRefreshError(serviceName: string): boolean {
    const fault = this.faults.find(
      (f) =>
        f.type === 'refresh-task-error' && (f.serviceName === undefined || f.serviceName === serviceName),
    );
    if (!fault) return false;
    this.consume(fault);
    return true;
  }

  private consume(fault: Fault): void {
    if (!('count' in fault) || fault.count === undefined) return;
    fault.count -= 1;
    if (fault.count <= 0) this.remove(fault.id);
  }
}
