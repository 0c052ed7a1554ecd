import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MysqlServerStatus } from '../activities/mysql/status';
import { managerLog, outcomeSentence, switchArguments } from '../activities/mysql/mha';
import { runbookSchema } from '../config/schema';
import { MHA_PERL_ENV, writeMhaConfig } from '../dev/mha/config';
import { MARIADB_ACCOUNTS } from '../dev/stack/services/mariadb';
import { sshUser } from '../dev/stack/services/sshd';
import { stackDir } from '../dev/stack/settings';
import { ensureDebianPackages, STACK_PACKAGES } from '../dev/tools/debian-packages';
import { withEnv } from './helpers/env';
import { failureOf } from './helpers/failures';
import { startMhaSsh, type MhaSsh } from './helpers/mha-ssh';
import { startScratchPair, type ScratchPair } from './helpers/scratch-cluster';

const GRA = 'db-gra-1';
const RBX1 = 'db-rbx-1';
const RBX2 = 'db-rbx-2';

describe('MySQL delegated to MHA: the pure parts', () => {
  const servers: Record<string, { host: string; port: number }> = {
    [GRA]: { host: '10.0.0.1', port: 3306 },
    [RBX1]: { host: '10.0.1.1', port: 3307 },
  };

  it('a planned switch asks MHA for an online switch to the candidate, the old master becoming its replica', () => {
    const args = switchArguments(
      { pair: 'p', mode: 'alive', server: RBX1, from: GRA },
      '/etc/mha/p.cnf',
      (n) => servers[n]!,
      { runningUpdatesLimit: 7 },
    );
    expect(args).toEqual([
      '--conf=/etc/mha/p.cnf',
      '--new_master_host=10.0.1.1',
      '--new_master_port=3307',
      '--interactive=0',
      '--master_state=alive',
      '--orig_master_is_new_slave',
      '--running_updates_limit=7',
    ]);
  });

  it('an unplanned one names the dead master and lets MHA fail over again within its 8 hours', () => {
    const args = switchArguments(
      { pair: 'p', mode: 'dead', server: RBX1, from: GRA },
      '/etc/mha/p.cnf',
      (n) => servers[n]!,
      { runningUpdatesLimit: 10 },
    );
    expect(args).toEqual(
      expect.arrayContaining([
        '--master_state=dead',
        '--dead_master_host=10.0.0.1',
        '--dead_master_ip=10.0.0.1',
        '--dead_master_port=3306',
        '--ignore_last_failover',
      ]),
    );
    expect(args).not.toContain('--orig_master_is_new_slave');
  });

  it("reads MHA's closing sentence, else its last errors", () => {
    expect(
      outcomeSentence(
        'Tue x - [info] Switching master to 127.0.0.1(127.0.0.1:13307) completed successfully.\n',
      ),
    ).toBe('Switching master to 127.0.0.1(127.0.0.1:13307) completed successfully.');
    expect(
      outcomeSentence('Master failover to h(h:3306) done, but recovery on slave partially failed.\n'),
    ).toBe('Master failover to h(h:3306) done, but recovery on slave partially failed.');
    expect(
      outcomeSentence('a\nMon [error][/usr/share/perl5/MHA/ServerManager.pm, ln1] Server h is dead\nb\n'),
    ).toBe('Server h is dead');
    expect(outcomeSentence('nothing useful')).toBe('MHA printed no outcome');
  });

  it('a runbook with a delegate other than MHA, or a malformed environment name, is refused naming the field', () => {
    const base = {
      pair: 'p',
      sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
      approval: { policy: 'auto', approvers: ['x'], unsigned: 'allow' },
    };
    const mysql = (delegate: unknown) => ({
      user: 'u',
      password: 'env:P',
      replicationUser: 'r',
      replicationPassword: 'env:R',
      servers: [
        { name: 'a', site: 'gra', host: 'h', port: 1, role: 'primary' },
        { name: 'b', site: 'rbx', host: 'h', port: 2, role: 'replica' },
      ],
      delegate,
    });
    const issues = (delegate: unknown) =>
      runbookSchema.safeParse({ ...base, mysql: mysql(delegate) }).error?.issues.map((i) => i.path.join('.'));
    expect(issues({ tool: 'orchestrator', config: 'x' })).toEqual(['mysql.delegate.tool']);
    expect(issues({ tool: 'mha', config: 'x', env: { 'perl5lib ': 'x' } })).toEqual([
      'mysql.delegate.env.perl5lib ',
    ]);
    expect(issues({ tool: 'mha' })).toEqual(['mysql.delegate.config']);
    expect(issues({ tool: 'mha', config: 'mha.cnf' })).toBeUndefined();
  });
});

/**
 * MHA 0.58 from Debian (mha4mysql-manager) does the switch of a scratch MariaDB trio, under writes: the run's own
 * fence first, then `masterha_master_switch --master_state=alive`, then the run's repoints (back to GTID positions).
 */
