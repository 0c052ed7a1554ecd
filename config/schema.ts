import { z } from 'zod';
import { durationMs } from './duration';
import { readOpenSshPublicKey } from '../common/ssh-host-key';
import { alerts } from './alerts';
import { approverEntry } from './approvers';
import { drills } from './drills';

/** A secret is never written in a runbook: only where to read it from. */
export const secretRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'must be a secret reference "env:NAME" or "file:PATH"');

export const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h)$/, 'must be a duration such as "500ms", "30s", "5m" or "1h"');

/** A pair, site or host name as runbooks give them (also what activities accept at run time). */
export const name = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]*$/,
    'must be lower-case letters, digits and dashes, starting with a letter or digit',
  );

/**
 * An exact Elasticsearch index name, as the create-index API's naming rules allow (lowercase; none of
 * \ / * ? " < > | space , # :; not starting with - _ +; not . or ..; at most 255 bytes): no wildcard, list or
 * `_all`, so an operation on it can never reach another index.
 */
export const esIndexName = z.string().superRefine((value, ctx) => {
  const why = indexNameProblem(value);
  if (why) ctx.addIssue({ code: 'custom', message: `must be an exact index name: ${why}` });
});

function indexNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (Buffer.byteLength(name) > 255) return 'it is longer than 255 bytes';
  if (name !== name.toLowerCase()) return 'it must be lowercase';
  const forbidden = [...name].find((c) => '\\/*?"<>| ,#:'.includes(c));
  if (forbidden) return `"${forbidden}" is not allowed (no wildcards, lists or special characters)`;
  if (/^[-_+]/.test(name)) return 'it must not start with "-", "_" or "+"';
  if (name === '.' || name === '..') return 'it must not be "." or ".."';
  return undefined;
}

const port = z.number().int().min(1).max(65535);
const host = z.string().min(1);
const NO_CREDENTIALS =
  'must not carry credentials (user:password@): runbooks hold only secret references; give them to the field made for it';
/** An http(s) URL without user or password: those would be secrets written in the runbook, and end up in logs. */
const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .refine((value) => !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value), { message: NO_CREDENTIALS });

const site = z.object({ name, description: z.string().optional() }).strict();

