/*
 * Method calls, the caller's side: the input validated and encoded, the call sent (now, or held
 * while the bus reconnects), bounded by its deadline and AbortSignal, and the output decoded and
 * validated. A reconnection's restore calls through here too (`callOn`), so both encode, send
 * and decode alike.
 */

import { decodePayload, ErrorCode, encodePayload } from '@chorus/protocol';
import type { CallOptions, GroupTarget, WaitForNameOptions } from './bus-types.js';
import { contractOf, groupName } from './bus-types.js';
import type { ContractCheck } from './compat/contract-check.js';
import type { CallMessage, Connection, SentCall } from './connection.js';
import {
  type AnyGroupContract,
  checkValue,
  type MethodInput,
  type MethodName,
  type MethodOutput,
  type MethodSchema,
} from './contract.js';
import {
  AbortError,
  BusError,
  type CallTarget,
  ConnectionClosedError,
  callErrorFromWire,
  InvalidArgsError,
  InvalidArgumentError,
  InvalidReplyError,
  isChorusError,
  ServiceUnknownError,
  TimeoutError,
  UnknownMethodError,
  type ValidationIssue,
} from './errors.js';
import type { Link } from './held-requests.js';
import type { MonitorGuard } from './monitor-mode.js';
import type { Settings } from './options.js';

/** What calls need from the bus. */
export interface CallsHost {
  readonly link: Link;
  readonly monitor: MonitorGuard;
  readonly settings: Pick<Settings, 'callTimeoutMs' | 'maxPendingCalls'>;
  /** Typed calls compared with what their group publishes (compat/contract-check.ts). */
  readonly contractCheck: Pick<ContractCheck, 'beforeCall' | 'callFailed'>;
  /** `waitForService`: waits for the destination to get an owner (names.ts). */
  waitForName(name: string, options: WaitForNameOptions): Promise<string>;
}

/** A call ready to send: validated and encoded. */
type Prepared = {
  readonly message: CallMessage;
  readonly bytes: Uint8Array;
  readonly where: CallTarget;
  readonly schemas: MethodSchema | undefined;
};

/** The calls of one bus, and the ones awaiting their answer. */
export class Calls {
  readonly #host: CallsHost;
  /** Serials of the method calls awaiting their answer, with their connection (bounded by maxPendingCalls). */
  readonly #pending = new Map<number, Connection>();
  /** Method calls held while the bus reconnects (they count against maxPendingCalls). */
  #held = 0;

  constructor(host: CallsHost) {
    this.#host = host;
  }

