/*
 * Export: one Chorus group seen on D-Bus. While the group's Chorus name has an owner and the group
 * exists, the bridge owns the D-Bus name, serves an object whose interface is made from the
 * group's published schema (export-shape.ts), and
 *
 *   Chorus signal (live, not a retained replay)  → the D-Bus signal of the same name
 *   D-Bus method call                            → a Chorus call to the group's name; its answer,
 *                                                  or its error code as a D-Bus error name
 *
 * Everything that changes the export (the owner came, went, the group closed) runs through one
 * SerialQueue, so the D-Bus name and the object follow the Chorus side in order.
 */

import { type Bus, isChorusError, type RemoteError, type Subscription } from '@chorus/client';
import { DBusError, Message, type MessageBus, MessageType } from '@jellybrick/dbus-next';
import { BridgeError, BridgeErrorCode } from './errors.js';
import {
  type ExportShape,
  exportShapeOf,
  fromBody,
  introspectionXml,
  type TypeAnnotations,
  toBody,
} from './export-shape.js';
import type { Log } from './log.js';
import { IMPORTED_MARK } from './naming.js';
import { SerialQueue } from './serial-queue.js';

export interface ExportOptions {
  /** The Chorus group (and the Chorus name whose owner serves its methods). */
  readonly group: string;
  /** The D-Bus well-known name owned while the group is there. */
  readonly dbusName: string;
  readonly path: string;
  readonly iface: string;
  readonly types: TypeAnnotations;
}

/** A live export: what the method handler needs to answer a call on its path. */
interface Published {
  readonly shape: ExportShape;
  readonly subscription: Subscription;
}

/**
 * The D-Bus error name of a Chorus error: the service's own name for REMOTE_ERROR when it is a
 * D-Bus error name, the standard org.freedesktop.DBus.Error.* where one means the same, else
 * org.chorus.Error.<Code> (README.md, "Errors").
 */
export function dbusErrorNameOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'REMOTE_ERROR') {
    const remote = (error as RemoteError).remoteName;
    return /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(remote ?? '')
      ? remote
      : 'org.chorus.Error.RemoteError';
  }
  const standard: Record<string, string> = {
    SERVICE_UNKNOWN: 'org.freedesktop.DBus.Error.ServiceUnknown',
    UNKNOWN_METHOD: 'org.freedesktop.DBus.Error.UnknownMethod',
    INVALID_ARGS: 'org.freedesktop.DBus.Error.InvalidArgs',
    BAD_VALUE: 'org.freedesktop.DBus.Error.InvalidArgs',
    TIMEOUT: 'org.freedesktop.DBus.Error.NoReply',
    NO_REPLY: 'org.freedesktop.DBus.Error.NoReply',
    NOT_PERMITTED: 'org.freedesktop.DBus.Error.AccessDenied',
    LIMIT_EXCEEDED: 'org.freedesktop.DBus.Error.LimitsExceeded',
  };
  if (typeof code === 'string' && standard[code] !== undefined) return standard[code];
  if (typeof code !== 'string' || !/^[A-Z_]+$/.test(code)) return 'org.freedesktop.DBus.Error.Failed';
  const pascal = code
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
  return `org.chorus.Error.${pascal}`;
}

export class GroupExport {
  readonly #dbus: MessageBus;
  readonly #chorus: Bus;
  readonly #options: ExportOptions;
  readonly #log: Log;
  readonly #queue: SerialQueue;
  readonly #calls: { pending: number; readonly max: number };
  #published: Published | undefined;
  #ownsName = false;
  /** Bumped whenever the owner changes: a wait for the group under an older owner gives up. */
  #epoch = 0;
  #closed = false;

