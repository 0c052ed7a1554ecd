/**
 * The template adapter of the application configuration (`apps.hosts[].config.kind: template`) through a real sshd of
 * this test's own (host key pinned), with the activities called directly: the rendered file is written atomically
 * and only when it changes, the reload command runs after a write (and on a retry), the compensation puts back what
 * the calling run found, the read says which server the file points at; bad input and SSH faults (unreachable,
 * slow, refused) fail typed, without writing anything.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Proxy } from 'toxiproxy-node-client';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { parseRunbook } from '../config/load';
import { freePort } from '../dev/stack/daemon';
import { sshPaths, sshServer, sshUser } from '../dev/stack/services/sshd';
import { TEST_APPROVER_LINE } from './helpers/approver';
import { withEnv } from './helpers/env';
import { failureOf } from './helpers/failures';
import { runActivity } from './helpers/run-activity';
import { startToxiproxy, type RunningToxiproxy } from './helpers/toxiproxy';

const PAIR = 'appcfg';
const HOST = 'app-rbx-1';
const TEMPLATE =
  '# rendered for {{ site }}\nDB_HOST={{mysql.host}}\nDB_PORT={{mysql.port}}\nES_URL={{elasticsearch.url}}\n';
/** The runbook document as the tests edit it. */
type Doc = Record<string, unknown> & {
  apps: {
    hosts: (Record<string, unknown> & { ssh: Record<string, unknown>; config?: Record<string, unknown> })[];
  };
};

const rendered = (port: number) =>
  `# rendered for rbx\nDB_HOST=127.0.0.1\nDB_PORT=${port}\nES_URL=http://127.0.0.1:19201\n`;