  call(destination: string, method: string, input?: unknown, options?: CallOptions): Promise<unknown>;
  call<TContract extends AnyGroupContract, TMethod extends MethodName<TContract>>(
    contract: TContract,
    method: TMethod,
    input: MethodInput<TContract, TMethod>,
    options?: CallOptions,
  ): Promise<MethodOutput<TContract, TMethod>>;
  call(target: GroupTarget, method: string, input?: unknown, options?: CallOptions): Promise<unknown>;
  async call(
    target: GroupTarget,
    method: string,
    input?: unknown,
    options: CallOptions = {},
  ): Promise<unknown> {
    this.#host.monitor.assertNotMonitor();
    const contract = contractOf(target);
    const destination = options.destination ?? groupName(target);
    const timeoutMs = options.timeoutMs ?? this.#host.settings.callTimeoutMs;
    checkTimeout('timeoutMs', timeoutMs);
    const waitForService = options.waitForService;
    const waitMs =
      typeof waitForService === 'object' && waitForService.timeoutMs !== undefined
        ? waitForService.timeoutMs
        : undefined;
    if (waitMs !== undefined) checkTimeout('waitForService.timeoutMs', waitMs);
    const prepared = prepare(contract, destination, method, input);
    const { where } = prepared;
    // An aborted call sends nothing, not even the check's question.
    if (contract !== undefined && options.signal?.aborted !== true)
      await this.#host.contractCheck.beforeCall(contract, method);
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : undefined;
    // Waiting counts against the call's own deadline, so it never outlasts it.
    const waitDeadline =
      waitMs !== undefined && waitMs > 0
        ? Math.min(Date.now() + waitMs, deadline ?? Number.POSITIVE_INFINITY)
        : deadline;
    // Bounded: an owner may appear and vanish again before the call reaches it.
    for (let attempt = 1; ; attempt++) {
      let answer: Uint8Array;
      try {
        answer = await this.#callOnce(prepared, timeoutMs, deadline, options.signal);
      } catch (error) {
        if (contract !== undefined) this.#host.contractCheck.callFailed(contract.name, error);
        if (
          !(error instanceof ServiceUnknownError) ||
          waitForService === undefined ||
          waitForService === false
        )
          throw error;
        if (attempt >= MAX_SERVICE_WAITS) throw error;
        const left = waitDeadline === undefined ? 0 : waitDeadline - Date.now();
        if (waitDeadline !== undefined && left <= 0) throw error;
        try {
          await this.#host.waitForName(destination, {
            timeoutMs: waitDeadline === undefined ? 0 : Math.ceil(left),
            signal: options.signal,
          });
        } catch (waitError) {
          // Still nobody there when the wait ran out: that is the call's answer.
          if (isChorusError(waitError, ErrorCode.TIMEOUT))
            throw new ServiceUnknownError(error.message, where, { cause: waitError });
          throw waitError;
        }
        continue;
      }
      return output(prepared, answer);
    }
  }

  /**
   * One call on `connection` as it is (not held, no deadline, not counted): what a reconnection
   * sends while it restores the bus, before the app's requests may go out.
   */
  async callOn<TContract extends AnyGroupContract, TMethod extends MethodName<TContract>>(
    connection: Connection,
    contract: TContract,
    method: TMethod,
    input: MethodInput<TContract, TMethod>,
  ): Promise<MethodOutput<TContract, TMethod>> {
    const prepared = prepare(contract, contract.name, method, input);
    const { reply } = connection.call(prepared.message, prepared.bytes);
    let answer: Uint8Array;
    try {
      answer = (await reply).payload;
    } catch (error) {
      throw callError(error, prepared.where, 0);
    }
    return output(prepared, answer) as MethodOutput<TContract, TMethod>;
  }

  /** The bus was closed: calls still waiting are cancelled (ConnectionClosedError). */
  cancelAll(): void {
    // A call may take arbitrarily long: waiting for it would let any service hold close() up. A
    // monitor may send nothing but pings: the daemon aborts the service when we are gone anyway.
    for (const [serial, connection] of [...this.#pending]) {
      connection.cancel(
        serial,
        new ConnectionClosedError('the bus was closed before the call was answered'),
        !this.#host.monitor.requested,
      );
    }
  }

  /**
   * Sends one call and waits for its answer (the output bytes); rejects with the call's error. The
   * timer and the AbortSignal cancel it (the daemon is told, so the service is aborted).
   */
  async #callOnce(
    { message, bytes, where }: Prepared,
    timeoutMs: number,
    deadline: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    if (signal?.aborted) throw new AbortError('the call was aborted', { cause: signal.reason });
    const timeout = (): TimeoutError =>
      new TimeoutError(
        `${where.destination}.${where.method} got no answer within ${timeoutMs} ms`,
        timeoutMs,
      );
    if (deadline !== undefined && Math.ceil(deadline - Date.now()) <= 0) throw timeout();
    const calls = this.#pending.size + this.#held;
    if (calls >= this.#host.settings.maxPendingCalls) {
      // What the daemon would answer at its own bound, without the round trip.
      throw new BusError(ErrorCode.LIMIT_EXCEEDED, `${calls} calls are already waiting (maxPendingCalls)`);
    }
    const send = (connection: Connection): { sent: SentCall; connection: Connection } => {
      let remaining: number | undefined;
      if (deadline !== undefined) {
        remaining = Math.ceil(deadline - Date.now());
        if (remaining <= 0) throw timeout();
      }
      // `to` lets the daemon fail the call and abort the service at the deadline even if we are slow.
      const sent = connection.call(remaining === undefined ? message : { ...message, to: remaining }, bytes);
      return { sent, connection };
    };
    const { link } = this.#host;
    const live = link.live;
    let sending: { sent: SentCall; connection: Connection };
    if (live !== undefined) {
      sending = send(live);
    } else {
      this.#held++;
      try {
        sending = await link.whenOpen(send, { signal, deadline, timeout });
      } finally {
        this.#held--;
      }
    }
    // The serial means this call on this connection only: cancel it there, even after a reconnection.
    const { sent, connection } = sending;
    const { serial } = sent;
    this.#pending.set(serial, connection);
    // A monitor may send nothing but pings: its calls (made before it became one) end locally.
    const tell = (): boolean => !this.#host.monitor.requested;
    const onAbort = (): void => {
      connection.cancel(serial, new AbortError('the call was aborted', { cause: signal?.reason }), tell());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      deadline === undefined
        ? undefined
        : setTimeout(() => connection.cancel(serial, timeout(), tell()), Math.max(0, deadline - Date.now()));
    try {
      return (await sent.reply).payload;
    } catch (error) {
      throw callError(error, where, timeoutMs);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.#pending.delete(serial);
    }
  }
}

