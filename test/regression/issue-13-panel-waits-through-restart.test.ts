import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { type FixtureProcess, Fixtures } from '../harness/child.js';
import { repoRoot, startDaemon } from '../harness/daemon.js';

const children = new Fixtures();
afterAll(async () => {
  await children.killAll();
});

/** The stdout lines of a script that match `pattern`, as matches. */
const matches = (child: FixtureProcess, pattern: RegExp): RegExpExecArray[] =>
  child.events.flatMap((e) => {
    const match = e.event === 'line' ? pattern.exec(e['line'] as string) : null;
    return match === null ? [] : [match];
  });

// Issue 13: examples/panel.mjs said it waits for the service again, but exited 1 when the daemon
// restarted: the service left first (its group ended), and the panel's next connect found the bus
// shutting down or gone, which it took as final.
it.each(['SIGTERM', 'SIGKILL'] as const)(
  'the panel waits through a daemon restart (%s) and prints the levels again',
  async (signal) => {
    const first = await startDaemon();
    const env = { CHORUS_BUS_ADDRESS: first.address };
    const battery = children.spawnScript(join(repoRoot, 'examples/battery-service.mjs'), [], env);
    const panel = children.spawnScript(join(repoRoot, 'examples/panel.mjs'), [], env);
    const printed = /^Battery (\d+)% \(seq (\d+), from (:1\.\d+)(, retained)?\)$/;
    await panel.waitFor(() => matches(panel, printed).length >= 2);
    // The service goes with the daemon and comes back later: the panel must wait meanwhile.
    await battery.kill('SIGKILL');
    if (signal === 'SIGTERM') await first.stop();
    else await first.kill();
    const before = matches(panel, printed).length;
    const second = await startDaemon({ dir: first.dir });
    try {
      await new Promise((r) => setTimeout(r, 3000));
      children.spawnScript(join(repoRoot, 'examples/battery-service.mjs'), [], env);
      // The same socket: both reconnect by themselves, the service creates its group again.
      await panel.waitFor(() => matches(panel, printed).length >= before + 2, 30_000);
      expect(await panel.kill('SIGINT')).toMatchObject({ code: 0 });
    } finally {
      await second.kill();
      await rm(first.dir, { recursive: true, force: true });
    }
  },
  60_000,
);
