/*
 * The D-Bus bridge: D-Bus → Chorus signals/s and the latency chorus-dbus adds, against a D-Bus
 * client listening directly, in the same run. A private dbus-daemon, an emitter on it (a D-Bus
 * service with one object whose signal Tick(u n, d t) carries its send time), the built
 * chorus-dbus importing it, chorusd, and two listeners in this process: a D-Bus match rule on
 * the signal (direct) and a Chorus member of the imported group (via the bridge). Both listen to
 * the same signals at the same time, so the load is the same for both; the report puts the bridge
 * in the Chorus column and the direct listener in the D-Bus column (their ratio is the
 * "Chorus ÷ best peer" column).
 */

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@chorus/client';
import type { Message, MessageBus } from 'dbus-next';
import type { Row } from '../results.js';
import { chorusServer } from '../systems/chorus-daemon.js';
import { dbusServer } from '../systems/dbus.js';
import type { Context } from './context.js';

const SERVICE = 'org.chorus.BenchEmitter';
const PATH = '/bench';
const IFACE = 'org.chorus.Bench';
const GROUP = `dbus.session.org.chorus.BenchEmitter._.bench._.${IFACE}`;
const bridgeMain = fileURLToPath(new URL('../../../chorus-dbus/dist/main.js', import.meta.url));

const XML: Record<string, string> = {
  '/': '<node><node name="bench"/></node>',
  [PATH]: `<node><interface name="${IFACE}"><signal name="Tick"><arg name="n" type="u"/><arg name="t" type="d"/></signal></interface></node>`,
};

type DBus = typeof import('dbus-next');

interface Listener {
  readonly received: number[]; // latency of each signal, ms
  lastAt: number;
}

