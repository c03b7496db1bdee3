import type { AccessControl, CallReach } from './access.js';
import type { BusHost } from './bus-interface.js';
import type { CallRouter } from './call-router.js';
import type { DaemonLimits } from './config.js';
import type { Counters } from './counters.js';
import type { Federation } from './federation/federation.js';
import type { GroupContracts } from './group-contracts.js';
import type { Logger } from './logger.js';
import type { RunClock } from './run-clock.js';
import type { Flushable, WriteScheduler } from './write-scheduler.js';

/**
 * What a session needs of the daemon: the engine it drives and the parts beside it (calls,
 * access, limits, counters, log, clock, write scheduling), and the bookkeeping of connections
 * (admission, registration, who answers calls). The Daemon implements it; `TSession` is the
 * session type, so that this file does not import the session it serves.
 */
export interface SessionHost<TSession extends Flushable> extends BusHost, CallReach {
  readonly calls: CallRouter;
  readonly access: AccessControl;
  readonly limits: DaemonLimits;
  readonly counters: Counters;
  /** Compiles each group's contract at `create`, for the checks of its emits. */
  readonly contracts: GroupContracts;
  readonly log: Logger;
  /** The engine's time: how long the daemon ran, freezes not counted. */
  readonly clock: RunClock;
  readonly writes: WriteScheduler<TSession>;
  /** Federated groups (issue 16), when the daemon runs with `--federation`. */
  readonly federation: Federation | undefined;
  /**
   * Counts `session` against its identity's limit, once (a WebSocket already is, from its
   * upgrade); false when the identity is at its limit. The count ends when the session does.
   */
  admit(session: TSession): boolean;
  /** Finds who is behind the connections not looked up yet; undefined when nothing to wait for. */
  lookupPeers(): Promise<void> | undefined;
  /** `session` completed its hello and has an engine connection. */
  register(session: TSession): void;
  /** `session`'s socket closed: nothing of it may be left. */
  forget(session: TSession): void;
}

/** Where a connection comes from, as its listener knows it (not as the client says). */
export interface ConnectionOrigin {
  /** The inode of the daemon's end of a Unix socket: the key to its peer process. */
  readonly socketInode?: number;
  /** A WebSocket's remote address and port. */
  readonly remote?: string;
}