describe('application configuration from a template, over SSH (scratch sshd)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'app-config-ssh-'));
  const sshEnv = { DR_STACK_DIR: path.join(dir, 'sshd'), DR_STACK_PORT_SSH: '' };
  const target = path.join(dir, 'host', 'db.env');
  const marker = path.join(dir, 'host', 'reloads');
  let sshd: ReturnType<typeof sshServer> | undefined;
  let ssh: ReturnType<typeof sshPaths>;
  let toxiproxy: RunningToxiproxy | undefined;
  let proxy: Proxy;
  let proxyPort: number;
  const opened: ActivityClients[] = [];

  /** The activities of a runbook whose app-rbx-1 renders TEMPLATE to `target`; `edit` changes the document. */
  function activities(edit: (doc: Doc) => void = () => undefined) {
    const port = Number(sshEnv.DR_STACK_PORT_SSH);
    const sshTarget = (p = port) => ({
      host: '127.0.0.1',
      port: p,
      user: sshUser(),
      privateKey: `file:${ssh.clientKey}`,
      hostKey: `file:${ssh.hostKeyPub}`,
    });
    const doc: Doc = {
      pair: PAIR,
      sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
      elasticsearch: {
        clusters: [
          { site: 'gra', url: 'http://127.0.0.1:19200', remoteAlias: 'rbx' },
          { site: 'rbx', url: 'http://127.0.0.1:19201', remoteAlias: 'gra' },
        ],
      },
      mysql: {
        user: 'dr',
        password: 'env:APP_CONFIG_TEST_UNUSED',
        replicationUser: 'repl',
        replicationPassword: 'env:APP_CONFIG_TEST_UNUSED',
        servers: [
          { name: 'db-gra-1', site: 'gra', host: '127.0.0.1', port: 13306, role: 'primary' },
          { name: 'db-rbx-1', site: 'rbx', host: '127.0.0.1', port: 13307, role: 'replica' },
          { name: 'db-rbx-2', site: 'rbx', host: '127.0.0.1', port: 13308, role: 'replica' },
        ],
      },
      apps: {
        hosts: [
          {
            name: 'app-gra-1',
            site: 'gra',
            ssh: sshTarget(),
            start: 'true',
            stop: 'true',
            healthUrl: 'http://127.0.0.1:1/health',
          },
          {
            name: HOST,
            site: 'rbx',
            ssh: sshTarget(),
            start: 'true',
            stop: 'true',
            healthUrl: 'http://127.0.0.1:1/health',
            config: {
              kind: 'template',
              template: 'file:db.env.tmpl',
              path: target,
              reload: `echo reloaded >> ${marker}; echo reload done`,
            },
          },
        ],
      },
      approval: { approvers: [TEST_APPROVER_LINE] },
      timeouts: { activity: '3s' },
    };
    edit(doc);
    const clients = createClients(
      new Map([[PAIR, parseRunbook(stringify(doc), path.join(dir, 'runbook.yaml'))]]),
    );
    opened.push(clients);
    return { acts: createActivities(clients), sshTarget };
  }

  /** An activity context of one workflow run (the run whose compensation restores), at attempt `attempt`. */
  const runEnv = (run: string, attempt = 1) =>
    new MockActivityEnvironment(
      { attempt, workflowExecution: { workflowId: 'move-appcfg', runId: run } },
      { logger: new DefaultLogger('WARN') },
    );
  const reloads = () =>
    existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean).length : 0;
  const leftovers = () => readdirSync(path.dirname(target)).filter((f) => /dr-new|\.\d+$/.test(f));

  beforeAll(async () => {
    sshEnv.DR_STACK_PORT_SSH = String(await freePort());
    await withEnv(sshEnv, async () => {
      sshd = sshServer(() => undefined);
      await sshd.up();
      ssh = sshPaths();
    });
    writeFileSync(path.join(dir, 'db.env.tmpl'), TEMPLATE);
    mkdirSync(path.join(dir, 'host'));
    toxiproxy = await startToxiproxy(path.join(dir, 'toxiproxy'), () => undefined);
    proxyPort = await freePort();
    proxy = await toxiproxy.proxy(
      'app-config-ssh',
      `127.0.0.1:${proxyPort}`,
      `127.0.0.1:${sshEnv.DR_STACK_PORT_SSH}`,
    );
  }, 240_000);

  afterEach(async () => {
    for (const c of opened.splice(0)) await c.close();
    await toxiproxy?.restore();
    rmSync(path.join(dir, 'host'), { recursive: true, force: true });
    mkdirSync(path.join(dir, 'host'));
  });

  afterAll(async () => {
    await toxiproxy?.stop();
    if (sshd) await withEnv(sshEnv, () => sshd!.down());
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the rendering for the promoted server once, atomically, reloads the app, and says a second write is a no-op', async () => {
    const { acts } = activities();
    writeFileSync(target, 'DB_HOST=127.0.0.1\nDB_PORT=13307\n', { mode: 0o600 });
    const before = await runActivity(runEnv('run-a'), acts.appConfigRead, { pair: PAIR, host: HOST });
    expect(before).toEqual({
      host: HOST,
      kind: 'template',
      description: `${target} on ${HOST} is none of the renderings for db-rbx-1, db-rbx-2 (written by hand, or from another template).`,
    });

    const first = await runActivity(runEnv('run-a'), acts.appConfigApply, {
      pair: PAIR,
      host: HOST,
      server: 'db-rbx-2',
    });
    expect(readFileSync(target, 'utf8')).toBe(rendered(13308));
    // An existing file keeps its mode; no temporary file is left beside it.
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(leftovers()).toEqual([]);
    expect(first).toMatchObject({
      host: HOST,
      kind: 'template',
      server: 'db-rbx-2',
      changed: true,
      reloaded: true,
    });
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.steps).toEqual([
      `wrote ${target} on ${HOST} (sha256 ${first.sha256!.slice(0, 12)}), atomically, the previous content kept for the compensation`,
      'ran its reload command: reload done',
    ]);
    expect(first.description).toBe(
      `${target} on ${HOST} now points the app at db-rbx-2: ${first.steps.join('; ')}.`,
    );
    expect(reloads()).toBe(1);

    const again = await runActivity(runEnv('run-a'), acts.appConfigApply, {
      pair: PAIR,
      host: HOST,
      server: 'db-rbx-2',
    });
    expect(again).toMatchObject({ changed: false, reloaded: false, sha256: first.sha256 });
    expect(again.description).toBe(
      `${target} on ${HOST} already points the app at db-rbx-2; nothing was written.`,
    );
    expect(reloads()).toBe(1);
    // A retry may follow an attempt that wrote the file and failed before its reload: it reloads.
    const retried = await runActivity(runEnv('run-a', 2), acts.appConfigApply, {
      pair: PAIR,
      host: HOST,
      server: 'db-rbx-2',
    });
    expect(retried).toMatchObject({ changed: false, reloaded: true });
    expect(reloads()).toBe(2);

    const after = await runActivity(runEnv('run-a'), acts.appConfigRead, { pair: PAIR, host: HOST });
    expect(after).toMatchObject({
      pointsAt: 'db-rbx-2',
      description: `${target} on ${HOST} is the rendering for db-rbx-2.`,
    });
    // What went to history holds no content of the file.
    expect(JSON.stringify([first, again, after])).not.toContain('DB_PORT');
  });

  it("puts back what the run found, however many of its attempts wrote; a second restore and another run's restore change nothing", async () => {
    const { acts } = activities();
    const original = 'DB_HOST=127.0.0.1\nDB_PORT=13307\n';
    writeFileSync(target, original);
    await runActivity(runEnv('run-b'), acts.appConfigApply, { pair: PAIR, host: HOST, server: 'db-rbx-1' });
    await runActivity(runEnv('run-b', 2), acts.appConfigApply, {
      pair: PAIR,
      host: HOST,
      server: 'db-rbx-2',
    });
    expect(readFileSync(target, 'utf8')).toBe(rendered(13308));

    const other = await runActivity(runEnv('run-c'), acts.appConfigRestore, { pair: PAIR, host: HOST });
    expect(other).toMatchObject({ changed: false, reloaded: false });
    expect(other.description).toBe(`nothing to undo: this run wrote nothing to ${target} on ${HOST}.`);
    expect(readFileSync(target, 'utf8')).toBe(rendered(13308));

    const reloadsBefore = reloads();
    const restored = await runActivity(runEnv('run-b'), acts.appConfigRestore, { pair: PAIR, host: HOST });
    expect(restored).toMatchObject({ kind: 'template', changed: true, reloaded: true });
    expect(restored.steps[0]).toBe(`put back the content ${target} on ${HOST} had before this run`);
    expect(readFileSync(target, 'utf8')).toBe(original);
    expect(reloads()).toBe(reloadsBefore + 1);
    expect(readdirSync(path.dirname(target))).toEqual(['db.env', 'reloads']);

    const twice = await runActivity(runEnv('run-b'), acts.appConfigRestore, { pair: PAIR, host: HOST });
    expect(twice.changed).toBe(false);
    expect(readFileSync(target, 'utf8')).toBe(original);
  });

  it('creates a missing file with the configured mode, and its compensation removes it again', async () => {
    const { acts } = activities((doc) => {
      doc.apps.hosts[1]!.config!.mode = '0604';
      delete doc.apps.hosts[1]!.config!.reload;
    });
    const read = await runActivity(runEnv('run-d'), acts.appConfigRead, { pair: PAIR, host: HOST });
    expect(read.description).toBe(`${target} on ${HOST} does not exist yet.`);
    const r = await runActivity(runEnv('run-d'), acts.appConfigApply, {
      pair: PAIR,
      host: HOST,
      server: 'db-rbx-1',
    });
    expect(r).toMatchObject({ changed: true, reloaded: false });
    expect(statSync(target).mode & 0o777).toBe(0o604);
    const undone = await runActivity(runEnv('run-d'), acts.appConfigRestore, { pair: PAIR, host: HOST });
    expect(undone.steps).toEqual([`removed ${target} on ${HOST}, which did not exist before this run`]);
    expect(existsSync(target)).toBe(false);
  });

  it('refuses a template placeholder it cannot fill, a server of another site and a host without a written config, writing nothing', async () => {
    writeFileSync(path.join(dir, 'bad.tmpl'), 'DB_HOST={{mysql.host}}\nDB_USER={{ mysql.user }}\n');
    const bad = activities((doc) => (doc.apps.hosts[1]!.config!.template = 'file:bad.tmpl')).acts;
    const placeholder = await failureOf(
      runActivity(runEnv('run-e'), bad.appConfigApply, { pair: PAIR, host: HOST, server: 'db-rbx-1' }),
    );
    expect(placeholder.type).toBe('AppConfigInvalid');
    expect(placeholder.nonRetryable).toBe(true);
    expect(placeholder.message).toBe(
      'apps.hosts[1].config.template (file:bad.tmpl): it names {{mysql.user}} (line 2), which has no value (known: {{mysql.server}}, {{mysql.host}}, {{mysql.port}}, {{site}}, {{elasticsearch.url}})',
    );
    const { acts } = activities();
    const otherSite = await failureOf(
      runActivity(runEnv('run-e'), acts.appConfigApply, { pair: PAIR, host: HOST, server: 'db-gra-1' }),
    );
    expect(otherSite.type).toBe('AppConfigInvalid');
    expect(otherSite.message).toBe(
      'app-rbx-1 (site rbx) cannot be pointed at "db-gra-1": not a MySQL server of its site (db-rbx-1, db-rbx-2)',
    );
    const fixed = await failureOf(
      runActivity(runEnv('run-e'), acts.appConfigApply, {
        pair: PAIR,
        host: 'app-gra-1',
        server: 'db-gra-1',
      }),
    );
    expect(fixed.type).toBe('AppConfigNotDeclared');
    expect(fixed.message).toBe(
      "app-gra-1's apps.hosts[0].config is not set (a fixed endpoint): the orchestrator changes only a template or ovh-dns config",
    );
    const badInput = await failureOf(
      runActivity(runEnv('run-e'), acts.appConfigApply, { pair: PAIR, host: HOST, server: 'DB 1' }),
    );
    expect(badInput.type).toBe('InvalidActivityInput');
    expect(existsSync(target)).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it('a folder that does not exist fails the write (retryable); a reload that fails is AppCommandFailed with its output', async () => {
    const noFolder = activities(
      (doc) => (doc.apps.hosts[1]!.config!.path = path.join(dir, 'nowhere', 'db.env')),
    ).acts;
    const write = await failureOf(
      runActivity(runEnv('run-f'), noFolder.appConfigApply, { pair: PAIR, host: HOST, server: 'db-rbx-1' }),
    );
    expect(write.type).toBe('AppConfigWriteFailed');
    expect(write.nonRetryable).toBe(false);
    expect(write.message).toMatch(/^app-rbx-1: the write of \S+nowhere\/db\.env exited [12]: .*nowhere/);

    const failing = activities(
      (doc) => (doc.apps.hosts[1]!.config!.reload = 'echo cannot reload >&2; exit 3'),
    ).acts;
    const reload = await failureOf(
      runActivity(runEnv('run-f'), failing.appConfigApply, { pair: PAIR, host: HOST, server: 'db-rbx-1' }),
    );
    expect(reload.type).toBe('AppCommandFailed');
    expect(reload.message).toBe('app-rbx-1: its reload command exited 3: cannot reload');
    // The file was written before the reload failed: the retry (attempt 2) reloads although nothing changes.
    expect(readFileSync(target, 'utf8')).toBe(rendered(13307));
  });

  it('SSH faults: a closed port is SshUnreachable, a refused and a silent path fail typed and retryable, a wrong host key is refused for good; nothing is written', async () => {
    const closed = await freePort();
    const via = (port: number) =>
      activities((doc) => {
        doc.apps.hosts[1]!.ssh.port = port;
      }).acts;
    const unreachable = await failureOf(
      runActivity(runEnv('run-g'), via(closed).appConfigApply, {
        pair: PAIR,
        host: HOST,
        server: 'db-rbx-1',
      }),
    );
    expect(unreachable.type).toBe('SshUnreachable');
    expect(unreachable.nonRetryable).toBe(false);
    expect(unreachable.message).toMatch(/cannot connect: ECONNREFUSED/);

    await toxiproxy!.cut(proxy, 'refuse');
    const refused = await failureOf(
      runActivity(runEnv('run-g'), via(proxyPort).appConfigApply, {
        pair: PAIR,
        host: HOST,
        server: 'db-rbx-1',
      }),
    );
    expect(refused.type).toBe('SshUnreachable');
    await toxiproxy!.restore();

    await toxiproxy!.cut(proxy, 'blackhole');
    const started = Date.now();
    const slow = await failureOf(
      runActivity(runEnv('run-g'), via(proxyPort).appConfigApply, {
        pair: PAIR,
        host: HOST,
        server: 'db-rbx-1',
      }),
    );
    expect(slow.type).toBe('SshTimeout');
    expect(slow.nonRetryable).toBe(false);
    // Bounded by the runbook's activity timeout (3s), not by a TCP timeout.
    expect(Date.now() - started).toBeLessThan(10_000);
    await toxiproxy!.restore();

    const wrongKey = activities((doc) => {
      doc.apps.hosts[1]!.ssh.hostKey = readFileSync(ssh.clientKeyPub, 'utf8')
        .trim()
        .split(' ')
        .slice(0, 2)
        .join(' ');
    }).acts;
    const mismatch = await failureOf(
      runActivity(runEnv('run-g'), wrongKey.appConfigApply, { pair: PAIR, host: HOST, server: 'db-rbx-1' }),
    );
    expect(mismatch.type).toBe('HostKeyMismatch');
    expect(mismatch.nonRetryable).toBe(true);
    expect(existsSync(target)).toBe(false);

    // Through the restored path, the same write succeeds.
    const ok = await runActivity(runEnv('run-g'), via(proxyPort).appConfigApply, {
      pair: PAIR,
      host: HOST,
      server: 'db-rbx-1',
    });
    expect(ok.changed).toBe(true);
  });
});
