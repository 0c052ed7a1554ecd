import { ensureTemporalCli } from './tools/temporal-cli';
import { ensureDebianPackages, STACK_PACKAGES } from './tools/debian-packages';

try {
  const cli = ensureTemporalCli();
  console.log(`Temporal CLI: ${cli.path} (from ${cli.source})`);
  ensureDebianPackages(STACK_PACKAGES);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
