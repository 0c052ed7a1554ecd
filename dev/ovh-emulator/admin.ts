import type { IncomingMessage } from 'node:http';
import { z, ZodError } from 'zod';
import type { Fault, FaultSpec } from './faults';
import type { EmulatorTiming, ServerStateEntry } from './state';

/** What the emulator lets its admin endpoint (and tests) do; implemented in server.ts. */
export interface EmulatorControl {
  addFault(spec: FaultSpec): Fault;
  listFaults(): Fault[];
  removeFault(id: number): boolean;
  clearFaults(): void;
  reset(): void;
  setTiming(timing: Partial<EmulatorTiming>): EmulatorTiming;
  /** Undefined when the service or the server does not exist. */
  setServerState(spec: ServerStateSpec): ServerStateEntry[] | undefined;
  /** False when the project, region or member does not exist. */
  setMemberHealth(spec: MemberHealthSpec): boolean;
  snapshot(): unknown;
}

/**
 * What the probes of an IPLB report of one server: `ipLoadbalancing.ServerState` entries (one per Load Balancer
 * instance). The schema gives every field as a nullable string (`instanceId` a long) and no list of `status`
 * values, so any string is accepted.
 */
export const serverStateSpec = z
  .object({
    serviceName: z.string().min(1),
    protocol: z.enum(['http', 'tcp']),
    serverId: z.number().int(),
    serverState: z.array(
      z
        .object({
          status: z.string().nullable().optional(),
          checkStatus: z.string().nullable().optional(),
          checkCode: z.string().nullable().optional(),
          checkTime: z.string().nullable().optional(),
          lastCheckContent: z.string().nullable().optional(),
          instanceId: z.number().int().optional(),
        })
        .strict(),
    ),
  })
  .strict();
export type ServerStateSpec = z.infer<typeof serverStateSpec>;

/** Whether the health monitor of its pool sees a Public Cloud Load Balancer member pass its checks. */
export const memberHealthSpec = z
  .object({
    serviceName: z.string().min(1),
    regionName: z.string().min(1),
    memberId: z.string().min(1),
    healthy: z.boolean(),
  })
  .strict();
export type MemberHealthSpec = z.infer<typeof memberHealthSpec>;

export interface AdminReply {
  status: number;
  body: unknown;
}

/**
 * `/_emulator/*`, outside the OVH API (`/1.0`), without authentication (loopback, for tests and the local stack):
 * - `GET /_emulator/state`: pending and applied configuration, tasks, DNS records and deployment, faults
 * - `GET|POST|DELETE /_emulator/faults`, `DELETE /_emulator/faults/{id}`: list, add (one spec or an array), clear
 * - `POST /_emulator/timing`: change task and DNS deployment durations
 * - `POST /_emulator/server-state`: what the probes report of one IPLB server (its `serverState`)
 * - `POST /_emulator/member-health`: whether a Public Cloud LB health monitor sees one member pass
 * - `POST /_emulator/reset`: back to the seed, no faults
 */
export function handleAdmin(
  control: EmulatorControl,
  req: IncomingMessage,
  path: string,
  rawBody: string,
): AdminReply {
  const method = req.method ?? 'GET';
  try {
    const body: unknown = rawBody === '' ? undefined : JSON.parse(rawBody);
    if (path === '/_emulator/state' && method === 'GET') return { status: 200, body: control.snapshot() };
    if (path === '/_emulator/faults' && method === 'GET') return { status: 200, body: control.listFaults() };
    if (path === '/_emulator/faults' && method === 'POST') {
      const specs = (Array.isArray(body) ? body : [body]) as FaultSpec[];
      return { status: 200, body: specs.map((spec) => control.addFault(spec)) };
    }
    if (path === '/_emulator/faults' && method === 'DELETE') {
      control.clearFaults();
      return { status: 200, body: [] };
    }
    const faultId = /^\/_emulator\/faults\/(\d+)$/.exec(path)?.[1];
    if (faultId !== undefined && method === 'DELETE') {
      return control.removeFault(Number(faultId))
        ? { status: 200, body: control.listFaults() }
        : { status: 404, body: { message: `no fault ${faultId}` } };
    }
    if (path === '/_emulator/timing' && method === 'POST') {
      return { status: 200, body: control.setTiming((body ?? {}) as Partial<EmulatorTiming>) };
    }
    if (path === '/_emulator/server-state' && method === 'POST') {
      const spec = serverStateSpec.parse(body);
      const state = control.setServerState(spec);
      return state === undefined
        ? {
            status: 404,
            body: { message: `no ${spec.protocol} server ${spec.serverId} on ${spec.serviceName}` },
          }
        : { status: 200, body: state };
    }
    if (path === '/_emulator/member-health' && method === 'POST') {
      const spec = memberHealthSpec.parse(body);
      return control.setMemberHealth(spec)
        ? { status: 200, body: spec }
        : {
            status: 404,
            body: { message: `no member ${spec.memberId} in ${spec.serviceName}/${spec.regionName}` },
          };
    }
    if (path === '/_emulator/reset' && method === 'POST') {
      control.reset();
      return { status: 200, body: { reset: true } };
    }
    return { status: 404, body: { message: `unknown admin endpoint ${method} ${path}` } };
  } catch (err) {
    if (err instanceof ZodError)
      return {
        status: 400,
        body: { message: path.endsWith('/faults') ? 'invalid fault' : 'invalid body', issues: err.issues },
      };
    if (err instanceof SyntaxError) return { status: 400, body: { message: `invalid JSON: ${err.message}` } };
    throw err;
  }
}
