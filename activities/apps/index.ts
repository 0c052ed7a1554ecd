import path from 'node:path';
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { durationMs } from '../../config/duration';
import type { AppHostConfig } from '../../config/schema';
import { resolveSecret, runbookSecrets, SecretUnavailableError } from '../../config/secrets';
import { scrubOutput, secretsIn } from '../../common/redact';
import { activityInput, pairHostInput } from '../activity-input';
import { httpProbe, type HttpProbe } from '../http-probe';
import type { RunbookRegistry } from '../runbooks';
import { ALREADY_RUNNING, ALREADY_RUNNING_MARKER, lockFileOf, supervisedCommand } from './remote-command';
import { resolveHostKey, SshError, type SshClient, type SshTarget } from './ssh';
import { typedFailure } from '../failure';
import { APP_FAILURE_TYPES, type AppFailureType } from '../../common/traffic-app-failures';

export type { AppFailureType } from '../../common/traffic-app-failures';

/** A typed failure of the application activities; whether a retry can fix it comes from APP_FAILURE_TYPES. */
export function appFailure(type: AppFailureType, message: string, details?: unknown): ApplicationFailure {
  return typedFailure(type, message, APP_FAILURE_TYPES[type].retryable === false, details);
}

/**
 * How the host's start or stop command ended. The command's text is never returned (it may hold a token): the
 * result names the host and the action. Its output is scrubbed of secrets and bounded (see `keepOutput`).
 */
