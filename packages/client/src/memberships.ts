/*
 * Memberships and signal routing: the groups this connection joined (autojoined at the handshake
 * or joined since), which membership each incoming signal goes to, and joining them again after
 * a reconnection (with backoff for groups their owner has not created again yet).
 *
 *   signal ─▶ route(): org.chorus.Bus ─▶ names (NameAcquired/NameLost/NameOwnerChanged) + the
 *                                        app's membership, if its filters let it through
 *                      any other group ─▶ its membership, else the inbox of an owned sendToPeer group
 */

import {
  decodePayload,
  ErrorCode,
  type GroupClosedNotice,
  type JoinResult,
  type JoinSpec,
  type Reply,
  type SignalMessage,
  type Filter as WireFilter,
} from '@chorus/protocol';
import { backoffDelay } from './backoff.js';
import { BUS_NAME } from './bus-contract.js';
import type { BusEventSink, GroupTarget, JoinOptions } from './bus-types.js';
import { contractOf, groupName } from './bus-types.js';
import type { ContractCheck } from './compat/contract-check.js';
import type { Connection } from './connection.js';
import type { AnyGroupContract } from './contract.js';
import {
  BusError,
  type ChorusError,
  InvalidArgumentError,
  isChorusError,
  PayloadDroppedError,
  ProtocolViolationError,
  UnclaimedJoinError,
} from './errors.js';
import { matchesFilters, sameFilters, toWireFilters } from './filter.js';
import type { Link } from './held-requests.js';
import type { MonitorGuard } from './monitor-mode.js';
import type { AutoJoin, ReconnectSettings } from './options.js';
import {
  type SubscriptionEndReason,
  type SubscriptionGap,
  SubscriptionImpl,
  type SubscriptionLimits,
} from './subscription.js';
import { joinSpec, optionalNumber, resultFseq, resultNumber } from './wire-requests.js';

/** What memberships need from the bus. */
export interface MembershipsHost {
  readonly link: Link;
  readonly limits: SubscriptionLimits;
  readonly monitor: MonitorGuard;
  /** The waitForName side of org.chorus.Bus (names.ts). */
  readonly names: {
    /** Settles once the watch being left (if any) is gone. */
    readonly watchLeaving: Promise<void> | undefined;
    /** Refuses joining org.chorus.Bus while the bus holds the watch. */
    assertNoWatch(): void;
    /** Whether anyone waits for a NameOwnerChanged. */
    readonly waiting: boolean;
    /** A NameAcquired/NameLost/NameOwnerChanged, decoded (undefined if unreadable). */
    observe(message: SignalMessage, value: unknown): void;
  };
  /** The groups this connection owns: not joined by a hello, and where sendToPeer signals arrive. */
  readonly groups: {
    owns(group: string): boolean;
    inbox(group: string): SubscriptionImpl | undefined;
  };
  readonly events: BusEventSink;
  /** Backoff of the rejoins of groups not created again yet; undefined: the bus does not reconnect. */
  readonly retry: ReconnectSettings | undefined;
  /** Typed joins compared with what their group publishes (compat/contract-check.ts). */
  readonly contractCheck: Pick<ContractCheck, 'beforeJoin'>;
}

/** How many earlier connections a rejoin names in `join.own` (the daemon takes up to 16). */
const MAX_ORIGINS = 8;

type Held = { readonly sub: SubscriptionImpl; readonly filters: WireFilter[] | undefined };

