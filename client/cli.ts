import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { packageRoot } from '../common/package-root';
import { register as answers } from './commands/answers';
import { register as completion } from './commands/completion';
import { register as config } from './commands/config';
import { register as doctor } from './commands/doctor';
import { register as move } from './commands/move';
import { register as pairs } from './commands/pairs';
import { register as readiness } from './commands/readiness';
import { register as runs } from './commands/runs';
import { register as stack } from './commands/stack';
import { register as status } from './commands/status';
import { register as drill } from './commands/drill';
import { register as schedule } from './commands/schedule';

// Each command is a module of client/commands/ exporting register(program). The Temporal SDK and the systems'
// clients are loaded by the actions that use them: `config …` and `--help` answer at once.

const { version } = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
  version: string;
};

const program = new Command('drctl')
  .description('Disaster-recovery orchestrator: failover, failback and drills of DR pairs on Temporal')
  .version(version, '-V, --version', 'print the version of drctl')
  .showHelpAfterError()
  .configureHelp({ showGlobalOptions: true })
  .option(
    '--address <host:port>',
    'Temporal frontend address (default: TEMPORAL_ADDRESS, else localhost:7233)',
  )
  .option('--namespace <name>', 'Temporal namespace (default: TEMPORAL_NAMESPACE, else default)')
  .option(
    '--task-queue <name>',
    'task queue of the workers that run the moves and checks (default: dr-orchestrator)',
  )
  .option(
    '--ui-address <url>',
    'Temporal UI address for the links printed (default: TEMPORAL_UI_URL; for a loopback Temporal, its port + 1000)',
  )
  .option('--json', 'print machine-readable JSON instead of text');

for (const registerCommands of [
  config,
  stack,
  doctor,
  readiness,
  pairs,
  move,
  status,
  runs,
  answers,
  drill,
  schedule,
  completion,
])
  registerCommands(program);

// `drctl … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`drctl: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
