import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { parseRunbook, RunbookError } from '../config/load';

const TEMPLATE = path.resolve(__dirname, '..', 'config', 'runbooks', 'production-template.yaml');
const DRCTL = path.resolve(__dirname, '..', 'bin', 'drctl');
const drctl = (...args: string[]) =>
  spawnSync(DRCTL, args, { encoding: 'utf8', env: { ...process.env, DR_RUNBOOKS: '' } });

/** An OpenSSH public host key line, as `ssh-keyscan -t ed25519 host` prints it after the host name. */
function ed25519HostKey(): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
  const sshString = (b: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(b.length);
    return Buffer.concat([length, b]);
  };
  const blob = Buffer.concat([
    sshString(Buffer.from('ssh-ed25519')),
    sshString(der.subarray(der.length - 32)),
  ]);
  return `ssh-ed25519 ${blob.toString('base64')}`;
}

/** Every placeholder of the template, by the path `config validate` names it at, with a value to fill it. */
const FILL: Record<string, string | number> = {
  'elasticsearch.clusters[0].url': 'https://es-gra.test:9200',
  'elasticsearch.clusters[1].url': 'https://es-rbx.test:9200',
  'mysql.servers[0].host': '10.1.0.11',
  'mysql.servers[0].ssh.host': '10.1.0.11',
  'mysql.servers[0].ssh.hostKey': ed25519HostKey(),
  'mysql.servers[1].host': '10.2.0.11',
  'mysql.servers[2].host': '10.2.0.12',
  'apps.hosts[0].ssh.host': '10.1.0.21',
  'apps.hosts[0].ssh.hostKey': ed25519HostKey(),
  'apps.hosts[0].healthUrl': 'http://10.1.0.21:8080/health',
  'apps.hosts[1].ssh.host': '10.2.0.21',
  'apps.hosts[1].ssh.hostKey': ed25519HostKey(),
  'apps.hosts[1].healthUrl': 'http://10.2.0.21:8080/health',
  'traffic.serviceName': 'loadbalancer-0123456789abcdef',
  'traffic.frontendId': 101,
  'traffic.farms.gra': 201,
  'traffic.farms.rbx': 202,
  'traffic.entryUrl': 'https://shop.test/health',
  'approval.approvers[0]': `oncall-sre namespaces="drctl-approval" ${ed25519HostKey()} sre@example`,
};

/** "apps.hosts[0].ssh.host" as a path into the YAML document. */
const pathOf = (at: string) =>
  at
    .split(/\.|\[(\d+)\]/)
    .filter(Boolean)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));

/** The template with each placeholder's value replaced by `value(path)`, its comments kept. */
function filled(value: (at: string) => string | number): string {
  const doc = parseDocument(readFileSync(TEMPLATE, 'utf8'));
  for (const at of Object.keys(FILL)) doc.setIn(pathOf(at), value(at));
  return doc.toString();
}

describe('production runbook template', () => {
  it('is refused until every placeholder is filled in, each named by its path and its sentence', () => {
    let problems: string[] = [];
    try {
      parseRunbook(readFileSync(TEMPLATE, 'utf8'), TEMPLATE);
    } catch (err) {
      expect(err).toBeInstanceOf(RunbookError);
      problems = (err as RunbookError).problems;
    }
    expect(problems.map((p) => p.split(': ')[0]).sort()).toEqual(Object.keys(FILL).sort());
    for (const problem of problems)
      expect(problem).toMatch(/^[\w.[\]]+: fill in this placeholder: \S.{15,}\.$/);
    expect(problems).toContain(
      'traffic.entryUrl: fill in this placeholder: the public URL your users reach (e.g. the health page behind the load balancer), probed after the switch; its answer must come from the new site.',
    );
  });

  it('is accepted once filled with test values, host keys included', () => {
    const { runbook } = parseRunbook(
      filled((at) => FILL[at]!),
      'filled.yaml',
    );
    expect(runbook.pair).toBe('shop-prod');
    expect(runbook.traffic?.entryUrl).toBe('https://shop.test/health');
    expect(runbook.apps?.hosts.map((h) => h.ssh.hostKey)).toEqual([
      FILL['apps.hosts[0].ssh.hostKey'],
      FILL['apps.hosts[1].ssh.hostKey'],
    ]);
  });

  it('refuses a host key that is not an OpenSSH public key, e.g. a line pasted with the host name', () => {
    const key = String(FILL['apps.hosts[0].ssh.hostKey']);
    for (const bad of [
      `10.1.0.21 ${key}`,
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReplaceWithTheHostKey',
      'ssh-ed25519',
    ]) {
      expect(() =>
        parseRunbook(
          filled((at) => (at === 'apps.hosts[0].ssh.hostKey' ? bad : FILL[at]!)),
          'x.yaml',
        ),
      ).toThrow(/apps\.hosts\[0\]\.ssh\.hostKey: must be an OpenSSH public host key/);
    }
  });

  it('drctl config init writes a copy to fill in, which config validate refuses naming each placeholder', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drctl-init-'));
    const file = path.join(dir, 'shop-prod.yaml');
    const init = drctl('config', 'init', file);
    expect(init.status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(TEMPLATE, 'utf8'));
    expect(init.stdout).toContain(`wrote ${file}`);
    expect(init.stdout).toContain(`${Object.keys(FILL).length} placeholders`);

    const again = drctl('config', 'init', file);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already exists/);

    const validate = drctl('config', 'validate', file);
    expect(validate.status).toBe(1);
    for (const at of Object.keys(FILL))
      expect(validate.stderr).toContain(`${at}: fill in this placeholder: `);

    writeFileSync(
      file,
      filled((at) => FILL[at]!),
    );
    const accepted = drctl('config', 'validate', file);
    expect(accepted.stderr).toBe('');
    expect(accepted.status).toBe(0);
    expect(existsSync(file)).toBe(true);
  });
});
