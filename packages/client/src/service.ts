/*
 * Serving methods: the daemon routes a call to the owner of its destination name as `invoke`; the
 * service answers with `ret` (output bytes) or `fail` (code, message, error name). The handler only
 * ever sees input its contract accepts, and its output is checked before it leaves.
 *
 *   invoke ─▶ route (interface g only; without g: dest, else the only service) ─▶ decode ─▶ input schema
 *     ─▶ handler(input, ctx) ─▶ output schema ─▶ ret      (any step failing ─▶ fail CODE)
 *   abort  ─▶ ctx.signal aborts; whatever the handler returns later is dropped
 */

import {
  type AbortMessage,
  decodePayload,
  ErrorCode,
  encodePayload,
  type FailMessage,
  type InvokeMessage,
  type ReturnMessage,
} from '@chorus/protocol';
import type { z } from 'zod';
import { type AnyGroupContract, checkValue, type MethodName } from './contract.js';
import { AbortError, InvalidArgumentError, isChorusError, RemoteError } from './errors.js';

/**
 * What a handler knows about the call it answers.
 *
 * @example
 * ```ts
 * bus.serve(Battery, {
 *   GetLevel: async (_input, ctx) => {
 *     console.log(`${ctx.sender} asked ${ctx.dest}.${ctx.method}`);
 *     return { percent: await readLevel({ signal: ctx.signal }) };
 *   },
 * });
 * ```
 */
export interface CallContext {
  /** Unique name of the caller (`:1.N`). */
  readonly sender: string;
  /** The name the caller addressed (a well-known name, or this connection's unique name). */
  readonly dest: string;
  readonly method: string;
  /**
   * Aborted when the answer is no longer wanted: the caller cancelled, timed out or left, or this
   * connection closed. `signal.reason` is an AbortError whose `reason` says which. Whatever the
   * handler returns after that is dropped.
   */
  readonly signal: AbortSignal;
}

/**
 * A handler of one method: gets the input schema's output (transforms applied), returns the output
 * schema's input (what travels; the caller applies the transforms).
 *
 * @example
 * ```ts
 * const getLevel: MethodHandler<typeof Battery, 'GetLevel'> = async () => ({ percent: 42 });
 * ```
 */
export type MethodHandler<TContract extends AnyGroupContract, TMethod extends MethodName<TContract>> = (
  input: z.output<TContract['methods'][TMethod]['input']>,
  ctx: CallContext,
) =>
  | z.input<TContract['methods'][TMethod]['output']>
  | Promise<z.input<TContract['methods'][TMethod]['output']>>;

/**
 * One handler per method of the contract (all of them).
 *
 * @example
 * ```ts
 * const handlers: MethodHandlers<typeof Battery> = { GetLevel: () => ({ percent: 42 }) };
 * bus.serve(Battery, handlers);
 * ```
 */
export type MethodHandlers<TContract extends AnyGroupContract> = {
  readonly [TMethod in MethodName<TContract>]: MethodHandler<TContract, TMethod>;
};

/**
 * A handler of an untyped service (`bus.serve(name, handlers)`): input unknown, nothing validated.
 *
 * @example
 * ```ts
 * const echo: UntypedMethodHandler = (input) => input;
 * ```
 */
export type UntypedMethodHandler = (input: unknown, ctx: CallContext) => unknown;

/**
 * A contract being served by this connection. Made by `bus.serve`.
 *
 * @example
 * ```ts
 * const service = bus.serve(Battery, { GetLevel: () => ({ percent: 42 }) });
 * await bus.requestName(Battery.name);
 * // ...
 * await service.close(); // new calls get UNKNOWN_METHOD; calls in progress still get their answer
 * ```
 */
export interface Service {
  /** The contract's name (or the name given to an untyped `serve`). */
  readonly name: string;
  /** Calls being handled now. */
  readonly active: number;
  /** Whether `close()` was called or the connection ended. */
  readonly closed: boolean;
  /**
   * Stops serving: later calls are answered UNKNOWN_METHOD. Resolves once the calls in progress
   * have been answered. Idempotent.
   */
  close(): Promise<void>;
}

/** What the services need from the connection. */
export interface ServiceHost {
  /** Sends `ret`/`fail`; false when the connection is over; throws MessageTooLargeError. */
  send(message: ReturnMessage | FailMessage, payload?: Uint8Array): boolean;
}

type Handler = (input: unknown, ctx: CallContext) => unknown;

