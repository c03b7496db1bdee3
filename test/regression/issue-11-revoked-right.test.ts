import type { Bus, MonitoredSignal, SubscriptionEndReason } from '@chorus/client';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  Battery,
  type ExampleDaemon,
  type examplePolicyConfig,
  PANEL_TOKEN,
  READER_TOKEN,
  Secrets,
  withExamplePolicyDaemon,
} from '../harness/example-policy.js';

// Issue 11, item 4: after a SIGHUP that revoked `join` or `monitor`, the memberships and monitors
// opened before the reload kept receiving. Now the reload ends what the new policy no longer
// allows: a membership with `gclosed` 'not-permitted' (the SDK ends the subscription with that
// reason), a monitor with a fatal NOT_PERMITTED; a monitor of everything that keeps its right sees
// from then on only the groups the new policy lets it monitor.

let daemon: ExampleDaemon;
let config: ReturnType<typeof examplePolicyConfig>;
let service: Bus;
const open: Bus[] = [];
beforeEach(async () => {
  ({ daemon, config } = await withExamplePolicyDaemon());
  service = await daemon.unix();
  await service.requestName(Battery.name);
  await service.requestName(Secrets.name);
  open.push(service);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((bus) => bus.close()));
  await daemon.cleanup();
});

async function client(token: string, options: Parameters<ExampleDaemon['unix']>[1] = {}): Promise<Bus> {
  const bus = await daemon.unix(token, options);
  open.push(bus);
  return bus;
}

/** The reason a promise-like event gives, with a deadline so a failure is a clear message. */
function within<T>(promise: Promise<T>, what: string, ms = 15_000): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms),
    ),
  ]);
}

it('revoking join and monitor ends the memberships and monitors opened before the reload', async () => {
  const battery = await service.createGroup(Battery);
  const reader = await client(READER_TOKEN);
  const sub = await reader.join(Battery);
  const subClosed = new Promise<SubscriptionEndReason>((resolve) =>
    sub.on('closed', (reason) => resolve(reason)),
  );
  const monitorAll = await client(READER_TOKEN, { monitor: true });
  const monitorOne = await client(READER_TOKEN, { monitor: { groups: [Battery.name] } });
  const monitorEnds = [monitorAll, monitorOne].map(
    (bus) =>
      new Promise<unknown>((resolve) =>
        (bus.monitor as NonNullable<Bus['monitor']>).on('closed', (_reason, error) => resolve(error)),
      ),
  );
  // panel keeps its right: its membership must go on.
  const panel = await client(PANEL_TOKEN);
  const panelSub = await panel.join(Battery);
  const panelSeen: number[] = [];
  panelSub.on('LevelChanged', ({ percent }) => panelSeen.push(percent));

  const [readerRule, ...rest] = config.policy.rules;
  await daemon.reload({
    ...config,
    policy: { ...config.policy, rules: [{ ...readerRule, actions: ['call'] }, ...rest] },
  });

  expect(await within(subClosed, "reader's subscription")).toBe('not-permitted');
  for (const ended of monitorEnds)
    expect(await within(ended, "reader's monitor")).toMatchObject({ code: 'NOT_PERMITTED' });
  // Joining again is refused; panel's membership goes on.
  await expect(reader.join(Battery)).rejects.toMatchObject({ code: 'NOT_PERMITTED' });
  await battery.emit('LevelChanged', { percent: 5 });
  await expect.poll(() => panelSeen, { timeout: 10_000 }).toEqual([5]);
});

it('a monitor of everything that keeps its right stops seeing a group the reload denies it', async () => {
  const battery = await service.createGroup(Battery);
  const secrets = await service.createGroup(Secrets);
  const monitor = await client(READER_TOKEN, { monitor: true });
  const seen: string[] = [];
  let marker: (() => void) | undefined;
  void (async () => {
    for await (const message of monitor.monitor as AsyncIterable<MonitoredSignal>) {
      if (!message.group.startsWith('org.example.')) continue;
      seen.push(`${message.signal}:${JSON.stringify(message.payload)}`);
      marker?.();
    }
  })();
  const sees = (entry: string) =>
    within(
      new Promise<void>((resolve) => {
        marker = () => seen.includes(entry) && resolve();
        marker();
      }),
      entry,
    );
  // Battery is seen (and that decision is remembered) before the reload.
  await battery.emit('LevelChanged', { percent: 1 });
  await sees('LevelChanged:{"percent":1}');

  await daemon.reload({
    ...config,
    policy: {
      ...config.policy,
      rules: [
        ...config.policy.rules,
        { effect: 'deny', actions: ['monitor'], identity: 'reader', name: Battery.name },
      ],
    },
  });
  // The reload is asynchronous: it has happened once a new monitor of Battery is refused.
  await expect
    .poll(
      () =>
        daemon.unix(READER_TOKEN, { monitor: { groups: [Battery.name] } }).then(
          (bus) => bus.close().then(() => 'ok'),
          (error: { code?: string }) => error.code,
        ),
      { timeout: 15_000, interval: 50 },
    )
    .toBe('NOT_PERMITTED');

  await battery.emit('LevelChanged', { percent: 2 });
  await secrets.emit('Rotated', { n: 3 });
  await sees('Rotated:{"n":3}');
  expect(seen).toEqual(['LevelChanged:{"percent":1}', 'Rotated:{"n":3}']);
  expect(monitor.monitor?.ended).toBe(false);
});