const esCluster = z
  .object({
    site: name,
    url: httpUrl,
    apiKey: secretRef.optional(),
    /**
     * The cluster's Elasticsearch major version: the client then sends that REST compatibility version. Default:
     * read once from `GET /` by each worker.
     */
    version: z.union([z.literal(8), z.literal(9)], { error: 'must be 8 or 9' }).optional(),
    /**
     * The CA certificate (PEM) that signed the cluster's HTTPS certificate, when it is not a public one: "file:PATH",
     * relative to the runbook's folder, read by the worker. The certificate must also name the url's host.
     */
    ca: z
      .string()
      .regex(/^file:.+/, 'must be a file reference "file:PATH" naming the CA certificate (PEM)')
      .optional(),
    /** The alias under which the follower cluster knows the other cluster (remote cluster name). */
    remoteAlias: z.string().min(1),
    /**
     * How the other cluster reaches this one for CCR (written into its `cluster.remote.<alias>` settings):
     * `sniff` seeds on the transport port, or `proxy` through one address. Default: sniff, `<url host>:9300`.
     */
    transport: z
      .object({
        mode: z.enum(['sniff', 'proxy']).default('sniff'),
        address: z.string().regex(/^[^\s:]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/, 'must be "host:port"'),
        serverName: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const elasticsearch = z
  .object({
    clusters: z.array(esCluster).min(2),
    followerIndices: z.array(esIndexName).default([]),
    autoFollowPatterns: z.array(z.string().min(1)).default([]),
    maxLagOperations: z.number().int().min(0).default(1000),
    /**
     * A follower whose shards have not sent a read to the leader for longer than this is unhealthy (a read
     * stuck on a silent link). Keep it above the followers' read_poll_timeout (1m by default): a caught-up
     * follower's time since its last read climbs to that before the next poll.
     */
    maxTimeSinceLastRead: duration.default('90s'),
    /** How long following an index waits for its restore from the leader (the copy of all its data). */
    followRestoreTimeout: duration.default('30m'),
    promoteConcurrency: z.number().int().min(1).max(64).default(8),
    /** Client-side limit of one Elasticsearch request (a cluster-health wait adds its own timeout to it). */
    requestTimeout: duration.default('30s'),
  })
  .strict()
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    value.clusters.forEach((c, i) => {
      clearTextCredentials(c).forEach((issue) =>
        ctx.addIssue({ code: 'custom', path: ['clusters', i, ...issue.path], message: issue.message }),
      );
      if (seen.has(c.site))
        ctx.addIssue({
          code: 'custom',
          path: ['clusters', i, 'site'],
          message: `duplicate site "${c.site}"`,
        });
      seen.add(c.site);
    });
  });

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

/**
 * Credentials must not cross a network in clear: an API key over http:// is refused unless the host is the
 * loopback interface (a URL never carries user:password: `httpUrl` refuses that for every URL).
 */
function clearTextCredentials(cluster: {
  url: string;
  apiKey?: string;
}): { path: string[]; message: string }[] {
  let url: URL;
  try {
    url = new URL(cluster.url);
  } catch {
    return []; // the url field reports its own problem
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname) || /^127\./.test(url.hostname);
  if (cluster.apiKey && url.protocol === 'http:' && !loopback)
    return [
      {
        path: ['apiKey'],
        message: `would travel in clear over ${cluster.url}: use an https:// url (http is accepted with credentials only for a loopback host)`,
      },
    ];
  return [];
}

const sshTarget = z
  .object({
    host,
    port: port.default(22),
    user: z.string().min(1),
    privateKey: secretRef,
    /**
     * The server's public host key ("ssh-ed25519 AAAA…"), or "file:PATH" naming a file that holds it (read
     * when the activity connects; relative to the runbook's folder). Connections to any other key are refused.
     */
    hostKey: z.string().superRefine((value, ctx) => {
      if (value.startsWith('file:') && value.length > 5) return;
      const key = readOpenSshPublicKey(value);
      if ('problem' in key)
        ctx.addIssue({
          code: 'custom',
          message: `must be an OpenSSH public host key such as "ssh-ed25519 AAAA…" (as ssh-keyscan prints it, without the host name) or "file:PATH" naming a file holding one: ${key.problem}`,
        });
    }),
  })
  .strict();

/**
 * What an unplanned failover needs to salvage this server's binary log when mysqld is dead but its host answers
 * over SSH (the `ssh` section of the server): where the binlog is, and how to keep mysqld down.
 */
const binlogSalvage = z
  .object({
    /**
     * The binary log index file on the server's host (log_bin_basename + ".index"), e.g.
     * "/var/lib/mysql/mariadb-bin.index"; the host's shell expands variables such as $HOME in it.
     */
    binlogIndex: z
      .string()
      .regex(
        /^[/$][^\s"`\\]*$/,
        "must be an absolute path on the server's host (no spaces, quotes or backslashes)",
      ),
    /**
     * A command run on the host before the binlog is read: it stops mysqld if it runs and keeps it from
     * starting again by itself (e.g. "systemctl mask --runtime --now mariadb"), exiting 0 only then.
     */
    keepDown: z.string().min(1),
  })
  .strict();

const mysqlServer = z
  .object({
    name,
    site: name,
    host,
    port,
    /** The role this server has when the pair is in its normal (forward) direction. */
    role: z.enum(['primary', 'replica']),
    /** SSH to the server's host (host key pinned), for salvaging its binary log; needs `salvage`. */
    ssh: sshTarget.optional(),
    salvage: binlogSalvage.optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (!value.ssh !== !value.salvage)
      ctx.addIssue({
        code: 'custom',
        path: [value.ssh ? 'salvage' : 'ssh'],
        message: 'is required with ' + (value.ssh ? 'ssh' : 'salvage') + ': salvaging a binlog needs both',
      });
  });

/** TLS for the orchestrator's own connections: the servers' certificates must be signed by this CA and name their host. */
const mysqlTls = z
  .object({
    /** The CA certificate (PEM), read by the worker: "file:PATH", relative to the runbook's folder. */
    ca: z.string().regex(/^file:.+/, 'must be a file reference "file:PATH" naming the CA certificate (PEM)'),
  })
  .strict();

/** TLS for replication (MASTER_SSL / SOURCE_SSL), the source's certificate verified against this CA. */
const replicationTls = z
  .object({
    /** Path of the CA certificate on the database servers' own hosts: each replica reads it, not the worker. */
    ca: z
      .string()
      .regex(/^\/\S*$/, 'must be an absolute path on the database servers, e.g. "/etc/mysql/ssl/ca.pem"'),
  })
  .strict();

/**
 * MySQL's switch delegated to MHA (mha4mysql-manager) where a user already runs it: the run still fences the old
 * primary and chooses the candidate itself, then `masterha_master_switch` (on the worker's host) applies the relay
 * logs (unplanned: salvages the dead master's binlog over its own SSH), promotes the candidate and repoints the
 * replicas; the run then reads every server to check the outcome and puts the replicas back on GTID positioning.
 */
const mysqlDelegate = z
  .object({
    tool: z.literal('mha'),
    /** MHA's application configuration file (its [server default] and one block per server), relative to this file. */
    config: z.string().min(1),
    /** The program to run (an absolute path, or a name looked up in the worker's PATH). */
    command: z.string().min(1).default('masterha_master_switch'),
    /** Extra environment for MHA (e.g. PERL5LIB); never secrets: MHA reads those from its own configuration file. */
    env: z
      .record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name'), z.string())
      .default({}),
    /** MHA's --running_updates_limit for a planned switch, in seconds. */
    runningUpdatesLimit: z.number().int().min(1).default(10),
    /** How long one switch may take before the step fails (MHA is then stopped). */
    timeout: duration.default('5m'),
  })
  .strict();

const mysql = z
  .object({
    user: z.string().min(1),
    password: secretRef,
    replicationUser: z.string().min(1),
    replicationPassword: secretRef,
    servers: z.array(mysqlServer).min(2),
    maxLagSeconds: z.number().min(0).default(10),
    connectTimeout: duration.default('5s'),
    /** Client-side limit of one statement; a server that stops answering fails the step after it (waits add their own). */
    statementTimeout: duration.default('30s'),
    killClientConnectionsOnFence: z.boolean().default(false),
    tls: mysqlTls.optional(),
    replicationTls: replicationTls.optional(),
    /** Delegate the switch itself to an existing MHA installation (see mysqlDelegate). */
    delegate: mysqlDelegate.optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    const primaries = value.servers.filter((s) => s.role === 'primary');
    if (primaries.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['servers'],
        message: `exactly one server must have role "primary" (found ${primaries.length})`,
      });
    }
    duplicateNames(value.servers, ctx, 'servers');
  });

const redisServer = z
  .object({
    name,
    site: name,
    /** The address the worker reaches it at, and the one the other server replicates from (REPLICAOF host port). */
    host,
    port,
    /** Its role when the pair is in its normal (forward) direction. */
    role: z.enum(['master', 'replica'], { error: 'must be "master" or "replica"' }),
  })
  .strict();

/**
 * The Redis session store: one server per site, the primary site's the master, the standby's its replica. Planned
 * moves pause writes on the master (`CLIENT PAUSE … WRITE`, for `pauseTimeout` at most), wait until the replica
 * has read everything (`catchUpTimeout`) and hand over (`FAILOVER … TIMEOUT failoverTimeout`).
 */
const redis = z
  .object({
    servers: z.array(redisServer).length(2, 'must list exactly two servers: one per site'),
    /** The ACL user, when the servers use one (default: the `default` user). */
    username: z.string().min(1).optional(),
    /** The servers' password (requirepass or the user's): a secret reference; also given as masterauth on REPLICAOF. */
    password: secretRef.optional(),
    connectTimeout: duration.default('5s'),
    /** Client-side limit of one command. */
    commandTimeout: duration.default('5s'),
    /** How long the old master's writes stay paused at most: longer than the fence-to-promotion window. */
    pauseTimeout: duration.default('2m'),
    /** How long the replica may take to read everything the paused master holds. */
    catchUpTimeout: duration.default('30s'),
    /** The TIMEOUT of FAILOVER: how long the master waits for the replica before it rolls the handover back. */
    failoverTimeout: duration.default('10s'),
  })
  .strict()
  .superRefine((value, ctx) => {
    const masters = value.servers.filter((s) => s.role === 'master');
    if (masters.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['servers'],
        message: `exactly one server must have role "master" (found ${masters.length})`,
      });
    duplicateNames(value.servers, ctx, 'servers');
  });

