import type { Engine } from '@chorus/core';
import {
  type AbortReason,
  type CallRequest,
  ErrorCode,
  encodeFrame,
  type FailMessage,
  type ServerMessage,
} from '@chorus/protocol';
import { RequestError } from './request-error.js';

/** The codes a service may answer a call with; anything else arrives as REMOTE_ERROR. */
const SERVICE_CODES = new Set<string>([
  ErrorCode.UNKNOWN_METHOD,
  ErrorCode.INVALID_ARGS,
  ErrorCode.INVALID_REPLY,
  ErrorCode.REMOTE_ERROR,
]);

/** The side of a session the router needs: who it is, and that it is still there. */
export interface CallParty {
  readonly id: number;
  readonly name: string;
}

interface PendingCall {
  readonly id: number;
  readonly caller: CallParty;
  readonly serial: number;
  readonly callee: CallParty;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Routes method calls: a `call` goes to the primary owner of its destination as `invoke`, and
 * the callee's `ret`/`fail` goes back to the caller as the reply to its serial. Everything is
 * queued through the engine, so a reply reaches the caller after any signal the service emitted
 * before answering ([GUARANTEE: order]).
 *
 *   id ──► call { caller, serial, callee, timer }
 *   caller ──► serial ──► call        (cancel, caller leaves)
 *   callee ──► { calls }              (callee leaves: NO_REPLY)
 */
export class CallRouter {
  readonly #engine: Engine<Uint8Array>;
  readonly #maxPendingCalls: number;
  readonly #calls = new Map<number, PendingCall>();
  readonly #byCaller = new Map<number, Map<number, PendingCall>>();
  readonly #byCallee = new Map<number, Set<PendingCall>>();
  #nextId = 1;

  constructor(engine: Engine<Uint8Array>, maxPendingCalls: number) {
    this.#engine = engine;
    this.#maxPendingCalls = maxPendingCalls;
  }

  get size(): number {
    return this.#calls.size;
  }

  /** Calls waiting for an answer that `id` made. */
  pendingFor(id: number): number {
    return this.#byCaller.get(id)?.size ?? 0;
  }

  /** Forwards a call; throws RequestError (SERVICE_UNKNOWN, LIMIT_EXCEEDED, BAD_FIELD) when it cannot. */
  call(
    caller: CallParty,
    message: CallRequest,
    payload: Uint8Array,
    resolve: (id: number) => CallParty | undefined,
  ) {
    const calleeId = this.#engine.nameOwner(message.dest);
    const callee = calleeId === undefined ? undefined : resolve(calleeId);
    if (callee === undefined) {
      throw new RequestError(ErrorCode.SERVICE_UNKNOWN, `no connection owns the name '${message.dest}'`);
    }
    let mine = this.#byCaller.get(caller.id);
    if (mine?.has(message.s)) {
      throw new RequestError(ErrorCode.BAD_FIELD, `serial ${message.s} is already used by a pending call`);
    }
    if ((mine?.size ?? 0) >= this.#maxPendingCalls) {
      throw new RequestError(
        ErrorCode.LIMIT_EXCEEDED,
        `limit maxPendingCalls (${this.#maxPendingCalls}) exceeded`,
      );
    }
    const call: PendingCall = { id: this.#nextId++, caller, serial: message.s, callee, timer: undefined };
    this.#calls.set(call.id, call);
    if (mine === undefined) {
      mine = new Map();
      this.#byCaller.set(caller.id, mine);
    }
    mine.set(call.serial, call);
    let theirs = this.#byCallee.get(callee.id);
    if (theirs === undefined) {
      theirs = new Set();
      this.#byCallee.set(callee.id, theirs);
    }
    theirs.add(call);
    if (message.to !== undefined) {
      call.timer = setTimeout(() => {
        if (!this.#forget(call)) return;
        this.#send(caller.id, {
          t: 'err',
          s: call.serial,
          code: ErrorCode.TIMEOUT,
          msg: `no reply within ${message.to} ms`,
        });
        this.#abort(call, 'timeout');
      }, message.to);
      call.timer.unref?.();
    }
    const invoke: ServerMessage =
      message.g === undefined
        ? { t: 'invoke', id: call.id, from: caller.name, dest: message.dest, m: message.m }
        : { t: 'invoke', id: call.id, from: caller.name, dest: message.dest, m: message.m, g: message.g };
    this.#send(callee.id, invoke, payload);
  }

  /** The callee answered; a late answer (timed out, cancelled) is dropped. */
  ret(callee: CallParty, id: number, payload: Uint8Array): void {
    // [GUARANTEE: causal-order] queued to the caller after what the service emitted before answering.
    const call = this.#calls.get(id);
    if (call === undefined || call.callee.id !== callee.id) return;
    this.#forget(call);
    this.#send(call.caller.id, { t: 'ok', s: call.serial }, payload);
  }

  fail(callee: CallParty, message: FailMessage): void {
    const call = this.#calls.get(message.id);
    if (call === undefined || call.callee.id !== callee.id) return;
    this.#forget(call);
    const code = SERVICE_CODES.has(message.code) ? message.code : ErrorCode.REMOTE_ERROR;
    this.#send(call.caller.id, {
      t: 'err',
      s: call.serial,
      code,
      msg: message.msg,
      ...(message.name === undefined ? {} : { data: { name: message.name } }),
    });
  }

  /** The caller gives up on its call `serial`: the callee is told, the caller hears nothing more. */
  cancel(caller: CallParty, serial: number): void {
    const call = this.#byCaller.get(caller.id)?.get(serial);
    if (call === undefined) return;
    this.#forget(call);
    this.#abort(call, 'cancelled');
  }

  /** A connection left: its callers get NO_REPLY, the services it was waiting on are told. */
  gone(id: number): void {
    // [GUARANTEE: isolation] its callers get NO_REPLY, the services it waited on are told to abort.
    this.stopServing(id, 'left');
    for (const call of [...(this.#byCaller.get(id)?.values() ?? [])]) {
      this.#forget(call);
      this.#abort(call, 'caller-left');
    }
  }

  /** `id` answers no more calls (it left, or became a monitor): whoever waits on it gets NO_REPLY. */
  stopServing(id: number, why: string): void {
    for (const call of [...(this.#byCallee.get(id) ?? [])]) {
      this.#forget(call);
      this.#send(call.caller.id, {
        t: 'err',
        s: call.serial,
        code: ErrorCode.NO_REPLY,
        msg: `${call.callee.name} ${why} before replying`,
      });
    }
  }

  #abort(call: PendingCall, reason: AbortReason): void {
    this.#send(call.callee.id, { t: 'abort', id: call.id, reason });
  }

  #forget(call: PendingCall): boolean {
    if (!this.#calls.delete(call.id)) return false;
    clearTimeout(call.timer);
    const mine = this.#byCaller.get(call.caller.id);
    mine?.delete(call.serial);
    if (mine?.size === 0) this.#byCaller.delete(call.caller.id);
    const theirs = this.#byCallee.get(call.callee.id);
    theirs?.delete(call);
    if (theirs?.size === 0) this.#byCallee.delete(call.callee.id);
    return true;
  }

  #send(id: number, message: ServerMessage, payload?: Uint8Array): void {
    if (!this.#engine.has(id)) return;
    const frame = encodeFrame(message, payload);
    this.#engine.post(id, frame, frame.byteLength);
  }
}
