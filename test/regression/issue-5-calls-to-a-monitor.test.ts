import { type CallContext, connect } from '@chorus/client';
import { expect, it } from 'vitest';
import { withDaemon } from '../harness/daemon.js';

// Found by test/monitors.test.ts (issue 5, §3): a call to a monitor hung until the caller's deadline.
// The daemon still routed calls to a connection that had become a monitor (by its unique name, or
// while it was serving one already), but a monitor may send nothing but pings: its SDK's `fail`
// was refused with MONITOR_ONLY, so the caller heard nothing and got TIMEOUT instead of an answer.
// Now a monitor is never a callee (SERVICE_UNKNOWN), and calls it was serving end with NO_REPLY.

it('a call to a monitor fails at once, and calls it was serving end with NO_REPLY', async () => {
  const daemon = await withDaemon();
  try {
    const caller = await connect({ address: daemon.address });
    const service = await connect({ address: daemon.address });
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    service.serve('test.regression.Monitor', {
      Wait: (_input: unknown, ctx: CallContext) => {
        started();
        return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(null)));
      },
    });
    await service.requestName('test.regression.Monitor');
    const pending = caller
      .call('test.regression.Monitor', 'Wait', {}, { timeoutMs: 30_000 })
      .catch((error: unknown) => error);
    await running;
    await service.becomeMonitor();
    expect(await pending).toMatchObject({ code: 'NO_REPLY' });

    const monitor = await connect({ address: daemon.address, monitor: true });
    for (const destination of [service.name, monitor.name]) {
      await expect(caller.call(destination, 'Wait', {}, { timeoutMs: 30_000 })).rejects.toMatchObject({
        code: 'SERVICE_UNKNOWN',
      });
    }
    await Promise.all([caller.close(), service.close(), monitor.close()]);
  } finally {
    await daemon.cleanup();
  }
});