/** One PostgreSQL server of the pair: where it listens, where its data lives, and SSH to its host (pg_ctl, pg_rewind). */
const postgresqlServer = z
  .object({
    name,
    site: name,
    host,
    port: port.default(5432),
    /** The role this server has when the pair is in its normal (forward) direction. */
    role: z.enum(['primary', 'standby']),
    /** The data directory on the server's host (pg_ctl -D), e.g. "/var/lib/postgresql/15/main". */
    dataDirectory: z
      .string()
      .regex(
        /^\/[^\s"'`\\$]*$/,
        "must be an absolute path on the server's host (no spaces, quotes, $ or backslashes)",
      ),
    /**
     * SSH to the server's host (host key pinned): the fence stops the server with pg_ctl, the planned switchover
     * reads pg_controldata of the stopped server, the failback runs pg_rewind and starts it as a standby.
     */
    ssh: sshTarget,
    /**
     * The operating-system account that owns the data directory, when the SSH user is root: the commands then run
     * as that account (runuser). Absent: the SSH user is that account.
     */
    osUser: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]*$/, 'must be a user name (lower-case letters, digits, _ and -)')
      .optional(),
  })
  .strict();

/**
 * PostgreSQL streaming replication, a system of its own beside MySQL: one server per site, the primary site's the
 * primary, the standby site's a streaming standby of it.
 */
const postgresql = z
  .object({
    /** A role that may read pg_stat_replication, run pg_promote and CHECKPOINT, and be pg_rewind's source (superuser). */
    user: z.string().min(1),
    password: secretRef,
    /** The role the standbys stream with (REPLICATION), written into their primary_conninfo. */
    replicationUser: z.string().min(1),
    replicationPassword: secretRef,
    database: z.string().min(1).default('postgres'),
    /** Where pg_ctl, pg_controldata and pg_rewind are on the database hosts. */
    binDirectory: z
      .string()
      .regex(/^\/[^\s"'`\\$]*$/, 'must be an absolute path (no spaces, quotes, $ or backslashes)')
      .default('/usr/lib/postgresql/15/bin'),
    servers: z.array(postgresqlServer).min(2),
    /** A planned move starts only when the standby replays within this many bytes of the primary's WAL. */
    maxLagBytes: z
      .number()
      .int()
      .min(0)
      .default(16 * 1024 * 1024),
    connectTimeout: duration.default('5s'),
    /** Client-side limit of one statement (waits add their own). */
    statementTimeout: duration.default('30s'),
  })
  .strict()
  .superRefine((value, ctx) => {
    const primaries = value.servers.filter((s) => s.role === 'primary');
    if (primaries.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['servers'],
        message: `exactly one server must have role "primary" (found ${primaries.length})`,
      });
    duplicateNames(value.servers, ctx, 'servers');
    const sites = new Set<string>();
    value.servers.forEach((s, i) => {
      if (sites.has(s.site))
        ctx.addIssue({
          code: 'custom',
          path: ['servers', i, 'site'],
          message: `names site "${s.site}" twice: the pair has one PostgreSQL server per site`,
        });
      sites.add(s.site);
    });
  });

const appHost = z
  .object({
    name,
    site: name,
    ssh: sshTarget,
    start: z.string().min(1),
    stop: z.string().min(1),
    healthUrl: httpUrl,
    /**
     * How the app finds its database (and Elasticsearch), so that a move can bring it to the promoted server:
     * `fixed` (the default), `template` or `ovh-dns`. Declared after this schema, hence lazy.
     */
    config: z.lazy(() => appEndpointConfig).optional(),
  })
  .strict();

const apps = z
  .object({
    hosts: z.array(appHost).min(1),
    /**
     * What a failback does with the applications of the site it leaves, once forward replication is back:
     * `keep-running` (a warm standby, as before the failover started them) or `stop`.
     */
    afterFailback: z.enum(['keep-running', 'stop']).default('keep-running'),
  })
  .strict();

/** The API endpoints @ovhcloud/node-ovh knows; only the first three have an OAuth2 token URL. */
const OVH_ENDPOINTS = [
  'ovh-eu',
  'ovh-us',
  'ovh-ca',
  'sys-eu',
  'sys-ca',
  'soyoustart-eu',
  'soyoustart-ca',
  'ks-eu',
  'ks-ca',
  'kimsufi-eu',
  'kimsufi-ca',
] as const;
const OVH_OAUTH2_ENDPOINTS: readonly string[] = ['ovh-eu', 'ovh-us', 'ovh-ca'];
const OVH_APPLICATION_FIELDS = ['applicationKey', 'applicationSecret', 'consumerKey'] as const;
const OVH_SERVICE_ACCOUNT_FIELDS = ['clientId', 'clientSecret'] as const;

/**
 * How to reach and authenticate to the OVH API, in one of two ways (exactly one):
 * - an application's credentials: `applicationKey`, `applicationSecret` and `consumerKey` (signed requests);
 * - an OAuth2 service account (OVHcloud IAM): `clientId` and `clientSecret` (client-credentials grant, bearer token).
 * Every credential is a secret reference.
 */
const ovhCredentials = z
  .object({
    endpoint: z.enum(OVH_ENDPOINTS).default('ovh-eu'),
    /** Overrides the endpoint's host, e.g. for the local OVH API emulator. */
    host: z
      .string()
      .min(1)
      .refine((value) => !value.includes('@'), { message: NO_CREDENTIALS })
      .optional(),
    port: port.optional(),
    applicationKey: secretRef.optional(),
    applicationSecret: secretRef.optional(),
    consumerKey: secretRef.optional(),
    clientId: secretRef.optional(),
    clientSecret: secretRef.optional(),
    /**
     * With `host` and a service account: the base of the OAuth2 token URL (`oauth2/token` is appended), e.g.
     * `https://localhost:18443/auth/` for the emulator. Without `host` the endpoint's own is used.
     */
    tokenUrl: httpUrl.optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    const given = (fields: readonly string[]) =>
      fields.filter((f) => value[f as keyof typeof value] !== undefined);
    const application = given(OVH_APPLICATION_FIELDS);
    const serviceAccount = given(OVH_SERVICE_ACCOUNT_FIELDS);
    if (application.length > 0 && serviceAccount.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: [serviceAccount[0]!],
        message: `${serviceAccount.join(' and ')} (an OAuth2 service account) cannot be combined with ${application.join(', ')} (an application's credentials): give one kind, not both`,
      });
      return;
    }
    if (application.length === 0 && serviceAccount.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          "needs either applicationKey, applicationSecret and consumerKey (an application's credentials) or clientId and clientSecret (an OAuth2 service account), as secret references",
      });
      return;
    }
    const kind = application.length > 0 ? OVH_APPLICATION_FIELDS : OVH_SERVICE_ACCOUNT_FIELDS;
    const present = application.length > 0 ? application : serviceAccount;
    for (const missing of kind.filter((f) => !present.includes(f))) {
      ctx.addIssue({ code: 'custom', path: [missing], message: `is required with ${present.join(' and ')}` });
    }
    if (serviceAccount.length === 0) return;
    if (value.host !== undefined && value.tokenUrl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['tokenUrl'],
        message: 'is required for an OAuth2 service account with host (where to ask for its tokens)',
      });
    }
    if (value.host === undefined && !OVH_OAUTH2_ENDPOINTS.includes(value.endpoint)) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: `has no OAuth2 service accounts (only ${OVH_OAUTH2_ENDPOINTS.join(', ')} have)`,
      });
    }
    if (value.host === undefined && value.tokenUrl !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['tokenUrl'],
        message: "is only for a host of its own: the endpoint's token URL is built in",
      });
    }
  });