class ServiceImpl implements Service {
  readonly name: string;
  readonly contract: AnyGroupContract | undefined;
  readonly handlers: ReadonlyMap<string, Handler>;
  readonly #registry: ServiceRegistry;
  /** Calls whose answer is still wanted (an aborted call leaves at once: close() does not wait for it). */
  readonly #running = new Map<object, Promise<unknown>>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(
    registry: ServiceRegistry,
    name: string,
    contract: AnyGroupContract | undefined,
    handlers: ReadonlyMap<string, Handler>,
  ) {
    this.#registry = registry;
    this.name = name;
    this.contract = contract;
    this.handlers = handlers;
  }

  get active(): number {
    return this.#running.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  track(invocation: object, running: Promise<unknown>): void {
    this.#running.set(invocation, running);
    void running.finally(() => this.untrack(invocation));
  }

  untrack(invocation: object): void {
    this.#running.delete(invocation);
  }

  markClosed(): void {
    this.#closed = true;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#registry.remove(this);
      while (this.#running.size > 0) await Promise.race([...this.#running.values()]).catch(() => undefined);
    })();
    return this.#closing;
  }
}

/**
 * A call being answered, and the context its handler gets. The AbortController behind
 * `ctx.signal` is made only when the handler asks for the signal: most handlers never do, and
 * one per call was about a third of a small service's CPU per call (issue 17).
 */
class Invocation implements CallContext {
  readonly sender: string;
  readonly dest: string;
  readonly method: string;
  readonly #service: ServiceImpl;
  #controller: AbortController | undefined;
  /** Why it was aborted, once it was (before anyone asked for the signal, or after). */
  #abortedWith: { readonly reason: AbortError } | undefined;

  constructor(message: InvokeMessage, service: ServiceImpl) {
    this.sender = message.from;
    this.dest = message.dest;
    this.method = message.m;
    this.#service = service;
  }

  get service(): ServiceImpl {
    return this.#service;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortedWith !== undefined) this.#controller.abort(this.#abortedWith.reason);
    }
    return this.#controller.signal;
  }

  abort(reason: AbortError): void {
    if (this.#abortedWith !== undefined) return;
    this.#abortedWith = { reason };
    this.#controller?.abort(reason);
  }
}

/** The services of one connection, and the calls they are answering. */
export class ServiceRegistry {
  readonly #host: ServiceHost;
  readonly #services = new Map<string, ServiceImpl>();
  /** Calls being answered, by invoke id; an aborted call leaves at once (its answer is dropped). */
  readonly #invocations = new Map<number, Invocation>();

  constructor(host: ServiceHost) {
    this.#host = host;
  }

  /** Starts serving `name`; throws InvalidArgumentError if it is served already or a handler is missing. */
  add(name: string, contract: AnyGroupContract | undefined, handlers: object): Service {
    if (this.#services.has(name)) throw new InvalidArgumentError(`${name} is already being served`);
    const table = new Map<string, Handler>();
    const methods = contract === undefined ? Object.keys(handlers) : Object.keys(contract.methods);
    for (const method of methods) {
      const handler = Object.hasOwn(handlers, method)
        ? (handlers as Record<string, unknown>)[method]
        : undefined;
      if (typeof handler !== 'function') {
        throw new InvalidArgumentError(`serve(${name}): no handler for method '${method}'`);
      }
      table.set(method, handler as Handler);
    }
    const service = new ServiceImpl(this, name, contract, table);
    this.#services.set(name, service);
    return service;
  }

  remove(service: ServiceImpl): void {
    if (this.#services.get(service.name) === service) this.#services.delete(service.name);
  }

  /** An `invoke` arrived: answer it (now for a failure, when the handler settles otherwise). */
  invoke(message: InvokeMessage, payload: Uint8Array): void {
    const { id } = message;
    const service = this.#route(message);
    const handler = service?.handlers.get(message.m);
    if (service === undefined || handler === undefined) {
      const what = service === undefined ? `no service for ${message.g ?? message.dest}` : service.name;
      this.#fail(id, ErrorCode.UNKNOWN_METHOD, `${what} has no method '${message.m}'`);
      return;
    }
    let input: unknown;
    try {
      input = decodePayload(payload);
    } catch {
      this.#fail(
        id,
        ErrorCode.INVALID_ARGS,
        `the input of ${service.name}.${message.m} is not valid MessagePack`,
      );
      return;
    }
    const schemas = service.contract?.methodFor(message.m);
    if (schemas !== undefined) {
      const check = checkValue(schemas.input, input);
      if (!check.ok) {
        // [GUARANTEE: valid input] the handler never runs with input its contract refuses.
        this.#fail(
          id,
          ErrorCode.INVALID_ARGS,
          describe(`invalid input for ${service.name}.${message.m}`, check.issues),
        );
        return;
      }
      input = check.value;
    }
    const invocation = new Invocation(message, service);
    this.#invocations.set(id, invocation);
    let result: unknown;
    try {
      // Called synchronously, in wire order with the signals around it.
      result = handler(input, invocation);
    } catch (error) {
      result = Promise.reject(error);
    }
    const running = Promise.resolve(result).then(
      (output) => this.#answer(invocation, id, service, message.m, output),
      (error: unknown) => this.#answered(invocation, id) && this.#send(RemoteError.toFail(id, error)),
    );
    service.track(invocation, running);
  }

