/*
 * Message types. Property names are the wire keys exactly, so a header is encoded and decoded
 * without any renaming. Optional properties are absent (not `undefined`) in parsed messages.
 */

/** Scalar a payload field is compared with in a filter's `eq`. */
export type FilterValue = string | number | boolean | null;

/**
 * A membership filter: every condition given must hold. A membership receives a signal when it
 * has no filter or when any of its filters matches.
 *
 * @example
 * ```ts
 * const onlyErrors: Filter = { sig: 'log', eq: { level: 'error' } };
 * ```
 */
export interface Filter {
  /** Only this signal name. */
  sig?: string;
  /** Only from this sender (unique name `:1.N`). */
  from?: string;
  /** Equality on top-level fields of the decoded payload map. */
  eq?: Record<string, FilterValue>;
}

/**
 * A group to join in `hello`, with optional filters.
 *
 * @example
 * ```ts
 * const hello: Hello = { t: 'hello', v: 1, join: [{ g: 'logs', f: [{ sig: 'error' }] }] };
 * ```
 */
export interface JoinSpec {
  g: string;
  f?: Filter[];
}

/**
 * Where a membership starts: the first signal it can receive comes after these sequence numbers.
 *
 * @example
 * ```ts
 * const joined: JoinResult = { g: 'logs', startSeq: 41, startGroupSeq: 7 };
 * ```
 */
export interface JoinResult {
  g: string;
  startSeq: number;
  startGroupSeq: number;
  /** A federated group only: the last stream sequence before the membership (live signals have a greater `fseq`). */
  fseq?: number;
}

/**
 * Who may emit in a group.
 *
 * @example
 * ```ts
 * const policy: EmitterPolicy = 'owner';
 * ```
 */
export type EmitterPolicy = 'owner' | 'members' | 'anyone';

/**
 * What an emit does when a recipient's queue is full.
 *
 * @example
 * ```ts
 * const policy: OnFullPolicy = 'reject';
 * ```
 */
export type OnFullPolicy = 'block' | 'reject' | 'evict';

/**
 * Options of a group, given in `create`. Absent options take the daemon's defaults.
 *
 * @example
 * ```ts
 * const o: GroupOptions = { emitters: 'owner', retain: true };
 * ```
 */
export interface GroupOptions {
  emitters?: EmitterPolicy;
  loopback?: boolean;
  sendToPeer?: boolean;
  onFull?: OnFullPolicy;
  retain?: boolean;
  /**
   * The group exists on every daemon attached to the same JetStream stream (`chorusd
   * --federation`), its signals in the stream's one order. Issue 16; see the wire spec.
   */
  federated?: boolean;
  /** Whether the daemon checks emits against the group's published schema (default true). */
  validate?: boolean;
}

/**
 * Limits the daemon announces in `welcome` (a map of numbers; more keys may appear).
 *
 * @example
 * ```ts
 * if (payload.length > welcome.limits.maxFrameBytes - 64) throw new Error('too big');
 * ```
 */
export interface Limits {
  /** Bound on `headerLength + payloadLength` of any frame, either direction (bytes). */
  maxFrameBytes: number;
  /** Bound on the bytes queued towards one connection (bytes). */
  maxQueueBytes: number;
  [name: string]: number;
}

// ---- client -> daemon ----

/**
 * First frame of every connection.
 *
 * @example
 * ```ts
 * const hello: Hello = { t: 'hello', v: PROTOCOL_VERSION, client: 'my-tool' };
 * ```
 */
export interface Hello {
  t: 'hello';
  v: number;
  join?: JoinSpec[];
  token?: string;
  client?: string;
}

/**
 * Creates a group owned by the sender.
 *
 * @example
 * ```ts
 * const create: CreateRequest = { t: 'create', s: 1, g: 'logs', o: { emitters: 'owner' } };
 * ```
 */
export interface CreateRequest {
  t: 'create';
  s: number;
  g: string;
  o?: GroupOptions;
  /** JSON Schema of the group's contract, stored for tools. */
  schema?: unknown;
}

/**
 * Joins a group.
 *
 * @example
 * ```ts
 * const join: JoinRequest = { t: 'join', s: 2, g: 'logs', f: [{ sig: 'error' }] };
 * ```
 */
export interface JoinRequest {
  t: 'join';
  s: number;
  g: string;
  f?: Filter[];
  /**
   * A federated group only: the last stream sequence this client received of the group (or its
   * membership's `fseq`); the daemon replays what the stream holds after it (section 8, Replay).
   */
  fseq?: number;
  /**
   * With `fseq`: the `welcome.origin` of this client's earlier connections. A group without
   * loopback replays nothing they emitted, as it delivers nothing live to its own emitter.
   */
  own?: string[];
}

