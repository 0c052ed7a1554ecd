import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MHA_PERL_ENV } from '../../dev/mha/config';
import { freePort } from '../../dev/stack/daemon';
import type { StackService } from '../../dev/stack/service';
import { sshPaths, sshServer, sshUser } from '../../dev/stack/services/sshd';
import { withEnv } from './env';

/** An sshd of its own (host key pinned, one client key) and the ssh client configuration MHA logs in with. */
export interface MhaSsh {
  env: Record<string, string>;
  service: StackService;
  port: number;
  paths: ReturnType<typeof sshPaths>;
  clientConfig: string;
}

/**
 * Starts that sshd on a free port under `dir` (its node tools get MHA's MariaDB fixes; SFTP for OpenSSH 9's scp),
 * for MHA's dead-master failover, which copies binlogs and runs its node tools over SSH even on one machine.
 */
export async function startMhaSsh(dir: string): Promise<MhaSsh> {
  const port = await freePort();
  const env = { DR_STACK_DIR: path.join(dir, 'sshd'), DR_STACK_PORT_SSH: String(port) };
  // MHA's node tools run over SSH and need the two fixes too; OpenSSH 9's scp (binlog copies) needs SFTP.
  const service = sshServer(() => undefined, { env: MHA_PERL_ENV, sftp: true });
  const paths = await withEnv(env, async () => {
    await service.up();
    return sshPaths();
  });
  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${readFileSync(paths.hostKeyPub, 'utf8').trim()}\n`);
  const clientConfig = path.join(dir, 'ssh_config');
  writeFileSync(
    clientConfig,
    [
      'Host 127.0.0.1',
      `  Port ${port}`,
      `  User ${sshUser()}`,
      `  IdentityFile ${paths.clientKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '',
    ].join('\n'),
  );
  return { env, service, port, paths, clientConfig };
}
