/**
 * `npm run bench -- [--runs N] [--smoke] [--out DIR] [scenario…]`: runs each scenario N times (default 5; --smoke:
 * once, small sizes), prints one JSON document (min/median/max of every figure, the ratios of the medians, what
 * was not measured and why) and a short table on stderr, and writes the JSON and an SVG chart of each contender's
 * phases (its last run) into DIR. Exits non-zero when a contender failed or lost an acknowledged write.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseBenchOptions } from './options';
import { esPromoteScenario } from './es-promote';
import { mysqlKillScenario } from './mysql-kill';
import { mysqlSwitchoverScenario } from './mysql-switchover';
import { plannedFailoverScenario } from './planned-failover';
import { plannedFailoverScaleScenario } from './planned-failover-scale';
import { BenchTemporal } from './temporal';
import { unplannedFailoverScenario } from './unplanned-failover';
import { workerKillScenario } from './worker-kill';
import { chartSvg, EXPECTED_FIGURES, machineFacts, ratios, table, type BenchReport } from './report';
import type { ContenderTimeline, RunContext, Scenario } from './scenario';
import { spread, type Spread } from './stats';

function scenarios(temporal: BenchTemporal): Scenario[] {
  return [
    plannedFailoverScenario(temporal),
    workerKillScenario(temporal),
    plannedFailoverScaleScenario(temporal),
    unplannedFailoverScenario(temporal),
    mysqlSwitchoverScenario(),
    mysqlKillScenario(temporal),
    esPromoteScenario(),
  ];
}

const benchStarted = Date.now();
const log = (line: string) =>
  console.error(`[bench +${Math.round((Date.now() - benchStarted) / 1000)}s] ${line}`);

interface Collected {
  values: Record<string, number[]>;
  failures: string[];
  notes: string[];
  timelines: Map<string, ContenderTimeline>;
  notMeasured: Record<string, string>;
}

async function runScenario(scenario: Scenario, runs: number, smoke: boolean, into: Collected): Promise<void> {
  const ctx = (run: number): RunContext => ({ smoke, run, log: (line) => log(`${scenario.name}: ${line}`) });
  Object.assign(into.notMeasured, scenario.notMeasured);
  try {
    await scenario.setup?.(ctx(0));
    for (let run = 0; run < runs; run++) {
      log(`${scenario.name}: run ${run + 1} of ${runs}`);
      const sample = await scenario.run(ctx(run));
      for (const [name, value] of Object.entries(sample.figures))
        if (Number.isFinite(value)) (into.values[name] ??= []).push(value);
      into.failures.push(...sample.failures.map((f) => `${scenario.name} run ${run + 1}: ${f}`));
      into.notes.push(...(sample.notes ?? []).map((n) => `${scenario.name} run ${run + 1}: ${n}`));
      for (const t of sample.timelines ?? []) into.timelines.set(t.contender, t);
    }
  } catch (err) {
    into.failures.push(`${scenario.name}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await scenario
      .teardown?.()
      .catch((err: unknown) => log(`${scenario.name}: teardown failed: ${String(err)}`));
  }
}

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2), path.join(__dirname, 'results'));
  const temporal = new BenchTemporal();
  const all = scenarios(temporal);
  const chosen = all.filter((s) => options.only.length === 0 || options.only.includes(s.name));
  const unknown = options.only.filter((name) => !all.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')}`);
  const at = new Date().toISOString();
  const collected: Collected = { values: {}, failures: [], notes: [], timelines: new Map(), notMeasured: {} };
  try {
    for (const scenario of chosen) await runScenario(scenario, options.runs, options.smoke, collected);
  } finally {
    await temporal.teardown();
  }

  const figures: Record<string, Spread> = {};
  for (const [name, values] of Object.entries(collected.values)) figures[name] = spread(values)!;
  const notMeasured = { ...collected.notMeasured };
  for (const name of EXPECTED_FIGURES)
    if (!figures[name]) notMeasured[name] ??= 'no scenario of this run measured it';
  const report: BenchReport = {
    at,
    machine: machineFacts(),
    runs: options.runs,
    smoke: options.smoke,
    figures,
    ratios: ratios(figures),
    not_measured: notMeasured,
    failures: collected.failures,
    notes: collected.notes,
  };
  mkdirSync(options.outDir, { recursive: true });
  const base = path.join(options.outDir, `bench-${options.smoke ? 'smoke' : 'full'}`);
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(
    `${base}.svg`,
    chartSvg(`bench ${at}: phases per contender (last run)`, [...collected.timelines.values()]),
  );
  console.log(JSON.stringify(report, null, 2));
  console.error(`\n${table(report)}\n\nwritten: ${base}.json, ${base}.svg`);
  if (report.failures.length > 0) {
    console.error(`bench: ${report.failures.length} failure(s):\n${report.failures.join('\n')}`);
    process.exitCode = 1;
  }
}

// Exits once the report is out and every scenario torn down: a handle a client library keeps open (seen in CI: minutes
// after the report) must not hold the bench.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
