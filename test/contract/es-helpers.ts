import { errors, type Client } from '@elastic/elasticsearch';
import { expect } from 'vitest';

export interface EsErrorExpectation {
  status: number;
  type: string;
  /** Exact reason, or a pattern it must match. */
  reason?: string | RegExp;
}

export interface EsErrorBody {
  error: {
    type: string;
    reason: string;
    root_cause: { type: string; reason: string }[];
    [key: string]: unknown;
  };
  status: number;
}

/** Awaits a call that must fail with an Elasticsearch error body; returns that body for further checks. */
export async function expectEsError(
  call: Promise<unknown>,
  expected: EsErrorExpectation,
): Promise<EsErrorBody> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${expected.type} (${expected.status}) but the call succeeded`).toBeInstanceOf(
    errors.ResponseError,
  );
  const responseError = error as errors.ResponseError;
  const body = responseError.meta.body as EsErrorBody;
  expect(responseError.meta.statusCode).toBe(expected.status);
  expect(body.status).toBe(expected.status);
  expect(body.error.type).toBe(expected.type);
  expect(Array.isArray(body.error.root_cause)).toBe(true);
  expect(body.error.root_cause.length).toBeGreaterThan(0);
  if (typeof expected.reason === 'string') expect(body.error.reason).toBe(expected.reason);
  else if (expected.reason) expect(body.error.reason).toMatch(expected.reason);
  return body;
}

/** Polls `probe` until it returns a value other than undefined/false, or fails with the last observation. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  { timeoutMs = 20_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last observation: ${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

let counter = 0;

/** A fresh lowercase index name, unique across runs and tests. */
export function uniqueName(label: string): string {
  counter += 1;
  return `ct-${label}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Tracks indices a test creates so they can be removed afterwards, on whichever cluster holds them. */
export class IndexJanitor {
  private readonly created: { client: Client; index: string }[] = [];

  track(client: Client, index: string): string {
    this.created.push({ client, index });
    return index;
  }

  async cleanUp(): Promise<void> {
    const items = this.created.splice(0);
    for (const { client, index } of items.reverse()) {
      await client.indices.delete({ index }, { ignore: [404] }).catch(() => undefined);
    }
  }
}

/** A leader index without replicas, so a single-node cluster reports it green. */
export async function createIndex(client: Client, janitor: IndexJanitor, index: string): Promise<string> {
  janitor.track(client, index);
  await client.indices.create({ index, settings: { number_of_shards: 1, number_of_replicas: 0 } });
  return index;
}

export async function followerCheckpoints(
  follower: Client,
  index: string,
): Promise<{ leader: number; follower: number; shard: Record<string, unknown> }> {
  const stats = await follower.ccr.followStats({ index });
  const shard = stats.indices[0]?.shards[0] as unknown as Record<string, unknown> | undefined;
  if (!shard) throw new Error(`no shard stats for ${index}`);
  return {
    leader: shard.leader_global_checkpoint as number,
    follower: shard.follower_global_checkpoint as number,
    shard,
  };
}

/** Waits until the follower has applied the leader's operations up to `seqNo` and reports the same checkpoint. */
export async function waitForCheckpoint(follower: Client, index: string, seqNo: number): Promise<void> {
  await waitFor(`${index} to reach global checkpoint ${seqNo}`, async () => {
    const checkpoints = await followerCheckpoints(follower, index);
    return checkpoints.follower === seqNo && checkpoints.leader === seqNo ? true : undefined;
  });
}

export async function refreshedCount(client: Client, index: string): Promise<number> {
  await client.indices.refresh({ index });
  return (await client.count({ index })).count;
}
