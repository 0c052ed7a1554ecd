import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Context, log } from '@temporalio/activity';
import { z } from 'zod';
import { durationMs } from '../../config/duration';
import { name } from '../../config/schema';
import { activityInput } from '../activity-input';
import { dbFailure, guardDb, type ManagedDatabase, type OvhDatabaseClients } from './client';

/** `cloud.project.database.Service`, the fields read here. */
interface ServiceView {
  id: string;
  status: string;
  description: string;
  plan: string;
  flavor: string;
  version: string;
  nodeNumber: number;
  region: string | null;
  backups: { regions: string[]; pitr: string | null } | null;
  endpoints: { component: string; domain: string; port: number | null; uri: string | null }[];
  ipRestrictions: { ip: string; status: string }[];
}

/** `cloud.project.database.Backup`, the fields read here. */
interface BackupView {
  id: string;
  createdAt: string;
  status: string;
  regions: { name: string }[];
}

/** One check of a managed database's readiness, in one plain sentence. */
export interface OvhDbCheck {
  name: string;
  ok: boolean;
  sentence: string;
}

export interface OvhDbReadiness {
  name: string;
  /** The primary's service status (READY when healthy; any other when OVH is working on it or it failed). */
  status: string;
  /** Every check passes: a restore into drRegion is possible now, from a backup young enough. */
  ok: boolean;
  checks: OvhDbCheck[];
  /** The backup a restore would start from now, and its time: the restore point a failover can promise. */
  backupId?: string;
  restorePoint?: string;
  sentence: string;
}

export interface OvhDbRestoreResult {
  name: string;
  /** False when this run's fork already existed (a retry): nothing was created again. */
  created: boolean;
  /** The new service (cluster) ID, in drRegion; the primary's service is left as it is. */
  serviceId: string;
  region: string;
  backupId: string;
  /** When the backup the fork started from was taken: writes after it are not in the new service. */
  restorePoint: string;
  /** The new service's endpoint (a new host name: clients must be pointed at it). */
  host: string;
  port: number | null;
  steps: string[];
  description: string;
}

export interface OvhDbAccessResult {
  name: string;
  serviceId: string;
  /** Users this call created; each password was written to its file under passwordsDir, never returned. */
  created: string[];
  /** Declared users the service already had (an earlier attempt, or a human). */
  present: string[];
  /** Where each created user's password is (0600), by user. */
  passwordFiles: Record<string, string>;
  /** Declared IP blocks the service lets in, and those it does not. */
  ipRestrictions: { allowed: string[]; missing: string[] };
  steps: string[];
  description: string;
}

const dbInput = z.object({ pair: name, name }).strict();
const restoreInput = z
  .object({
    pair: name,
    name,
    /** What marks this run's fork (the workflow ID), so a retry finds it instead of forking twice. */
    runTag: z.string().regex(/^[A-Za-z0-9._:/-]{1,120}$/, 'must be a workflow ID'),
  })
  .strict();
const accessInput = z.object({ pair: name, name, serviceId: z.string().uuid() }).strict();

export interface OvhDatabaseActivityOptions {
  /** Between two reads of a fork's status while it is created (default 15 s). */
  pollMs?: number;
}

const enc = encodeURIComponent;
const FAILED_STATUSES = new Set(['ERROR', 'ERROR_INCONSISTENT_SPEC', 'DELETING', 'SHELVED']);

/** What marks the fork of one run: "drctl <pair>/<name> <runTag> from backup <backupId>". */
function forkTag(db: ManagedDatabase, runTag: string): string {
  return `drctl ${db.pair}/${db.config.name} ${runTag} from backup `;
}

