/**
 * `npm run bench`: runs every benchmark of this folder (`*.bench.ts`, each exporting
 * `run(): Promise<object>`) one after the other, and prints one JSON document with their results.
 * `npm run bench -- <name>…` runs only the named ones (file names without `.bench.ts`).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

interface Benchmark {
  run(): Promise<Record<string, unknown>>;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const names = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.slice(0, -'.bench.ts'.length))
    .filter((name) => only.length === 0 || only.includes(name))
    .sort();
  const results: Record<string, unknown>[] = [];
  for (const name of names) {
    const started = Date.now();
    const bench = (await import(path.join(__dirname, `${name}.bench.ts`))) as Benchmark;
    try {
      results.push({ name, ...(await bench.run()), totalMs: Date.now() - started });
    } catch (err) {
      results.push({ name, error: err instanceof Error ? err.message : String(err) });
    }
  }
  console.log(
    JSON.stringify({ node: process.version, at: new Date().toISOString(), benchmarks: results }, null, 2),
  );
  if (results.some((r) => 'error' in r)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