/**
 * Leaves a group.
 *
 * @example
 * ```ts
 * const leave: LeaveRequest = { t: 'leave', s: 3, g: 'logs' };
 * ```
 */
export interface LeaveRequest {
  t: 'leave';
  s: number;
  g: string;
}

/**
 * Closes a group the sender owns.
 *
 * @example
 * ```ts
 * const close: CloseRequest = { t: 'close', s: 4, g: 'logs' };
 * ```
 */
export interface CloseRequest {
  t: 'close';
  s: number;
  g: string;
}

/**
 * Emits a signal in a group; the frame's payload is the signal payload.
 *
 * @example
 * ```ts
 * const frame = encodeFrame({ t: 'emit', s: 5, g: 'logs', sig: 'line' }, encodePayload({ text: 'hi' }));
 * ```
 */
export interface EmitRequest {
  t: 'emit';
  s: number;
  g: string;
  sig: string;
  /**
   * A publish: `true` asks for no `ok` when the emit is accepted. A failure is still answered,
   * with an `err` that names `g` and `sig` (the wire spec, section 6).
   */
  q?: boolean;
}

/**
 * Asks for an `ok` (round trip, liveness).
 *
 * @example
 * ```ts
 * const ping: PingRequest = { t: 'ping', s: 6 };
 * ```
 */
export interface PingRequest {
  t: 'ping';
  s: number;
}

/**
 * Any message a client sends.
 *
 * @example
 * ```ts
 * function serialOf(message: ClientMessage): number | undefined {
 *   return message.t === 'hello' ? undefined : message.s;
 * }
 * ```
 */
/** A method call, routed by the daemon to the primary owner of `dest`; the payload is the input. */
export interface CallRequest {
  t: 'call';
  s: number;
  /** A well-known name, a unique name `:1.N`, or `org.chorus.Bus` (answered by the daemon). */
  dest: string;
  /** The method name. */
  m: string;
  /**
   * The interface (contract name) the method belongs to. The policy is checked against it, and
   * the service answers only from that contract. Absent: the destination's well-known name (for
   * a unique name: the one well-known name that connection owns; none or several is BAD_FIELD).
   */
  g?: string;
  /** The caller's deadline in ms: the daemon answers TIMEOUT and aborts the service then. */
  to?: number;
}

/** A service's answer to an `invoke`; the payload is the output. */
export interface ReturnMessage {
  t: 'ret';
  id: number;
}

/** A service's failure to answer an `invoke`. */
export interface FailMessage {
  t: 'fail';
  id: number;
  code: string;
  msg: string;
  /** The name of the error the service threw (REMOTE_ERROR); never its stack. */
  name?: string;
}

/** The caller abandons its call with serial `id`; no reply. */
export interface CancelMessage {
  t: 'cancel';
  id: number;
}

/** Become a monitor: receive a copy of every signal (of groups `g`, if given), send nothing else. */
export interface MonitorRequest {
  t: 'monitor';
  s: number;
  g?: string[];
}

export type ClientMessage =
  | Hello
  | CreateRequest
  | JoinRequest
  | LeaveRequest
  | CloseRequest
  | EmitRequest
  | PingRequest
  | CallRequest
  | ReturnMessage
  | FailMessage
  | CancelMessage
  | MonitorRequest;

/**
 * The `t` of a client message.
 *
 * @example
 * ```ts
 * const t: ClientMessageType = 'emit';
 * ```
 */
export type ClientMessageType = ClientMessage['t'];

// ---- daemon -> client ----

/**
 * Answer to `hello`.
 *
 * @example
 * ```ts
 * const welcome: Welcome = {
 *   t: 'welcome', v: 1, name: ':1.7', seq: 0,
 *   limits: { maxFrameBytes: 1_048_576, maxQueueBytes: 8_388_608 }, joined: [],
 * };
 * ```
 */
export interface Welcome {
  t: 'welcome';
  v: number;
  /** The connection's unique name, `:1.N`. */
  name: string;
  /** Last bus sequence number assigned so far (0 if none). */
  seq: number;
  limits: Limits;
  /** One entry per `hello.join` entry, same order. */
  joined: JoinResult[];
  /**
   * A federated daemon only: this connection's identity in the stream (daemon, run, connection),
   * which a later connection sends back in `join.own` so that a replay skips its own emits.
   */
  origin?: string;
}

/**
 * Success answer to the request with serial `s`.
 *
 * @example
 * ```ts
 * const ok: Reply = { t: 'ok', s: 5, r: { seq: 42, gseq: 8, n: 3 } };
 * ```
 */
export interface Reply {
  t: 'ok';
  s: number;
  r?: Record<string, unknown>;
}

