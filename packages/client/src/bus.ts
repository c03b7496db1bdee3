/*
 * The bus: the typed API over one connection. `BusImpl` only hands off, one module per concept:
 *
 *   bus-types.ts      the public face (Bus, its options and events)
 *   reconnect.ts      the connection and its life: connecting → open → reconnecting → open | ended
 *   held-requests.ts  requests held while reconnecting (the `Link` every part sends through)
 *   memberships.ts    joined groups and the routing of incoming signals
 *   groups.ts         owned groups, and emits
 *   names.ts          well-known names and waitForName
 *   calls.ts          method calls (service.ts answers them)
 *   compat/           typed joins and calls checked against the group's published contract
 *   monitor-mode.ts   becoming a monitor
 *   wire-requests.ts  what is sent, built alike for the first request and a reconnection's
 *   service.ts        the services it serves
 */

import {
  type AbortMessage,
  ErrorCode,
  type InvokeMessage,
  type Limits,
  type SignalMessage,
} from '@chorus/protocol';
import {
  BusContract,
  type BusStats,
  type ConnectionInfo,
  type GroupInfo,
  type NameInfo,
  type NameReleaseResult,
  type NameRequestResult,
} from './bus-contract.js';
import {
  type Bus,
  type BusEvents,
  type CallOptions,
  contractOf,
  type GroupTarget,
  groupName,
  type JoinOptions,
  type Reconnector,
  type RequestNameOptions,
  type WaitForNameOptions,
} from './bus-types.js';
import { Calls } from './calls.js';
import { ContractCheck } from './compat/contract-check.js';
import type { AnyGroupContract, MethodInput, MethodName, MethodOutput, SignalName } from './contract.js';
import {
  BusError,
  type ChorusError,
  ConnectionClosedError,
  InvalidArgumentError,
  PublishError,
} from './errors.js';
import type { CreateGroupOptions, EmitArgs, EmitResult, Group } from './group.js';
import { Groups } from './groups.js';
import { Emitter } from './listeners.js';
import { Memberships } from './memberships.js';
import type { Monitor } from './monitor.js';
import { MonitorMode } from './monitor-mode.js';
import { Names } from './names.js';
import type { AutoJoin, Settings } from './options.js';
import { Reconnection } from './reconnect.js';
import { type MethodHandlers, type Service, ServiceRegistry, type UntypedMethodHandler } from './service.js';
import type { Subscription } from './subscription.js';
import type { Transport } from './transports/transport.js';

export type {
  Bus,
  BusGap,
  CallOptions,
  JoinOptions,
  Reconnector,
  RequestNameOptions,
  WaitForNameOptions,
} from './bus-types.js';

/** Every event `on` accepts (the keys of `BusEvents`). */
const BUS_EVENTS: readonly (keyof BusEvents)[] = [
  'error',
  'nameAcquired',
  'nameLost',
  'disconnected',
  'reconnecting',
  'reconnected',
  'reconnectFailed',
  'gap',
  'nameRequest',
  'publishError',
];

/** The bus; `Bus` is its public face. */
export class BusImpl implements Bus {
  readonly closed: Promise<ChorusError | undefined>;
  #resolveClosed!: (error: ChorusError | undefined) => void;
  readonly #events = new Emitter<BusEvents>('bus', BUS_EVENTS);
  readonly #reconnection: Reconnection;
  readonly #services: ServiceRegistry;
  readonly #monitorMode: MonitorMode;
  readonly #calls: Calls;
  readonly #names: Names;
  readonly #groups: Groups;
  readonly #memberships: Memberships;
  /** Typed joins and calls compared with what their group publishes (compat/contract-check.ts). */
  readonly #contractCheck = new ContractCheck((group) => this.getGroupSchema(group));

