/*
 * Import: one D-Bus service seen on Chorus. Every (object, interface) of the service becomes a
 * Chorus group (named by naming.ts) owned by the bridge, with the interface's contract (contract.ts):
 *
 *   D-Bus signal          → the same signal, typed, in the order D-Bus delivered it
 *   properties            → `Properties` (retained: a late joiner gets the current values) and
 *                           `PropertiesChanged` (invalidated properties fetched again)
 *   methods               → Chorus methods served by the bridge, forwarded to D-Bus
 *   NameOwnerChanged      → `ServiceOwner` (retained); on return the service is read again
 *
 * Everything that comes from D-Bus goes through one SerialQueue, so a property fetched for a
 * change is emitted before the next D-Bus signal is.
 */

import type { Bus, Group, GroupContract, MethodSchemas, Service, SignalSchemas } from '@chorus/client';
import { DBusError, type Message, type MessageBus, MessageType } from '@jellybrick/dbus-next';
import { contractOf, type Field, type InterfaceShape, shapeOf } from './contract.js';
import {
  addMatch,
  callDBus,
  getAllProperties,
  getNameOwner,
  getProperty,
  introspect,
  removeMatch,
} from './dbus-connection.js';
import { type InterfaceInfo, parseIntrospection, STANDARD_INTERFACES } from './introspection.js';
import type { Log } from './log.js';
import { BRIDGE_SIGNALS, groupName } from './naming.js';
import { SerialQueue } from './serial-queue.js';
import { fromDBus, toDBus } from './types.js';

export interface ImportOptions {
  /** The D-Bus service's well-known name, e.g. org.freedesktop.UPower. */
  readonly service: string;
  /** Object paths to import; default: every object found by introspecting from `/`. */
  readonly paths?: readonly string[] | undefined;
  /** The group-name prefix (naming.ts). */
  readonly prefix: string;
  /** Objects one service may bring (introspection walk bound). */
  readonly maxObjects: number;
  /** D-Bus messages waiting to be handled; beyond it they are dropped and counted. */
  readonly maxQueuedMessages: number;
  /** Emits sent and not yet answered; at the bound the queue waits for the oldest. */
  readonly maxPendingEmits: number;
}

type AnyContract = GroupContract<string, SignalSchemas, MethodSchemas>;
type UntypedEmit = (signal: string, payload: unknown) => Promise<unknown>;

interface ImportedObject {
  readonly path: string;
  readonly info: InterfaceInfo;
  readonly infoKey: string;
  readonly shape: InterfaceShape;
  readonly group: Group<AnyContract>;
  readonly service: Service;
  properties: Record<string, unknown>;
}

const DBUS_NAME = 'org.freedesktop.DBus';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const OBJECT_MANAGER = 'org.freedesktop.DBus.ObjectManager';

export class ServiceImport {
  readonly #dbus: MessageBus;
  readonly #chorus: Bus;
  readonly #options: ImportOptions;
  readonly #log: Log;
  readonly #queue: SerialQueue;
  readonly #objects = new Map<string, ImportedObject>();
  readonly #rules: string[];
  #owner: string | null = null;
  #closed = false;
  readonly #pendingEmits = new Set<Promise<unknown>>();
  /** While start() waits for GetNameOwner: the signals received (at most maxQueuedMessages). */
  #early: Message[] | undefined;
  #ownerChanged = false;
  #dropped = 0;
  readonly #onMessage = (message: Message) => this.#receive(message);

