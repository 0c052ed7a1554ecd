import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Context, log } from '@temporalio/activity';
import { z } from 'zod';
import { durationMs } from '../../config/duration';
import type { LoadedRunbook } from '../../config/load';
import { name, type AppEndpointConfig } from '../../config/schema';
import { runbookSecrets } from '../../config/secrets';
import { scrubOutput, secretsIn } from '../../common/redact';
import { activityInput } from '../activity-input';
import type { RunbookRegistry } from '../runbooks';
import { OvhClient, type OvhClientOptions } from '../traffic/ovh-client';
import { OvhDnsTrafficProvider } from '../traffic/ovh-dns';
import type { PollSettings } from '../traffic/poll';
import type { ProviderContext } from '../traffic/provider';
import { appFailure, sshTargetOf } from './index';
import { lockFileOf, shellQuote, supervisedCommand } from './remote-command';
import { SshError, type SshClient } from './ssh';

/**
 * The application configuration that follows the promotion (`apps.hosts[].config`): a file rendered from a
 * template and written over SSH, or an OVH DNS record. One adapter per kind; every operation is idempotent and
 * says what it did in steps and one sentence.
 */

type TemplateConfig = Extract<AppEndpointConfig, { kind: 'template' }>;
type DnsConfig = Extract<AppEndpointConfig, { kind: 'ovh-dns' }>;

/** What an apply or a restore did: the project's mutating-result shape. */
export interface AppConfigResult {
  host: string;
  kind: 'template' | 'ovh-dns';
  /** The MySQL server the configuration points at afterwards (a restore of a file: unknown, absent). */
  server?: string;
  changed: boolean;
  /** Whether the host's reload command ran. */
  reloaded: boolean;
  steps: string[];
  /** The rendered file's SHA-256 (never its content, which stays on the hosts). */
  sha256?: string;
  description: string;
}

export interface AppConfigReadResult {
  host: string;
  kind: 'template' | 'ovh-dns';
  /** The MySQL server of the app's site the configuration points at now, when it is one the runbook renders. */
  pointsAt?: string;
  description: string;
}

export interface AppConfigDeps {
  runbooks: RunbookRegistry;
  ssh: SshClient;
  /** Knobs of the DNS adapter's OVH client (tests shorten them). */
  ovh?: OvhClientOptions & { poll?: PollSettings };
}

const applyInput = z.object({ pair: name, host: name, server: name }).strict();
const restoreInput = z.object({ pair: name, host: name, server: name.optional() }).strict();
const readInput = z.object({ pair: name, host: name }).strict();

/** Each stream of the reload command's output kept in results and failures: its last 4 KiB. */
const OUTPUT_LIMIT_BYTES = 4096;
/** Templates larger than this are refused: an app's endpoint file is small, and it travels as a command's input. */
const TEMPLATE_LIMIT_BYTES = 256 * 1024;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const firstLine = (s: string) => s.trim().split('\n').pop()?.slice(0, 200) ?? '';

/** The values a template's placeholders take for one server: the runbook's, never a secret. */
export function placeholderValues(
  runbook: LoadedRunbook['runbook'],
  site: string,
  server: string,
): Record<string, string> {
  const s = runbook.mysql.servers.find((x) => x.name === server)!;
  const es = runbook.elasticsearch?.clusters.find((c) => c.site === site);
  return {
    'mysql.server': s.name,
    'mysql.host': s.host,
    'mysql.port': String(s.port),
    site,
    ...(es ? { 'elasticsearch.url': es.url } : {}),
  };
}

/**
 * Fills `{{name}}` placeholders (spaces inside the braces allowed). A placeholder without a value is an error naming
 * it and its line, so a template never renders half.
 */
export function renderTemplate(text: string, values: Record<string, string>): string {
  const unknown: string[] = [];
  const rendered = text.replace(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g, (match, key: string, offset: number) => {
    if (key in values) return values[key]!;
    unknown.push(`{{${key}}} (line ${text.slice(0, offset).split('\n').length})`);
    return match;
  });
  if (unknown.length > 0)
    throw new Error(
      `it names ${unknown.join(', ')}, which has no value (known: ${Object.keys(values)
        .map((k) => `{{${k}}}`)
        .join(', ')})`,
    );
  return rendered;
}

