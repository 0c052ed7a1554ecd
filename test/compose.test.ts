import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadRunbook } from '../config/load';
import type { Runbook } from '../config/schema';
import { ensureDebianPackages } from '../dev/tools/debian-packages';

const ROOT = path.resolve(__dirname, '..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const HAPROXY_CFG = path.join(ROOT, 'deploy', 'compose', 'haproxy', 'haproxy.cfg');
const OPERATOR_PORTS_FILE = path.join(ROOT, 'deploy', 'compose', 'operator-ports.yml');
const RUNBOOK = path.join(ROOT, 'config', 'runbooks', 'compose.yaml');
const MAKE_ENV = path.join(ROOT, 'deploy', 'compose', 'make-env.sh');
/** The one-shot service that makes the deployment's SSH keys. */
const KEY_MAKER = 'ssh-keys';
/** The worker's client key, the apps' host key (sshd -h) and the public keys, as the containers see them. */
const WORKER_KEY = '/ssh/client/id_ed25519';
const HOST_KEY = '/ssh/host/ssh_host_ed25519_key';
const PUBLIC_DIR = '/ssh/public';
/** Debian's docker-compose (v1, Python): it validates and resolves a compose file without a Docker engine. */
const DOCKER_COMPOSE = { binary: '/usr/bin/docker-compose', pkg: 'docker-compose' };
const SSH_KEYGEN = { binary: '/usr/bin/ssh-keygen', pkg: 'openssh-client' };
/** A distinct value per variable of .env, so that a check can tell which variable reached which container. */
const ENV_FILE = Object.fromEntries(
  [
    'MYSQL_ROOT_PASSWORD',
    'MYSQL_ORCHESTRATOR_PASSWORD',
    'MYSQL_REPLICATION_PASSWORD',
    'MYSQL_APP_PASSWORD',
    'TEMPORAL_DB_PASSWORD',
    'DR_ALERT_TOKEN',
  ].map((name) => [name, `test-${name.toLowerCase()}`]),
);

interface Service {
  image?: string;
  build?: { context: string } | string;
  command?: string[];
  environment?: Record<string, string | null>;
  /** `source:target[:mode]`, as docker-compose config prints them (a relative bind source made absolute). */
  volumes?: string[];
  /** `[host_ip:]published:target/proto`, or the long form when no host address is given. */
  ports?: (string | { target: number; published: number | string; host_ip?: string })[];
  entrypoint?: string[];
  user?: string;
  restart?: string;
  network_mode?: string;
  depends_on?: Record<string, { condition: string }>;
}

/** A published port as `host:published->service:target`, the host address `*` when none is given (all). */
function publishedPorts(services: Record<string, Service>): string[] {
  return Object.entries(services).flatMap(([name, s]) =>
    (s.ports ?? []).map((port) => {
      if (typeof port !== 'string') return `${port.host_ip ?? '*'}:${port.published}->${name}:${port.target}`;
      const m = /^(?:(.+):)?(\d+):(\d+)(?:\/\w+)?$/.exec(port);
      if (!m) throw new Error(`${name}: unexpected port ${port}`);
      return `${m[1] ?? '*'}:${m[2]}->${name}:${m[3]}`;
    }),
  );
}

/** A volume of `docker-compose config`'s output, `source:target:mode`. */
function parseMount(volume: string): { source: string; target: string; mode: string } {
  const [source = '', target = '', mode = ''] = volume.split(':');
  return { source, target, mode };
}

function composeConfig(env: Record<string, string>, files = [COMPOSE_FILE]) {
  // A clean environment: the variables come from the test only, never from the caller's shell or a .env file.
  return spawnSync(
    DOCKER_COMPOSE.binary,
    [...files.flatMap((f) => ['-f', f]), '--project-directory', ROOT, 'config'],
    { encoding: 'utf8', cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } },
  );
}

function composeServices(env: Record<string, string>, files?: string[]): Record<string, Service> {
  const result = composeConfig(env, files);
  if (result.status !== 0) throw new Error(`docker-compose config refused the file:\n${result.stderr}`);
  return (parse(result.stdout) as { services: Record<string, Service> }).services;
}