describe('MySQL delegated to MHA: a planned switch on a scratch MariaDB trio', () => {
  let s: ScratchPair;
  let mhaConfig: string;
  let act: ScratchPair['act'];
  const orchestratorPassword = () =>
    readFileSync(path.join(stackDir(), 'secrets', MARIADB_ACCOUNTS.orchestrator.secretFile), 'utf8').trim();
  const status = async (name: string) =>
    (await s.act('mysqlServerStatuses', { pair: s.pair })).find(
      (x) => x.server === name,
    ) as MysqlServerStatus;

  beforeAll(async () => {
    ensureDebianPackages(STACK_PACKAGES.filter((t) => t.pkg.startsWith('mha4mysql-')));
    s = await startScratchPair({ extraConfig: ['relay_log_purge=0'] });
    mhaConfig = writeMhaConfig(s.cluster, s.cluster.spec.dir, [GRA, RBX1, RBX2], []);
    const variant = await s.variant({
      delegate: { tool: 'mha', config: mhaConfig, env: MHA_PERL_ENV, timeout: '2m' },
    });
    act = variant.act;
  }, 120_000);
  // Closes the variants' clients too.
  afterAll(async () => s?.destroy());

  it('a command that cannot start fails the step with MhaSwitchFailed and changes nothing', async () => {
    const broken = await s.variant({
      delegate: { tool: 'mha', config: mhaConfig, command: '/nonexistent/masterha_master_switch' },
    });
    const failure = await failureOf(
      broken.act('mysqlMhaSwitch', { pair: s.pair, mode: 'alive', server: RBX1, from: GRA }),
    );
    expect(failure).toMatchObject({ type: 'MhaSwitchFailed', nonRetryable: true });
    expect(failure.message).toMatch(/MHA could not be started \(\/nonexistent\/masterha_master_switch\)/);
    expect(await status(RBX1)).toMatchObject({ readOnly: true, replication: { ioRunning: 'Yes' } });
  });

  it('an MHA that refuses (its configuration gives every server one address) fails with its own error, without the password', async () => {
    const wrong = path.join(s.cluster.spec.dir, 'mha-wrong.cnf');
    writeFileSync(wrong, readFileSync(mhaConfig, 'utf8').replace(/port=\d+/g, 'port=1'), { mode: 0o600 });
    const refused = await s.variant({ delegate: { tool: 'mha', config: wrong, env: MHA_PERL_ENV } });
    const failure = await failureOf(
      refused.act('mysqlMhaSwitch', { pair: s.pair, mode: 'alive', server: RBX1, from: GRA }),
    );
    expect(failure).toMatchObject({ type: 'MhaSwitchFailed' });
    expect(failure.message).toMatch(/exited with status [1-9]/);
    expect(failure.message).toContain(`${RBX1} is read-only and still replicates`);
    expect(failure.message).not.toContain(orchestratorPassword());
    expect(await status(GRA)).toMatchObject({ readOnly: false });
  });

  it('under writes: fence, MHA switch, repoints; no acknowledged write lost, every replica back on GTID positions, a retry runs nothing', async () => {
    const load = s.writeLoad(50);
    await load.prepare();
    load.start();
    await load.waitForAcknowledged(50, 10_000);
    await act('mysqlFence', { pair: s.pair, server: GRA });
    const switched = await act('mysqlMhaSwitch', { pair: s.pair, mode: 'alive', server: RBX1, from: GRA });
    expect(switched).toMatchObject({ alreadySwitched: false, exitStatus: 0 });
    expect(switched.outcome).toMatch(
      /^Switching master to 127\.0\.0\.1\(127\.0\.0\.1:\d+\) completed successfully\.$/,
    );
    expect(switched.description).toContain(`MHA switched MySQL from ${GRA} to ${RBX1}`);
    expect(managerLog(mhaConfig)).toBe(path.join(s.cluster.spec.dir, 'mha', 'manager.log'));
    for (const server of [GRA, RBX2]) await act('mysqlRepoint', { pair: s.pair, server, source: RBX1 });
    await load.waitForAcknowledged(50, 15_000);
    await load.stop();
    expect((await load.verify(RBX1)).lost).toEqual([]);
    expect(await status(RBX1)).toMatchObject({ readOnly: false, replication: undefined });
    for (const server of [GRA, RBX2])
      expect((await status(server)).replication).toMatchObject({
        sourcePort: s.cluster.instance(RBX1).port,
        ioRunning: 'Yes',
        sqlRunning: 'Yes',
        gtidPositioning: 'Slave_Pos',
      });
    const again = await act('mysqlMhaSwitch', { pair: s.pair, mode: 'alive', server: RBX1, from: GRA });
    expect(again).toMatchObject({ alreadySwitched: true, steps: [] });
  }, 120_000);
});

