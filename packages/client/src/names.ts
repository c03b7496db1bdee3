/*
 * Well-known names, the app's side: requesting and releasing them (and asking for them again
 * after a reconnection), the NameAcquired/NameLost events, and waitForName with the watch on
 * NameOwnerChanged it shares among its waiters.
 */

import {
  decodePayload,
  ErrorCode,
  type JoinSpec,
  type SignalMessage,
  type Filter as WireFilter,
} from '@chorus/protocol';
import {
  BUS_NAME,
  BusContract,
  type NameInfo,
  type NameReleaseResult,
  type NameRequestResult,
} from './bus-contract.js';
import type { BusEventSink, RequestNameOptions, WaitForNameOptions } from './bus-types.js';
import { type Calls, checkTimeout } from './calls.js';
import type { Connection } from './connection.js';
import { checkPayload } from './contract.js';
import {
  AbortError,
  BusError,
  type ChorusError,
  ClientErrorCode,
  ConnectionClosedError,
  InvalidArgumentError,
  isChorusError,
  TimeoutError,
} from './errors.js';
import type { Link } from './held-requests.js';
import type { MonitorGuard } from './monitor-mode.js';
import type { SignalMeta } from './subscription.js';
import { nameRequestInput, WATCH_SPEC } from './wire-requests.js';

/** What names need from the bus. */
export interface NamesHost {
  readonly link: Link;
  readonly calls: Calls;
  readonly monitor: MonitorGuard;
  readonly events: BusEventSink;
  /** The app's own membership of org.chorus.Bus, if it has one: its filters. */
  busMembership(): { readonly filters: WireFilter[] | undefined } | undefined;
}

/** The waitForName watch: one membership of org.chorus.Bus shared by every waiter. */
type Watch = { refs: number; readonly joined: Promise<void>; live: boolean };

/** The names of one bus, and its waitForName waiters. */
export class Names {
  readonly #host: NamesHost;
  /** Names requested and not released, with their flags: what a reconnection requests again. */
  readonly #requested = new Map<string, RequestNameOptions>();
  /** waitForName: the callbacks waiting for each name to get an owner. */
  readonly #waiters = new Map<string, Set<(owner: string) => void>>();
  /**
   * waitForName waiters give up when told: the connection ended (error undefined after close()),
   * or it became a monitor (its membership of org.chorus.Bus is gone).
   */
  readonly #ended = new Set<(error: ChorusError | undefined) => void>();
  /**
   * The membership of org.chorus.Bus (filtered to NameOwnerChanged) the bus holds for waitForName
   * while the app has none; shared by every waiter, left when the last one is done.
   */
  #watch: Watch | undefined;
  #watchLeaving: Promise<void> | undefined;

  constructor(host: NamesHost) {
    this.#host = host;
  }