/**
 * The script that writes a rendered file (its standard input) atomically: into a temporary file of the same
 * folder, synced, then renamed over the target. The content the file had before the first write of this run (`run`)
 * is kept beside it (`<path>.dr-before`, and `<path>.dr-before.run` naming the run; no copy when there was no file),
 * so that the run's compensation puts it back however many attempts wrote. Prints `unchanged` or `written`.
 */
export function writeScript(file: string, mode: string, run: string): string {
  const q = shellQuote;
  return [
    'set -eu',
    `f=${q(file)}; b=${q(`${file}.dr-before`)}; r=${q(`${file}.dr-before.run`)}; t=${q(`${file}.dr-new`)}.$$`,
    `run=${q(run)}`,
    `trap 'rm -f "$t" "$b.$$" "$r.$$"' EXIT`,
    'cat > "$t"',
    'if [ "$(cat "$r" 2>/dev/null || true)" != "$run" ]; then',
    '  if [ -e "$f" ]; then cp -p "$f" "$b.$$"; mv -f "$b.$$" "$b"; else rm -f "$b"; fi',
    `  printf '%s\\n' "$run" > "$r.$$"; mv -f "$r.$$" "$r"`,
    'fi',
    'if [ -e "$f" ] && cmp -s "$t" "$f"; then echo unchanged; exit 0; fi',
    `if [ -e "$f" ]; then chmod --reference="$f" "$t"; else chmod ${q(mode)} "$t"; fi`,
    'sync "$t" 2>/dev/null || true',
    'mv -f "$t" "$f"',
    'echo written',
  ].join('\n');
}

/**
 * The script that puts back what `run` found (see writeScript): the kept content, or no file when there was none.
 * Prints `restored`, `removed`, `unchanged` (the file already holds it) or `nothing` (this run wrote nothing).
 */
export function restoreScript(file: string, run: string): string {
  const q = shellQuote;
  return [
    'set -eu',
    `f=${q(file)}; b=${q(`${file}.dr-before`)}; r=${q(`${file}.dr-before.run`)}; t=${q(`${file}.dr-new`)}.$$`,
    `run=${q(run)}`,
    `trap 'rm -f "$t"' EXIT`,
    'if [ "$(cat "$r" 2>/dev/null || true)" != "$run" ]; then echo nothing; exit 0; fi',
    'if [ -e "$b" ]; then',
    '  if [ -e "$f" ] && cmp -s "$b" "$f"; then out=unchanged',
    '  else cp -p "$b" "$t"; sync "$t" 2>/dev/null || true; mv -f "$t" "$f"; out=restored; fi',
    'elif [ -e "$f" ]; then rm -f "$f"; out=removed',
    'else out=unchanged; fi',
    'rm -f "$r" "$b"',
    'echo "$out"',
  ].join('\n');
}

/** The script that prints the file's SHA-256, or `absent`. */
const digestScript = (file: string) =>
  `f=${shellQuote(file)}; if [ -e "$f" ]; then sha256sum < "$f" | cut -d' ' -f1; else echo absent; fi`;