/** MHA's faults: the candidate unreachable before MHA runs, and an MHA that does not end within the runbook's bound. */
describe('MySQL delegated to MHA: faults', () => {
  let s: ScratchPair;
  let dir: string;

  beforeAll(async () => {
    s = await startScratchPair();
    dir = mkdtempSync(path.join(os.tmpdir(), 'dr-mha-faults-'));
  }, 120_000);
  afterAll(async () => {
    await s?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('slow: an MHA still running at the runbook timeout is interrupted and the step fails saying so', async () => {
    const hung = path.join(dir, 'hung-mha');
    writeFileSync(hung, '#!/bin/sh\necho "[info] MHA::MasterRotate version 0.58."\nexec sleep 60\n', {
      mode: 0o755,
    });
    const slow = await s.variant({
      delegate: { tool: 'mha', config: path.join(dir, 'none.cnf'), command: hung, timeout: '1s' },
    });
    const started = Date.now();
    const failure = await failureOf(
      slow.act('mysqlMhaSwitch', { pair: s.pair, mode: 'alive', server: RBX1, from: GRA }),
    );
    expect(failure).toMatchObject({ type: 'MhaSwitchFailed', nonRetryable: true });
    expect(failure.message).toMatch(/exited with a timeout after 1s/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('unreachable: a candidate that does not answer fails the step before MHA runs (retryable MysqlUnreachable)', async () => {
    const marker = path.join(dir, 'ran');
    const recorder = path.join(dir, 'recording-mha');
    writeFileSync(recorder, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    const variant = await s.variant({
      delegate: { tool: 'mha', config: path.join(dir, 'none.cnf'), command: recorder },
    });
    await s.cluster.stop(RBX2);
    try {
      const failure = await failureOf(
        variant.act('mysqlMhaSwitch', { pair: s.pair, mode: 'alive', server: RBX2, from: GRA }),
      );
      expect(failure).toMatchObject({ type: 'MysqlUnreachable', nonRetryable: false });
      expect(existsSync(marker)).toBe(false);
    } finally {
      await s.cluster.start(RBX2, { readOnly: true });
    }
  });
});

/**
 * The dead-master path: db-gra-1's mysqld SIGKILLed while its host (an sshd of the test's own) answers; MHA
 * (`--master_state=dead`) copies what db-gra-1's binlog holds beyond the candidate over SSH and applies it.
 */
describe('MySQL delegated to MHA: the primary SIGKILLed, its host up', () => {
  let s: ScratchPair;
  let ssh: MhaSsh;
  let dir: string;
  let act: ScratchPair['act'];

  beforeAll(async () => {
    ensureDebianPackages(STACK_PACKAGES.filter((t) => t.pkg.startsWith('mha4mysql-')));
    dir = mkdtempSync(path.join(os.tmpdir(), 'dr-mha-dead-'));
    ssh = await startMhaSsh(dir);
    s = await startScratchPair({ extraConfig: ['relay_log_purge=0'] });
    const config = writeMhaConfig(
      s.cluster,
      dir,
      [GRA, RBX1, RBX2],
      [`ssh_user=${sshUser()}`, `ssh_port=${ssh.port}`, `ssh_options=-F ${ssh.clientConfig}`],
    );
    act = (await s.variant({ delegate: { tool: 'mha', config, env: MHA_PERL_ENV, timeout: '3m' } })).act;
  }, 120_000);
  afterAll(async () => {
    await s?.destroy();
    if (ssh) await withEnv(ssh.env, () => ssh.service.down());
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('MHA fails over to the candidate with every acknowledged write, even those the replicas had not received', async () => {
    const load = s.writeLoad(50);
    await load.prepare();
    load.start();
    await load.waitForAcknowledged(30, 10_000);
    // The replicas stop receiving, the primary goes on acknowledging: only its binlog holds those writes.
    for (const replica of [RBX1, RBX2]) await s.cluster.sql(replica, 'STOP SLAVE IO_THREAD');
    await load.waitForAcknowledged(30, 10_000);
    await s.cluster.kill(GRA);
    await load.stop();
    const switched = await act('mysqlMhaSwitch', { pair: s.pair, mode: 'dead', server: RBX1, from: GRA });
    expect(switched).toMatchObject({ alreadySwitched: false });
    expect(switched.outcome).toMatch(
      /^Master failover to 127\.0\.0\.1\(127\.0\.0\.1:\d+\) (completed successfully|done, but)/,
    );
    expect((await load.verify(RBX1)).lost).toEqual([]);
    await act('mysqlRepoint', { pair: s.pair, server: RBX2, source: RBX1 });
    const rbx2 = (await s.act('mysqlServerStatuses', { pair: s.pair })).find((x) => x.server === RBX2);
    expect(rbx2?.replication).toMatchObject({
      sourcePort: s.cluster.instance(RBX1).port,
      ioRunning: 'Yes',
      sqlRunning: 'Yes',
    });
  }, 240_000);
});