/**
 * `ok.r` of a `join`.
 *
 * @example
 * ```ts
 * const { startSeq } = reply.r as JoinReplyResult;
 * ```
 */
export interface JoinReplyResult {
  startSeq: number;
  startGroupSeq: number;
  /** A federated group only: the last stream sequence before the membership (live signals have a greater `fseq`). */
  fseq?: number;
  /**
   * A replay (`join.fseq`) that could not replay everything: the group's signals with `fseq`
   * after `join.fseq` up to `missedTo` were not replayed (the replayed ones all come after it).
   */
  missedTo?: number;
  /** How many signals that was, when the daemon knows (the stream no longer holding them: unknown). */
  missed?: number;
}

/**
 * `ok.r` of an `emit`: the sequence numbers given to the signal and its recipient count.
 *
 * @example
 * ```ts
 * const { seq, n } = reply.r as EmitReplyResult;
 * ```
 */
export interface EmitReplyResult {
  seq: number;
  gseq: number;
  n: number;
}

/**
 * Failure answer: to the request with serial `s`, or to the connection when `s` is absent.
 * `code` is a string, not only {@link ErrorCode}, so a newer daemon's codes still parse.
 *
 * @example
 * ```ts
 * const err: ErrorReply = { t: 'err', s: 2, code: 'UNKNOWN_GROUP', msg: "no group named 'logs'" };
 * ```
 */
export interface ErrorReply {
  t: 'err';
  s?: number;
  code: string;
  msg: string;
  /** The daemon closes the connection after this message. */
  fatal?: boolean;
  data?: unknown;
  /** The err answering a publish (`emit` with `q`): the group of that emit. */
  g?: string;
  /** The err answering a publish: the signal of that emit. */
  sig?: string;
}

/**
 * A signal delivered to a member; the frame's payload is the payload as emitted.
 *
 * @example
 * ```ts
 * const sig: SignalMessage = { t: 'sig', seq: 42, gseq: 8, g: 'logs', sig: 'line', from: ':1.3' };
 * ```
 */
export interface SignalMessage {
  t: 'sig';
  seq: number;
  gseq: number;
  g: string;
  sig: string;
  from: string;
  /** True when this is a retained value replayed on join. */
  r?: boolean;
  /** A federated group's signal: its sequence number in the JetStream stream (one order for every daemon). */
  fseq?: number;
}

/**
 * Why a group closed, or why the daemon ended this client's membership: `not-permitted` when a
 * policy reload (SIGHUP) took away the right to `join` it (the group itself goes on).
 *
 * @example
 * ```ts
 * const reason: GroupClosedReason = 'owner-left';
 * ```
 */
export type GroupClosedReason = 'closed' | 'owner-left' | 'owner-evicted' | 'shutdown' | 'not-permitted';

/**
 * A group the client belonged to was closed.
 *
 * @example
 * ```ts
 * const notice: GroupClosedNotice = { t: 'gclosed', g: 'logs', reason: 'owner-left' };
 * ```
 */
export interface GroupClosedNotice {
  t: 'gclosed';
  g: string;
  reason: GroupClosedReason;
}

/**
 * The daemon is shutting down; the socket closes once queued frames are flushed.
 *
 * @example
 * ```ts
 * const bye: Bye = { t: 'bye', reason: 'shutdown' };
 * ```
 */
export interface Bye {
  t: 'bye';
  reason: string;
}

/**
 * Any message the daemon sends.
 *
 * @example
 * ```ts
 * function onMessage(message: ServerMessage): void {
 *   if (message.t === 'sig') console.log(message.g, message.sig);
 * }
 * ```
 */
/** A call for a service to answer with `ret` or `fail` naming `id`; the payload is the input. */
export interface InvokeMessage {
  t: 'invoke';
  id: number;
  /** The caller's unique name. */
  from: string;
  /** The name the caller addressed. */
  dest: string;
  m: string;
  /**
   * The interface the daemon checked the call against (always set by this daemon): the service
   * answers from that contract only, or UNKNOWN_METHOD.
   */
  g?: string;
}

export type AbortReason = 'cancelled' | 'timeout' | 'caller-left';

/** The call `id` no longer wants an answer. */
export interface AbortMessage {
  t: 'abort';
  id: number;
  reason: AbortReason;
}

export type ServerMessage =
  | Welcome
  | Reply
  | ErrorReply
  | SignalMessage
  | GroupClosedNotice
  | Bye
  | InvokeMessage
  | AbortMessage;

/**
 * The `t` of a daemon message.
 *
 * @example
 * ```ts
 * const t: ServerMessageType = 'sig';
 * ```
 */
export type ServerMessageType = ServerMessage['t'];
