// Shared by the engine tests; excluded from the build (see tsconfig.json).
import { expect } from 'vitest';
import type { Accepted, ConnectionId, EngineHooks, Message, OutboundItem } from './engine.js';
import { EngineError, type EngineErrorCode } from './errors.js';

export type HookCall =
  | { readonly hook: 'readable'; readonly connection: ConnectionId }
  | { readonly hook: 'evicted'; readonly connection: ConnectionId }
  | { readonly hook: 'settled'; readonly sender: ConnectionId; readonly outcome: Accepted | EngineError };

/** A hand-written `EngineHooks` that records every call in order; `onEvicted` lets a test keep a model in step. */
export class RecordingHooks implements EngineHooks {
  readonly calls: HookCall[] = [];
  onEvicted: ((connection: ConnectionId) => void) | undefined;
  onSettled: ((sender: ConnectionId, outcome: Accepted | EngineError) => void) | undefined;

  readable(connection: ConnectionId): void {
    this.calls.push({ hook: 'readable', connection });
  }

  evicted(connection: ConnectionId): void {
    this.calls.push({ hook: 'evicted', connection });
    this.onEvicted?.(connection);
  }

  settled(sender: ConnectionId, outcome: Accepted | EngineError): void {
    this.calls.push({ hook: 'settled', sender, outcome });
    this.onSettled?.(sender, outcome);
  }

  get evictedIds(): ConnectionId[] {
    return this.calls.flatMap((c) => (c.hook === 'evicted' ? [c.connection] : []));
  }

  get settledCalls(): { sender: ConnectionId; outcome: Accepted | EngineError }[] {
    return this.calls.flatMap((c) =>
      c.hook === 'settled' ? [{ sender: c.sender, outcome: c.outcome }] : [],
    );
  }
}

/** Runs `fn`, expects it to throw an `EngineError` with `code`, and returns the error. */
export function expectCode(fn: () => unknown, code: EngineErrorCode): EngineError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(EngineError);
  expect((thrown as EngineError).code).toBe(code);
  return thrown as EngineError;
}

export function isSignal<TPayload>(item: OutboundItem<TPayload>): item is Message<TPayload> {
  return item.kind === 'signal';
}

/** The signals among `items`. */
export function signalsOf<TPayload>(items: readonly OutboundItem<TPayload>[]): Message<TPayload>[] {
  return items.filter(isSignal);
}
