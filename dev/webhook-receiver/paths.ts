import path from 'node:path';
import { stackDir } from '../stack/settings';

/** The receiver's files under the stack folder. */
export function webhookReceiverPaths(stack = stackDir()) {
  const secrets = path.join(stack, 'secrets');
  return {
    token: path.join(secrets, 'webhook-receiver.token'),
    url: path.join(secrets, 'webhook-receiver.url'),
    received: path.join(stack, 'webhook-receiver', 'received.jsonl'),
  };
}
