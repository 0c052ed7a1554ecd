import { formatStatus, stackStatus, stackUp } from '../dev/stack/stack';

/**
 * The tests run against the real local stack: the Temporal dev server and the MariaDB pair.
 * `npm test` brings it up (and down) around vitest; this makes a bare `npx vitest` work too.
 */
export default async function setup(): Promise<void> {
  const before = await stackStatus(() => undefined);
  if (!before.every((s) => s.running)) await stackUp((line) => console.log(`[stack] ${line}`));
  console.log(`[stack] tests run against:\n${formatStatus(await stackStatus(() => undefined))}`);
}
