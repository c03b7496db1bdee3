import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FixtureProcess, Fixtures } from './harness/child.js';
import { type RunningDaemon, repoRoot, withDaemon } from './harness/daemon.js';

// The README's runnable pair, run as a user would (`node examples/...`), against a test daemon
// picked through CHORUS_BUS_ADDRESS: the panel prints the levels the battery service emits.

const children = new Fixtures();
let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon();
});
afterAll(async () => {
  await children.killAll();
  await daemon?.cleanup();
});

/** The stdout lines of a script that match `pattern`, as matches. */
const matches = (child: FixtureProcess, pattern: RegExp): RegExpExecArray[] =>
  child.events.flatMap((e) => {
    const match = e.event === 'line' ? pattern.exec(e['line'] as string) : null;
    return match === null ? [] : [match];
  });

it('the panel prints each level the battery service emits, the retained one first', async () => {
  const env = { CHORUS_BUS_ADDRESS: daemon.address };
  const battery = children.spawnScript(join(repoRoot, 'examples/battery-service.mjs'), [], env);
  const created = /^org\.example\.Battery created by (:1\.\d+)$/;
  const emitted = /^LevelChanged (\d+)% \(seq (\d+)\)$/;
  await battery.waitFor(() => matches(battery, emitted).length > 0);

  const panel = children.spawnScript(join(repoRoot, 'examples/panel.mjs'), [], env);
  const printed = /^Battery (\d+)% \(seq (\d+), from (:1\.\d+)(, retained)?\)$/;
  // The level from before the panel started (retained), then at least one live one.
  await panel.waitFor(() => matches(panel, printed).length >= 2);
  const shown = matches(panel, printed).map(([, percent, seq, sender, retained]) => ({
    percent: Number(percent),
    seq: Number(seq),
    sender,
    retained: retained !== undefined,
  }));
  expect(shown.map((s) => s.retained).slice(0, 2)).toEqual([true, false]);
  expect(shown[1]?.seq).toBeGreaterThan(shown[0]?.seq as number);

  const owner = matches(battery, created)[0]?.[1];
  for (const { percent, seq, sender } of shown) {
    expect(sender).toBe(owner);
    // The service prints once its emit is acknowledged, so the panel may have printed it first.
    const level = () => matches(battery, emitted).find((m) => Number(m[2]) === seq);
    await battery.waitFor(() => level() !== undefined);
    expect(Number(level()?.[1])).toBe(percent);
  }

  for (const child of [panel, battery]) expect(await child.kill('SIGINT')).toMatchObject({ code: 0 });
});