  constructor(
    dbus: MessageBus,
    chorus: Bus,
    options: ExportOptions,
    calls: { pending: number; readonly max: number },
    log: Log,
  ) {
    this.#dbus = dbus;
    this.#chorus = chorus;
    this.#options = options;
    this.#calls = calls;
    this.#log = log;
    this.#queue = new SerialQueue((error) =>
      log('error', 'export-failed', { group: options.group, error: describe(error) }),
    );
  }

  get options(): ExportOptions {
    return this.#options;
  }

  /** The object's interface and shape while exported, for introspection. */
  get shape(): ExportShape | undefined {
    return this.#published?.shape;
  }

  /** Resolves when every change seen so far has been applied. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** The Chorus name's owner is now `owner` (null: none): export or withdraw to match. */
  ownerIs(owner: string | null): Promise<void> {
    const epoch = ++this.#epoch;
    return this.#queue.push(async () => {
      await this.#withdraw();
      if (owner === null || this.#closed) return;
      if (owner === this.#chorus.name) {
        // [GUARANTEE: dbus-no-loop] a group the bridge serves itself is never exported back.
        this.#log('warn', 'export-refused', { group: this.#options.group, reason: 'the bridge owns it' });
        return;
      }
      await this.#publish(epoch);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#epoch++;
    await this.#queue.push(() => this.#withdraw());
  }

  /** Waits for the group (its owner may request the name before creating it), then exports it. */
  async #publish(epoch: number): Promise<void> {
    const { group } = this.#options;
    let delay = 50;
    for (;;) {
      if (epoch !== this.#epoch) return;
      const info = (await this.#chorus.listGroups()).find((g) => g.name === group);
      if (info !== undefined) {
        if (info.owner === this.#chorus.name || isImported(info.schema)) {
          // [GUARANTEE: dbus-no-loop] a group this or another bridge imported is never exported.
          this.#log('warn', 'export-refused', { group, reason: 'an imported D-Bus object' });
          return;
        }
        if (info.schema === null || info.schema === undefined) {
          this.#log('error', 'export-refused', {
            group,
            reason: 'its creator published no schema (a type without a JSON Schema form?)',
          });
          return;
        }
        await this.#start(info.schema);
        return;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1000);
    }
  }

  async #start(schema: unknown): Promise<void> {
    const { group, dbusName, path, iface } = this.#options;
    const shape = exportShapeOf(schema, this.#options.types);
    for (const { member, reason } of shape.skipped) {
      this.#log('warn', 'member-skipped', { group, member, reason });
    }
    const subscription = await this.#chorus.join(group);
    this.#published = { shape, subscription };
    void this.#pump(subscription, shape);
    // Queued behind another owner rather than refused: the name becomes ours when they go.
    const result = await this.#dbus.requestName(dbusName, 0);
    this.#ownsName = true;
    if (result !== 1 && result !== 4) this.#log('warn', 'dbus-name-queued', { group, dbusName });
    this.#log('info', 'exported', { group, dbusName, path, interface: iface });
  }

  async #withdraw(): Promise<void> {
    const published = this.#published;
    this.#published = undefined;
    if (published !== undefined) await published.subscription.leave().catch(() => {});
    if (this.#ownsName) {
      this.#ownsName = false;
      await this.#dbus.releaseName(this.#options.dbusName).catch(() => {});
      this.#log('info', 'withdrawn', { group: this.#options.group, dbusName: this.#options.dbusName });
    }
  }

  /** Chorus signals → D-Bus signals, in group order; the iterator's bound is the SDK's. */
  async #pump(subscription: Subscription, shape: ExportShape): Promise<void> {
    const { group, path, iface } = this.#options;
    subscription.on('closed', () => {
      // The group closed while its name may still have an owner: wait for it again.
      if (this.#published?.subscription === subscription && !this.#closed) {
        void this.#chorus.getNameOwner(group).then(
          (owner) => this.ownerIs(owner),
          () => {},
        );
      }
    });
    for await (const { signal, payload, meta } of subscription) {
      // A retained value happened before this listener: D-Bus has no replay, so it is not sent.
      // [GUARANTEE: dbus-no-loop] a signal the bridge emitted itself is never exported.
      if (meta.retained || meta.sender === this.#chorus.name) continue;
      const list = shape.signals.get(signal);
      if (list === undefined) continue;
      try {
        this.#dbus.send(Message.newSignal(path, iface, signal, list.signature, toBody(list, payload)));
      } catch (error) {
        this.#log('warn', 'signal-dropped', { group, signal, error: describe(error) });
      }
    }
  }

  /** Answers a D-Bus call on this export's path and interface; false when it is not one of ours. */
  handle(message: Message): boolean {
    const published = this.#published;
    if (published === undefined || message.interface !== this.#options.iface) return false;
    const member = message.member ?? '';
    const method = published.shape.methods.get(member);
    if (method === undefined) {
      this.#reply(message, error('org.freedesktop.DBus.Error.UnknownMethod', `no method ${member}`));
      return true;
    }
    if ((message.signature ?? '') !== method.input.signature) {
      this.#reply(
        message,
        error(
          'org.freedesktop.DBus.Error.InvalidArgs',
          `${member} takes '${method.input.signature}', not '${message.signature ?? ''}'`,
        ),
      );
      return true;
    }
    if (this.#calls.pending >= this.#calls.max) {
      this.#reply(
        message,
        error(
          'org.freedesktop.DBus.Error.LimitsExceeded',
          `more than ${this.#calls.max} calls are in progress through the bridge (limits.maxPendingCalls): try again`,
        ),
      );
      return true;
    }
    this.#calls.pending++;
    const input = fromBody(method.input, message.body);
    this.#chorus
      .call(this.#options.group, member, input)
      .then(
        (output) => {
          this.#reply(
            message,
            Message.newMethodReturn(message, method.output.signature, toBody(method.output, output)),
          );
        },
        (failure: unknown) => {
          const text = failure instanceof Error ? failure.message : String(failure);
          this.#reply(message, error(dbusErrorNameOf(failure), text));
        },
      )
      .catch((failure: unknown) => this.#reply(message, error(dbusErrorNameOf(failure), describe(failure))))
      .finally(() => {
        this.#calls.pending--;
      });
    return true;

    function error(name: string, text: string): Message {
      return Message.newError(message, name, text);
    }
  }

  #reply(to: Message, reply: Message): void {
    if ((to.flags & 1) !== 0) return; // NO_REPLY_EXPECTED
    this.#dbus.send(reply);
  }
}

