/*
 * chorus-dbus export end to end: a Chorus app (the SDK, on the real chorusd) serves a group; the
 * built chorus-dbus exports it to a private dbus-daemon; plain D-Bus clients (busctl, gdbus, the
 * Node D-Bus library) introspect it, receive its signals and call its methods.
 */

import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Bus, connect, defineGroup, z } from '@chorus/client';
import type { MessageBus } from '@jellybrick/dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import {
  callBus,
  dbusClient,
  dbusOwner,
  listenForSignals,
  type PrivateDBus,
  type RunningBridge,
  startBridgeProcess,
  startDBus,
} from './harness/dbus.js';

const run = promisify(execFile);
const GROUP = 'org.example.Player';
const PATH = '/org/example/Player';

const Player = defineGroup(GROUP, {
  signals: {
    Seeked: z.object({ position: z.number().int(), label: z.string().optional() }),
    Track: z.object({ title: z.string(), tags: z.array(z.string()), meta: z.object({ rating: z.number() }) }),
    Level: z.object({ level: z.number() }),
  },
  methods: {
    SetVolume: { input: z.object({ level: z.number() }), output: z.object({ applied: z.number() }) },
    Fail: { input: z.object({}), output: z.object({}) },
  },
});

let dbus: PrivateDBus;
let daemon: RunningDaemon & { cleanup(): Promise<void> };
let bridge: RunningBridge;
let config: string;
let client: MessageBus;

/** The Chorus app that owns the group: serve, own the name, create the group (the SDK's order). */
async function startApp(): Promise<Bus> {
  const app = await connect({ address: daemon.address });
  app.serve(Player, {
    SetVolume: async ({ level }) => ({ applied: Math.min(level, 1) }),
    Fail: async () => {
      throw Object.assign(new Error('the player is busy'), { name: 'org.example.Player.Error.Busy' });
    },
  });
  await app.requestName(GROUP);
  await app.createGroup(Player, { emitters: 'owner', retain: true });
  return app;
}