/** A proxy or server name as HAProxy accepts it, safe to put in a runtime API command. */
const haproxyName = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]+$/, 'must be an HAProxy name: letters, digits and "_", ".", ":", "-"');

/**
 * The public entry point, e.g. "https://shop.example.com/health". The traffic verification GETs it and
 * expects a 2xx answer; when the answer is JSON with a string field "site", it must name the target site.
 */
const entryUrl = httpUrl.optional();

const haproxyTraffic = z
  .object({
    provider: z.literal('haproxy'),
    /**
     * The runtime API socket (`stats socket … level admin`) of the pair's one HAProxy: shorthand for a one-element
     * `sockets`. A relative path is relative to the runbook's folder.
     */
    socket: z.string().min(1).optional(),
    /**
     * Every HAProxy of the pair (one per node), each by its runtime API socket: a switch or drain changes and
     * verifies all of them. `stateFile` is that HAProxy's `server-state-file`: after each switch or drain the worker
     * writes `show servers state` there, so that a reload or restart keeps the switch (HAProxy 2.6 configuration
     * manual, "server-state-file" and "load-server-state-from-file"). Relative paths are relative to the runbook's
     * folder.
     */
    sockets: z
      .array(
        z.union([
          z.string().min(1),
          z.object({ socket: z.string().min(1), stateFile: z.string().min(1).optional() }).strict(),
        ]),
      )
      .min(1)
      .optional(),
    backend: haproxyName,
    /** HAProxy server name(s) for each site, in the backend above. */
    servers: z.record(name, z.union([haproxyName, z.array(haproxyName).min(1)])),
    /**
     * The state a switch gives to the servers of the sites that must not receive traffic. `maint` (the default): no
     * traffic at all — HAProxy stops sending them anything, persistent clients (cookie, stick table) included — and the
     * switch also shuts down the connections HAProxy still holds to them; HAProxy no longer health-checks them.
     * `drain`: only no new load-balanced traffic; HAProxy keeps health-checking them and still sends them the clients
     * that persist to them, so the switch and its verification then speak of "load-balanced traffic", never of "no
     * traffic" (HAProxy 2.6 management guide, "set server <backend>/<server> state").
     */
    inactiveState: z.enum(['drain', 'maint']).default('maint'),
    /** How long a switch waits for HAProxy's health check to pass on the target before refusing it. */
    healthWait: duration.default('30s'),
    entryUrl,
  })
  .strict();

const ovhIplbTraffic = z
  .object({
    provider: z.literal('ovh-iplb'),
    ovh: ovhCredentials,
    serviceName: z.string().min(1),
    protocol: z.enum(['http', 'tcp']),
    frontendId: z.number().int(),
    /** Switch by changing the frontend's default farm, or by flipping server status in one farm. */
    mode: z.enum(['frontend-farm', 'server-status']).default('frontend-farm'),
    farms: z.record(name, z.number().int()).optional(),
    servers: z
      .record(name, z.object({ farmId: z.number().int(), serverId: z.number().int() }).strict())
      .optional(),
    refreshTimeout: duration.default('10m'),
    entryUrl,
  })
  .strict();

/**
 * One OVH DNS record (API v1) the orchestrator sets: `targets` are its values by what it may point at (a site for
 * the traffic switch, a MySQL server for an app's configuration); a change waits up to `refreshTimeout` for the
 * zone to be deployed after its refresh.
 */
const ovhDnsRecord = {
  ovh: ovhCredentials,
  zone: z.string().min(1),
  subDomain: z.string(),
  fieldType: z.enum(['A', 'AAAA', 'CNAME']),
  targets: z.record(name, z.string().min(1)),
  ttl: z.number().int().min(0).default(60),
  refreshTimeout: duration.default('5m'),
};

/** The entry point's record, with a target for each site. */
const ovhDnsTraffic = z.object({ provider: z.literal('ovh-dns'), ...ovhDnsRecord, entryUrl }).strict();