/** How often `call` with `waitForService` waits for an owner before giving up. */
const MAX_SERVICE_WAITS = 8;

/** Codes of `err` answers that are a call's own outcome (not a bus error such as LIMIT_EXCEEDED). */
const CALL_CODES: ReadonlySet<string> = new Set<string>([
  ErrorCode.SERVICE_UNKNOWN,
  ErrorCode.UNKNOWN_METHOD,
  ErrorCode.INVALID_ARGS,
  ErrorCode.INVALID_REPLY,
  ErrorCode.TIMEOUT,
  ErrorCode.NO_REPLY,
  ErrorCode.REMOTE_ERROR,
]);

/** Validates the input against the contract (if any) and encodes it. */
function prepare(
  contract: AnyGroupContract | undefined,
  destination: string,
  method: string,
  input: unknown,
): Prepared {
  const where: CallTarget = { destination, method };
  let schemas: MethodSchema | undefined;
  if (contract !== undefined) {
    schemas = contract.methodFor(method);
    if (schemas === undefined)
      throw new UnknownMethodError(`${contract.name} has no method '${method}'`, where);
    const check = checkValue(schemas.input, input);
    if (!check.ok) {
      throw new InvalidArgsError(
        describeIssues(`invalid input for ${contract.name}.${method}`, check.issues),
        where,
        check.issues,
      );
    }
  }
  let bytes: Uint8Array;
  try {
    // The value as given (the schema's input form) goes on the wire; the service parses it again.
    bytes = encodePayload(input);
  } catch (cause) {
    const issues = [
      { code: 'invalid_encoding', path: [], message: 'the input cannot be encoded as MessagePack' },
    ];
    throw new InvalidArgsError(`the input of ${destination}.${method} cannot be encoded`, where, issues, {
      cause,
    });
  }
  const message: CallMessage = { t: 'call', dest: destination, m: method };
  if (contract !== undefined) message.g = contract.name;
  return { message, bytes, where, schemas };
}

/** Decodes the output and validates it against the contract (if any). */
function output({ where, schemas }: Prepared, answer: Uint8Array): unknown {
  let value: unknown;
  try {
    value = decodePayload(answer);
  } catch (cause) {
    const issues = [{ code: 'invalid_encoding', path: [], message: 'the output is not valid MessagePack' }];
    throw new InvalidReplyError(
      `the output of ${where.destination}.${where.method} cannot be decoded`,
      where,
      issues,
      { cause },
    );
  }
  if (schemas === undefined) return value;
  const check = checkValue(schemas.output, value);
  if (!check.ok) {
    throw new InvalidReplyError(
      describeIssues(`invalid output of ${where.destination}.${where.method}`, check.issues),
      where,
      check.issues,
    );
  }
  return check.value;
}

/** A call's own outcome (`err` with a call code) as its typed error; anything else as it is. */
function callError(error: unknown, where: CallTarget, timeoutMs: number): unknown {
  if (error instanceof BusError && !error.fatal && CALL_CODES.has(error.code)) {
    return callErrorFromWire(
      { t: 'err', code: error.code, msg: error.message, data: error.data },
      where,
      timeoutMs,
    );
  }
  return error;
}

export function checkTimeout(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${what} must be an integer >= 0 (ms), got ${String(value)}`);
  }
}

function describeIssues(prefix: string, issues: readonly ValidationIssue[]): string {
  const first = issues[0];
  if (first === undefined) return prefix;
  return `${prefix}: ${first.message}${first.path.length > 0 ? ` at ${first.path.join('.')}` : ''}`;
}
