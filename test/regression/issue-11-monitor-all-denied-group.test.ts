import type { Bus, MonitoredSignal } from '@chorus/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  Battery,
  type ExampleDaemon,
  READER_TOKEN,
  Secrets,
  withExamplePolicyDaemon,
} from '../harness/example-policy.js';

// Issue 11, item 3: with the README's example policy (deny every action on org.example.Secrets over
// the WebSocket), `connect({ monitor: true })` as `ws` or `reader` received org.example.Secrets's
// signals: monitoring everything was checked against the name `*` alone, which the deny rule never
// matches (the web monitor is exactly such a monitor). Now a monitor of everything gets only the
// signals of the groups it may monitor.

let daemon: ExampleDaemon;
let service: Bus;
beforeAll(async () => {
  ({ daemon } = await withExamplePolicyDaemon());
  service = await daemon.unix();
  await service.requestName(Battery.name);
  await service.requestName(Secrets.name);
});
afterAll(async () => {
  await service.close();
  await daemon.cleanup();
});

/** Emits on both groups, then a last Battery signal; resolves with what the monitor saw up to it. */
async function watch(monitor: Bus, round: number): Promise<string[]> {
  const seen: string[] = [];
  const done = (async () => {
    for await (const message of monitor.monitor as AsyncIterable<MonitoredSignal>) {
      if (!message.group.startsWith('org.example.')) continue;
      seen.push(`${message.group}.${message.signal}`);
      if (message.group === Battery.name && (message.payload as { percent: number }).percent === round) break;
    }
  })();
  const battery = await service.createGroup(Battery);
  const secrets = await service.createGroup(Secrets);
  await secrets.emit('Rotated', { n: 1 });
  await battery.emit('LevelChanged', { percent: 1000 });
  await secrets.emit('Rotated', { n: 2 });
  // The last one: the bus order puts every signal above before it in the monitor's stream.
  await battery.emit('LevelChanged', { percent: round });
  await done;
  await Promise.all([battery.close(), secrets.close()]);
  return seen;
}

let round = 0;
it.each([
  ['ws', () => daemon.defaultToken],
  ['reader', () => READER_TOKEN],
])(
  'a monitor of everything as %s over the WebSocket sees no signal of org.example.Secrets',
  async (_who, token) => {
    const monitor = await daemon.ws(token(), { monitor: true });
    try {
      expect(await watch(monitor, ++round)).toEqual([
        'org.example.Battery.LevelChanged',
        'org.example.Battery.LevelChanged',
      ]);
    } finally {
      await monitor.close();
    }
  },
);

it('a monitor of org.example.Secrets itself is still refused over the WebSocket', async () => {
  await expect(daemon.ws(READER_TOKEN, { monitor: { groups: [Secrets.name] } })).rejects.toMatchObject({
    code: 'NOT_PERMITTED',
  });
});

it('over the Unix socket, where the deny rule does not apply, reader sees both groups', async () => {
  const monitor = await daemon.unix(READER_TOKEN, { monitor: true });
  try {
    expect(await watch(monitor, ++round)).toEqual([
      'org.example.Secrets.Rotated',
      'org.example.Battery.LevelChanged',
      'org.example.Secrets.Rotated',
      'org.example.Battery.LevelChanged',
    ]);
  } finally {
    await monitor.close();
  }
});
