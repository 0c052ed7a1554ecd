import type { Context } from '@temporalio/activity';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  Next,
} from '@temporalio/worker';

/**
 * Every activity scheduled with a heartbeat timeout heartbeats while it runs, at least every third of that timeout
 * (at most every second): the activity's own heartbeats go through as they are, and between them its last details
 * are sent again. A worker that dies mid-activity then stops heartbeating, and Temporal gives the activity to another
 * worker once the heartbeat timeout passes (seconds), not once its start-to-close timeout does.
 */
export const heartbeatWhileRunning: ActivityInterceptorsFactory = (ctx) => ({
  inbound: new HeartbeatWhileRunning(ctx),
});

class HeartbeatWhileRunning implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(
    input: ActivityExecuteInput,
    next: Next<ActivityInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    const timeoutMs = this.ctx.info.heartbeatTimeoutMs;
    if (!timeoutMs) return next(input);
    const everyMs = Math.max(100, Math.min(1000, Math.floor(timeoutMs / 3)));
    const ctx = this.ctx as { heartbeat(details?: unknown): void };
    const own = ctx.heartbeat.bind(this.ctx);
    // Until the activity gives its own, the previous attempt's details are kept (a retry may resume from them).
    let details: unknown = this.ctx.info.heartbeatDetails;
    let lastAt = Date.now();
    ctx.heartbeat = (given?: unknown) => {
      details = given;
      lastAt = Date.now();
      own(given);
    };
    own(details);
    const timer = setInterval(() => {
      if (Date.now() - lastAt < everyMs) return;
      lastAt = Date.now();
      own(details);
    }, everyMs);
    try {
      return await next(input);
    } finally {
      clearInterval(timer);
      ctx.heartbeat = own;
    }
  }
}