/** True when a published schema marks its group as one a chorus-dbus imported. */
function isImported(schema: unknown): boolean {
  const owner = (schema as { properties?: { signals?: { properties?: Record<string, unknown> } } })
    ?.properties?.signals?.properties?.['ServiceOwner'] as { description?: unknown } | undefined;
  return owner?.description === IMPORTED_MARK;
}

/**
 * The one D-Bus method handler of a bridge's exports: calls on an exported path go to its export,
 * Introspect is answered for exported paths and their parents (so `busctl tree` walks to them).
 */
export class ExportTable {
  readonly #dbus: MessageBus;
  readonly #exports: GroupExport[] = [];
  readonly #handler = (message: Message) => this.#handle(message);

  constructor(dbus: MessageBus) {
    this.#dbus = dbus;
    dbus.addMethodHandler(this.#handler);
  }

  add(one: GroupExport): void {
    for (const other of this.#exports) {
      if (other.options.path === one.options.path && other.options.iface === one.options.iface) {
        throw new BridgeError(
          BridgeErrorCode.CONFIG_INVALID,
          `exports of ${other.options.group} and ${one.options.group} would both be ${one.options.path} ${one.options.iface}: give one another path or interface`,
        );
      }
    }
    this.#exports.push(one);
  }

  close(): void {
    this.#dbus.removeMethodHandler(this.#handler);
  }

  #handle(message: Message): boolean {
    if (message.type !== MessageType.METHOD_CALL) return false;
    const path = message.path ?? '';
    const here = this.#exports.filter((e) => e.options.path === path && e.shape !== undefined);
    const children = this.#childrenOf(path);
    if (
      message.member === 'Introspect' &&
      (message.interface ?? 'org.freedesktop.DBus.Introspectable') === 'org.freedesktop.DBus.Introspectable'
    ) {
      if (here.length === 0 && children.length === 0) return false;
      const xml = introspectionXml(
        here.map((e) => ({ name: e.options.iface, shape: e.shape as ExportShape })),
        children,
      );
      this.#dbus.send(Message.newMethodReturn(message, 's', [xml]));
      return true;
    }
    for (const one of here) if (one.handle(message)) return true;
    if (
      here.length > 0 &&
      message.interface !== undefined &&
      !message.interface.startsWith('org.freedesktop.DBus.')
    ) {
      this.#dbus.send(
        Message.newError(
          message,
          'org.freedesktop.DBus.Error.UnknownInterface',
          `no interface ${message.interface} at ${path}`,
        ),
      );
      return true;
    }
    return false;
  }

  /** The next element of every exported path below `path`. */
  #childrenOf(path: string): string[] {
    const base = path === '/' ? '/' : `${path}/`;
    const out = new Set<string>();
    for (const one of this.#exports) {
      if (one.shape === undefined || !one.options.path.startsWith(base)) continue;
      const next = one.options.path.slice(base.length).split('/')[0];
      if (next !== undefined && next !== '') out.add(next);
    }
    return [...out];
  }
}

function describe(error: unknown): string {
  if (error instanceof DBusError) return `${error.type}: ${error.text}`;
  if (isChorusError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error
    ? `${(error as { code?: string }).code ?? error.name}: ${error.message}`
    : String(error);
}