export async function dbusBridge(context: Context): Promise<Row[]> {
  const why =
    (await dbusServer.unavailable()) ??
    (existsSync(bridgeMain) ? undefined : 'chorus-dbus is not built (npx turbo run build)');
  const base = { workload: 'dbus-bridge', spread: {} } as const;
  if (why !== undefined) {
    context.log(`  dbus-bridge skipped: ${why}`);
    return [
      {
        ...base,
        case: 'D-Bus → Chorus',
        metric: 'signals/s',
        unit: '/s',
        better: 'higher',
        values: {},
        notes: { chorus: `skipped: ${why}` },
      },
    ];
  }
  const dir = await mkdtemp(join(tmpdir(), 'chorus-bench-dbus-bridge-'));
  const dbusBroker = await dbusServer.start({ dir });
  const chorusBroker = await chorusServer.start({ dir });
  const dbus: DBus = await import('dbus-next');
  const emitter = await dbusConnect(dbus, dbusBroker.address);
  const direct = await dbusConnect(dbus, dbusBroker.address);
  const bridge = spawn(
    process.execPath,
    [
      bridgeMain,
      '--dbus',
      dbusBroker.address,
      '--address',
      chorusBroker.address,
      '--import',
      SERVICE,
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const chorus = await connect({ address: chorusBroker.address });
  try {
    emitter.addMethodHandler((message: Message) => {
      if (message.member !== 'Introspect' || XML[message.path] === undefined) return false;
      emitter.send(dbus.Message.newMethodReturn(message, 's', [XML[message.path]]));
      return true;
    });
    await emitter.requestName(SERVICE, 0);
    await readyLine(bridge);

    const viaDbus: Listener = { received: [], lastAt: 0 };
    const viaBridge: Listener = { received: [], lastAt: 0 };
    direct.on('message', (message: Message) => {
      if (message.type !== dbus.MessageType.SIGNAL || message.interface !== IFACE) return;
      viaDbus.received.push(performance.now() - (message.body[1] as number));
      viaDbus.lastAt = performance.now();
    });
    await callBus(dbus, direct, 'AddMatch', 's', [`type='signal',interface='${IFACE}'`]);
    const sub = await chorus.join(GROUP);
    sub.on('Tick', (payload) => {
      viaBridge.received.push(performance.now() - (payload as { t: number }).t);
      viaBridge.lastAt = performance.now();
    });

    // Throughput: as fast as the emitter may (a round trip to the bus every 256 signals keeps
    // its socket from buffering without bound), until both listeners have every signal.
    const count = context.options.quick ? 5_000 : 50_000;
    const reset = () => {
      for (const l of [viaDbus, viaBridge]) {
        l.received.length = 0;
        l.lastAt = 0;
      }
    };
    await burst(dbus, emitter, 500); // warm-up: JIT in the bridge and chorusd
    await until(() => viaBridge.received.length >= 500 && viaDbus.received.length >= 500, 30_000);
    reset();
    const started = performance.now();
    await burst(dbus, emitter, count);
    await until(() => viaBridge.received.length >= count && viaDbus.received.length >= count, 120_000);
    const rate = (l: Listener) => (count / (l.lastAt - started)) * 1000;
    const rates = { dbus: rate(viaDbus), chorus: rate(viaBridge) };

    // Latency: a fixed rate well below both ceilings, send time → receive time in this process.
    reset();
    const perSecond = 1000;
    const latencyCount = Math.round((perSecond * context.options.latencyMs) / 1000);
    for (let n = 0; n < latencyCount; n++) {
      emitter.send(dbus.Message.newSignal(PATH, IFACE, 'Tick', 'ud', [n, performance.now()]));
      if (n % 10 === 9) await new Promise((r) => setTimeout(r, 10));
    }
    await until(
      () => viaBridge.received.length >= latencyCount && viaDbus.received.length >= latencyCount,
      60_000,
    );
    const p = (l: Listener, q: number) => quantile(l.received, q);
    context.log(
      `  dbus-bridge  direct ${rates.dbus.toFixed(0)}/s, via bridge ${rates.chorus.toFixed(0)}/s (${(rates.chorus / rates.dbus).toFixed(2)}×); p50 direct ${p(viaDbus, 0.5).toFixed(3)} ms, via bridge ${p(viaBridge, 0.5).toFixed(3)} ms`,
    );
    const key = `${count} signals; Chorus = via chorus-dbus, D-Bus = a direct listener`;
    const latencyKey = `${perSecond}/s, ${latencyCount} signals; Chorus = via chorus-dbus, D-Bus = direct`;
    const row = (
      caseName: string,
      metric: string,
      unit: string,
      better: 'higher' | 'lower',
      dbusValue: number,
      chorusValue: number,
    ): Row => ({
      ...base,
      case: caseName,
      metric,
      unit,
      better,
      values: { dbus: dbusValue, chorus: chorusValue },
      notes: {},
    });
    return [
      row(key, 'signals/s', '/s', 'higher', rates.dbus, rates.chorus),
      row(latencyKey, 'p50', 'ms', 'lower', p(viaDbus, 0.5), p(viaBridge, 0.5)),
      row(latencyKey, 'p99', 'ms', 'lower', p(viaDbus, 0.99), p(viaBridge, 0.99)),
    ];
  } finally {
    await chorus.close();
    bridge.kill('SIGTERM');
    await new Promise((r) => (bridge.exitCode !== null ? r(undefined) : bridge.once('exit', r)));
    emitter.disconnect();
    direct.disconnect();
    await chorusBroker.stop();
    await dbusBroker.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function dbusConnect(dbus: DBus, address: string): Promise<MessageBus> {
  const bus = dbus.sessionBus({ busAddress: address });
  await new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error', reject);
  });
  return bus;
}

function callBus(
  dbus: DBus,
  bus: MessageBus,
  member: string,
  signature?: string,
  body?: unknown[],
): Promise<unknown> {
  return bus.call(
    new dbus.Message({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member,
      ...(signature === undefined ? {} : { signature, body: body ?? [] }),
    }),
  );
}

async function burst(dbus: DBus, emitter: MessageBus, count: number): Promise<void> {
  for (let n = 0; n < count; n++) {
    emitter.send(dbus.Message.newSignal(PATH, IFACE, 'Tick', 'ud', [n, performance.now()]));
    if (n % 256 === 255) await callBus(dbus, emitter, 'GetId');
  }
}

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('dbus-bridge: the listeners did not get every signal in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function readyLine(child: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('CHORUS_DBUS_READY=')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`chorus-dbus exited with ${code}`)));
  });
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