/**
 * How an application host finds its database and Elasticsearch (`apps.hosts[].config`):
 * - `fixed` (the default): an endpoint the orchestrator does not change. With `database`, the MySQL server it
 *   reaches: a move that would promote another server is refused at its plan.
 * - `template`: a file rendered on the worker from a template and written over SSH (atomically, the previous content
 *   kept for the compensation) to `path` on the app host before the app starts; `reload` runs on the host after the
 *   file changed.
 * - `ovh-dns`: an OVH DNS record (API v1) the app resolves, set to the promoted server's target and the zone
 *   refreshed.
 */
const fixedAppEndpoint = z
  .object({
    kind: z.literal('fixed'),
    /** The MySQL server the app's fixed endpoint reaches; a move that promotes another one is refused. */
    database: name.optional(),
  })
  .strict();

const templateAppEndpoint = z
  .object({
    kind: z.literal('template'),
    /**
     * The template, read by the worker: "file:PATH", relative to the runbook's folder. Placeholders: {{mysql.host}},
     * {{mysql.port}}, {{mysql.server}} (the promoted MySQL server, as the runbook's mysql.servers give it),
     * {{elasticsearch.url}} (the url of the cluster of the app's site), {{site}}.
     */
    template: z.string().regex(/^file:.+/, 'must be a file reference "file:PATH" naming the template'),
    /** Where the rendered file goes on the app host. */
    path: z
      .string()
      .regex(
        /^\/[^\s"'`\\$]*[^/\s"'`\\$]$/,
        'must be an absolute file path on the app host (no spaces, quotes, backslashes or "$")',
      ),
    /**
     * Run on the app host (over the host's ssh) after the file changed, so that a running app reads it (a reload or
     * restart). It must exit 0 when the app is not running, and be idempotent, like start and stop.
     */
    reload: z.string().min(1).optional(),
    /** The mode of the file when it is created (an existing file keeps its own). */
    mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, 'must be an octal file mode such as "0640"')
      .default('0640'),
  })
  .strict();

/** The app's database record, with a target for each MySQL server it may be pointed at: every server of its site. */
const ovhDnsAppEndpoint = z.object({ kind: z.literal('ovh-dns'), ...ovhDnsRecord }).strict();

const appEndpointConfig = z.discriminatedUnion('kind', [
  fixedAppEndpoint,
  templateAppEndpoint,
  ovhDnsAppEndpoint,
]);

/** An OpenStack ID as OVH's Public Cloud API shows it. */
const openstackId = z
  .string()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    'must be an OpenStack ID (a UUID such as "5f0c7c2e-1d3a-4b8e-9f6a-2c4d5e6f7a8b")',
  );

/**
 * OVH Public Cloud Load Balancer (OpenStack Octavia through OVH's API v1): one listener of one load balancer sends its
 * traffic to the site's pool (`defaultPoolId`). Each pool needs a health monitor for the verification.
 */
const ovhCloudLbTraffic = z
  .object({
    provider: z.literal('ovh-cloud-lb'),
    ovh: ovhCredentials,
    /** The Public Cloud project ID. */
    serviceName: z.string().min(1),
    /** The region of the load balancer, e.g. "GRA11". */
    regionName: z.string().min(1),
    loadBalancerId: openstackId,
    listenerId: openstackId,
    /** The pool of each site, on the same load balancer. */
    pools: z.record(name, openstackId),
    /** The weight a switch gives back to a member a drain set to 0 (Octavia's default weight is 1). */
    restoreWeight: z.number().int().min(1).max(256).default(1),
    /** How long a switch or drain waits in all for the load balancer to be `active` between its writes. */
    pendingTimeout: duration.default('5m'),
    entryUrl,
  })
  .strict();

/** An IPv4 block in CIDR notation, as OVH's `ipBlock` takes it in an IP restriction. */
const ipv4Block = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/,
    'must be an IPv4 block such as "203.0.113.0/24"',
  );

/**
 * One OVH Public Cloud Databases service (managed MySQL or PostgreSQL) of the primary site's region. There is no replica in
 * another region and no promotion: its disaster recovery is a fork of its off-site backup into `drRegion`, which
 * makes a new service with a new host name, without the users and IP restrictions of the old one (recreated here).
 */
const ovhDatabase = z
  .object({
    /** How runs name it (step ids, reports). */
    name,
    engine: z.enum(['mysql', 'postgresql']),
    /** The Public Cloud project ID. */
    serviceName: z.string().min(1),
    /** The service (cluster) ID of the primary's managed database. */
    clusterId: openstackId,
    /** The region the fork goes to, one its backups are copied to (e.g. "SBG" for a service in GRA). */
    drRegion: z.string().regex(/^[A-Z][A-Z0-9-]*$/, 'must be an OVH region name such as "SBG" or "GRA"'),
    /** The fork's plan, node flavor and number of nodes; by default the same as the primary's service. */
    plan: z.string().min(1).optional(),
    flavor: z.string().min(1).optional(),
    nodes: z.number().int().min(1).max(3).optional(),
    /** The users to create on the fork (their passwords go to `passwordsDir`, never into a run's history). */
    users: z
      .array(z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/, 'must be a database user name'))
      .default([]),
    /** The IP blocks the fork lets in (the old service's restrictions are not copied). */
    ipRestrictions: z
      .array(z.object({ ip: ipv4Block, description: z.string().max(255).default('') }).strict())
      .default([]),
    /** How long a restore waits for the fork to be READY (OVH: hours to days, by the size of the backup). */
    readyTimeout: duration.default('12h'),
    /** The newest backup stored in `drRegion` may be this old at most, for readiness to pass. */
    maxBackupAge: duration.default('26h'),
  })
  .strict()
  .superRefine((db, ctx) => {
    db.users.forEach((u, i) => {
      if (db.users.indexOf(u) !== i)
        ctx.addIssue({ code: 'custom', path: ['users', i], message: `names user "${u}" twice` });
    });
  });

/**
 * OVH managed databases restored from backup at failover: the API credentials, where new users' passwords are
 * written (a folder, relative to the runbook's; each password in its own 0600 file), and the services.
 */