/** The memberships of one bus. */
export class Memberships {
  readonly #host: MembershipsHost;
  readonly #link: Link;
  readonly #names: MembershipsHost['names'];
  readonly #groups: MembershipsHost['groups'];
  /** Routing: the membership each group's signals go to. */
  readonly #members = new Map<string, SubscriptionImpl>();
  /** The memberships the handshake's hello asks for (`connect({ join })`). */
  readonly #autoJoin: Held[] = [];
  /** Autojoined memberships not yet claimed by `join()`. */
  readonly #held = new Map<string, Held>();
  /** The filters of every membership the daemon confirmed: what a reconnection joins again. */
  readonly #joinedWith = new WeakMap<SubscriptionImpl, WireFilter[] | undefined>();
  /** Filters of the app's own membership of org.chorus.Bus (joined or autojoined). */
  #busFilters: WireFilter[] | undefined;
  readonly #leaving = new Map<string, Promise<void>>();
  /** Subscriptions whose group did not exist yet after a reconnection: joined again with backoff. */
  readonly #pendingRejoins = new Set<SubscriptionImpl>();
  #rejoinTimer: ReturnType<typeof setTimeout> | undefined;
  /** A federated daemon's `welcome.origin` of this bus's last connections, oldest first. */
  readonly #origins: string[] = [];

