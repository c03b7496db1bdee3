/*
 * chorus-dbus never makes a loop: with both directions configured over the same buses (a bridge
 * importing the fake UPower and exporting a Chorus group, a second bridge trying to import that
 * export and to export that import), every signal arrives once on each side, and nothing echoes.
 */

import { type Bus, connect, defineGroup, z } from '@chorus/client';
import type { MessageBus } from '@jellybrick/dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import {
  callBus,
  dbusClient,
  dbusOwner,
  type FakeService,
  listenForSignals,
  type PrivateDBus,
  type RunningBridge,
  runBridgeToExit,
  startBridgeProcess,
  startDBus,
  startFakeUPower,
} from './harness/dbus.js';

const GROUP = 'org.example.Player';
const UPOWER = 'org.freedesktop.UPower';
const UPOWER_PATH = '/org/freedesktop/UPower/devices/DisplayDevice';
const CONTROL = 'org.chorus.Test.Control';
const IMPORTED_CONTROL = `dbus.session.${UPOWER}._.org.freedesktop.UPower.devices.DisplayDevice._.${CONTROL}`;

const Player = defineGroup(GROUP, {
  signals: { Level: z.object({ level: z.number() }) },
  methods: { Ping: { input: z.object({}), output: z.object({}) } },
});

let dbus: PrivateDBus;
let daemon: RunningDaemon & { cleanup(): Promise<void> };
let fake: FakeService;
let app: Bus;
let a: RunningBridge;
let b: RunningBridge;
let client: MessageBus;

async function waitFor<T>(read: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dbus = await startDBus();
  daemon = await withDaemon();
  fake = await startFakeUPower(dbus.address);
  app = await connect({ address: daemon.address });
  app.serve(Player, { Ping: async () => ({}) });
  await app.requestName(GROUP);
  await app.createGroup(Player, { emitters: 'owner' });
  const buses = ['--dbus', dbus.address, '--address', daemon.address];
  // Both directions on one bridge.
  a = await startBridgeProcess([...buses, '--import', UPOWER, '--export', GROUP]);
  // A second bridge (another prefix, so the first one's rule does not apply by name) tries to
  // import what A exports and to export what A imports.
  b = await startBridgeProcess([
    ...buses,
    '--prefix',
    'dbus.b',
    '--import',
    GROUP,
    '--export',
    IMPORTED_CONTROL,
  ]);
  client = await dbusClient(dbus.address);
});

afterAll(async () => {
  client?.disconnect();
  await b?.stop();
  await a?.stop();
  await app?.close();
  await fake?.stop();
  await daemon?.cleanup();
  await dbus?.stop();
});

describe('chorus-dbus never makes a loop', () => {
  it('refuses a configuration that would: an export under the import prefix, an import of its own export', async () => {
    const buses = ['--dbus', dbus.address, '--address', daemon.address];
    const underPrefix = await runBridgeToExit([...buses, '--export', IMPORTED_CONTROL]);
    expect(underPrefix.code).toBe(2);
    expect(underPrefix.stderr).toContain('CONFIG_INVALID');
    expect(underPrefix.stderr).toContain('under the import prefix');
    const ownExport = await runBridgeToExit([...buses, '--export', GROUP, '--import', GROUP]);
    expect(ownExport.code).toBe(2);
    expect(ownExport.stderr).toContain('the bridge owns this D-Bus name itself');
  });

  it('does not import an exported object back, nor export an imported group, across bridges', async () => {
    expect(a.groups).toContain(IMPORTED_CONTROL);
    expect(b.groups).toEqual([]); // the exported interface is marked, so B left it out
    expect(b.stderr()).toContain('"import-refused"');
    expect(b.stderr()).toContain('"export-refused"');
    expect(await dbusOwner(client, IMPORTED_CONTROL)).toBeNull();
    const groups = (await app.listGroups()).map((g) => g.name);
    expect(groups.filter((g) => g.includes('org.example.Player'))).toEqual([GROUP]);
  });

  it('delivers every signal once on each side, with no echo', async () => {
    const dbusPlayer = await listenForSignals(client, GROUP);
    const dbusControl = await listenForSignals(client, CONTROL);
    const chorusPlayer: number[] = [];
    const chorusTicks: number[] = [];
    // Another connection listens on Chorus: the emitter does not receive its own signals.
    const listener = await connect({ address: daemon.address });
    const player = await listener.join(Player);
    player.on('Level', ({ level }) => chorusPlayer.push(level));
    const control = await listener.join(IMPORTED_CONTROL);
    control.on('Tick', (tick) => chorusTicks.push((tick as { n: number }).n));
    const fakeOwner = await dbusOwner(client, UPOWER);
    const exportOwner = await dbusOwner(client, GROUP);

    for (let level = 1; level <= 3; level++) await app.emit(Player, 'Level', { level });
    await callBus(client, UPOWER, UPOWER_PATH, CONTROL, 'EmitTicks', 'u', [4]);
    await waitFor(() => (dbusPlayer.received.length >= 3 ? true : undefined), 'three D-Bus Level signals');
    await waitFor(() => (chorusTicks.length >= 4 ? true : undefined), 'four ticks on Chorus');
    // A round trip through each bridge and each bus: anything echoed before it would be here now.
    await callBus(client, GROUP, '/org/example/Player', GROUP, 'Ping');
    await callBus(client, UPOWER, UPOWER_PATH, CONTROL, 'EmitTicks', 'u', [0]);
    await app.ping();
    await listener.ping();

    expect(chorusPlayer).toEqual([1, 2, 3]);
    expect(dbusPlayer.received.map((s) => s.body)).toEqual([[1], [2], [3]]);
    expect(dbusPlayer.received.every((s) => s.sender === exportOwner)).toBe(true);
    expect(chorusTicks).toEqual([0, 1, 2, 3]);
    const ticks = dbusControl.received.filter((s) => s.member === 'Tick');
    expect(ticks).toHaveLength(4);
    expect(ticks.every((s) => s.sender === fakeOwner)).toBe(true);
    dbusPlayer.stop();
    dbusControl.stop();
    await listener.close();
  });
});
