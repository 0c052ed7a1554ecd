/** The bench's command line: `npm run bench -- [--runs N] [--smoke] [--out DIR] [scenario…]`. */
export interface BenchOptions {
  /** Runs of each scenario (default 5; 1 with --smoke). */
  runs: number;
  /** One run, small sizes: what CI runs so the bench cannot rot. */
  smoke: boolean;
  /** Where the JSON and the SVG chart are written (default bench/results). */
  outDir: string;
  /** Scenario names to run; empty: all. */
  only: string[];
}

const USAGE = 'usage: npm run bench -- [--runs N] [--smoke] [--out DIR] [scenario…]';

/** Parses the arguments; a bad one throws an error naming it and the usage. */
export function parseBenchOptions(argv: string[], defaultOutDir: string): BenchOptions {
  const options: BenchOptions = { runs: 5, smoke: false, outDir: defaultOutDir, only: [] };
  let runsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--smoke') options.smoke = true;
    else if (arg === '--runs') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1)
        throw new Error(`--runs: expected a whole number ≥ 1, got "${argv[i] ?? ''}". ${USAGE}`);
      options.runs = value;
      runsGiven = true;
    } else if (arg === '--out') {
      const value = argv[++i];
      if (!value) throw new Error(`--out: expected a folder. ${USAGE}`);
      options.outDir = value;
    } else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}. ${USAGE}`);
    else options.only.push(arg);
  }
  if (options.smoke && !runsGiven) options.runs = 1;
  return options;
}
