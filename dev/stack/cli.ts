import { Command } from 'commander';
import { confirmed } from './confirm';
import { stackPort } from './settings';

// The services (and their clients) are loaded by the command that drives them: `--help` answers at once.
const stack = () => import('./stack.js');

/**
 * `drctl stack …`: the local development stack on loopback. A development tool, so it lives here and not in the
 * operator CLI (client/), which production builds ship without dev/; bin/drctl hands `stack` commands to it.
 */
const print = (line: string) => console.log(line);

const program = new Command('drctl stack')
  .description(
    'The local stack on loopback (Temporal dev server, MariaDB trio, emulators, HAProxy, apps, two workers)',
  )
  .showHelpAfterError();

program
  .command('up')
  .description(
    'Install what is missing and start every service, MariaDB in the topology the last move left; harmless when already up',
  )
  .action(async () => {
    const { formatStatus, stackUp } = await stack();
    const statuses = await stackUp(print);
    print(formatStatus(statuses));
    print(`\nTemporal UI: http://localhost:${stackPort('TEMPORAL_UI')}`);
  });
program
  .command('status')
  .description('Show which services run, their pids and endpoints')
  .action(async () => {
    const { formatStatus, stackStatus } = await stack();
    const statuses = await stackStatus(print);
    print(formatStatus(statuses));
    process.exitCode = statuses.every((s) => s.running) ? 0 : 3;
  });
program
  .command('down')
  .description('Stop every service the stack started (data is kept under .stack/)')
  .action(async () => {
    const { stackDown } = await stack();
    await stackDown(print);
  });

program
  .command('reset')
  .description(
    'Return to the initial topology (db-gra-1 primary, rbx replicas, traffic on gra, Elasticsearch as seeded), ' +
      'deleting the MariaDB data and the saved HAProxy and emulator state; asks first unless --yes',
  )
  .option('-y, --yes', 'reset without asking (needed without a terminal)')
  .action(async (options: { yes?: boolean }) => {
    const question =
      'Reset the local stack? Every service stops; the MariaDB data (the apps’ orders included), HAProxy’s saved ' +
      'server states and the emulators’ saved state are deleted; everything starts again with db-gra-1 primary, ' +
      'traffic on gra and Elasticsearch as seeded.';
    if (!(await confirmed(question, { yes: options.yes, flag: '--yes' }))) {
      print('stack reset: nothing changed.');
      process.exitCode = 1;
      return;
    }
    const { formatStatus, stackReset } = await stack();
    print(formatStatus(await stackReset(print)));
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`drctl stack: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