export function createOvhDatabaseActivities(
  { clients }: { clients: OvhDatabaseClients },
  options: OvhDatabaseActivityOptions = {},
) {
  const pollMs = options.pollMs ?? 15_000;

  const service = (db: ManagedDatabase, id: string) => db.client.get<ServiceView>(`${db.base}/${enc(id)}`);

  /** The service's backups, newest first. */
  async function backups(db: ManagedDatabase): Promise<BackupView[]> {
    const ids = await db.client.get<string[]>(`${db.base}/${enc(db.config.clusterId)}/backup`);
    const all = await Promise.all(
      ids.map((id) => db.client.get<BackupView>(`${db.base}/${enc(db.config.clusterId)}/backup/${enc(id)}`)),
    );
    return all.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  }

  /** The newest READY backup stored in drRegion, the one a restore starts from. */
  async function restorableBackup(db: ManagedDatabase): Promise<BackupView | undefined> {
    const region = db.config.drRegion;
    return (await backups(db)).find((b) => b.status === 'READY' && b.regions.some((r) => r.name === region));
  }

  /** This run's fork, if an earlier attempt made it: a service whose description carries the run's tag. */
  async function existingFork(db: ManagedDatabase, runTag: string): Promise<ServiceView | undefined> {
    const tag = forkTag(db, runTag);
    for (const id of await db.client.get<string[]>(db.base)) {
      if (id === db.config.clusterId) continue;
      const s = await service(db, id);
      if (s.description.startsWith(tag)) return s;
    }
    return undefined;
  }

  async function waitReady(db: ManagedDatabase, id: string, deadline: number): Promise<ServiceView> {
    const ctx = Context.current();
    for (;;) {
      const s = await service(db, id);
      ctx.heartbeat({ serviceId: id, status: s.status });
      if (s.status === 'READY') return s;
      if (FAILED_STATUSES.has(s.status))
        throw dbFailure(
          'OvhDatabaseForkFailed',
          `${db.label}: the service ${id} forked into ${db.config.drRegion} is ${s.status}, not READY; nothing else was changed. Look at it in the OVH control panel (delete it before a new restore: a new run forks again)`,
          { serviceId: id, status: s.status },
        );
      if (Date.now() >= deadline)
        throw dbFailure(
          'OvhDatabaseNotReady',
          `${db.label}: the service ${id} forked into ${db.config.drRegion} is still ${s.status} after ${db.config.readyTimeout} (ovhDatabases readyTimeout); it may still become READY: retry the step to wait again (the same fork is used)`,
          { serviceId: id, status: s.status },
        );
      await sleepOrCancel(Math.min(pollMs, Math.max(0, deadline - Date.now())), ctx.cancellationSignal);
    }
  }

  return {
    /**
     * Whether the managed database can be restored into drRegion now: the newest backup stored there (its time is the
     * restore point a failover can promise) exists and is younger than maxBackupAge. Changes nothing.
     */
    async ovhDbReadiness(raw: { pair: string; name: string }): Promise<OvhDbReadiness> {
      const input = activityInput('ovhDbReadiness', dbInput, raw);
      const db = clients.get(input.pair, input.name);
      return guardDb(db, async () => {
        const { drRegion, maxBackupAge } = db.config;
        const primary = await service(db, db.config.clusterId);
        const regions = primary.backups?.regions ?? [];
        const backup = await restorableBackup(db);
        const ageMs = backup ? Date.now() - Date.parse(backup.createdAt) : undefined;
        const checks: OvhDbCheck[] = [
          {
            name: 'backup-regions',
            ok: regions.includes(drRegion),
            sentence: regions.includes(drRegion)
              ? `its backups are copied to ${drRegion} (backup regions ${regions.join(', ')}).`
              : `its backups are not copied to ${drRegion} (backup regions: ${regions.join(', ') || 'none'}): a restore there is impossible.`,
          },
          {
            name: 'backup-in-region',
            ok: backup !== undefined && ageMs! <= durationMs(maxBackupAge),
            sentence: !backup
              ? `no READY backup is stored in ${drRegion}.`
              : `its newest backup in ${drRegion} (${backup.id}) was taken at ${backup.createdAt}, ${Math.round(ageMs! / 60_000)} min ago${ageMs! > durationMs(maxBackupAge) ? `, older than maxBackupAge ${maxBackupAge}` : ''}.`,
          },
        ];
        const ok = checks.every((c) => c.ok);
        const sentence = `${db.label} is ${primary.status}; ${checks.map((c) => c.sentence).join(' ')}${
          ok
            ? ` A restore into ${drRegion} can start from ${backup!.createdAt}: writes after it would be lost.`
            : ''
        }`;
        return {
          name: db.config.name,
          status: primary.status,
          ok,
          checks,
          ...(backup ? { backupId: backup.id, restorePoint: backup.createdAt } : {}),
          sentence,
        };
      });
    },

    /**
     * Restores the managed database from its newest backup in drRegion: forks it into a new service there (POST with
     * `forkFrom {serviceId, backupId}`), then waits for it to be READY, at most readyTimeout, heartbeating. Idempotent:
     * a retry finds the fork this run made (by the tag in its description) and waits for it instead of forking
     * again. The primary's service is not touched. Not reversible: the new service is billed until someone deletes it.
     */
    async ovhDbRestoreFromBackup(raw: {
      pair: string;
      name: string;
      runTag: string;
    }): Promise<OvhDbRestoreResult> {
      const input = activityInput('ovhDbRestoreFromBackup', restoreInput, raw);
      const db = clients.get(input.pair, input.name);
      const deadline = Date.now() + durationMs(db.config.readyTimeout);
      return guardDb(db, async () => {
        const steps: string[] = [];
        let fork = await existingFork(db, input.runTag);
        const created = fork === undefined;
        let backupId: string;
        if (fork) {
          backupId = fork.description.slice(forkTag(db, input.runTag).length).split(' ')[0] ?? '';
          steps.push(`found this run's fork ${fork.id} (${fork.status}) from backup ${backupId}`);
        } else {
          const backup = await restorableBackup(db);
          if (!backup)
            throw dbFailure(
              'OvhDatabaseNoBackupInRegion',
              `${db.label}: no READY backup is stored in ${db.config.drRegion}; nothing was created`,
            );
          backupId = backup.id;
          fork = await db.client.post<ServiceView>(db.base, await forkBody(db, input.runTag, backup));
          steps.push(
            `POST ${db.base} forkFrom {serviceId ${db.config.clusterId}, backupId ${backup.id}} nodesPattern.region ${db.config.drRegion}: service ${fork.id}`,
          );
        }
        const ready = await waitReady(db, fork.id, deadline);
        steps.push(`service ${ready.id} is READY`);
        const backup = await db.client.get<BackupView>(
          `${db.base}/${enc(db.config.clusterId)}/backup/${enc(backupId)}`,
        );
        const endpoint = ready.endpoints.find((e) => e.component === db.config.engine) ?? ready.endpoints[0];
        const host = endpoint?.domain ?? '';
        const result: OvhDbRestoreResult = {
          name: db.config.name,
          created,
          serviceId: ready.id,
          region: db.config.drRegion,
          backupId,
          restorePoint: backup.createdAt,
          host,
          port: endpoint?.port ?? null,
          steps,
          description: `${db.config.name} restored into ${db.config.drRegion} as the new service ${ready.id} (host ${host}${endpoint?.port ? `:${endpoint.port}` : ''}) from the backup taken at ${backup.createdAt}: writes made after it are not in it; clients must use the new host; its users and IP restrictions are not the old service's.`,
        };
        log.info(result.description, { pair: input.pair, serviceId: ready.id });
        return result;
      });
    },

    /**
     * Gives the restored service the declared users and checks its IP restrictions: creates each declared user it
     * lacks and writes the password OVH returns (shown once) to `<passwordsDir>/<pair>/<name>/<serviceId>/<user>`
     * (0600); returns only names and file paths, so no password enters a run's history. Idempotent: users present are
     * left as they are.
     */
    async ovhDbRecreateAccess(raw: {
      pair: string;
      name: string;
      serviceId: string;
    }): Promise<OvhDbAccessResult> {
      const input = activityInput('ovhDbRecreateAccess', accessInput, raw);
      const db = clients.get(input.pair, input.name);
      return guardDb(db, async () => {
        const base = `${db.base}/${enc(input.serviceId)}`;
        const steps: string[] = [];
        const ids = await db.client.get<string[]>(`${base}/user`);
        const users = await Promise.all(
          ids.map((id) => db.client.get<{ username: string }>(`${base}/user/${enc(id)}`)),
        );
        const existing = new Set(users.map((u) => u.username));
        const present = db.config.users.filter((u) => existing.has(u));
        const created: string[] = [];
        const passwordFiles: Record<string, string> = {};
        for (const user of db.config.users.filter((u) => !existing.has(u))) {
          const reply = await db.client.post<{ password: string }>(`${base}/user`, { name: user });
          passwordFiles[user] = writePassword(db, input.serviceId, user, reply.password);
          created.push(user);
          steps.push(
            `POST ${base}/user {name: ${user}}: created, password written to ${passwordFiles[user]}`,
          );
        }
        const s = await service(db, input.serviceId);
        const allowed = s.ipRestrictions.map((r) => r.ip);
        const declared = db.config.ipRestrictions.map((r) => r.ip);
        const missing = declared.filter((ip) => !allowed.includes(ip));
        const description = [
          created.length > 0
            ? `created user(s) ${created.join(', ')} on ${input.serviceId}; their passwords are in ${path.dirname(Object.values(passwordFiles)[0]!)} (0600).`
            : `no user to create on ${input.serviceId}.`,
          present.length > 0 ? `Already there: ${present.join(', ')}.` : '',
          missing.length > 0
            ? `IP restrictions missing: ${missing.join(', ')} (the fork was not given them; add them in the OVH control panel).`
            : declared.length > 0
              ? `It lets in ${declared.join(', ')}.`
              : 'No IP restriction is declared: nothing is let in until one is added.',
        ]
          .filter((part) => part !== '')
          .join(' ');
        log.info(description, { pair: input.pair, serviceId: input.serviceId, created });
        return {
          name: db.config.name,
          serviceId: input.serviceId,
          created,
          present,
          passwordFiles,
          ipRestrictions: { allowed: declared.filter((ip) => allowed.includes(ip)), missing },
          steps,
          description,
        };
      });
    },
  };
}

