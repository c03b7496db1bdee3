/*
 * The messages between the bench process and its subscriber processes (Node IPC, structured
 * clone, so latency samples travel as a Float64Array).
 */

import type { SystemId } from './systems/system.js';

export type ToSubscriber =
  | {
      readonly op: 'open';
      readonly run: number;
      readonly system: SystemId;
      readonly address: string;
      /** One entry per connection: the topics it subscribes to (none: an idle connection). */
      readonly connections: readonly (readonly string[])[];
      /** Keep every emit→receive latency. */
      readonly latency: boolean;
    }
  /** Serve the echo service of the method-call workload (answered with `opened`). */
  | { readonly op: 'serve'; readonly run: number; readonly system: SystemId; readonly address: string }
  /** Chorus only: each connection joins these groups by name (memberships for the scale test). */
  | { readonly op: 'join'; readonly run: number; readonly groups: readonly (readonly string[])[] }
  /** How many messages each topic carried in all; the subscriber answers `done` once it has them. */
  | { readonly op: 'expect'; readonly run: number; readonly counts: Readonly<Record<string, number>> }
  /** Answer `done` now with what arrived so far (the wait timed out). */
  | { readonly op: 'report'; readonly run: number }
  | { readonly op: 'close'; readonly run: number };

export interface StreamResult {
  readonly topic: string;
  readonly received: number;
  /** Messages out of order, repeated, missing before a later one, or with a wrong group sequence. */
  readonly errors: number;
  readonly firstError: string | undefined;
  /** When the last message arrived (µs, clock.ts). */
  readonly lastAt: number;
}

export interface SubscriberResult {
  readonly streams: readonly StreamResult[];
  /** Emit→receive latencies in µs, when asked for. */
  readonly latencies: Float64Array | undefined;
}

export type FromSubscriber =
  | { readonly op: 'opened'; readonly run: number }
  | { readonly op: 'joined'; readonly run: number }
  | { readonly op: 'failed'; readonly run: number; readonly error: string }
  /** The fewest messages any of this process's subscribers has received, by topic. */
  | { readonly op: 'progress'; readonly run: number; readonly min: Readonly<Record<string, number>> }
  | { readonly op: 'done'; readonly run: number; readonly result: SubscriberResult }
  | { readonly op: 'closed'; readonly run: number };