describe('docker-compose.yml', () => {
  let services: Record<string, Service>;
  let runbook: Runbook;
  const service = (name: string) => {
    const found = services[name];
    if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
    return found;
  };
  const env = (name: string) => service(name).environment ?? {};
  const mountOf = (name: string, target: string) =>
    (service(name).volumes ?? []).map(parseMount).find((v) => v.target === target);
  const hostPort = (url: string) => {
    const u = new URL(url);
    return { host: u.hostname, port: Number(u.port) };
  };

  beforeAll(() => {
    // Installed like the stack's other Debian packages; without it (no root, no apt) the test fails and says why.
    ensureDebianPackages([DOCKER_COMPOSE, SSH_KEYGEN]);
    services = composeServices(ENV_FILE);
    runbook = loadRunbook(RUNBOOK).runbook;
  });

  it('is accepted by docker-compose config, and refused without the .env passwords, naming the variable', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'temporal',
        'temporal-ui',
        'temporal-postgresql',
        'es-gra',
        'es-rbx',
        'mysql-gra',
      ]),
    );
    const { MYSQL_APP_PASSWORD: _omitted, ...withoutOne } = ENV_FILE;
    const refused = composeConfig(withoutOne);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('MYSQL_APP_PASSWORD');
  });

  it('pins every image to a version', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, name).toBeDefined();
      expect(s.image, name).toMatch(/:[0-9v][\w.-]*$|:local$/);
      if (s.image!.endsWith(':local')) expect(s.build, `${name} builds its :local image`).toBeDefined();
    }
  });

  it('runs two workers on the one task queue, one per site, the same but for their name', () => {
    expect(service('worker-rbx')).toEqual(service('worker'));
  });

  it('runs the compiled worker with the prebuilt workflow bundle and the compose runbook', () => {
    const worker = service('worker');
    expect(worker.command).toEqual(['node', 'dist/worker/main.js']);
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('RUN npm run build && npm prune --omit=dev');
    expect(dockerfile).toContain('COPY --from=build /app/config/runbooks ./config/runbooks');
    expect(env('worker').DR_RUNBOOKS).toBe('/app/config/runbooks/compose.yaml');
    expect(env('worker').DR_WORKFLOW_BUNDLE).toBe('/app/dist/workflow-bundle.js');
    expect(env('worker').TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(env('temporal-setup').TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(env('temporal-ui').TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(env('temporal').POSTGRES_SEEDS).toBe('temporal-postgresql');
    expect(env('temporal').POSTGRES_PWD).toBe(env('temporal-postgresql').POSTGRES_PASSWORD);
  });

  it('Prometheus scrapes the worker where it serves its metrics, and alerts through Alertmanager', () => {
    const prometheus = parse(
      readFileSync(path.join(ROOT, 'deploy/compose/prometheus/prometheus.yml'), 'utf8'),
    );
    const targets = prometheus.scrape_configs.flatMap((c: { static_configs: { targets: string[] }[] }) =>
      c.static_configs.flatMap((s) => s.targets),
    );
    expect(env('worker').DR_WORKER_METRICS_HOST).toBe('0.0.0.0');
    expect(targets).toContain(`worker:${env('worker').DR_WORKER_METRICS_PORT}`);
    expect(prometheus.alerting.alertmanagers[0].static_configs[0].targets).toEqual(['alertmanager:9093']);
  });

  it('Prometheus evaluates the rules as often as it scrapes, at least twice within the shortest `for` of an alert the orchestrator takes', () => {
    const prometheus = parse(
      readFileSync(path.join(ROOT, 'deploy/compose/prometheus/prometheus.yml'), 'utf8'),
    );
    const rules = parse(readFileSync(path.join(ROOT, 'deploy/compose/prometheus/rules.yml'), 'utf8'));
    const seconds = (duration: string) => {
      const [, n, unit] = /^(\d+)([sm])$/.exec(duration)!;
      return Number(n) * (unit === 'm' ? 60 : 1);
    };
    const shortestFor = Math.min(
      ...rules.groups
        .flatMap((g: { rules: { for?: string; labels?: Record<string, string> }[] }) => g.rules)
        .filter(
          (r: { for?: string; labels?: Record<string, string> }) => r.labels?.dr_receiver === 'orchestrator',
        )
        .map((r: { for?: string }) => seconds(r.for ?? '0s')),
    );
    expect(prometheus.global.evaluation_interval).toBe(prometheus.global.scrape_interval);
    expect(seconds(prometheus.global.evaluation_interval) * 2).toBeLessThanOrEqual(shortestFor);
  });

  describe('alerts: Prometheus probes the primary site, Alertmanager posts to the alert receiver with its token', () => {
    const config = (file: string) => parse(readFileSync(path.join(ROOT, 'deploy/compose', file), 'utf8'));

    it("the receiver runs the compiled entry point on the compose runbook, where its alerts.receiver says, with .env's token", () => {
      const receiver = runbook.alerts!.receiver!;
      expect(service('alert-receiver').command).toEqual(['node', 'dist/client/alerts/main.js']);
      expect(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')).toContain(
        '"client/alerts/main.ts"',
      );
      expect(env('alert-receiver').DR_RUNBOOKS).toBe('/app/config/runbooks/compose.yaml');
      expect(env('alert-receiver').TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(receiver.listen).toBe('0.0.0.0');
      expect(receiver.token).toBe('env:DR_ALERT_TOKEN');
      expect(env('alert-receiver').DR_ALERT_TOKEN).toBe(ENV_FILE.DR_ALERT_TOKEN);
      expect(service('alert-receiver').ports).toBeUndefined();
    });

    it('Alertmanager posts the alerts labelled for the orchestrator, resolved ones too, to the receiver with the token its entrypoint writes', () => {
      const am = config('alertmanager/alertmanager.yml');
      const route = am.route.routes.find((r: { matchers: string[] }) =>
        r.matchers.includes('dr_receiver="orchestrator"'),
      );
      const receiver = am.receivers.find((r: { name: string }) => r.name === route.receiver);
      const webhook = receiver.webhook_configs[0];
      expect(webhook.url).toBe(`http://alert-receiver:${runbook.alerts!.receiver!.port}/alerts`);
      expect(webhook.send_resolved).toBe(true);
      expect(webhook.http_config.authorization.type).toBe('Bearer');
      const tokenFile = webhook.http_config.authorization.credentials_file;
      // docker-compose config prints the file's "$$" (a literal "$" for the container's shell) as written.
      const entrypoint = service('alertmanager').entrypoint!.join(' ').replace(/\$\$/g, '$');
      expect(entrypoint).toContain(
        `umask 077 && printf %s "$DR_ALERT_TOKEN" > ${tokenFile} && exec /bin/alertmanager`,
      );
      expect(env('alertmanager').DR_ALERT_TOKEN).toBe(ENV_FILE.DR_ALERT_TOKEN);
    });

    it('Prometheus keeps more than the 30 days the no-drill rule looks back, in a volume of its own', () => {
      const command = service('prometheus').command ?? [];
      const retention = command.find((a) => a.startsWith('--storage.tsdb.retention.time='));
      expect(Number(/=(\d+)d$/.exec(retention ?? '')?.[1])).toBeGreaterThan(30);
      const rules = readFileSync(path.join(ROOT, 'deploy', 'compose', 'prometheus', 'rules.yml'), 'utf8');
      expect(rules).toMatch(/\[30d\]/);
      expect(mountOf('prometheus', '/prometheus')?.source).toBeDefined();
    });

    it("Prometheus probes the primary site's app, labelled with the pair, and the rules' alerts are those the runbook's rules match", () => {
      const prom = config('prometheus/prometheus.yml');
      const job = prom.scrape_configs.find((c: { job_name: string }) => c.job_name === 'dr-primary-site');
      const primaryApp = runbook.apps!.hosts.find((h) => h.site === runbook.sites.primary.name)!;
      const health = new URL(primaryApp.healthUrl);
      expect(job.static_configs[0].targets).toEqual([health.host]);
      expect(job.static_configs[0].labels).toEqual({ pair: runbook.pair, site: runbook.sites.primary.name });
      const rules = config('prometheus/rules.yml') as {
        groups: { rules: { alert: string; expr: string; labels?: Record<string, string> }[] }[];
      };
      const alerts = rules.groups.flatMap((g) => g.rules);
      for (const rule of runbook.alerts!.rules) {
        const name = /alertname="([^"]+)"/.exec(rule.matchers.join(' '))![1];
        expect(alerts.find((a) => a.alert === name)?.expr, name).toContain('job="dr-primary-site"');
        // Only the alerts with this label reach the orchestrator's receiver (Alertmanager's route).
        expect(
          alerts.find((a) => a.alert === name),
          name,
        ).toMatchObject({
          labels: { dr_receiver: 'orchestrator' },
        });
        expect(rule.matchers).toContain(`pair="${runbook.pair}"`);
      }
    });
  });

  it('MySQL: each runbook server is a service in the role the runbook says, with the accounts the runbook uses', () => {
    const setup = env('mysql-setup');
    for (const server of runbook.mysql.servers) {
      const s = service(server.host);
      expect(server.port).toBe(3306); // the mysql image's port, not overridden in the command
      expect(s.command).toEqual(expect.arrayContaining(['--gtid-mode=ON', '--enforce-gtid-consistency=ON']));
      if (server.role === 'primary') {
        expect(setup.PRIMARY).toBe(server.host);
        expect(s.command).not.toContain('--super-read-only=ON');
      } else {
        expect(setup.REPLICA).toBe(server.host);
        expect(s.command).toContain('--super-read-only=ON');
      }
    }
    const serverIds = runbook.mysql.servers.map((s) =>
      service(s.host).command!.find((a) => a.startsWith('--server-id=')),
    );
    expect(new Set(serverIds).size).toBe(runbook.mysql.servers.length);
    expect(setup.ORCHESTRATOR_USER).toBe(runbook.mysql.user);
    expect(setup.REPLICATION_USER).toBe(runbook.mysql.replicationUser);
  });

  it("every env: secret of the runbook is set in the worker, from the same .env variable the servers' setup uses", () => {
    const refs = [runbook.mysql.password, runbook.mysql.replicationPassword];
    for (const ref of refs) {
      expect(ref).toMatch(/^env:/);
      const name = ref.slice('env:'.length);
      expect(env('worker')[name], name).toBe(ENV_FILE[name]);
      expect(env('mysql-setup')[name], name).toBe(ENV_FILE[name]);
    }
  });

  it('Elasticsearch: each cluster is a service of its site, with the trial license and the remote connection', () => {
    const setup = env('es-setup');
    for (const cluster of runbook.elasticsearch!.clusters) {
      const { host, port } = hostPort(cluster.url);
      expect(port).toBe(9200);
      expect(env(host)['cluster.name']).toBe(cluster.site);
      expect(env(host)['xpack.license.self_generated.type']).toBe('trial');
      const SITE = cluster.site.toUpperCase();
      expect(setup[`${SITE}_URL`]).toBe(cluster.url);
      expect(setup[`${SITE}_TRANSPORT`]).toBe(cluster.transport?.address);
      expect(cluster.transport?.address).toBe(`${host}:9300`);
    }
    const ccr = readFileSync(path.join(ROOT, 'deploy/compose/elasticsearch/ccr.sh'), 'utf8');
    for (const cluster of runbook.elasticsearch!.clusters)
      expect(ccr).toContain(`cluster.remote.${cluster.site}.seeds`);
    expect(setup.FOLLOWER_INDICES!.split(' ')).toEqual(runbook.elasticsearch!.followerIndices);
    expect(runbook.elasticsearch!.autoFollowPatterns).toEqual([setup.AUTO_FOLLOW_PATTERN]);
  });

  it("apps: each host is its site's app service, on its site's database, reached over SSH with this deployment's keys", () => {
    const setup = env('mysql-setup');
    for (const app of runbook.apps!.hosts) {
      const name = app.ssh.host;
      const e = env(name);
      expect(e.DR_APP_SITE).toBe(app.site);
      const db = runbook.mysql.servers.find((s) => s.site === app.site)!;
      expect(e.DR_APP_DB_HOST).toBe(db.host);
      expect(Number(e.DR_APP_DB_PORT)).toBe(db.port);
      expect(e.DR_APP_DB_USER).toBe(setup.APP_USER);
      expect(e.MYSQL_APP_PASSWORD).toBe(setup.MYSQL_APP_PASSWORD);
      expect(hostPort(app.healthUrl)).toEqual({ host: name, port: hostPort(e.DR_APP_LISTEN!).port });
      expect(app.ssh.port).toBe(22);
      expect(app.ssh.privateKey).toBe(`file:${WORKER_KEY}`);
      expect(app.ssh.hostKey).toBe(`file:${PUBLIC_DIR}/${name}_ssh_host_ed25519_key.pub`);
      expect(mountOf(name, '/opt/perl-app')?.source).toBe(path.join(ROOT, 'dev', 'perl-app'));
      expect(app.start).toBe(`/opt/perl-app/appctl start ${app.site}`);
      expect(app.stop).toBe(`/opt/perl-app/appctl stop ${app.site}`);
    }
    const entrypoint = readFileSync(path.join(ROOT, 'deploy/compose/app/entrypoint.sh'), 'utf8');
    expect(entrypoint).toContain(`-h ${HOST_KEY} `);
    expect(entrypoint).toContain(`cp ${PUBLIC_DIR}/worker_ed25519.pub /root/.ssh/authorized_keys`);
  });

  describe('SSH keys: one pair per container that needs one, made per deployment by the one-shot ssh-keys', () => {
    /** Each container that needs a private key, and the file it reads it from. */
    const holders = () => [
      { service: 'worker', key: WORKER_KEY },
      ...runbook.apps!.hosts.map((app) => ({ service: app.ssh.host, key: HOST_KEY })),
    ];
    /** Where ssh-keys writes what `service` reads at `file`: the same volume, under ssh-keys' own mount of it. */
    const makerPath = (serviceName: string, file: string) => {
      const mount = mountOf(serviceName, path.posix.dirname(file));
      if (!mount) throw new Error(`${serviceName} mounts nothing at ${path.posix.dirname(file)}`);
      const makerMount = (service(KEY_MAKER).volumes ?? [])
        .map(parseMount)
        .find((m) => m.source === mount.source);
      if (!makerMount) throw new Error(`${KEY_MAKER} does not mount ${mount.source}`);
      return path.posix.join(makerMount.target, path.posix.basename(file));
    };

    it('each private key is alone in a named volume (never in the checkout), mounted :ro into its one container and nowhere else but ssh-keys', () => {
      const sources = holders().map(({ service: name, key }) => {
        const mount = mountOf(name, path.posix.dirname(key));
        expect(mount, `${name} mounts ${path.posix.dirname(key)}`).toBeDefined();
        expect(mount!.mode, `${name}'s key mount`).toBe('ro');
        expect(mount!.source, `${name}'s key volume is a named volume`).toMatch(/^[\w-]+$/);
        const users = Object.keys(services).filter(
          (other) =>
            other !== KEY_MAKER &&
            (service(other).volumes ?? []).some((v) => parseMount(v).source === mount!.source),
        );
        // The orchestrator's key is the workers' (one per site, the same role); every other key is its container's.
        expect(users, `the services mounting ${mount!.source}`).toEqual(
          name === 'worker' ? ['worker', 'worker-rbx'] : [name],
        );
        return mount!.source;
      });
      expect(new Set(sources).size).toBe(holders().length);
    });

    it('ssh-keys runs once before every container that needs a key, for the runbook hosts and the worker user', () => {
      const maker = service(KEY_MAKER);
      expect(maker.restart).toBe('no');
      expect(maker.entrypoint).toEqual(['/bin/bash', '/setup/make-keys.sh']);
      expect(mountOf(KEY_MAKER, '/setup')).toEqual({
        source: path.join(ROOT, 'deploy', 'compose', 'ssh'),
        target: '/setup',
        mode: 'ro',
      });
      for (const { service: name } of holders())
        expect(service(name).depends_on?.[KEY_MAKER], name).toEqual({
          condition: 'service_completed_successfully',
        });
      expect(env(KEY_MAKER).APP_HOSTS!.split(' ')).toEqual(runbook.apps!.hosts.map((a) => a.ssh.host));
      expect(String(env(KEY_MAKER).WORKER_UID)).toBe(service('worker').user!.split(':')[0]);
    });

    it('the public keys are in one volume, mounted :ro where the runbook pins the host keys and where each app reads authorized_keys', () => {
      const worker = mountOf('worker', PUBLIC_DIR);
      expect(worker?.mode).toBe('ro');
      for (const app of runbook.apps!.hosts) {
        expect(mountOf(app.ssh.host, PUBLIC_DIR)).toEqual(worker);
        expect(path.posix.dirname(app.ssh.hostKey.slice('file:'.length))).toBe(PUBLIC_DIR);
      }
    });

    describe('make-keys.sh, run in a temporary folder as the volumes', () => {
      const keysDir = mkdtempSync(path.join(os.tmpdir(), 'compose-keys-'));
      // As root (CI and the dev machine), a user other than the caller's, so that the key's change of owner shows.
      const workerUid = process.getuid?.() === 0 ? 1000 : process.getuid!();
      const inKeysDir = (serviceName: string, file: string) =>
        path.join(keysDir, path.posix.relative('/keys', makerPath(serviceName, file)));
      const makeKeys = () =>
        spawnSync('bash', [path.join(ROOT, 'deploy/compose/ssh/make-keys.sh')], {
          encoding: 'utf8',
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            KEYS_DIR: keysDir,
            APP_HOSTS: env(KEY_MAKER).APP_HOSTS!,
            WORKER_UID: String(workerUid),
          },
        });
      const publicHalf = (privateKey: string) =>
        spawnSync('ssh-keygen', ['-y', '-f', privateKey], { encoding: 'utf8' }).stdout.trim();
      const firstTwoFields = (text: string) => text.trim().split(' ').slice(0, 2).join(' ');
      let firstRun: Map<string, string>;

      beforeAll(() => {
        const result = makeKeys();
        if (result.status !== 0) throw new Error(`make-keys.sh failed:\n${result.stderr}`);
        firstRun = new Map(
          holders().map(({ service: s, key }) => [s, readFileSync(inKeysDir(s, key), 'utf8')]),
        );
      });
      afterAll(() => rmSync(keysDir, { recursive: true, force: true }));

      it("writes a distinct ed25519 private key per container, mode 600, the worker's owned by the worker user", () => {
        for (const { service: name, key } of holders()) {
          const file = inKeysDir(name, key);
          expect(statSync(file).mode & 0o777, file).toBe(0o600);
          expect(publicHalf(file), file).toMatch(/^ssh-ed25519 /);
        }
        expect(statSync(inKeysDir('worker', WORKER_KEY)).uid).toBe(workerUid);
        expect(new Set(firstRun.values()).size).toBe(holders().length);
      });

      it("puts each public half where the runbook pins it and where the apps read the worker's key, readable by all", () => {
        const publicFile = (file: string) => inKeysDir('worker', file);
        for (const app of runbook.apps!.hosts) {
          const pinned = readFileSync(publicFile(app.ssh.hostKey.slice('file:'.length)), 'utf8');
          expect(firstTwoFields(pinned)).toBe(firstTwoFields(publicHalf(inKeysDir(app.ssh.host, HOST_KEY))));
        }
        const authorized = inKeysDir(runbook.apps!.hosts[0]!.ssh.host, `${PUBLIC_DIR}/worker_ed25519.pub`);
        expect(firstTwoFields(readFileSync(authorized, 'utf8'))).toBe(
          firstTwoFields(publicHalf(inKeysDir('worker', WORKER_KEY))),
        );
        for (const file of readdirSync(path.dirname(authorized)))
          expect(statSync(path.join(path.dirname(authorized), file)).mode & 0o777, file).toBe(0o644);
      });

      it('keeps the keys when run again (a restart of the stack does not change them)', () => {
        expect(makeKeys().status).toBe(0);
        for (const { service: name, key } of holders())
          expect(readFileSync(inKeysDir(name, key), 'utf8'), name).toBe(firstRun.get(name));
      });
    });
  });

  it("approval: the runbook's allowed_signers file is in the folder mounted into the worker, with an example", () => {
    expect(runbook.approval.approvers).toEqual(['file:/approval/allowed_signers']);
    const mount = (service('worker').volumes ?? []).find((v) => v.split(':')[1] === '/approval');
    expect(mount).toBe(`${path.join(ROOT, 'deploy', 'compose', 'approval')}:/approval:ro`);
    const example = readFileSync(path.join(ROOT, 'deploy/compose/approval/allowed_signers.example'), 'utf8');
    expect(example).toContain('namespaces="drctl-approval"');
  });

  it("traffic: HAProxy's runtime socket, backend, servers and frontend are the runbook's", () => {
    const traffic = runbook.traffic!;
    if (traffic.provider !== 'haproxy') throw new Error('the compose runbook switches traffic with HAProxy');
    const [node, ...others] = traffic.sockets ?? [];
    if (typeof node !== 'object' || others.length > 0)
      throw new Error('the compose runbook names its one HAProxy in sockets, with its stateFile');
    const { socket, stateFile } = node;
    const cfg = readFileSync(HAPROXY_CFG, 'utf8');
    expect(cfg).toContain(`stats socket ${socket} `);
    // The worker saves the server states where HAProxy loads them at start.
    expect(cfg).toMatch(new RegExp(`^ {2}server-state-file ${stateFile}$`, 'm'));
    expect(cfg).toMatch(/^ {2}load-server-state-from-file global$/m);
    const socketDir = path.dirname(socket);
    expect(path.dirname(stateFile!)).toBe(socketDir);
    expect(mountOf('worker', socketDir)?.source).toBeDefined();
    expect(mountOf('haproxy', socketDir)?.source).toBe(mountOf('worker', socketDir)?.source);
    expect(cfg).toContain(`backend ${traffic.backend}\n`);
    for (const app of runbook.apps!.hosts) {
      const server = traffic.servers[app.site];
      const port = hostPort(app.healthUrl).port;
      const line = new RegExp(
        `server ${String(server)} ${app.ssh.host}:${port} check${app.site === runbook.sites.standby.name ? ' disabled' : ''}\\n`,
      );
      expect(cfg).toMatch(line);
    }
    const entry = hostPort(traffic.entryUrl!);
    expect(entry.host).toBe('haproxy');
    expect(cfg).toContain(`bind :${entry.port}\n`);
  });

  it("HAProxy's runtime API socket has mode 600 and the worker's user as owner, and HAProxy listens on nothing else than its frontend", () => {
    const cfg = readFileSync(HAPROXY_CFG, 'utf8');
    const sockets = [...cfg.matchAll(/^\s*stats socket (\S+) (.*)$/gm)];
    expect(sockets).toHaveLength(1);
    const words = sockets[0]![2]!.trim().split(/\s+/);
    const option = (name: string) => words[words.indexOf(name) + 1];
    expect(option('mode')).toBe('600');
    expect(option('level')).toBe('admin');
    const [uid, gid] = service('worker').user!.split(':');
    expect(option('uid')).toBe(uid);
    expect(option('gid')).toBe(gid);
    // No stats page, no other listener: the frontend is the only bind.
    expect(cfg).not.toMatch(/^\s*stats (enable|uri)\b/m);
    expect([...cfg.matchAll(/^\s*bind (\S+)/gm)].map((m) => m[1])).toEqual([
      `:${hostPort(runbook.traffic!.entryUrl!).port}`,
    ]);
    // It starts as root only to give the folder (where the worker writes the state file) and the socket to the
    // worker's user, then runs as haproxy.
    expect(service('haproxy').user).toBe('root');
    const entrypoint = service('haproxy').entrypoint!.join(' ');
    expect(entrypoint).toContain(
      `install -d -o ${uid} -g ${gid} -m 755 /var/run/haproxy && exec docker-entrypoint.sh`,
    );
    expect(service('haproxy').command).toEqual(['haproxy', '-f', '/usr/local/etc/haproxy/haproxy.cfg']);
    expect(cfg).toMatch(/^global\n(?: {2}.*\n)*? {2}user haproxy\n/m);
    expect(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^USER node$/m); // uid 1000 in node images
  });

  it('publishes only the Temporal UI, the HAProxy frontend and Alertmanager, on 127.0.0.1 by default', () => {
    const entry = hostPort(runbook.traffic!.entryUrl!).port;
    expect(publishedPorts(services).sort()).toEqual(
      [
        `127.0.0.1:18000->haproxy:${entry}`,
        '127.0.0.1:8233->temporal-ui:8080',
        '127.0.0.1:9093->alertmanager:9093',
      ].sort(),
    );
    for (const [name, s] of Object.entries(services)) expect(s.network_mode, name).toBeUndefined();
  });

  it('publishes them on the address DR_PUBLISH_ADDRESS names instead, when .env sets it', () => {
    const published = publishedPorts(composeServices({ ...ENV_FILE, DR_PUBLISH_ADDRESS: '192.0.2.10' }));
    expect(published).toHaveLength(3);
    for (const port of published) expect(port).toMatch(/^192\.0\.2\.10:/);
  });

  it("operator-ports.yml adds Temporal's gRPC port and Elasticsearch, on 127.0.0.1 whatever DR_PUBLISH_ADDRESS says", () => {
    const withOperatorPorts = composeServices({ ...ENV_FILE, DR_PUBLISH_ADDRESS: '192.0.2.10' }, [
      COMPOSE_FILE,
      OPERATOR_PORTS_FILE,
    ]);
    const added = publishedPorts(withOperatorPorts).filter((p) => !p.startsWith('192.0.2.10:'));
    expect(added.sort()).toEqual(
      ['127.0.0.1:7233->temporal:7233', `127.0.0.1:9200->es-gra:9200`, `127.0.0.1:9201->es-rbx:9200`].sort(),
    );
  });

  describe('deploy/compose/make-env.sh', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'compose-env-'));
    const file = path.join(dir, '.env');
    // Under the usual umask 022, which would leave a file made by `> .env` readable by all.
    const makeEnv = () =>
      spawnSync('sh', ['-c', 'umask 022 && exec "$0" "$1"', MAKE_ENV, file], { encoding: 'utf8' });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('writes .env with mode 600, a distinct random password for each variable docker-compose.yml needs', () => {
      const result = makeEnv();
      expect(result.status, result.stderr).toBe(0);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const values = Object.fromEntries(
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => line && !line.startsWith('#'))
          .map((line) => line.split('=') as [string, string]),
      );
      expect(Object.keys(values).sort()).toEqual(Object.keys(ENV_FILE).sort());
      for (const value of Object.values(values)) expect(value).toMatch(/^[0-9a-f]{36}$/);
      expect(new Set(Object.values(values)).size).toBe(Object.keys(values).length);
      expect(composeConfig(values).status).toBe(0);
    });

    it('never replaces an existing .env (the databases keep the passwords they were made with)', () => {
      const before = readFileSync(file, 'utf8');
      const again = makeEnv();
      expect(again.status).not.toBe(0);
      expect(again.stderr).toContain(`${file} exists`);
      expect(readFileSync(file, 'utf8')).toBe(before);
    });

    it('refuses the empty .env that `make-env.sh > .env` leaves, and says to run it alone', () => {
      const empty = path.join(dir, 'empty.env');
      writeFileSync(empty, '');
      const result = spawnSync(MAKE_ENV, [empty], { encoding: 'utf8' });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('run make-env.sh alone');
      expect(readFileSync(empty, 'utf8')).toBe('');
    });

    it("is the README's .env step, which says chmod 600 .env", () => {
      const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
      const step = readme.split('\n').find((line) => line.includes('deploy/compose/make-env.sh'));
      expect(step).toContain('chmod 600 .env');
    });
  });
});
