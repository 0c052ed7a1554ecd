import type { EmulatorClock, IplbConfig, IplbTask } from './state';
import { clone } from './state';

/** A refresh task, with what it deploys when it completes. */
export interface TaskRecord {
  id: number;
  action: 'refreshIplb';
  zones: string[];
  createdAtMs: number;
  todoMs: number;
  doingMs: number;
  fails: boolean;
  /** The pending configuration when the refresh was asked for: what the task deploys. */
  snapshot: IplbConfig;
  /** Changes up to this sequence number are deployed by the task. */
  changeSeq: number;
  settled: boolean;
}

export interface ChangeRecord {
  seq: number;
  zone: string;
}

export function taskFinishesAt(task: TaskRecord): number {
  return task.createdAtMs + task.todoMs + task.doingMs;
}

/** The task as `GET .../task/{id}` shows it at `now`: `todo`, then `doing`, then `done` (or `error`). */
export function taskView(task: TaskRecord, clock: EmulatorClock, now = clock.now()): IplbTask {
  const doingAt = task.createdAtMs + task.todoMs;
  const endAt = taskFinishesAt(task);
  const base = {
    action: task.action,
    creationDate: clock.iso(task.createdAtMs),
    id: task.id,
    zones: [...task.zones],
  };
  if (now < doingAt) return { ...base, doneDate: null, progress: 0, status: 'todo' };
  if (now < endAt) {
    const progress = Math.min(
      99,
      Math.max(1, Math.floor(((now - doingAt) / Math.max(1, task.doingMs)) * 100)),
    );
    return { ...base, doneDate: null, progress, status: 'doing' };
  }
  if (task.fails) return { ...base, doneDate: null, progress: 50, status: 'error' };
  return { ...base, doneDate: clock.iso(endAt), progress: 100, status: 'done' };
}

function inZones(objectZone: string, zones: readonly string[]): boolean {
  return objectZone === 'all' || zones.includes(objectZone);
}

function replaceById<T>(
  live: T[],
  deployed: readonly T[],
  keep: (item: T) => boolean,
  id: (item: T) => number,
): T[] {
  const result = live.filter((item) => !keep(item));
  for (const item of deployed) if (keep(item)) result.push(clone(item));
  return result.sort((a, b) => id(a) - id(b));
}

/** What a finished refresh does: the snapshot's objects in the task's zones become the running configuration. */
export function deploy(applied: IplbConfig, snapshot: IplbConfig, zones: readonly string[]): IplbConfig {
  const farmZone = new Map<number, string>();
  for (const farm of [...snapshot.farms.http, ...snapshot.farms.tcp]) farmZone.set(farm.farmId, farm.zone);
  const serverInZones = (backendId: number) => inZones(farmZone.get(backendId) ?? 'all', zones);
  return {
    frontends: {
      http: replaceById(
        applied.frontends.http,
        snapshot.frontends.http,
        (f) => inZones(f.zone, zones),
        (f) => f.frontendId,
      ),
      tcp: replaceById(
        applied.frontends.tcp,
        snapshot.frontends.tcp,
        (f) => inZones(f.zone, zones),
        (f) => f.frontendId,
      ),
    },
    farms: {
      http: replaceById(
        applied.farms.http,
        snapshot.farms.http,
        (f) => inZones(f.zone, zones),
        (f) => f.farmId,
      ),
      tcp: replaceById(
        applied.farms.tcp,
        snapshot.farms.tcp,
        (f) => inZones(f.zone, zones),
        (f) => f.farmId,
      ),
    },
    servers: {
      http: replaceById(
        applied.servers.http,
        snapshot.servers.http,
        (s) => serverInZones(s.backendId),
        (s) => s.serverId,
      ),
      tcp: replaceById(
        applied.servers.tcp,
        snapshot.servers.tcp,
        (s) => serverInZones(s.backendId),
        (s) => s.serverId,
      ),
    },
  };
}