  constructor(host: MembershipsHost, autoJoin: readonly AutoJoin[]) {
    this.#host = host;
    this.#link = host.link;
    this.#names = host.names;
    this.#groups = host.groups;
    for (const entry of autoJoin) {
      const target = typeof entry === 'object' && 'group' in entry ? entry.group : entry;
      const filter = typeof entry === 'object' && 'group' in entry ? entry.filter : undefined;
      const name = groupName(target);
      if (this.#held.has(name)) throw new InvalidArgumentError(`${name} is listed twice in join`);
      const sub = this.#subscription(name, contractOf(target));
      sub.holdUnclaimed();
      const held = { sub, filters: toWireFilters(filter) };
      if (name === BUS_NAME) this.#busFilters = held.filters;
      this.#autoJoin.push(held);
      this.#held.set(name, held);
      this.#joinedWith.set(sub, held.filters);
      // Routed from the start: signals may follow the welcome in the very same chunk.
      this.#members.set(name, sub);
    }
  }

  /** What the handshake's hello joins. */
  autoJoins(): JoinSpec[] {
    return this.#autoJoin.map(({ sub, filters }) => joinSpec(sub.group, filters));
  }

  /**
   * A connection to a federated daemon began: its emits carry `origin`. A replay after a later
   * reconnection skips what the last MAX_ORIGINS of them emitted (no loopback: they are its own).
   */
  connected(origin: string): void {
    if (this.#origins.at(-1) === origin) return;
    this.#origins.push(origin);
    if (this.#origins.length > MAX_ORIGINS) this.#origins.shift();
  }

  /** The handshake's welcome: the autojoined memberships start. */
  welcomed(joined: readonly JoinResult[]): void {
    if (joined.length !== this.#autoJoin.length) {
      this.#host.events.emit(
        'error',
        new ProtocolViolationError(
          'BAD_FIELD',
          `welcome.joined has ${joined.length} entries for ${this.#autoJoin.length} joins`,
        ),
      );
    }
    for (const result of joined) {
      this.#held.get(result.g)?.sub.start(result.startSeq, result.startGroupSeq, result.fseq);
    }
  }

  /** The app's membership of org.chorus.Bus, if it has one. */
  busMembership(): { readonly filters: WireFilter[] | undefined } | undefined {
    return this.#members.has(BUS_NAME) ? { filters: this.#busFilters } : undefined;
  }

  async join(target: GroupTarget, options: JoinOptions = {}): Promise<SubscriptionImpl> {
    this.#host.monitor.assertNotMonitor();
    const name = groupName(target);
    const contract = contractOf(target);
    const filters = toWireFilters(options.filter);
    const held = this.#held.get(name);
    if (held !== undefined) {
      // The membership exists since the handshake; its filters cannot change without a round trip.
      if (options.filter !== undefined && !sameFilters(filters, held.filters)) {
        throw new InvalidArgumentError(
          `${name} was autojoined with other filters; join it with the same ones or none`,
        );
      }
      this.#held.delete(name);
      held.sub.claim(contract);
      return held.sub;
    }
    // An autojoined group was checked by connect(), before any of its messages could be held.
    if (contract !== undefined) await this.#host.contractCheck.beforeJoin(contract);
    const leaving = this.#leaving.get(name);
    if (leaving !== undefined) await leaving;
    if (name === BUS_NAME) {
      const watchLeaving = this.#names.watchLeaving;
      if (watchLeaving !== undefined) await watchLeaving;
      this.#names.assertNoWatch();
    }
    if (this.#members.has(name)) {
      // What the daemon would answer, without the round trip (and without disturbing the routing).
      throw new BusError(ErrorCode.ALREADY_MEMBER, `already a member of ${name}`);
    }
    const sub = this.#subscription(name, contract);
    // Routed before the request: the daemon may replay a retained value before its `ok`.
    this.#members.set(name, sub);
    try {
      const reply = await this.#link.request({ t: 'join', ...joinSpec(name, filters) });
      sub.start(resultNumber(reply, 'startSeq'), resultNumber(reply, 'startGroupSeq'), resultFseq(reply));
      this.#joinedWith.set(sub, filters);
      if (name === BUS_NAME) this.#busFilters = filters;
      return sub;
    } catch (error) {
      if (this.#members.get(name) === sub) this.#members.delete(name);
      throw error;
    }
  }

  /** Delivers a signal to the membership of its group (the hot path: no allocation here). */
  route(message: SignalMessage, payload: Uint8Array): void {
    if (message.g === BUS_NAME) {
      this.#routeBus(message, payload);
      return;
    }
    // A membership takes precedence: the daemon sends a sendToPeer owner that is also a member one copy.
    const sub = this.#members.get(message.g) ?? this.#groups.inbox(message.g);
    // No subscription: the group was left (signals after leave are dropped).
    sub?.deliver(message, payload);
  }

  /** The daemon closed a group (`gclosed`): its membership ends. */
  groupClosed(notice: GroupClosedNotice): void {
    const sub = this.#members.get(notice.g);
    if (sub !== undefined) {
      this.#members.delete(notice.g);
      sub.end(notice.reason);
    }
  }

  /** The connection was lost: nothing arrives until each membership is joined again. */
  suspend(): void {
    clearTimeout(this.#rejoinTimer);
    this.#pendingRejoins.clear();
    for (const sub of this.#members.values()) sub.suspend();
  }

  /**
   * What the hello of a reconnection joins: every membership the daemon had confirmed, except in
   * groups of our own (they do not exist before we create them again) and in federated groups
   * (joined with `join.fseq` after the hello, to be replayed what they missed: see #rejoin).
   */
  helloJoins(): { specs: JoinSpec[]; subs: (SubscriptionImpl | undefined)[] } {
    const specs: JoinSpec[] = [];
    const subs: (SubscriptionImpl | undefined)[] = [];
    for (const [group, sub] of this.#members) {
      if (this.#groups.owns(group) || sub.ended || !this.#joinedWith.has(sub) || sub.fseq >= 0) continue;
      specs.push(joinSpec(group, this.#joinedWith.get(sub)));
      subs.push(sub);
    }
    return { specs, subs };
  }

  /** A membership the hello joined again: its gap, unless it was left meanwhile. */
  rejoinedInHello(
    sub: SubscriptionImpl,
    startSeq: number,
    startGroupSeq: number,
  ): SubscriptionGap | undefined {
    if (this.#members.get(sub.group) !== sub || sub.ended) return undefined;
    return sub.rejoined(startSeq, startGroupSeq);
  }

  /** Joins on `connection` the memberships the hello did not (a reconnection's restore). */
  restore(
    connection: Connection,
    inHello: ReadonlySet<SubscriptionImpl | undefined>,
    gaps: SubscriptionGap[],
  ): Promise<void>[] {
    const steps: Promise<void>[] = [];
    for (const sub of [...this.#members.values()]) {
      if (inHello.has(sub) || sub.ended || !this.#joinedWith.has(sub)) continue;
      steps.push(this.#rejoin(connection, sub, gaps));
    }
    return steps;
  }

  /** Left by the app while its membership was being joined again: the daemon has it, so leave. */
  leaveStale(connection: Connection, inHello: ReadonlySet<SubscriptionImpl | undefined>): void {
    for (const sub of inHello) {
      if (sub !== undefined && this.#members.get(sub.group) !== sub) {
        connection.request({ t: 'leave', g: sub.group }).catch(() => undefined);
      }
    }
  }

  /** The groups whose memberships wait for their group to be created again. */
  pending(): string[] {
    return [...this.#pendingRejoins].map((sub) => sub.group);
  }

  /** The bus is open again: the pending memberships are tried again, with backoff. */
  retryPending(): void {
    if (this.#pendingRejoins.size > 0) this.#scheduleRejoins(1);
  }

  /** `close()`: nothing is delivered any more (which also lifts any pause). */
  close(): void {
    for (const sub of this.#subscriptions()) sub.end('disconnected');
  }

  /** The bus ended (error undefined after close()), or became a monitor (`left`). */
  end(reason: SubscriptionEndReason, error?: ChorusError): void {
    clearTimeout(this.#rejoinTimer);
    this.#pendingRejoins.clear();
    for (const sub of this.#subscriptions()) sub.end(reason, error);
    this.#members.clear();
    this.#held.clear();
  }

  #subscriptions(): Set<SubscriptionImpl> {
    return new Set([...this.#members.values(), ...[...this.#held.values()].map((held) => held.sub)]);
  }

  /**
   * A signal of org.chorus.Bus: NameAcquired/NameLost come to the connection concerned whether or
   * not it is a member; NameOwnerChanged feeds waitForName; the app's membership gets what its
   * filters let through.
   */
  #routeBus(message: SignalMessage, payload: Uint8Array): void {
    const sub = this.#members.get(BUS_NAME);
    const { sig } = message;
    const personal = sig === 'NameAcquired' || sig === 'NameLost';
    if (personal || (sig === 'NameOwnerChanged' && this.#names.waiting)) {
      let value: unknown;
      try {
        value = decodePayload(payload);
      } catch {
        value = undefined;
      }
      this.#names.observe(message, value);
      // Sent to us as the connection concerned, not as a member: the membership's filters decide.
      if (personal && sub !== undefined && !matchesFilters(this.#busFilters, message, value)) return;
    }
    sub?.deliver(message, payload);
  }

  #subscription(name: string, contract: AnyGroupContract | undefined): SubscriptionImpl {
    return new SubscriptionImpl(
      name,
      contract,
      {
        congestion: this.#link.congestion,
        leave: (group, sub) => this.#leave(group, sub),
        unclaimedOverflow: (sub, held) => this.#unclaimedOverflow(sub, held),
        // [GUARANTEE: contract] nothing is dropped without a trace.
        unheard: (error) => this.#host.events.emit('error', new PayloadDroppedError(error)),
      },
      this.#host.limits,
    );
  }

  /** An autojoined membership nobody claimed filled up: left, and the app told which one. */
  #unclaimedOverflow(sub: SubscriptionImpl, held: number): void {
    const name = sub.group;
    if (this.#held.get(name)?.sub !== sub) return;
    this.#held.delete(name);
    const at = this.#autoJoin.findIndex((entry) => entry.sub === sub);
    if (at >= 0) this.#autoJoin.splice(at, 1);
    if (name === BUS_NAME) this.#busFilters = undefined;
    this.#host.events.emit('error', new UnclaimedJoinError(name, held));
    this.#leave(name, sub).catch((error: unknown) => this.#host.events.emit('error', error as ChorusError));
  }

  #leave(name: string, sub: object): Promise<void> {
    if (this.#members.get(name) === sub) this.#members.delete(name);
    this.#pendingRejoins.delete(sub as SubscriptionImpl);
    // The membership went with the lost connection; a reconnection that joined it again meanwhile
    // leaves it (see Memberships#leaveStale and #rejoin).
    if (this.#link.live === undefined) return Promise.resolve();
    const done = this.#link.request({ t: 'leave', g: name }).then(
      () => undefined,
      (error: unknown) => {
        // The membership is gone either way: the group closed meanwhile, or the connection ended.
        if (isChorusError(error, ErrorCode.NOT_MEMBER) || isChorusError(error, ErrorCode.UNKNOWN_GROUP))
          return;
        if (this.#link.connection.ended) return;
        throw error;
      },
    );
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.#leaving.set(name, settled);
    void settled.then(() => {
      if (this.#leaving.get(name) === settled) this.#leaving.delete(name);
    });
    return done;
  }

  /** Joins a membership again; a group not created again yet is tried later (#scheduleRejoins). */
  async #rejoin(connection: Connection, sub: SubscriptionImpl, gaps: SubscriptionGap[]): Promise<void> {
    const { group } = sub;
    // Anything that arrives before the answer (a retained value) waits behind the gap.
    sub.suspend();
    let reply: Reply;
    // A federated membership asks to be replayed what followed the last message it got.
    const after = sub.fseq;
    try {
      reply = await connection.request({
        t: 'join',
        ...joinSpec(group, this.#joinedWith.get(sub)),
        ...(after >= 0 ? { fseq: after } : {}),
        // [GUARANTEE: federation] loopback across a reconnection: its earlier connections' emits are its own.
        ...(after >= 0 && this.#origins.length > 0 ? { own: [...this.#origins] } : {}),
      });
    } catch (error) {
      if (connection.ended || !isChorusError(error)) throw error;
      if (this.#members.get(group) !== sub || sub.ended) return;
      if (isChorusError(error, ErrorCode.UNKNOWN_GROUP)) {
        this.#pendingRejoins.add(sub);
        return;
      }
      this.#members.delete(group);
      sub.end('disconnected', error);
      return;
    }
    if (this.#members.get(group) !== sub || sub.ended) {
      // Left while reconnecting (locally only, see #leave): the daemon has it again, so leave. Once
      // open, leave() sent its own `leave` after this join, and a new join may already follow it.
      if (this.#link.live === undefined) connection.request({ t: 'leave', g: group }).catch(() => undefined);
      return;
    }
    const startSeq = resultNumber(reply, 'startSeq');
    const startGroupSeq = resultNumber(reply, 'startGroupSeq');
    const fseq = resultFseq(reply);
    if (after < 0 || fseq === undefined) {
      // Not replayed (not federated, or a daemon without replay): everything before it is a gap.
      gaps.push(sub.rejoined(startSeq, startGroupSeq, fseq));
      return;
    }
    // [GUARANTEE: federation] replayed from the stream: a gap only for what the daemon could not replay.
    const gap = sub.replayed(startSeq, startGroupSeq, {
      fseq,
      missedTo: optionalNumber(reply, 'missedTo'),
      missed: optionalNumber(reply, 'missed'),
    });
    if (gap !== undefined) gaps.push(gap);
  }

  /** Joins the memberships whose group did not exist yet again, with backoff, up to maxAttempts. */
  #scheduleRejoins(attempt: number): void {
    const settings = this.#host.retry;
    if (settings === undefined) return;
    if (attempt > settings.maxAttempts) {
      for (const sub of this.#pendingRejoins) {
        if (this.#members.get(sub.group) === sub) this.#members.delete(sub.group);
        sub.end(
          'disconnected',
          new BusError(ErrorCode.UNKNOWN_GROUP, `${sub.group} was not created again after the reconnection`),
        );
      }
      this.#pendingRejoins.clear();
      return;
    }
    this.#rejoinTimer = setTimeout(
      () => {
        const connection = this.#link.live;
        if (connection === undefined) return;
        const subs = [...this.#pendingRejoins];
        this.#pendingRejoins.clear();
        void Promise.allSettled(subs.map((sub) => this.#rejoin(connection, sub, []))).then(() => {
          if (this.#link.live === connection && this.#pendingRejoins.size > 0) {
            this.#scheduleRejoins(attempt + 1);
          }
        });
      },
      backoffDelay(attempt, settings),
    );
  }
}
