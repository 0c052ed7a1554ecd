import type { RedisServerConfig } from '../../config/schema';
import type { RedisSession } from './clients';

/** `REPLICAOF host port` on `session`, masterauth (and masteruser) first when the runbook has a password. */
export async function replicaOf(session: RedisSession, source: RedisServerConfig): Promise<string[]> {
  const steps: string[] = [];
  if (session.password) {
    if (session.username) {
      await session.command('CONFIG', 'SET', 'masteruser', session.username);
      steps.push(`CONFIG SET masteruser ${session.username}`);
    }
    await session.command('CONFIG', 'SET', 'masterauth', session.password);
    steps.push("CONFIG SET masterauth (the runbook's password)");
  }
  await session.command('REPLICAOF', source.host, source.port);
  steps.push(`REPLICAOF ${source.host} ${source.port}`);
  return steps;
}

/**
 * Saves each server's role in the config file it was started with (`CONFIG REWRITE` writes its `replicaof` line, or
 * removes it on a master), so that a restart keeps the role the move gave it. A server that cannot (started without
 * a config file, CONFIG renamed away, or the answer lost) keeps its role until it restarts: the sentence says so, and
 * the move goes on, since the role itself is in place.
 */
export async function persistRoles(sessions: RedisSession[]): Promise<{ steps: string[]; sentence: string }> {
  const steps: string[] = [];
  const saved: string[] = [];
  const unsaved: string[] = [];
  for (const session of sessions) {
    const name = session.server.name;
    try {
      await session.command('CONFIG', 'REWRITE');
      steps.push(`CONFIG REWRITE on ${name}`);
      saved.push(name);
    } catch (err) {
      const reason = ((err as Error).message ?? String(err)).replace(`${name}: `, '');
      steps.push(`CONFIG REWRITE refused on ${name} (${reason})`);
      unsaved.push(`${name} (${reason})`);
    }
  }
  const parts = [
    ...(saved.length > 0
      ? [
          `${saved.join(' and ')} saved ${saved.length > 1 ? 'their roles' : 'its role'} to ${saved.length > 1 ? 'their config files' : 'its config file'} (CONFIG REWRITE).`,
        ]
      : []),
    ...(unsaved.length > 0
      ? [`Not saved to a config file, so a restart gives back the role the file says: ${unsaved.join('; ')}.`]
      : []),
  ];
  return { steps, sentence: parts.join(' ') };
}