  /** `reconnector`: how to reconnect; undefined: the bus ends with its first connection. */
  constructor(
    transport: Transport,
    settings: Settings,
    autoJoin: readonly AutoJoin[],
    reconnector?: Reconnector,
  ) {
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const events = this.#events;
    const link = new Reconnection({
      settings,
      reconnector,
      events,
      listener: {
        signal: (message, payload) => this.#route(message, payload),
        groupClosed: (notice) => {
          this.#memberships.groupClosed(notice);
          // 'not-permitted' ends this connection's membership only: a group it owns of that name goes on.
          if (notice.reason !== 'not-permitted') this.#groups.gone(notice.g, notice.reason);
        },
        invoke: (message: InvokeMessage, payload) => this.#services.invoke(message, payload),
        abort: (message: AbortMessage) => this.#services.abort(message),
        error: (error) => {
          // A refused publish has its own event; with nobody listening there, it is still told.
          if (error instanceof PublishError && events.has('publishError')) events.emit('publishError', error);
          else events.emit('error', error);
        },
      },
      ended: (error) => this.#ended(error),
      // Another connection may find other publishers: the schemas fetched on the old one are stale.
      attached: () => this.#contractCheck.forget(),
    });
    this.#reconnection = link;
    this.#services = new ServiceRegistry({
      send: (message, payload) => link.connection.notify(message, payload),
    });
    const monitor = new MonitorMode({
      link,
      limits: settings,
      route: (message, payload) => this.#memberships.route(message, payload),
      became: () => this.#becameMonitor(),
    });
    this.#monitorMode = monitor;
    this.#calls = new Calls({
      link,
      monitor,
      settings,
      contractCheck: this.#contractCheck,
      waitForName: (name, options) => this.#names.waitFor(name, options),
    });
    this.#names = new Names({
      link,
      calls: this.#calls,
      monitor,
      events,
      busMembership: () => this.#memberships.busMembership(),
    });
    this.#groups = new Groups({ link, limits: settings, monitor });
    this.#memberships = new Memberships(
      {
        link,
        limits: settings,
        monitor,
        names: this.#names,
        groups: this.#groups,
        events,
        retry: reconnector?.settings,
        contractCheck: this.#contractCheck,
      },
      autoJoin,
    );
    link.start(transport, {
      names: this.#names,
      groups: this.#groups,
      memberships: this.#memberships,
      monitor,
      services: this.#services,
    });
  }

  /** Sends `hello`; resolves once welcomed (and, for a monitor, once the daemon made it one). */
  async handshake(hello: {
    token?: string | undefined;
    client?: string | undefined;
    monitor?: { readonly groups: readonly string[] | undefined } | undefined;
  }): Promise<this> {
    await this.#reconnection.open({ token: hello.token, client: hello.client });
    if (hello.monitor !== undefined) await this.becomeMonitor(hello.monitor.groups);
    this.#reconnection.opened();
    return this;
  }

  /** Ends the connection at once (a failed or cancelled connect). */
  abort(error: ChorusError): Promise<void> {
    return this.#reconnection.abort(error);
  }

  get name(): string {
    return this.#reconnection.name;
  }

  get limits(): Readonly<Limits> {
    return this.#reconnection.limits;
  }

  get monitor(): Monitor | undefined {
    return this.#monitorMode.current;
  }

  on<TEvent extends keyof BusEvents>(
    event: TEvent,
    handler: (...args: BusEvents[TEvent]) => void,
  ): () => void {
    return this.#events.on(event, handler);
  }

  createGroup<TContract extends AnyGroupContract>(
    contract: TContract,
    options?: CreateGroupOptions,
  ): Promise<Group<TContract>>;
  createGroup(name: string, options?: CreateGroupOptions): Promise<Group>;
  createGroup(target: GroupTarget, options?: CreateGroupOptions): Promise<unknown> {
    return this.#groups.create(target, options);
  }

  join<TContract extends AnyGroupContract>(
    contract: TContract,
    options?: JoinOptions<TContract>,
  ): Promise<Subscription<TContract>>;
  join(name: string, options?: JoinOptions): Promise<Subscription>;
  join(target: GroupTarget, options?: JoinOptions): Promise<unknown> {
    return this.#memberships.join(target, options);
  }

  emit<TContract extends AnyGroupContract, TSignal extends SignalName<TContract>>(
    contract: TContract,
    signal: TSignal,
    ...payload: EmitArgs<TContract, TSignal>
  ): Promise<EmitResult>;
  emit(group: string, signal: string, payload?: unknown): Promise<EmitResult>;
  emit(target: GroupTarget, signal: string, payload?: unknown): Promise<EmitResult> {
    return this.#groups.emit(groupName(target), contractOf(target), signal, payload);
  }

  publish<TContract extends AnyGroupContract, TSignal extends SignalName<TContract>>(
    contract: TContract,
    signal: TSignal,
    ...payload: EmitArgs<TContract, TSignal>
  ): Promise<void> | undefined;
  publish(group: string, signal: string, payload?: unknown): Promise<void> | undefined;
  publish(target: GroupTarget, signal: string, payload?: unknown): Promise<void> | undefined {
    return this.#groups.publish(groupName(target), contractOf(target), signal, payload);
  }

  flush(): Promise<void> {
    return this.#reconnection.whenOpen((connection) => connection.flush());
  }

  async ping(): Promise<void> {
    await this.#reconnection.request({ t: 'ping' });
  }

  requestName(name: string, options?: RequestNameOptions): Promise<NameRequestResult> {
    return this.#names.request(name, options);
  }

  releaseName(name: string): Promise<NameReleaseResult> {
    return this.#names.release(name);
  }

  getNameOwner(name: string): Promise<string | null> {
    return this.#names.owner(name);
  }

  listNames(): Promise<NameInfo[]> {
    return this.#names.list();
  }

  waitForName(name: string, options?: WaitForNameOptions): Promise<string> {
    return this.#names.waitFor(name, options);
  }

  async listGroups(): Promise<GroupInfo[]> {
    return (await this.#calls.call(BusContract, 'ListGroups', {})).groups;
  }

  async listConnections(): Promise<ConnectionInfo[]> {
    return (await this.#calls.call(BusContract, 'ListConnections', {})).connections;
  }

  async getGroupSchema(group: string): Promise<unknown> {
    return (await this.#calls.call(BusContract, 'GetGroupSchema', { group })).schema;
  }

  getStats(): Promise<BusStats> {
    return this.#calls.call(BusContract, 'GetStats', {});
  }

  serve(name: string, handlers: Readonly<Record<string, UntypedMethodHandler>>): Service;
  serve<TContract extends AnyGroupContract>(
    contract: TContract,
    handlers: MethodHandlers<TContract>,
  ): Service;
  serve(target: GroupTarget, handlers: object): Service {
    this.#monitorMode.assertNotMonitor();
    if (this.#reconnection.over) throw new ConnectionClosedError('the bus connection is closed');
    if (typeof handlers !== 'object' || handlers === null) {
      throw new InvalidArgumentError('serve needs an object of handlers, one per method');
    }
    return this.#services.add(groupName(target), contractOf(target), handlers);
  }

  call(destination: string, method: string, input?: unknown, options?: CallOptions): Promise<unknown>;
  call<TContract extends AnyGroupContract, TMethod extends MethodName<TContract>>(
    contract: TContract,
    method: TMethod,
    input: MethodInput<TContract, TMethod>,
    options?: CallOptions,
  ): Promise<MethodOutput<TContract, TMethod>>;
  call(target: GroupTarget, method: string, input?: unknown, options?: CallOptions): Promise<unknown> {
    return this.#calls.call(target, method, input, options);
  }

  becomeMonitor(groups?: readonly string[]): Promise<Monitor> {
    return this.#monitorMode.become(groups);
  }

  async close(): Promise<void> {
    this.#reconnection.stop();
    // Nothing is delivered after close(); ending first also lifts any pause, so the answers to
    // requests already sent can be read.
    this.#memberships.close();
    this.#groups.closeInboxes();
    this.#monitorMode.end();
    this.#calls.cancelAll();
    this.#services.end('closed');
    await this.#reconnection.close();
  }

  /** A signal from the daemon: the monitor's, if it watches the group, else a membership's. */
  #route(message: SignalMessage, payload: Uint8Array): void {
    if (!this.#monitorMode.claims(message, payload)) this.#memberships.route(message, payload);
  }

  /** The daemon made us a monitor: everything that was ours on the bus is gone. */
  #becameMonitor(): void {
    this.#memberships.end('left');
    this.#groups.end('owner-left', 'left');
    this.#services.end('monitor');
    this.#names.end(new BusError(ErrorCode.MONITOR_ONLY, 'this connection became a monitor'), true);
  }

  /** The bus is over: everything ends with `error` (undefined after `close()`). */
  #ended(error: ChorusError | undefined): void {
    this.#memberships.end('disconnected', error);
    this.#groups.end('shutdown', 'disconnected', error);
    this.#monitorMode.end(error);
    this.#services.end('disconnected');
    this.#names.end(error);
    this.#resolveClosed(error);
  }
}