  /** The caller no longer wants the answer to `id`. */
  abort(message: AbortMessage): void {
    const invocation = this.#invocations.get(message.id);
    if (invocation === undefined) return;
    this.#invocations.delete(message.id);
    invocation.service.untrack(invocation);
    const text = ABORT_TEXT[message.reason] ?? `the call was aborted (${message.reason})`;
    invocation.abort(new AbortError(text, { reason: message.reason }));
  }

  /** This side is going away (`closed`, `disconnected`, `monitor`): every call is aborted, every service closed. */
  end(reason: string): void {
    this.abortAll(reason);
    for (const service of this.#services.values()) service.markClosed();
    this.#services.clear();
  }

  /**
   * The connection was lost but the bus reconnects: the calls being answered are aborted (their
   * callers are told NO_REPLY by the daemon, and an answer could only reach a new connection
   * under an id that means something else there); the services stay, for the calls to come.
   */
  abortAll(reason: string): void {
    const invocations = [...this.#invocations.values()];
    this.#invocations.clear();
    for (const invocation of invocations) {
      invocation.service.untrack(invocation);
      invocation.abort(new AbortError(`this connection ended (${reason})`, { reason }));
    }
  }

  #route(message: InvokeMessage): ServiceImpl | undefined {
    // [GUARANTEE: access] `g` is the interface the daemon checked the caller's rights against:
    // only that contract may answer. Falling back to another one (by the name addressed, or by
    // method name) would let a call reach a contract the policy was never asked about.
    if (message.g !== undefined) return this.#services.get(message.g);
    // Without `g` (a daemon that does not set it): the name addressed; a connection that serves
    // one contract answers calls to any of its names (a unique name, an alias).
    const byName = this.#services.get(message.dest);
    if (byName !== undefined) return byName;
    if (this.#services.size === 1) return this.#services.values().next().value;
    return undefined;
  }

  #answer(invocation: Invocation, id: number, service: ServiceImpl, method: string, output: unknown): void {
    if (!this.#answered(invocation, id)) return;
    const schemas = service.contract?.methodFor(method);
    if (schemas !== undefined) {
      const check = checkValue(schemas.output, output);
      if (!check.ok) {
        this.#send(
          failure(
            id,
            ErrorCode.INVALID_REPLY,
            describe(`invalid output of ${service.name}.${method}`, check.issues),
          ),
        );
        return;
      }
    }
    let bytes: Uint8Array;
    try {
      // The value as returned (the schema's input form) travels; the caller parses it again.
      bytes = encodePayload(output);
    } catch {
      this.#send(
        failure(
          id,
          ErrorCode.INVALID_REPLY,
          `the output of ${service.name}.${method} cannot be encoded as MessagePack`,
        ),
      );
      return;
    }
    try {
      this.#host.send({ t: 'ret', id }, bytes);
    } catch (error) {
      // Too large for a frame: the caller learns why instead of waiting for its deadline.
      this.#send(RemoteError.toFail(id, error));
    }
  }

  /** Takes `id` out of the running calls; false if it was aborted meanwhile (nobody wants the answer). */
  #answered(invocation: Invocation, id: number): boolean {
    if (this.#invocations.get(id) !== invocation) return false;
    this.#invocations.delete(id);
    return true;
  }

  #fail(id: number, code: string, msg: string): void {
    this.#send(failure(id, code, msg));
  }

  #send(message: ReturnMessage | FailMessage, payload?: Uint8Array): void {
    try {
      this.#host.send(message, payload);
    } catch (error) {
      // Only a `fail` whose message is too long can get here: the caller gets a short one instead.
      if (message.t === 'fail' && isChorusError(error)) {
        this.#host.send(failure(message.id, message.code, 'the error message was too long to send'));
      }
    }
  }
}

const ABORT_TEXT: Readonly<Record<string, string>> = {
  cancelled: 'the caller cancelled the call',
  timeout: "the caller's deadline passed",
  'caller-left': 'the caller disconnected',
};

function failure(id: number, code: string, msg: string): FailMessage {
  return { t: 'fail', id, code, msg };
}

function describe(prefix: string, issues: readonly { path: (string | number)[]; message: string }[]): string {
  const first = issues[0];
  if (first === undefined) return prefix;
  return `${prefix}: ${first.message}${first.path.length > 0 ? ` at ${first.path.join('.')}` : ''}`;
}
