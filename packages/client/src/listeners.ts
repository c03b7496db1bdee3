/*
 * A set of event handlers where one throwing handler cannot break delivery to the others, nor
 * the read loop that called it; and a typed emitter of several named events built on it.
 */

import { InvalidArgumentError } from './errors.js';

/** Handlers of one event. `emit` calls them in registration order. */
export class Listeners<TArgs extends unknown[]> {
  // Copy-on-write: add/remove replace the array, so emit iterates a snapshot without copying it
  // (it runs once per delivered signal) and handlers added or removed meanwhile take effect from
  // the next emit.
  #entries: readonly { readonly handler: (...args: TArgs) => void }[] = [];

  get size(): number {
    return this.#entries.length;
  }

  /** Adds `handler`; returns the function that removes it. */
  add(handler: (...args: TArgs) => void): () => void {
    // An entry per registration, so registering the same function twice calls it twice and each
    // returned remover removes exactly its own registration.
    const entry = { handler };
    this.#entries = [...this.#entries, entry];
    return () => {
      this.#entries = this.#entries.filter((other) => other !== entry);
    };
  }

  emit(...args: TArgs): void {
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i++) {
      try {
        (entries[i] as (typeof entries)[number]).handler(...args);
      } catch (error) {
        // As EventTarget does: the error surfaces as an uncaught exception, delivery goes on.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

/**
 * Named events, each with its own `Listeners`: `TEvents` maps an event's name to its handler's
 * arguments, so `on` and `emit` are typed once, by the map, instead of once per event.
 */
export class Emitter<TEvents extends { [TEvent in keyof TEvents]: unknown[] }> {
  readonly #kind: string;
  readonly #events = new Map<keyof TEvents, Listeners<never[]>>();

  /** `kind` names the emitter in the error for an unknown event ("unknown bus event 'x'"). */
  constructor(kind: string, events: readonly (keyof TEvents)[]) {
    this.#kind = kind;
    for (const event of events) this.#events.set(event, new Listeners());
  }

  /** Adds `handler` for `event`; returns the function that removes it. */
  on<TEvent extends keyof TEvents>(event: TEvent, handler: (...args: TEvents[TEvent]) => void): () => void {
    const listeners = this.#events.get(event);
    if (listeners === undefined) {
      throw new InvalidArgumentError(`unknown ${this.#kind} event '${String(event)}'`);
    }
    return (listeners as unknown as Listeners<TEvents[TEvent]>).add(handler);
  }

  /** Whether `event` has a handler. */
  has(event: keyof TEvents): boolean {
    return (this.#events.get(event)?.size ?? 0) > 0;
  }

  emit<TEvent extends keyof TEvents>(event: TEvent, ...args: TEvents[TEvent]): void {
    (this.#events.get(event) as unknown as Listeners<TEvents[TEvent]> | undefined)?.emit(...args);
  }
}
