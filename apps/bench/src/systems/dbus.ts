/*
 * D-Bus: a private bus (dbus-broker when it can run, else dbus-daemon) on a Unix socket in the
 * temporary directory, and the `dbus-next` client. Each topic is an object path; subscribers add
 * a match rule for it; messages are signals with an `ay` body.
 *
 * dbus-broker-launch needs a systemd host (it logs to journald and talks to the systemd manager);
 * in a container without systemd it exits, and the reference dbus-daemon is used instead. The
 * report names which one ran.
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MessageBus } from 'dbus-next';
import { rawPayload, readI, readT, stampedCopy } from '../payload.js';
import { canConnect, run, spawnProcess, waitUntil, which } from '../processes.js';
import { libraryVersion } from './nats.js';
import type { Client, OnMessage, Publisher, SystemClient, SystemServer } from './system.js';
import { RoundTripWindow } from './window.js';

const INTERFACE = 'org.chorus.Bench';

function config(socket: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">134217728</limit>
  <limit name="max_completed_connections">10000</limit>
  <limit name="max_connections_per_user">10000</limit>
  <limit name="max_match_rules_per_connection">50000</limit>
</busconfig>
`;
}

/** A D-Bus object path element for a topic. */
function topicPath(topic: string): string {
  return `/bench/${topic.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

export const dbusServer: SystemServer = {
  id: 'dbus',
  label: 'D-Bus',
  peer: true,
  topics: true,
  async unavailable() {
    if ((await which('dbus-daemon')) === undefined) return 'dbus-daemon is not installed';
    if (libraryVersion('dbus-next') === 'missing') return 'the dbus-next package is not installed';
    return undefined;
  },
  async versions() {
    const daemon = await run((await which('dbus-daemon')) ?? 'dbus-daemon', ['--version']);
    const broker =
      (await which('dbus-broker')) === undefined ? undefined : await run('dbus-broker', ['--version']);
    return {
      'dbus-daemon': daemon.split('\n')[0]?.replace(/^D-Bus Message Bus Daemon\s*/, '') ?? '?',
      ...(broker === undefined
        ? {}
        : { 'dbus-broker': `${broker.split('\n')[0] ?? '?'} (installed, needs systemd: not used)` }),
      'dbus-next (npm)': libraryVersion('dbus-next'),
    };
  },
  async start(options) {
    const socket = join(options.dir, 'dbus.sock');
    const file = join(options.dir, 'dbus.conf');
    await writeFile(file, config(socket));
    const spawned = spawnProcess((await which('dbus-daemon')) ?? 'dbus-daemon', [
      `--config-file=${file}`,
      '--nofork',
      '--nopidfile',
    ]);
    await waitUntil(spawned, 'dbus-daemon', () => canConnect({ path: socket }));
    return { address: `unix:path=${socket}`, pid: spawned.child.pid, stop: () => spawned.stop('SIGTERM') };
  },
};

type DBus = typeof import('dbus-next');

class DBusClient implements Client {
  readonly #dbus: DBus;
  readonly #bus: MessageBus;

  constructor(dbus: DBus, bus: MessageBus) {
    this.#dbus = dbus;
    this.#bus = bus;
  }

  #callBus(member: string, signature?: string, body?: unknown[]): Promise<unknown> {
    return this.#bus.call(
      new this.#dbus.Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member,
        ...(signature === undefined ? {} : { signature, body: body ?? [] }),
      }),
    );
  }

  async subscribe(topic: string, onMessage: OnMessage): Promise<void> {
    const path = topicPath(topic);
    const signal = this.#dbus.MessageType.SIGNAL;
    this.#bus.on('message', (message) => {
      if (message.type !== signal || message.path !== path) return;
      const data = message.body[0] as Buffer;
      onMessage(readI(data), readT(data), 0, 0);
    });
    await this.#callBus('AddMatch', 's', [`type='signal',interface='${INTERFACE}',path='${path}'`]);
  }

  async publisher(topic: string, payloadSize: number): Promise<Publisher> {
    const path = topicPath(topic);
    const { Message } = this.#dbus;
    const bus = this.#bus;
    const payload = rawPayload(payloadSize);
    const window = new RoundTripWindow(256, () => this.#callBus('GetId'));
    return {
      send(i, t) {
        bus.send(Message.newSignal(path, INTERFACE, 'Tick', 'ay', [stampedCopy(payload, i, t)]));
        return window.sent();
      },
      drain: () => window.drain(),
    };
  }

  async close(): Promise<void> {
    this.#bus.disconnect();
  }
}

export const dbusClient: SystemClient = {
  async connect(address) {
    const dbus = await import('dbus-next');
    const bus = dbus.sessionBus({ busAddress: address });
    const client = new DBusClient(dbus, bus);
    await new Promise<void>((resolve, reject) => {
      bus.once('connect', () => resolve());
      bus.once('error', reject);
    });
    return client;
  },
};
