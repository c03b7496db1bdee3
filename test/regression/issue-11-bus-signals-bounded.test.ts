import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Bystander } from '../harness/bystander.js';
import { type RunningDaemon, withDaemon } from '../harness/daemon.js';
import { Observer } from '../harness/observer.js';
import { RawClient } from '../harness/raw-client.js';

// Issue 11, item 7: the bus's own signals were "queued even to a full connection". A client that
// joined org.chorus.Bus (as waitForName does) and froze received 71 MiB of NameOwnerChanged while
// another client took and released 120,000 names. Now bus signals never take a queue past
// 2 × maxQueueBytes: the frozen member is evicted (SLOW_CONSUMER), and the names go on.

const maxQueueBytes = 32 * 1024;
const ceiling = 2 * maxQueueBytes;
const limits = { maxQueueBytes, stallTimeoutMs: 60_000, maxSocketBufferBytes: 4 * 1024 };

let daemon: RunningDaemon & { cleanup(): Promise<void> };
let observer: Observer;
let bystander: Bystander;
beforeAll(async () => {
  daemon = await withDaemon({ config: { limits } });
  observer = await Observer.open(daemon.socketPath);
  bystander = await Bystander.start(daemon.socketPath, 'test.busSignals.Bystander');
});
afterAll(async () => {
  await bystander?.stop();
  observer?.close();
  await daemon?.cleanup();
});

it('a frozen member of org.chorus.Bus stays bounded while names churn, and is evicted', async () => {
  const { evictions } = (await observer.stats()).total;
  // A raw client that joins the bus's group at hello, then never reads again.
  const frozen = await RawClient.open(daemon.socketPath, {
    client: 'frozen',
    join: [{ g: 'org.chorus.Bus' }],
  });
  frozen.socket.pause();
  const churn = await RawClient.open(daemon.socketPath, { client: 'churn' });
  // A member that reads: it must get every NameOwnerChanged, frozen or not.
  const watcher = await RawClient.open(daemon.socketPath, {
    client: 'watcher',
    join: [{ g: 'org.chorus.Bus' }],
  });
  let changes = 0;
  watcher.onFrame = (frame) => {
    if (frame.message.t === 'sig' && frame.message.sig === 'NameOwnerChanged') changes++;
  };

  let maxQueued = 0;
  let gone = false;
  let cycles = 0;
  // A stall timeout far beyond the test: only the ceiling can cut the frozen member in time.
  for (const started = Date.now(); !gone && Date.now() - started < 30_000; ) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, k) => {
        const name = `test.busSignals.N${k}`;
        await churn.bus('RequestName', { name });
        await churn.bus('ReleaseName', { name });
      }),
    );
    cycles += 50;
    const listed = (await observer.connections()).find((c) => c.name === frozen.name);
    if (listed === undefined) gone = true;
    else maxQueued = Math.max(maxQueued, listed.queuedBytes);
  }
  frozen.close();
  expect(maxQueued, 'queued bytes seen').toBeLessThanOrEqual(ceiling);
  expect(gone, `evicted after ${cycles} name cycles`).toBe(true);
  expect((await observer.stats()).total.evictions).toBeGreaterThan(evictions);
  expect(daemon.stderr()).toContain('evicted slow consumer');

  // The names go on: the watcher got both changes of every cycle.
  await watcher.ping();
  await sleep(0);
  expect(changes).toBeGreaterThanOrEqual(2 * cycles);
  await bystander.sync('after the frozen bus member');
  watcher.close();
  churn.close();
});