  constructor(dbus: MessageBus, chorus: Bus, options: ImportOptions, log: Log) {
    this.#dbus = dbus;
    this.#chorus = chorus;
    this.#options = options;
    this.#log = log;
    this.#queue = new SerialQueue((error) =>
      log('error', 'import-failed', { service: options.service, error: describe(error) }),
    );
    const service = options.service;
    this.#rules = [
      `type='signal',sender='${DBUS_NAME}',interface='${DBUS_NAME}',member='NameOwnerChanged',arg0='${service}'`,
      `type='signal',sender='${service}'`,
    ];
  }

  get service(): string {
    return this.#options.service;
  }

  /** The groups this import has created, by name. */
  groups(): string[] {
    return [...this.#objects.values()].map((o) => o.group.name);
  }

  /** Subscribes on D-Bus, reads the service and creates its groups. Resolves once they exist. */
  async start(): Promise<void> {
    // Listening first, then asking: a change between the two is seen either way. Signals that
    // arrive before the owner is known are held (sender unknown yet) and handled after it is.
    this.#early = [];
    this.#dbus.on('message', this.#onMessage);
    for (const rule of this.#rules) await addMatch(this.#dbus, rule);
    const asked = await getNameOwner(this.#dbus, this.#options.service);
    const early = this.#early;
    this.#early = undefined;
    // A NameOwnerChanged handled meanwhile is newer than the answer: it wins.
    if (!this.#ownerChanged) {
      this.#owner = asked;
      const owner = asked;
      this.#queue.push(() => this.#ownerIs(owner));
    }
    for (const message of early) this.#receive(message);
    await this.#queue.idle();
  }

  /** Resolves when every D-Bus message received so far has been handled. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#dbus.off('message', this.#onMessage);
    await this.#queue.idle();
    for (const rule of this.#rules) await removeMatch(this.#dbus, rule).catch(() => {});
    for (const key of [...this.#objects.keys()]) await this.#drop(key);
  }

  #receive(message: Message): void {
    if (this.#closed || message.type !== MessageType.SIGNAL) return;
    if (message.sender === DBUS_NAME && message.member === 'NameOwnerChanged') {
      if (message.body[0] !== this.#options.service) return;
      // Tracked at once, in D-Bus order, so the owner's next signal is recognised.
      const owner = (message.body[2] as string) || null;
      this.#owner = owner;
      this.#ownerChanged = true;
      this.#queue.push(() => this.#ownerIs(owner));
      return;
    }
    if (this.#early !== undefined && this.#owner === null) {
      // [GUARANTEE: dbus] the startup window: held until the owner is known, not dropped.
      if (this.#early.length < this.#options.maxQueuedMessages) this.#early.push(message);
      return;
    }
    if (this.#owner === null || message.sender !== this.#owner) return;
    // [GUARANTEE: dbus-no-loop] what the bridge itself sends on D-Bus (its exports) is never imported.
    if (message.sender === this.#dbus.name) return;
    // [GUARANTEE: dbus] bounded: beyond maxQueuedMessages a signal is dropped, counted and logged.
    if (this.#queue.size >= this.#options.maxQueuedMessages) {
      if (this.#dropped++ % 1000 === 0) {
        this.#log('warn', 'signals-dropped', {
          service: this.#options.service,
          dropped: this.#dropped,
          maxQueuedMessages: this.#options.maxQueuedMessages,
        });
      }
      return;
    }
    if (message.interface === PROPERTIES && message.member === 'PropertiesChanged') {
      this.#queue.push(() => this.#propertiesChanged(message));
    } else if (
      message.interface === OBJECT_MANAGER &&
      (message.member === 'InterfacesAdded' || message.member === 'InterfacesRemoved')
    ) {
      // Objects came or went: introspect again; groups of new objects are made, gone ones closed.
      const owner = this.#owner;
      this.#queue.push(() => this.#ownerIs(owner, true));
    } else {
      this.#queue.push(() => this.#signal(message));
    }
  }

  /** The service's owner is `owner`; `rescan`: the same owner, whose objects changed. */
  async #ownerIs(owner: string | null, rescan = false): Promise<void> {
    if (this.#closed) return;
    if (owner !== null && owner === this.#dbus.name) {
      // [GUARANTEE: dbus-no-loop] a D-Bus name the bridge owns itself (an export) is never imported.
      this.#log('warn', 'import-refused', { service: this.#options.service, reason: 'the bridge owns it' });
      return;
    }
    if (!rescan) {
      this.#log('info', owner === null ? 'service-gone' : 'service-present', {
        service: this.#options.service,
        owner,
      });
    }
    if (owner === null) {
      // [GUARANTEE: dbus] the groups stay (members keep their subscriptions); their state says so.
      for (const object of this.#objects.values())
        this.#emit(object, BRIDGE_SIGNALS.serviceOwner, { owner: null });
      return;
    }
    const found = await this.#discover();
    for (const key of [...this.#objects.keys()]) if (!found.has(key)) await this.#drop(key);
    for (const [key, { path, info }] of found) {
      let object = this.#objects.get(key);
      if (object !== undefined && object.infoKey !== JSON.stringify(info)) {
        await this.#drop(key); // the interface changed: its contract must too
        object = undefined;
      }
      if (rescan && object !== undefined) continue; // unchanged: nothing to say
      object ??= await this.#create(key, path, info);
      if (object === undefined) continue;
      this.#emit(object, BRIDGE_SIGNALS.serviceOwner, { owner });
      await this.#fetchProperties(object);
    }
  }

  async #discover(): Promise<Map<string, { path: string; info: InterfaceInfo }>> {
    const found = new Map<string, { path: string; info: InterfaceInfo }>();
    const pending = [...(this.#options.paths ?? ['/'])];
    const walk = this.#options.paths === undefined;
    let visited = 0;
    while (pending.length > 0) {
      const path = pending.shift() as string;
      if (++visited > this.#options.maxObjects) {
        this.#log('warn', 'too-many-objects', {
          service: this.#options.service,
          maxObjects: this.#options.maxObjects,
        });
        break;
      }
      let node: ReturnType<typeof parseIntrospection>;
      try {
        node = parseIntrospection(await introspect(this.#dbus, this.#options.service, path));
      } catch (error) {
        this.#log('warn', 'introspect-failed', {
          service: this.#options.service,
          path,
          error: describe(error),
        });
        continue;
      }
      for (const info of node.interfaces) {
        if (STANDARD_INTERFACES.has(info.name)) continue;
        if (info.exported === true) {
          // [GUARANTEE: dbus-no-loop] an object a chorus-dbus exported is never imported back.
          this.#log('warn', 'import-refused', {
            service: this.#options.service,
            path,
            interface: info.name,
            reason: 'a Chorus group exported by a chorus-dbus',
          });
          continue;
        }
        found.set(`${path}\0${info.name}`, { path, info });
      }
      if (walk)
        for (const child of node.children) pending.push(path === '/' ? `/${child}` : `${path}/${child}`);
    }
    return found;
  }

  async #create(key: string, path: string, info: InterfaceInfo): Promise<ImportedObject | undefined> {
    const service = this.#options.service;
    let name: string;
    let shape: InterfaceShape;
    let contract: AnyContract;
    try {
      name = groupName(this.#options.prefix, service, path, info.name);
      shape = shapeOf(info);
      contract = contractOf(name, shape);
    } catch (error) {
      this.#log('warn', 'interface-skipped', { service, path, interface: info.name, error: describe(error) });
      return undefined;
    }
    for (const { member, reason } of shape.skipped) {
      this.#log('warn', 'member-skipped', { service, path, interface: info.name, member, reason });
    }
    const handlers: Record<string, (input: Record<string, unknown>) => Promise<unknown>> = {};
    for (const [method, m] of shape.methods) {
      handlers[method] = (input) => this.#forward(path, info.name, m.dbusName, m.input, m.output, input);
    }
    // Serve, then own the name calls go to, then create the group (as groupsRequireName wants).
    const served = this.#chorus.serve(contract, handlers as never);
    const result = await this.#chorus.requestName(name);
    if (result !== 'primary-owner' && result !== 'already-owner') {
      this.#log('warn', 'name-taken', { group: name, result });
    }
    let group: Group<AnyContract>;
    try {
      group = await this.#chorus.createGroup(contract, { retain: true, emitters: 'owner' });
    } catch (error) {
      await served.close();
      this.#log('error', 'group-failed', { group: name, error: describe(error) });
      return undefined;
    }
    const object: ImportedObject = {
      path,
      info,
      infoKey: JSON.stringify(info),
      shape,
      group,
      service: served,
      properties: {},
    };
    this.#objects.set(key, object);
    this.#log('info', 'imported', { service, path, interface: info.name, group: name });
    return object;
  }

  async #drop(key: string): Promise<void> {
    const object = this.#objects.get(key);
    if (object === undefined) return;
    this.#objects.delete(key);
    await object.service.close();
    await object.group.close().catch(() => {});
    await this.#chorus.releaseName(object.group.name).catch(() => {});
  }

  async #fetchProperties(object: ImportedObject): Promise<void> {
    if (object.shape.properties.length === 0) return;
    const raw = await getAllProperties(this.#dbus, this.#options.service, object.path, object.info.name);
    object.properties = this.#convertProperties(object, raw);
    this.#emit(object, BRIDGE_SIGNALS.properties, object.properties);
  }

  #convertProperties(object: ImportedObject, raw: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const field of object.shape.properties) {
      if (!(field.key in raw)) continue;
      out[field.key] = fromDBus({ kind: 'variant' }, raw[field.key]);
    }
    return out;
  }

  async #propertiesChanged(message: Message): Promise<void> {
    const [iface, changed, invalidated] = message.body as [string, Record<string, unknown>, string[]];
    const object = this.#objects.get(`${message.path}\0${iface}`);
    if (object === undefined) return;
    const values = this.#convertProperties(object, changed);
    for (const name of invalidated) {
      if (!object.shape.properties.some((f) => f.key === name)) continue;
      try {
        const value = await getProperty(this.#dbus, this.#options.service, object.path, iface, name);
        values[name] = fromDBus({ kind: 'variant' }, value);
      } catch (error) {
        this.#log('warn', 'property-get-failed', {
          path: object.path,
          interface: iface,
          property: name,
          error: describe(error),
        });
      }
    }
    object.properties = { ...object.properties, ...values };
    this.#emit(object, BRIDGE_SIGNALS.propertiesChanged, { changed: values, invalidated });
    this.#emit(object, BRIDGE_SIGNALS.properties, object.properties);
    await this.#backpressure();
  }

  async #signal(message: Message): Promise<void> {
    const object = this.#objects.get(`${message.path}\0${message.interface}`);
    if (object === undefined) return;
    for (const [name, signal] of object.shape.signals) {
      if (signal.dbusName !== message.member) continue;
      const payload: Record<string, unknown> = {};
      signal.fields.forEach((field, i) => {
        payload[field.key] = fromDBus(field.type, message.body[i]);
      });
      this.#emit(object, name, payload);
      await this.#backpressure();
      return;
    }
  }

  /**
   * At maxPendingEmits unanswered emits the queue waits for the oldest: what D-Bus sends
   * meanwhile waits in the queue (up to maxQueuedMessages), not in the SDK.
   */
  async #backpressure(): Promise<void> {
    while (this.#pendingEmits.size >= this.#options.maxPendingEmits) await Promise.race(this.#pendingEmits);
  }

  #emit(object: ImportedObject, signal: string, payload: unknown): void {
    // Not awaited: the SDK sends emits in call order ([GUARANTEE: dbus]), with its own window.
    const sent: Promise<unknown> = (object.group.emit as unknown as UntypedEmit)(signal, payload)
      .catch((error: unknown) =>
        this.#log('warn', 'emit-failed', { group: object.group.name, signal, error: describe(error) }),
      )
      .finally(() => this.#pendingEmits.delete(sent));
    this.#pendingEmits.add(sent);
  }

  async #forward(
    path: string,
    iface: string,
    member: string,
    inputs: readonly Field[],
    outputs: readonly Field[],
    input: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    let body: unknown[];
    try {
      body = await callDBus(this.#dbus, {
        destination: this.#options.service,
        path,
        iface,
        member,
        signature: inputs.map((f) => f.signature).join(''),
        body: inputs.map((f) => toDBus(f.type, input[f.key])),
      });
    } catch (error) {
      throw remoteErrorOf(error);
    }
    return Object.fromEntries(outputs.map((f, i) => [f.key, fromDBus(f.type, body[i])]));
  }
}

/**
 * A D-Bus error as the Chorus caller should see it: REMOTE_ERROR whose name is the D-Bus error
 * name (org.freedesktop.DBus.Error.UnknownMethod, com.example.Error.Busy, ...) and its text.
 */
export function remoteErrorOf(error: unknown): Error {
  if (error instanceof DBusError) {
    const out = new Error(error.text || error.type);
    out.name = error.type;
    return out;
  }
  return error instanceof Error ? error : new Error(String(error));
}

function describe(error: unknown): string {
  if (error instanceof DBusError) return `${error.type}: ${error.text}`;
  return error instanceof Error
    ? `${(error as { code?: string }).code ?? error.name}: ${error.message}`
    : String(error);
}
