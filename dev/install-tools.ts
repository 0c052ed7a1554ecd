import { ensureTemporalCli } from './tools/temporal-cli';
import { ensureTemporalTestServer } from './tools/temporal-test-server';
import { ensureDebianPackages, STACK_PACKAGES } from './tools/debian-packages';

async function main(): Promise<void> {
  // The two downloads run side by side.
  const [cli, testServer] = await Promise.all([ensureTemporalCli(), ensureTemporalTestServer()]);
  console.log(`Temporal CLI: ${cli.path} (from ${cli.source})`);
  console.log(`Temporal test server (time-skipping): ${testServer}`);
  ensureDebianPackages(STACK_PACKAGES);
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