async function waitFor<T>(read: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startBridge(): Promise<RunningBridge> {
  return startBridgeProcess(['--dbus', dbus.address, '--address', daemon.address, '--config', config]);
}

let app: Bus;

beforeAll(async () => {
  dbus = await startDBus();
  daemon = await withDaemon();
  config = join(dbus.dir, 'bridge.json');
  // The annotation: position is an int64 on D-Bus (the default for an unbounded integer is x
  // anyway), level an unsigned byte instead of the default double.
  await writeFile(
    config,
    JSON.stringify({
      export: [{ group: GROUP, types: { 'signals.Seeked.position': 'x', 'signals.Level.level': 'y' } }],
    }),
  );
  app = await startApp();
  bridge = await startBridge();
  client = await dbusClient(dbus.address);
});

afterAll(async () => {
  client?.disconnect();
  await app?.close();
  await bridge?.stop();
  await daemon?.cleanup();
  await dbus?.stop();
});

describe('chorus-dbus export', () => {
  it('is seen by busctl introspect and gdbus introspect, with the annotated types', async () => {
    const { stdout } = await run('/usr/bin/busctl', [
      `--address=${dbus.address}`,
      'introspect',
      GROUP,
      PATH,
      GROUP,
    ]);
    const rows = stdout.split('\n').map((l) => l.trim().split(/\s+/).slice(0, 4).join(' '));
    expect(rows).toContain('.SetVolume method d d');
    expect(rows).toContain('.Fail method - -');
    expect(rows).toContain('.Seeked signal xa{sv} -');
    expect(rows).toContain('.Track signal sasa{sv} -');
    expect(rows).toContain('.Level signal y -');
    const { stdout: tree } = await run('/usr/bin/gdbus', [
      'introspect',
      '--address',
      dbus.address,
      '--dest',
      GROUP,
      '--object-path',
      '/',
      '--recurse',
    ]);
    expect(tree).toContain(`interface ${GROUP}`);
    expect(tree).toContain('SetVolume(in  d level,');
  });

  it('turns Chorus signals into D-Bus signals, in order, typed as the contract and annotations say', async () => {
    const listener = await listenForSignals(client, GROUP);
    const owner = await dbusOwner(client, GROUP);
    await app.emit(Player, 'Seeked', { position: 2 ** 40, label: 'intro' });
    await app.emit(Player, 'Seeked', { position: 7 });
    await app.emit(Player, 'Track', { title: 'T', tags: ['a', 'b'], meta: { rating: 4.5 } });
    await app.emit(Player, 'Level', { level: 200 });
    await waitFor(() => (listener.received.length >= 4 ? true : undefined), 'four D-Bus signals');
    listener.stop();
    expect(listener.received.map((s) => s.member)).toEqual(['Seeked', 'Seeked', 'Track', 'Level']);
    expect(listener.received.every((s) => s.sender === owner)).toBe(true);
    const [first, second, track, level] = listener.received.map((s) => s.body) as unknown[][];
    expect(first![0]).toBe(BigInt(2 ** 40));
    expect((first![1] as Record<string, { value: unknown }>)['label']?.value).toBe('intro');
    expect(second![0]).toBe(7n);
    expect(second![1]).toEqual({});
    expect(track![0]).toBe('T');
    expect(track![1]).toEqual(['a', 'b']);
    expect((track![2] as Record<string, { signature: string; value: unknown }>)['rating']).toMatchObject({
      signature: 'd',
      value: 4.5,
    });
    expect(level).toEqual([200]);
  });

  it('turns D-Bus method calls into Chorus calls, and Chorus errors into D-Bus error names', async () => {
    const out = await callBus(client, GROUP, PATH, GROUP, 'SetVolume', 'd', [0.25]);
    expect(out).toEqual([0.25]);
    const { stdout } = await run('/usr/bin/busctl', [
      `--address=${dbus.address}`,
      'call',
      GROUP,
      PATH,
      GROUP,
      'SetVolume',
      'd',
      '3',
    ]);
    expect(stdout.trim()).toBe('d 1');
    const failed = await callBus(client, GROUP, PATH, GROUP, 'Fail').catch((e: unknown) => e);
    expect((failed as { errorName: string }).errorName).toBe('org.example.Player.Error.Busy');
    expect((failed as Error).message).toContain('the player is busy');
    const wrong = await callBus(client, GROUP, PATH, GROUP, 'SetVolume', 's', ['loud']).catch(
      (e: unknown) => e,
    );
    expect((wrong as { errorName: string }).errorName).toBe('org.freedesktop.DBus.Error.InvalidArgs');
    const unknown = await callBus(client, GROUP, PATH, GROUP, 'Nope').catch((e: unknown) => e);
    expect((unknown as { errorName: string }).errorName).toBe('org.freedesktop.DBus.Error.UnknownMethod');
  });

  it('owns the D-Bus name only while the Chorus name has an owner', async () => {
    expect(await dbusOwner(client, GROUP)).not.toBeNull();
    await app.close();
    await waitFor(
      async () => ((await dbusOwner(client, GROUP)) === null ? true : undefined),
      'the name released',
    );
    app = await startApp();
    await waitFor(
      async () => ((await dbusOwner(client, GROUP)) !== null ? true : undefined),
      'the name owned again',
    );
    // The object is back too: a call goes through to the new app.
    await waitFor(
      () =>
        callBus(client, GROUP, PATH, GROUP, 'SetVolume', 'd', [0.5]).then(
          () => true,
          () => undefined,
        ),
      'a call to the new owner',
    );
  });

  it('after a bridge restart, exports again and owns the name again', async () => {
    await bridge.stop();
    await waitFor(
      async () => ((await dbusOwner(client, GROUP)) === null ? true : undefined),
      'the name released',
    );
    bridge = await startBridge();
    // The ready line comes once the export present at start is on D-Bus.
    expect(await dbusOwner(client, GROUP)).not.toBeNull();
    expect(await callBus(client, GROUP, PATH, GROUP, 'SetVolume', 'd', [0.75])).toEqual([0.75]);
    const listener = await listenForSignals(client, GROUP);
    await app.emit(Player, 'Level', { level: 9 });
    await waitFor(() => (listener.received.length >= 1 ? true : undefined), 'a signal after the restart');
    listener.stop();
    expect(listener.received[0]?.body).toEqual([9]);
  });
});