const ovhDatabases = z
  .object({
    ovh: ovhCredentials,
    passwordsDir: z.string().min(1),
    services: z.array(ovhDatabase).min(1),
  })
  .strict()
  .superRefine((section, ctx) => {
    section.services.forEach((db, i) => {
      if (section.services.findIndex((d) => d.name === db.name) !== i)
        ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], message: `names "${db.name}" twice` });
    });
  });

const traffic = z.discriminatedUnion('provider', [
  haproxyTraffic,
  ovhIplbTraffic,
  ovhDnsTraffic,
  ovhCloudLbTraffic,
]);

/**
 * One approver: an allowed_signers line (`alice ssh-ed25519 AAAA… [comment]`, options such as namespaces="…" or
 * valid-before="…" allowed) checked here, `file:PATH` naming an allowed_signers file (relative to the runbook's folder,
 * read when a run starts), or a bare name answering unsigned (only with `unsigned: allow`).
 */
const approverEntrySchema = z.string().superRefine((value, ctx) => {
  const entry = approverEntry(value);
  if (entry.kind === 'invalid')
    ctx.addIssue({
      code: 'custom',
      message: `must be an allowed_signers line ("alice ssh-ed25519 AAAA…"), "file:PATH" naming an allowed_signers file, or a name with unsigned: allow: ${entry.problem}`,
    });
});

const approval = z
  .object(
    {
      policy: z.enum(['required', 'auto', 'auto-after']).default('required'),
      approvers: z
        .array(approverEntrySchema)
        .min(
          1,
          'must list at least one approver, whatever the policy: past the point of no return a run asks a human to retry or abort a failed step, and only an approver can answer',
        ),
      /** `allow`: the approvers given by bare name answer without a signature. */
      unsigned: z.enum(['refuse', 'allow']).default('refuse'),
      /** A signed answer older than this (by the time it was signed) is refused. */
      signatureMaxAge: duration.default('10m'),
      /** The run's requester may not answer its own run's approvals. */
      fourEyes: z.boolean().default(false),
      timeout: duration.default('30m'),
      onTimeout: z.enum(['reject', 'approve']).default('reject'),
      delay: duration.optional(),
    },
    {
      error: (issue) =>
        issue.input === undefined
          ? 'is required: list the approvers (approval.approvers), who answer the questions a run asks'
          : undefined,
    },
  )
  .strict()
  .superRefine((value, ctx) => {
    if (value.policy === 'auto-after' && !value.delay) {
      ctx.addIssue({ code: 'custom', path: ['delay'], message: 'is required when policy is "auto-after"' });
    }
    value.approvers.forEach((entry, i) => {
      const parsed = approverEntry(entry);
      if (parsed.kind === 'name' && value.unsigned !== 'allow')
        ctx.addIssue({
          code: 'custom',
          path: ['approvers', i],
          message: `"${parsed.name}" has no key: give an allowed_signers line ("${parsed.name} ssh-ed25519 AAAA…") or "file:PATH", or set approval.unsigned: allow to let it answer unsigned`,
        });
    });
  });

const probes = z
  .object({
    interval: duration.default('5s'),
    timeout: duration.default('2s'),
    fall: z.number().int().min(1).default(3),
    rise: z.number().int().min(1).default(2),
  })
  .strict();

/** The systems a runbook can declare, as detection and the reports name them. */
export const SYSTEMS = [
  'mysql',
  'elasticsearch',
  'apps',
  'traffic',
  'redis',
  'postgresql',
  'ovh-database',
] as const;
export type SystemName = (typeof SYSTEMS)[number];

/**
 * Unplanned detection: the primary site needs a failover when one of its `critical` systems is down, i.e. the
 * worker and that system's own witnesses (MySQL: the standby replicas' IO threads; Elasticsearch: the standby
 * cluster's remote connection; Redis: the standby replica's link to the master; apps and traffic: the traffic switch's
 * health check of the site's servers) agree for `probes.fall` rounds. Default: every system the runbook declares.
 */
const detection = z
  .object({
    critical: z
      .array(z.enum(SYSTEMS))
      .min(1, 'must name at least one system: with none, no unplanned failover could ever proceed'),
  })
  .strict();

/**
 * An unplanned failover that went on without fencing part of the old site (a human accepted it) starts a watcher
 * that fences each of those systems as soon as the site answers again, for `watchFor` at most.
 */
const fencing = z
  .object({
    watchFor: duration
      .refine((value) => !/^0+(ms|s|m|h)$/.test(value), { message: 'must be longer than 0' })
      .default('24h'),
  })
  .strict();

const notifications = z
  .object({
    webhooks: z.array(z.object({ url: secretRef, name: z.string().optional() }).strict()).default([]),
  })
  .strict();

const timeouts = z
  .object({
    activity: duration.default('1m'),
    replicaCatchUp: duration.default('5m'),
    appStart: duration.default('5m'),
    trafficSwitch: duration.default('10m'),
    /** How long salvaging a dead primary's binlog (transfer and apply) may take before the run goes on without. */
    salvage: duration.default('2m'),
    /** How long rebuilding an old primary from the new one (a dump piped into it) may take: size it to the data. */
    rebuild: duration.default('2h'),
    /**
     * How long a step's activity may go without a heartbeat before Temporal gives it to another worker: a worker
     * that dies mid-step (inside the fence window, writes refused) delays the run by about this much. Every activity
     * heartbeats while it runs (the worker sends one at least every third of this, at most every second). Default:
     * 2s (runs started before quick heartbeats: 30s for catch-up waits, 60s for long steps, none for reads).
     */
    heartbeat: duration
      .refine(
        (value) =>
          !/^\d+(ms|s|m|h)$/.test(value) || (durationMs(value) >= 1000 && durationMs(value) <= 600_000),
        {
          message:
            'must be between 1s and 10m: shorter, a busy worker could miss it and a healthy step be given away; longer, a dead worker holds the fence window that long',
        },
      )
      .optional(),
    /**
     * Removed: a timeout that kills a run mid-move strands the pair (a fenced primary and nothing promoted). A run
     * waits for humans only at its questions, each bounded by `approval.timeout` or answered with abort.
     */
    run: z
      .unknown()
      .optional()
      .refine((value) => value === undefined, {
        message:
          'is no longer supported: a timeout that kills a run mid-move would strand the pair; remove it (approvals time out by approval.timeout, and a stuck step waits for retry or abort)',
      }),
  })
  .strict();

