import { webhookReceiverPaths } from '../../webhook-receiver/paths';
import {
  assertPortsFree,
  logFile,
  runningPid,
  startDaemon,
  stopDaemon,
  tsEntry,
  waitForDaemon,
} from '../daemon';
import { stackDir, stackPort } from '../settings';
import type { ServiceStatus, StackService } from '../service';

/** Whether the receiver answers its health check. */
async function answers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * The webhook receiver (dev/webhook-receiver) on http://127.0.0.1:<DR_STACK_PORT_WEBHOOK_RECEIVER>: the local
 * runbook's notifications go there (its URL, a secret, in <stack>/secrets/webhook-receiver.url), and it shows what it
 * received at /messages.
 */
export function webhookReceiver(log: (line: string) => void): StackService {
  const stack = stackDir();
  const port = stackPort('WEBHOOK_RECEIVER');
  const spec = () => ({ name: 'webhook-receiver', runDir: `${stack}/webhook-receiver` });
  const messages = `http://127.0.0.1:${port}/messages`;
  return {
    // Short enough for the name column of `stack status`.
    name: 'webhooks',
    async up() {
      if (runningPid(spec()) === undefined) {
        await assertPortsFree('webhooks', [{ name: 'WEBHOOK_RECEIVER', port }]);
        startDaemon({
          ...spec(),
          ...tsEntry('dev/webhook-receiver/main.ts'),
          env: { ...process.env, DR_STACK_DIR: stack, DR_STACK_PORT_WEBHOOK_RECEIVER: String(port) },
        });
      }
      await waitForDaemon(spec(), 'webhooks', () => answers(port), 30_000);
      log(`webhooks: notifications at ${messages}`);
    },
    async status(): Promise<ServiceStatus> {
      const pid = runningPid(spec());
      return {
        name: 'webhooks',
        running: pid !== undefined,
        pids: pid === undefined ? [] : [pid],
        endpoints: [messages],
        detail:
          pid === undefined
            ? `log ${logFile(spec())}`
            : `hook URL in ${webhookReceiverPaths(stack).url}; messages kept in ${webhookReceiverPaths(stack).received}`,
      };
    },
    async down() {
      await stopDaemon(spec());
    },
  };
}