  async request(name: string, options: RequestNameOptions = {}): Promise<NameRequestResult> {
    const { result } = await this.#host.calls.call(
      BusContract,
      'RequestName',
      nameRequestInput(name, options),
    );
    // Owned or queued: a reconnection asks again, with the same flags.
    if (result === 'exists') this.#requested.delete(name);
    else this.#requested.set(name, { ...options });
    return result;
  }

  async release(name: string): Promise<NameReleaseResult> {
    // At once: a reconnection before the answer must not ask for it again.
    this.#requested.delete(name);
    return (await this.#host.calls.call(BusContract, 'ReleaseName', { name })).result;
  }

  async owner(name: string): Promise<string | null> {
    return (await this.#host.calls.call(BusContract, 'GetNameOwner', { name })).owner;
  }

  async list(): Promise<NameInfo[]> {
    return (await this.#host.calls.call(BusContract, 'ListNames', {})).names;
  }

  waitFor(name: string, options: WaitForNameOptions = {}): Promise<string> {
    const { signal } = options;
    const timeoutMs = options.timeoutMs ?? 0;
    try {
      this.#host.monitor.assertNotMonitor();
      checkTimeout('timeoutMs', timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted)
      return Promise.reject(new AbortError('waitForName was aborted', { cause: signal.reason }));
    return new Promise<string>((resolve, reject) => {
      const lookup = new AbortController();
      let release: (() => void) | undefined;
      let done = false;
      const finish = (settle: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#ended.delete(onEnded);
        removeWaiter();
        lookup.abort();
        release?.();
        settle();
      };
      // [GUARANTEE: race-free wait] the local waiter exists before the join is sent, and
      // the membership exists (its `ok` came back) before the owner is asked for: an owner that
      // appears at any point after the join is seen, either in GetNameOwner's answer or as a signal.
      const removeWaiter = this.#addWaiter(name, (owner) => finish(() => resolve(owner)));
      const onAbort = (): void =>
        finish(() => reject(new AbortError('waitForName was aborted', { cause: signal?.reason })));
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer =
        timeoutMs > 0
          ? setTimeout(
              () =>
                finish(() =>
                  reject(new TimeoutError(`${name} got no owner within ${timeoutMs} ms`, timeoutMs)),
                ),
              timeoutMs,
            )
          : undefined;
      const onEnded = (error: ChorusError | undefined): void =>
        finish(() =>
          reject(error ?? new ConnectionClosedError('the bus was closed while waiting for a name')),
        );
      this.#ended.add(onEnded);
      void (async () => {
        for (;;) {
          try {
            if (release === undefined) {
              const watch = await this.#acquireWatch(name);
              if (done) {
                watch();
                return;
              }
              release = watch;
            }
            const { owner } = await this.#host.calls.call(
              BusContract,
              'GetNameOwner',
              { name },
              { signal: lookup.signal },
            );
            if (owner !== null) finish(() => resolve(owner));
            return;
          } catch (error) {
            // The connection was lost on the way: ask again once the bus is back (a watch already
            // in place is joined again by the reconnection itself).
            if (
              done ||
              this.#host.link.live !== undefined ||
              !isChorusError(error, ClientErrorCode.CONNECTION_CLOSED)
            )
              throw error;
            await this.#host.link.whenOpen(() => undefined, { signal: lookup.signal });
          }
        }
      })().catch((error: unknown) => finish(() => reject(error)));
    });
  }

  /** Settles once the watch being left (if any) is gone: joining org.chorus.Bus waits for it. */
  get watchLeaving(): Promise<void> | undefined {
    return this.#watchLeaving;
  }

  /** Joining org.chorus.Bus: refused while the bus holds the watch. */
  assertNoWatch(): void {
    if (this.#watch !== undefined) {
      // One membership per group: the bus holds it for waitForName until the last waiter is done.
      throw new BusError(
        ErrorCode.ALREADY_MEMBER,
        `${BUS_NAME} is joined by waitForName (or a call waiting for its service); join it before waiting, and the waiters will use your membership`,
      );
    }
  }

  /** Whether a NameOwnerChanged is awaited by anyone (else it is not even decoded). */
  get waiting(): boolean {
    return this.#waiters.size > 0;
  }

  /**
   * A signal of org.chorus.Bus for the connection concerned (NameAcquired/NameLost) or for the
   * waiters (NameOwnerChanged); `value` is its decoded payload (undefined if it was unreadable).
   */
  observe(message: SignalMessage, value: unknown): void {
    const { sig } = message;
    const check = checkPayload(BusContract, sig, value);
    if (!check.ok) return;
    if (sig === 'NameOwnerChanged') {
      const change = check.value as { name: string; newOwner: string | null };
      if (change.newOwner !== null) {
        for (const waiter of [...(this.#waiters.get(change.name) ?? [])]) waiter(change.newOwner);
      }
      return;
    }
    const meta = signalMeta(message);
    const { name } = check.value as { name: string };
    // Replaced while asking not to queue: nothing to ask for again after a reconnection.
    if (sig === 'NameLost' && this.#requested.get(name)?.doNotQueue === true) this.#requested.delete(name);
    this.#host.events.emit(sig === 'NameAcquired' ? 'nameAcquired' : 'nameLost', name, meta);
  }

  /** The watch, if a reconnection's hello must join it again. */
  helloJoin(): JoinSpec | undefined {
    return this.#watch?.live === true && this.#host.busMembership() === undefined ? WATCH_SPEC : undefined;
  }

  /** Requests each name again on `connection` (a reconnection's restore); reports on `nameRequest`. */
  restore(connection: Connection): Promise<void>[] {
    return [...this.#requested].map(([name, options]) => this.#rerequest(connection, name, options));
  }

  /** Joins the watch again on `connection`, unless the hello did (`inHello`). */
  restoreWatch(connection: Connection, inHello: boolean): Promise<void>[] {
    if (this.#watch?.live !== true || inHello || this.#host.busMembership() !== undefined) return [];
    return [connection.request({ t: 'join', ...WATCH_SPEC }).then(() => undefined)];
  }

  /** The bus is back: an owner may have appeared while we were away, unseen by the watch. */
  reopened(): void {
    for (const [name, waiters] of this.#waiters) {
      this.owner(name).then(
        (owner) => {
          if (owner !== null) for (const waiter of [...waiters]) waiter(owner);
        },
        () => undefined,
      );
    }
  }

  /**
   * The names are gone (the bus ended, or became a monitor: `forget`): waiters give up with
   * `error` (undefined after close()).
   */
  end(error: ChorusError | undefined, forget = false): void {
    if (forget) this.#requested.clear();
    this.#watch = undefined;
    for (const ended of [...this.#ended]) ended(error);
  }

  /** Requests a name again, with the flags of the app's last request; reports on `nameRequest`. */
  async #rerequest(connection: Connection, name: string, options: RequestNameOptions): Promise<void> {
    let result: NameRequestResult;
    try {
      ({ result } = await this.#host.calls.callOn(
        connection,
        BusContract,
        'RequestName',
        nameRequestInput(name, options),
      ));
    } catch (error) {
      if (connection.ended || !isChorusError(error)) throw error;
      this.#requested.delete(name);
      this.#host.events.emit('nameRequest', name, undefined, error);
      return;
    }
    if (result === 'exists') this.#requested.delete(name);
    this.#host.events.emit('nameRequest', name, result, undefined);
  }

  #addWaiter(name: string, callback: (owner: string) => void): () => void {
    let waiters = this.#waiters.get(name);
    if (waiters === undefined) {
      waiters = new Set();
      this.#waiters.set(name, waiters);
    }
    const entry = (owner: string): void => callback(owner);
    waiters.add(entry);
    return () => {
      waiters.delete(entry);
      if (waiters.size === 0 && this.#waiters.get(name) === waiters) this.#waiters.delete(name);
    };
  }

  /**
   * Makes sure NameOwnerChanged for `name` reaches this connection: through the app's membership of
   * org.chorus.Bus if it has one (whose filters must let it through), else through a membership the
   * bus holds for all its waiters. Resolves with the release once the membership is in place.
   */
  async #acquireWatch(name: string): Promise<() => void> {
    const membership = this.#host.busMembership();
    if (membership !== undefined) {
      if (!admitsOwnerChanges(membership.filters, name)) {
        throw new InvalidArgumentError(
          `your membership of ${BUS_NAME} filters out NameOwnerChanged for ${name}: waitForName cannot see it`,
        );
      }
      return () => {};
    }
    const { link } = this.#host;
    let watch = this.#watch;
    if (watch === undefined) {
      const leaving = this.#watchLeaving;
      const joined = (async () => {
        if (leaving !== undefined) await leaving;
        await link.request({ t: 'join', ...WATCH_SPEC });
      })();
      const created: Watch = { refs: 0, joined, live: false };
      // Joined on the daemon: a reconnection joins it again.
      joined.then(
        () => {
          created.live = true;
        },
        () => undefined,
      );
      watch = created;
      this.#watch = created;
      joined.catch(() => {
        if (this.#watch === created) this.#watch = undefined;
      });
    }
    const held = watch;
    held.refs++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      held.refs--;
      if (held.refs > 0 || this.#watch !== held) return;
      this.#watch = undefined;
      const leaving = held.joined
        .then(() => link.request({ t: 'leave', g: BUS_NAME }))
        .then(
          () => undefined,
          () => undefined,
        );
      this.#watchLeaving = leaving;
      void leaving.then(() => {
        if (this.#watchLeaving === leaving) this.#watchLeaving = undefined;
      });
    };
    try {
      await held.joined;
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }
}

/** Decodes a payload of org.chorus.Bus for `observe`; undefined if it is unreadable. */
export function decodeBusPayload(payload: Uint8Array): unknown {
  try {
    return decodePayload(payload);
  } catch {
    return undefined;
  }
}

function signalMeta(message: SignalMessage): SignalMeta {
  return {
    seq: message.seq,
    groupSeq: message.gseq,
    sender: message.from,
    group: message.g,
    signal: message.sig,
    retained: message.r === true,
  };
}

/**
 * Whether a membership with `filters` surely receives NameOwnerChanged for `name` (a condition on
 * another field could drop some, so it does not count).
 */
function admitsOwnerChanges(filters: WireFilter[] | undefined, name: string): boolean {
  if (filters === undefined || filters.length === 0) return true;
  return filters.some(
    (filter) =>
      (filter.sig === undefined || filter.sig === 'NameOwnerChanged') &&
      (filter.from === undefined || filter.from === BUS_NAME) &&
      Object.entries(filter.eq ?? {}).every(([key, value]) => key === 'name' && value === name),
  );
}