export const runbookSchema = z
  .object({
    pair: name,
    description: z.string().optional(),
    sites: z.object({ primary: site, standby: site }).strict(),
    elasticsearch: elasticsearch.optional(),
    mysql,
    postgresql: postgresql.optional(),
    apps: apps.optional(),
    traffic: traffic.optional(),
    ovhDatabases: ovhDatabases.optional(),
    redis: redis.optional(),
    approval,
    probes: probes.default({ interval: '5s', timeout: '2s', fall: 3, rise: 2 }),
    detection: detection.optional(),
    fencing: fencing.default({ watchFor: '24h' }),
    notifications: notifications.default({ webhooks: [] }),
    drills: drills.optional(),
    /** Which Alertmanager alerts start a failover or a readiness check of this pair (client/alerts). */
    alerts: alerts.optional(),
    timeouts: timeouts.default({
      activity: '1m',
      replicaCatchUp: '5m',
      appStart: '5m',
      trafficSwitch: '10m',
      salvage: '2m',
      rebuild: '2h',
    }),
  })
  .strict()
  .superRefine((runbook, ctx) => {
    const sites = new Set([runbook.sites.primary.name, runbook.sites.standby.name]);
    if (sites.size !== 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['sites', 'standby', 'name'],
        message: 'must differ from the primary site',
      });
    }
    const checkSite = (value: string, path: (string | number)[]) => {
      if (!sites.has(value)) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `names unknown site "${value}" (known: ${[...sites].join(', ')})`,
        });
      }
    };
    runbook.mysql.servers.forEach((s, i) => checkSite(s.site, ['mysql', 'servers', i, 'site']));
    runbook.elasticsearch?.clusters.forEach((c, i) =>
      checkSite(c.site, ['elasticsearch', 'clusters', i, 'site']),
    );
    runbook.apps?.hosts.forEach((h, i) => checkSite(h.site, ['apps', 'hosts', i, 'site']));
    if (runbook.postgresql) postgresqlSites(runbook.postgresql, runbook.sites.primary.name, checkSite, ctx);
    if (runbook.apps) appEndpoints(runbook.apps.hosts, runbook.mysql.servers, ctx);
    if (runbook.redis) redisSites(runbook.redis, runbook.sites.primary.name, checkSite, ctx);
    const primary = runbook.mysql.servers.find((s) => s.role === 'primary');
    if (primary && primary.site !== runbook.sites.primary.name) {
      ctx.addIssue({
        code: 'custom',
        path: ['mysql', 'servers', runbook.mysql.servers.indexOf(primary), 'site'],
        message: `the primary server must be in the primary site "${runbook.sites.primary.name}"`,
      });
    }
    runbook.detection?.critical.forEach((system, i) => {
      const path = ['detection', 'critical', i];
      if (runbook.detection!.critical.indexOf(system) !== i)
        ctx.addIssue({ code: 'custom', path, message: `names "${system}" twice` });
      else if (!DETECTED.includes(system))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `names "${system}", which observes nothing of the primary site (a managed database is restored from backup, not watched): detection could never judge it down`,
        });
      else if (!declaredSystems(runbook).includes(system))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `names "${system}", which the runbook does not declare (it has no ${system} section)`,
        });
    });
    if (runbook.traffic?.provider === 'haproxy') haproxySockets(runbook.traffic, ctx);
    if (runbook.traffic?.provider === 'ovh-cloud-lb') distinctPools(runbook.traffic.pools, ctx);
    if (runbook.traffic) {
      const { key, entries } = perSiteTraffic(runbook.traffic);
      for (const s of sites) {
        if (!entries || !(s in entries)) {
          ctx.addIssue({
            code: 'custom',
            path: ['traffic', key],
            message: `must have an entry for site "${s}"`,
          });
        }
      }
    }
  });

/**
 * The systems unplanned detection can judge: each observes the primary site through the worker and its witnesses.
 * A managed database restored from backup observes nothing of the primary site.
 */
const DETECTED: readonly SystemName[] = SYSTEMS.filter((s) => s !== 'ovh-database');

/** The declared systems detection judges when the runbook names none: every declared one it can judge. */
export function detectedSystems(runbook: Parameters<typeof declaredSystems>[0]): SystemName[] {
  return declaredSystems(runbook).filter((s) => DETECTED.includes(s));
}

/** The systems a runbook declares, in the order detection lists them: MySQL always, the others with their section. */
export function declaredSystems(runbook: {
  elasticsearch?: unknown;
  apps?: unknown;
  traffic?: unknown;
  ovhDatabases?: unknown;
  redis?: unknown;
  postgresql?: unknown;
}): SystemName[] {
  const declared: Record<SystemName, boolean> = {
    mysql: true,
    elasticsearch: runbook.elasticsearch !== undefined,
    apps: runbook.apps !== undefined,
    traffic: runbook.traffic !== undefined,
    'ovh-database': runbook.ovhDatabases !== undefined,
    redis: runbook.redis !== undefined,
    postgresql: runbook.postgresql !== undefined,
  };
  return SYSTEMS.filter((s) => declared[s]);
}

/**
 * The apps' `config` against the MySQL servers: a fixed `database` and the DNS `targets` name known servers, the
 * targets cover every server of the app's site (any of them may be promoted there), and no DNS record is shared by
 * apps of both sites (setting it for the standby's apps would move the live site's apps too).
 */