export function createAppConfigActivities({ runbooks, ssh, ovh = {} }: AppConfigDeps) {
  const dnsAdapters = new Map<string, OvhDnsTrafficProvider>();

  function hostOf(pair: string, host: string) {
    const loaded = runbooks.get(pair);
    const hosts = loaded.runbook.apps?.hosts;
    if (!hosts) throw appFailure('AppsNotConfigured', `pair "${pair}" has no apps section in its runbook`);
    const index = hosts.findIndex((h) => h.name === host);
    if (index < 0)
      throw appFailure(
        'UnknownAppHost',
        `pair "${pair}" has no application host "${host}" (hosts: ${hosts.map((h) => h.name).join(', ')})`,
      );
    const h = hosts[index]!;
    const field = `apps.hosts[${index}].config`;
    if (h.config?.kind !== 'template' && h.config?.kind !== 'ovh-dns')
      throw appFailure(
        'AppConfigNotDeclared',
        `${host}'s ${field} is ${h.config ? `"${h.config.kind}"` : 'not set (a fixed endpoint)'}: the orchestrator changes only a template or ovh-dns config`,
      );
    return { loaded, host: h, config: h.config, field, baseDir: path.dirname(loaded.file) };
  }
  type Host = ReturnType<typeof hostOf>;

  /** A server the app may be pointed at: one of the runbook's MySQL servers of the app's site. */
  function checkServer(h: Host, server: string): void {
    const ofSite = h.loaded.runbook.mysql.servers.filter((s) => s.site === h.host.site).map((s) => s.name);
    if (!ofSite.includes(server))
      throw appFailure(
        'AppConfigInvalid',
        `${h.host.name} (site ${h.host.site}) cannot be pointed at "${server}": not a MySQL server of its site (${ofSite.join(', ')})`,
      );
  }

  // --- template over SSH -------------------------------------------------------------------------------------

  function render(h: Host & { config: TemplateConfig }, server: string): string {
    // Read as it is (not as a secret reference, which is trimmed): the rendering keeps every byte around the fields.
    const file = path.resolve(h.baseDir, h.config.template.slice('file:'.length));
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw appFailure(
        'AppConfigInvalid',
        `${h.field}.template: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      );
    }
    if (Buffer.byteLength(text) > TEMPLATE_LIMIT_BYTES)
      throw appFailure(
        'AppConfigInvalid',
        `${h.field}.template is larger than ${TEMPLATE_LIMIT_BYTES} bytes`,
      );
    try {
      return renderTemplate(text, placeholderValues(h.loaded.runbook, h.host.site, server));
    } catch (err) {
      throw appFailure(
        'AppConfigInvalid',
        `${h.field}.template (${h.config.template}): ${(err as Error).message}`,
      );
    }
  }

  /** Runs a script on the app host over its ssh (host key pinned); SSH failures become typed app failures. */
  async function onHost(h: Host, script: string, describe: string, input?: string, timeoutMs?: number) {
    const ctx = Context.current();
    try {
      return await ssh.exec(sshTargetOf(h.host, h.baseDir), script, {
        timeoutMs: timeoutMs ?? durationMs(h.loaded.runbook.timeouts.activity),
        signal: ctx.cancellationSignal,
        describe,
        ...(input !== undefined ? { input: Buffer.from(input) } : {}),
      });
    } catch (err) {
      if (err instanceof SshError) throw appFailure(err.type, err.message);
      throw err;
    }
  }

  async function fileScript(
    h: Host & { config: TemplateConfig },
    script: string,
    what: string,
    input?: string,
  ) {
    const r = await onHost(h, script, what, input);
    const out = r.stdout.trim().split('\n').pop() ?? '';
    if (r.exitCode !== 0)
      throw appFailure(
        'AppConfigWriteFailed',
        `${h.host.name}: ${what} of ${h.config.path} ${r.signal ? `was killed by ${r.signal}` : `exited ${r.exitCode}`}: ${firstLine(scrubOutput(r.stderr, [], OUTPUT_LIMIT_BYTES)) || 'no output'}`,
      );
    return out;
  }

  /**
   * The host's reload command, under the host's start/stop lock (a start or stop running meanwhile is waited for),
   * within `timeouts.appStart` as a start (a reload may restart the app).
   */
  async function reload(h: Host & { config: TemplateConfig }): Promise<string> {
    const command = h.config.reload!;
    const budgetMs = durationMs(h.loaded.runbook.timeouts.appStart);
    const waitSeconds = budgetMs / 2000;
    const supervised = supervisedCommand(command, {
      lockFile: lockFileOf(h.loaded.runbook.pair, h.host.name),
      mode: 'wait',
      waitSeconds,
    });
    const r = await onHost(h, supervised, 'its reload command', undefined, budgetMs);
    const secrets = [...runbookSecrets(h.loaded.runbook, h.baseDir), ...secretsIn(command)];
    const keep = (text: string) => scrubOutput(text, secrets, OUTPUT_LIMIT_BYTES);
    if (r.exitCode !== 0)
      throw appFailure(
        'AppCommandFailed',
        `${h.host.name}: its reload command ${r.signal ? `was killed by ${r.signal}` : `exited ${r.exitCode}`}: ${firstLine(keep(r.stderr)) || firstLine(keep(r.stdout)) || 'no output'}`,
        { exitCode: r.exitCode, stdout: keep(r.stdout), stderr: keep(r.stderr) },
      );
    return firstLine(keep(r.stdout)) || 'no output';
  }

  /** The run whose compensation may restore what this write replaces: the workflow run calling the activity. */
  const runOf = () => {
    const { workflowExecution, activityId } = Context.current().info;
    // An activity started outside a workflow (a person, through the CLI) is its own run.
    return workflowExecution
      ? `${workflowExecution.workflowId}/${workflowExecution.runId}`
      : `activity/${activityId}`;
  };

  async function applyTemplate(
    h: Host & { config: TemplateConfig },
    server: string,
  ): Promise<AppConfigResult> {
    const content = render(h, server);
    const digest = sha256(content);
    const where = `${h.config.path} on ${h.host.name}`;
    const outcome = await fileScript(
      h,
      writeScript(h.config.path, h.config.mode, runOf()),
      'the write',
      content,
    );
    const written = outcome === 'written';
    const steps = [
      written
        ? `wrote ${where} (sha256 ${digest.slice(0, 12)}), atomically, the previous content kept for the compensation`
        : `${where} already held the rendering for ${server} (sha256 ${digest.slice(0, 12)})`,
    ];
    // An earlier attempt may have written the file and failed before its reload: a retry reloads anyway.
    const mustReload = h.config.reload !== undefined && (written || Context.current().info.attempt > 1);
    if (mustReload) steps.push(`ran its reload command: ${await reload(h)}`);
    const description = written
      ? `${where} now points the app at ${server}: ${steps.join('; ')}.`
      : `${where} already points the app at ${server}; nothing was written${mustReload ? `, but an earlier attempt may have: ${steps[1]}` : ''}.`;
    log.info(description, { host: h.host.name });
    return {
      host: h.host.name,
      kind: 'template',
      server,
      changed: written,
      reloaded: mustReload,
      steps,
      sha256: digest,
      description,
    };
  }

  async function restoreTemplate(h: Host & { config: TemplateConfig }): Promise<AppConfigResult> {
    const where = `${h.config.path} on ${h.host.name}`;
    const outcome = await fileScript(h, restoreScript(h.config.path, runOf()), 'the restore');
    const changed = outcome === 'restored' || outcome === 'removed';
    const steps = [
      {
        restored: `put back the content ${where} had before this run`,
        removed: `removed ${where}, which did not exist before this run`,
        unchanged: `${where} already held what it had before this run`,
        nothing: `this run wrote nothing to ${where}`,
      }[outcome] ?? `the restore said "${outcome}"`,
    ];
    if (changed && h.config.reload !== undefined) steps.push(`ran its reload command: ${await reload(h)}`);
    const description = `${changed ? '' : 'nothing to undo: '}${steps.join('; ')}.`;
    log.info(description, { host: h.host.name });
    return {
      host: h.host.name,
      kind: 'template',
      changed,
      reloaded: changed && h.config.reload !== undefined,
      steps,
      description,
    };
  }

  async function readTemplate(h: Host & { config: TemplateConfig }): Promise<AppConfigReadResult> {
    const servers = h.loaded.runbook.mysql.servers.filter((s) => s.site === h.host.site).map((s) => s.name);
    const renderings = servers.map((s) => ({ server: s, digest: sha256(render(h, s)) }));
    const current = await fileScript(h, digestScript(h.config.path), 'the read');
    const match = renderings.find((r) => r.digest === current);
    const where = `${h.config.path} on ${h.host.name}`;
    return {
      host: h.host.name,
      kind: 'template',
      ...(match ? { pointsAt: match.server } : {}),
      description:
        current === 'absent'
          ? `${where} does not exist yet.`
          : match
            ? `${where} is the rendering for ${match.server}.`
            : `${where} is none of the renderings for ${servers.join(', ')} (written by hand, or from another template).`,
    };
  }

  // --- OVH DNS -----------------------------------------------------------------------------------------------

  /** The DNS adapter of one host: the OVH DNS traffic provider with the MySQL servers as its "sites". */
  function dnsOf(h: Host & { config: DnsConfig }): OvhDnsTrafficProvider {
    const key = `${h.loaded.runbook.pair}/${h.host.name}`;
    let adapter = dnsAdapters.get(key);
    if (!adapter) {
      const c = h.config;
      adapter = new OvhDnsTrafficProvider(
        {
          zone: c.zone,
          subDomain: c.subDomain,
          fieldType: c.fieldType,
          targets: c.targets,
          ttl: c.ttl,
          refreshTimeoutMs: durationMs(c.refreshTimeout),
          poll: ovh.poll,
        },
        new OvhClient(c.ovh, h.baseDir, ovh),
      );
      dnsAdapters.set(key, adapter);
    }
    return adapter;
  }

  const providerContext = (): ProviderContext => {
    const ctx = Context.current();
    return { heartbeat: (details) => ctx.heartbeat(details), signal: ctx.cancellationSignal };
  };

  async function pointDns(
    h: Host & { config: DnsConfig },
    server: string,
    why: string,
  ): Promise<AppConfigResult> {
    const r = await dnsOf(h).switchTo(server, providerContext());
    const description = `${h.host.name}'s database record: ${r.description.replace(/ \(the TTL\)/, ' (the TTL): until then the app may still reach the previous server')}`;
    log.info(description, { host: h.host.name });
    return {
      host: h.host.name,
      kind: 'ovh-dns',
      server,
      changed: r.changed,
      reloaded: false,
      steps: r.actions.length > 0 ? r.actions : [`the record already pointed at ${server} (${why})`],
      description,
    };
  }

  return {
    /**
     * Points the app of `host` at MySQL server `server` (one of its site's): renders its template and writes it
     * over SSH, then runs its reload command, or sets its DNS record and refreshes the zone. Idempotent: a
     * configuration already pointing there changes nothing and says so.
     */
    async appConfigApply(raw: { pair: string; host: string; server: string }): Promise<AppConfigResult> {
      const input = activityInput('appConfigApply', applyInput, raw);
      const h = hostOf(input.pair, input.host);
      checkServer(h, input.server);
      if (h.config.kind === 'template') return applyTemplate({ ...h, config: h.config }, input.server);
      return pointDns({ ...h, config: h.config }, input.server, 'the move');
    },

    /**
     * The compensation of appConfigApply: a file gets back the content it had before the calling run first wrote
     * it (or is removed when there was none), then the reload command runs; a DNS record is pointed back at
     * `server`, the server it pointed at before the run. Idempotent.
     */
    async appConfigRestore(raw: { pair: string; host: string; server?: string }): Promise<AppConfigResult> {
      const input = activityInput('appConfigRestore', restoreInput, raw);
      const h = hostOf(input.pair, input.host);
      if (h.config.kind === 'template') return restoreTemplate({ ...h, config: h.config });
      if (!input.server)
        throw appFailure(
          'AppConfigInvalid',
          `${h.host.name}'s DNS record cannot be put back: the server it pointed at before the run is not known`,
        );
      checkServer(h, input.server);
      return pointDns({ ...h, config: h.config }, input.server, 'before the run');
    },

    /** Which of its site's MySQL servers the app's configuration points at now. Changes nothing. */
    async appConfigRead(raw: { pair: string; host: string }): Promise<AppConfigReadResult> {
      const input = activityInput('appConfigRead', readInput, raw);
      const h = hostOf(input.pair, input.host);
      if (h.config.kind === 'template') return readTemplate({ ...h, config: h.config });
      const state = await dnsOf({ ...h, config: h.config }).currentTarget(providerContext());
      return {
        host: h.host.name,
        kind: 'ovh-dns',
        ...(state.sites.length === 1 ? { pointsAt: state.sites[0] } : {}),
        description: `${h.host.name}'s database record: ${state.description}`,
      };
    },
  };
}