export interface AppCommandRun {
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface AppActionResult {
  host: string;
  site: string;
  action: 'start' | 'stop';
  /** Whether the start/stop command ran (start skips it when the app is already healthy). */
  commandRun: boolean;
  /**
   * Set when an earlier attempt's start command was still running on the host (a retry after a heartbeat timeout
   * or a lost worker): this attempt waited for it instead of running the command a second time.
   */
  previousStillRunning?: true;
  command?: AppCommandRun;
  healthUrl: string;
  /** The last probes (at most 20), oldest first. */
  probes: HttpProbe[];
  probeCount: number;
  /** Passing (start) or failing (stop) probes in a row at the end, and how many were required (rise / fall). */
  streak: number;
  required: number;
  durationMs: number;
  description: string;
}

export interface AppHealthResult extends Omit<HttpProbe, 'site'> {
  host: string;
  /** The host's site in the runbook. */
  site: string;
  healthUrl: string;
  /** The site the answer names (its JSON `site` field), when it names one. */
  servedBy?: string;
}

export interface AppActivityDeps {
  runbooks: RunbookRegistry;
  ssh: SshClient;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
/** Each stream of a command's output kept in results and failures: its last 4 KiB. */
const OUTPUT_LIMIT_BYTES = 4096;
/** How often a running start or stop command heartbeats (Temporal throttles what it sends on). */
const COMMAND_HEARTBEAT_MS = 1000;
const firstLine = (s: string) => s.trim().split('\n').pop()?.slice(0, 200) ?? '';

/** How to reach an application (or database) host over SSH: its key resolved from its secret reference, its host key pinned. */
export function sshTargetOf(host: Pick<AppHostConfig, 'name' | 'ssh'>, baseDir: string): SshTarget {
  const { ssh: s } = host;
  const label = `${host.name} (${s.user}@${s.host}:${s.port})`;
  try {
    return {
      label,
      host: s.host,
      port: s.port,
      user: s.user,
      privateKey: resolveSecret(s.privateKey, baseDir),
      hostKey: resolveHostKey(s.hostKey, baseDir),
    };
  } catch (err) {
    if (err instanceof SecretUnavailableError)
      throw appFailure('SecretUnavailable', `${label}: ${err.message}`);
    if (err instanceof SshError) throw appFailure(err.type, err.message);
    throw err;
  }
}

export function createAppActivities({ runbooks, ssh }: AppActivityDeps) {
  function hostOf(pair: string, name: string) {
    const loaded = runbooks.get(pair);
    const hosts = loaded.runbook.apps?.hosts;
    if (!hosts) throw appFailure('AppsNotConfigured', `pair "${pair}" has no apps section in its runbook`);
    const host = hosts.find((h) => h.name === name);
    if (!host) {
      throw appFailure(
        'UnknownAppHost',
        `pair "${pair}" has no application host "${name}" (hosts: ${hosts.map((h) => h.name).join(', ')})`,
      );
    }
    const { probes, timeouts } = loaded.runbook;
    return {
      pair,
      host,
      runbook: loaded.runbook,
      baseDir: path.dirname(loaded.file),
      interval: durationMs(probes.interval),
      probeTimeout: durationMs(probes.timeout),
      rise: probes.rise,
      fall: probes.fall,
      deadlineMs: durationMs(timeouts.appStart),
      /** The site names a health answer may give (what it says otherwise is not kept). */
      sites: [loaded.runbook.sites.primary.name, loaded.runbook.sites.standby.name],
    };
  }

  type HostSettings = ReturnType<typeof hostOf>;
  const sshTarget = (h: HostSettings) => sshTargetOf(h.host, h.baseDir);

  /**
   * Runs the host's start or stop command over SSH inside the supervisor of ./remote-command.ts, heartbeating while it
   * runs (so that cancellation and heartbeat timeouts reach it; cancelling closes the channel, which ends the
   * command's process group). Resolves 'already-running' when another run — an earlier attempt's — holds the host's
   * lock: a start then joins it instead of running twice.
   */
  async function runCommand(h: HostSettings, action: 'stop', timeoutMs: number): Promise<AppCommandRun>;
  async function runCommand(
    h: HostSettings,
    action: 'start',
    timeoutMs: number,
  ): Promise<AppCommandRun | 'already-running'>;
  async function runCommand(
    h: HostSettings,
    action: 'start' | 'stop',
    timeoutMs: number,
  ): Promise<AppCommandRun | 'already-running'> {
    const command = action === 'start' ? h.host.start : h.host.stop;
    const target = sshTarget(h);
    const what = `its ${action} command`;
    const ctx = Context.current();
    const started = Date.now();
    const beat = () =>
      ctx.heartbeat({ step: 'command', action, host: h.host.name, elapsedMs: Date.now() - started });
    beat();
    const beating = setInterval(beat, COMMAND_HEARTBEAT_MS);
    const budgetMs = Math.max(timeoutMs, 1000);
    const supervised = supervisedCommand(command, {
      lockFile: lockFileOf(h.pair, h.host.name),
      mode: action === 'start' ? 'join' : 'wait',
      waitSeconds: budgetMs / 2000,
    });
    let result;
    try {
      result = await ssh.exec(target, supervised, {
        timeoutMs: budgetMs,
        signal: ctx.cancellationSignal,
        describe: what,
      });
    } catch (err) {
      if (err instanceof SshError) throw appFailure(err.type, err.message);
      throw err;
    } finally {
      clearInterval(beating);
    }
    const locked = result.exitCode === ALREADY_RUNNING && result.stderr.includes(ALREADY_RUNNING_MARKER);
    if (locked && action === 'start') return 'already-running';
    const keep = keepOutput(h, command);
    const run: AppCommandRun = { ...result, stdout: keep(result.stdout), stderr: keep(result.stderr) };
    if (result.exitCode !== 0) {
      const why = locked
        ? `did not run: another start or stop of this application still held its lock after ${seconds(budgetMs / 2)}`
        : result.signal
          ? `was killed by ${result.signal}`
          : `exited ${result.exitCode}`;
      const hint = result.exitCode === 127 ? ' (is flock or setsid of util-linux missing on the host?)' : '';
      throw appFailure(
        'AppCommandFailed',
        `${target.label}: ${what} ${why}: ${firstLine(run.stderr) || firstLine(run.stdout) || 'no output'}${hint}`,
        run,
      );
    }
    log.info(`${h.host.name}: ${what} exited 0 in ${seconds(result.durationMs)}: ${firstLine(run.stdout)}`, {
      host: h.host.name,
    });
    return run;
  }

  /**
   * A command's output as results and failure details keep it (they go to history): the pair's secrets and the
   * values the command line gives to secret-looking names out, then a byte bound.
   */
  function keepOutput(h: HostSettings, command: string): (text: string) => string {
    const secrets = [...runbookSecrets(h.runbook, h.baseDir), ...secretsIn(command)];
    return (text) => scrubOutput(text, secrets, OUTPUT_LIMIT_BYTES);
  }

  /**
   * Probes the health URL every `interval` until `required` probes in a row have the wanted outcome, or the
   * deadline passes. `onMiss` runs when a start needs its command after all (an app that was up went down).
   * `firstPassEnough`: an app whose very first probe passes is taken as healthy at once (it was running before this
   * activity; `rise` confirms a freshly started one), so a start of a running app costs one probe, not `rise`
   * probes `interval` apart.
   */
  async function pollHealth(
    h: ReturnType<typeof hostOf>,
    want: 'pass' | 'fail',
    required: number,
    started: number,
    onMiss?: () => Promise<void>,
    firstPassEnough = false,
  ): Promise<{ probes: HttpProbe[]; count: number; streak: number; reached: boolean }> {
    const ctx = Context.current();
    const probes: HttpProbe[] = [];
    let count = 0;
    let streak = 0;
    for (;;) {
      const probe = await httpProbe(h.host.healthUrl, h.probeTimeout, ctx.cancellationSignal, h.sites);
      count += 1;
      probes.push(probe);
      if (probes.length > 20) probes.shift();
      const hit = want === 'pass' ? probe.ok : !probe.ok;
      streak = hit ? streak + 1 : 0;
      ctx.heartbeat({ probes: count, streak, required, last: probe.detail });
      if (streak >= required || (firstPassEnough && count === 1 && hit))
        return { probes, count, streak, reached: true };
      if (!hit && onMiss) await onMiss();
      if (Date.now() + h.interval > started + h.deadlineMs) return { probes, count, streak, reached: false };
      await ctx.sleep(h.interval);
    }
  }

  return {
    /** The pair's application hosts (names, sites, health URLs; no SSH settings), optionally of one site. */
    async appHosts(input: {
      pair: string;
      site?: string;
    }): Promise<{ name: string; site: string; healthUrl: string }[]> {
      const hosts = runbooks.get(input.pair).runbook.apps?.hosts ?? [];
      return hosts
        .filter((h) => input.site === undefined || h.site === input.site)
        .map(({ name, site, healthUrl }) => ({ name, site, healthUrl }));
    },

    /** One probe of a host's health URL. Never throws for an unhealthy app: `ok` says. */
    async appHealth(raw: { pair: string; host: string }): Promise<AppHealthResult> {
      const input = activityInput('appHealth', pairHostInput, raw);
      const h = hostOf(input.pair, input.host);
      const probe = await httpProbe(
        h.host.healthUrl,
        h.probeTimeout,
        Context.current().cancellationSignal,
        h.sites,
      );
      const { site: servedBy, ...rest } = probe;
      return { host: h.host.name, site: h.host.site, healthUrl: h.host.healthUrl, ...rest, servedBy };
    },

    /**
     * Starts the application on one host: runs the runbook's `start` command over SSH (host key pinned), then
     * probes its health URL every `probes.interval` until it passes `probes.rise` times in a row, within
     * `timeouts.appStart`, heartbeating at every probe. Idempotent: when the app already passes its first health
     * check, the command is not run and the start ends at once (it is run as soon as a probe fails); a retried
     * attempt, which may follow an earlier attempt's start command, waits for `rise` passes.
     */
    async appStart(raw: { pair: string; host: string }): Promise<AppActionResult> {
      const input = activityInput('appStart', pairHostInput, raw);
      const h = hostOf(input.pair, input.host);
      const started = Date.now();
      let command: AppCommandRun | undefined;
      let joined = false;
      const poll = await pollHealth(
        h,
        'pass',
        h.rise,
        started,
        async () => {
          // Once an earlier attempt's start was found running, this attempt only waits for health: starting again
          // when that one ends could start the application twice.
          if (command || joined) return;
          const outcome = await runCommand(h, 'start', started + h.deadlineMs - Date.now());
          if (outcome === 'already-running') joined = true;
          else command = outcome;
        },
        Context.current().info.attempt === 1,
      );
      const elapsed = Date.now() - started;
      const previousStillRunning = joined;
      const base = {
        host: h.host.name,
        site: h.host.site,
        action: 'start' as const,
        commandRun: command !== undefined,
        ...(previousStillRunning ? { previousStillRunning } : {}),
        command,
        healthUrl: h.host.healthUrl,
        probes: poll.probes,
        probeCount: poll.count,
        streak: poll.streak,
        required: h.rise,
        durationMs: elapsed,
      };
      if (!poll.reached) {
        const last = poll.probes[poll.probes.length - 1];
        throw appFailure(
          'AppNotHealthy',
          `${h.host.name} (${h.host.site}) is not healthy ${seconds(elapsed)} after ${
            command
              ? 'its start command'
              : previousStillRunning
                ? "an earlier attempt's start command"
                : 'the start'
          }: ${poll.count} probes of ${h.host.healthUrl}, ${poll.streak} passing in a row of ${h.rise} required; last: ${last?.detail}.`,
          base,
        );
      }
      const description = command
        ? `${h.host.name} (${h.host.site}) started over SSH (its start command exited 0 in ${seconds(
            command.durationMs,
          )}) and passed ${h.rise} health checks in a row at ${h.host.healthUrl} after ${poll.count} probes, in ${seconds(elapsed)}.`
        : previousStillRunning
          ? `${h.host.name} (${h.host.site}) was already being started by an earlier attempt (its start command still ran): waited for it; it passed ${h.rise} health checks in a row at ${h.host.healthUrl} after ${poll.count} probes, in ${seconds(elapsed)}; the start command was not run again.`
          : `${h.host.name} (${h.host.site}) was already running: it passed ${poll.streak === 1 ? 'its health check' : `${poll.streak} health checks in a row`} at ${h.host.healthUrl}; the start command was not needed.`;
      log.info(description, { host: h.host.name });
      return { ...base, description };
    },

    /**
     * Stops the application on one host (compensation of appStart): runs the runbook's `stop` command over
     * SSH, always (a failing health check does not prove the processes are gone; stop commands are
     * idempotent), then probes until the health check fails `probes.fall` times in a row.
     */
    async appStop(raw: { pair: string; host: string }): Promise<AppActionResult> {
      const input = activityInput('appStop', pairHostInput, raw);
      const h = hostOf(input.pair, input.host);
      const started = Date.now();
      const command = await runCommand(h, 'stop', h.deadlineMs);
      const poll = await pollHealth(h, 'fail', h.fall, started);
      const elapsed = Date.now() - started;
      const base = {
        host: h.host.name,
        site: h.host.site,
        action: 'stop' as const,
        commandRun: true,
        command,
        healthUrl: h.host.healthUrl,
        probes: poll.probes,
        probeCount: poll.count,
        streak: poll.streak,
        required: h.fall,
        durationMs: elapsed,
      };
      if (!poll.reached) {
        throw appFailure(
          'AppStillHealthy',
          `${h.host.name} (${h.host.site}) still answers its health check ${seconds(elapsed)} after its stop command exited 0.`,
          base,
        );
      }
      const description = `${h.host.name} (${h.host.site}) stopped over SSH (its stop command exited 0: ${
        firstLine(command.stdout) || 'no output'
      }); its health check failed ${h.fall} times in a row, in ${seconds(elapsed)}.`;
      log.info(description, { host: h.host.name });
      return { ...base, description };
    },
  };
}
