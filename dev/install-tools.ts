import { ensureTemporalCli } from './tools/temporal-cli';
import { ensureTemporalTestServer } from './tools/temporal-test-server';
import { ensureDebianPackages, STACK_PACKAGES } from './tools/debian-packages';

try {
  const cli = ensureTemporalCli();
  console.log(`Temporal CLI: ${cli.path} (from ${cli.source})`);
  console.log(`Temporal test server (time-skipping): ${ensureTemporalTestServer()}`);
  ensureDebianPackages(STACK_PACKAGES);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