/** The fork's creation body: the primary's plan, flavor, node count and version unless the runbook sets them. */
async function forkBody(
  db: ManagedDatabase,
  runTag: string,
  backup: BackupView,
): Promise<Record<string, unknown>> {
  const primary = await db.client.get<ServiceView>(`${db.base}/${enc(db.config.clusterId)}`);
  return {
    description: `${forkTag(db, runTag)}${backup.id} (${backup.createdAt})`,
    forkFrom: { serviceId: db.config.clusterId, backupId: backup.id },
    ipRestrictions: db.config.ipRestrictions.map((r) => ({ ip: r.ip, description: r.description })),
    nodesPattern: {
      flavor: db.config.flavor ?? primary.flavor,
      number: db.config.nodes ?? primary.nodeNumber,
      region: db.config.drRegion,
    },
    plan: db.config.plan ?? primary.plan,
    version: primary.version,
  };
}

/** Writes a password to its own 0600 file (through a temporary file and a rename, so it is never half written). */
function writePassword(db: ManagedDatabase, serviceId: string, user: string, password: string): string {
  const dir = path.resolve(db.runbookDir, db.section.passwordsDir, db.pair, db.config.name, serviceId);
  const file = path.join(dir, user);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, `${password}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
    return file;
  } catch (err) {
    throw dbFailure(
      'OvhDatabasePasswordSinkFailed',
      `${db.label}: user ${user} was created on ${serviceId} but its password could not be written to ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}); reset it with POST ${db.base}/${serviceId}/user/<userId>/credentials/reset once the folder is writable`,
    );
  }
}

function sleepOrCancel(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