function appEndpoints(
  hosts: { site: string; config?: z.infer<typeof appEndpointConfig> }[],
  servers: { name: string; site: string }[],
  ctx: z.RefinementCtx,
): void {
  const known = servers.map((s) => s.name);
  const records = new Map<string, { site: string; index: number }>();
  hosts.forEach((h, i) => {
    const path = ['apps', 'hosts', i, 'config'];
    const unknown = (name: string) => `names unknown MySQL server "${name}" (known: ${known.join(', ')})`;
    if (h.config?.kind === 'fixed' && h.config.database && !known.includes(h.config.database))
      ctx.addIssue({ code: 'custom', path: [...path, 'database'], message: unknown(h.config.database) });
    if (h.config?.kind !== 'ovh-dns') return;
    const { targets } = h.config;
    for (const name of Object.keys(targets).filter((n) => !known.includes(n)))
      ctx.addIssue({ code: 'custom', path: [...path, 'targets', name], message: unknown(name) });
    const missing = servers.filter((s) => s.site === h.site && !(s.name in targets));
    if (missing.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'targets'],
        message: `must have a target for every MySQL server of site "${h.site}" (any may be promoted there): missing ${missing.map((s) => s.name).join(', ')}`,
      });
    const record = `${h.config.fieldType} ${h.config.subDomain}.${h.config.zone}`.toLowerCase();
    const other = records.get(record);
    if (other && other.site !== h.site)
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'subDomain'],
        message: `record ${record} is also the one of apps.hosts[${other.index}] of site "${other.site}": each site's apps need a record of their own, or pointing the standby's apps at the promoted server would move the live site's too`,
      });
    else records.set(record, { site: h.site, index: i });
  });
}

/** Each Redis server in a known site, one per site, the master in the primary site. */
function redisSites(
  r: z.infer<typeof redis>,
  primarySite: string,
  checkSite: (value: string, path: (string | number)[]) => void,
  ctx: z.RefinementCtx,
): void {
  r.servers.forEach((s, i) => checkSite(s.site, ['redis', 'servers', i, 'site']));
  const [first, second] = r.servers;
  if (first && second && first.site === second.site)
    ctx.addIssue({
      code: 'custom',
      path: ['redis', 'servers', 1, 'site'],
      message: `is "${second.site}" like servers[0]: each site needs its own server`,
    });
  const master = r.servers.findIndex((s) => s.role === 'master');
  if (master >= 0 && r.servers[master]!.site !== primarySite)
    ctx.addIssue({
      code: 'custom',
      path: ['redis', 'servers', master, 'site'],
      message: `the master must be in the primary site "${primarySite}"`,
    });
}

/** Each PostgreSQL server in a known site, the primary in the primary site, and a server in each site. */
function postgresqlSites(
  pg: z.infer<typeof postgresql>,
  primarySite: string,
  checkSite: (value: string, path: (string | number)[]) => void,
  ctx: z.RefinementCtx,
): void {
  pg.servers.forEach((s, i) => checkSite(s.site, ['postgresql', 'servers', i, 'site']));
  const primary = pg.servers.findIndex((s) => s.role === 'primary');
  if (primary >= 0 && pg.servers[primary]!.site !== primarySite)
    ctx.addIssue({
      code: 'custom',
      path: ['postgresql', 'servers', primary, 'site'],
      message: `the primary server must be in the primary site "${primarySite}"`,
    });
  if (!pg.servers.some((s) => s.site !== primarySite))
    ctx.addIssue({
      code: 'custom',
      path: ['postgresql', 'servers'],
      message: 'must have a server in the standby site: the standby to promote',
    });
}

/** HAProxy's runtime sockets: `socket` (one HAProxy) or `sockets` (every node), never both, each once. */
function haproxySockets(
  t: { socket?: string; sockets?: (string | { socket: string })[] },
  ctx: z.RefinementCtx,
): void {
  if (t.socket !== undefined && t.sockets !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['traffic', 'sockets'],
      message: 'give either socket (one HAProxy) or sockets (every HAProxy of the pair), not both',
    });
  } else if (t.socket === undefined && t.sockets === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['traffic', 'socket'],
      message: "is required: HAProxy's runtime API socket (or sockets: one per HAProxy node)",
    });
  }
  const seen = new Set<string>();
  (t.sockets ?? []).forEach((entry, i) => {
    const socket = typeof entry === 'string' ? entry : entry.socket;
    if (seen.has(socket))
      ctx.addIssue({
        code: 'custom',
        path: ['traffic', 'sockets', i],
        message: `names socket ${socket} twice`,
      });
    seen.add(socket);
  });
}

/** Each site its own pool: one pool for two sites could never move the traffic. */
function distinctPools(pools: Record<string, string>, ctx: z.RefinementCtx): void {
  const seen = new Map<string, string>();
  for (const [site, pool] of Object.entries(pools)) {
    const other = seen.get(pool.toLowerCase());
    if (other !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['traffic', 'pools', site],
        message: `is pool ${pool}, already the pool of site "${other}": each site needs its own pool`,
      });
    seen.set(pool.toLowerCase(), site);
  }
}

/** The traffic section's per-site table: which field must name a target for every site. */
function perSiteTraffic(t: z.infer<typeof traffic>): {
  key: string;
  entries: Record<string, unknown> | undefined;
} {
  switch (t.provider) {
    case 'haproxy':
      return { key: 'servers', entries: t.servers };
    case 'ovh-dns':
      return { key: 'targets', entries: t.targets };
    case 'ovh-cloud-lb':
      return { key: 'pools', entries: t.pools };
    case 'ovh-iplb':
      return t.mode === 'frontend-farm'
        ? { key: 'farms', entries: t.farms }
        : { key: 'servers', entries: t.servers };
  }
}

function duplicateNames(items: { name: string }[], ctx: z.RefinementCtx, path: string): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.name))
      ctx.addIssue({ code: 'custom', path: [path, i, 'name'], message: `duplicate name "${item.name}"` });
    seen.add(item.name);
  });
}

export type Runbook = z.infer<typeof runbookSchema>;
export type MysqlServerConfig = Runbook['mysql']['servers'][number];
export type TrafficConfig = NonNullable<Runbook['traffic']>;
export type PostgresqlConfig = NonNullable<Runbook['postgresql']>;
export type PostgresqlServerConfig = PostgresqlConfig['servers'][number];
export type OvhDatabasesConfig = NonNullable<Runbook['ovhDatabases']>;
export type OvhDatabaseConfig = OvhDatabasesConfig['services'][number];
export type AppHostConfig = NonNullable<Runbook['apps']>['hosts'][number];
export type AppEndpointConfig = NonNullable<AppHostConfig['config']>;
export type RedisConfig = NonNullable<Runbook['redis']>;
export type RedisServerConfig = RedisConfig['servers'][number];
