import { anyFilterMatches, type Filter, type LazyFields } from './filter.js';
import type { Message } from './message.js';
import type { Group, Retained } from './records.js';

/*
 * Retained values: the last message of each signal of a group with `retain`, replayed to a joiner.
 * `group.retained` is in least-recently-updated order (a Map keeps insertion order, and an update
 * deletes then re-inserts), and `group.retainedBytes` is the sum of its messages' sizes, never
 * over maxRetainedBytesPerGroup.
 */

/** Keeps the last value of each signal; past the byte limit, the least recently updated go. */
export function retain<TPayload>(
  group: Group<TPayload>,
  message: Message<TPayload>,
  fields: LazyFields,
  maxBytes: number,
): void {
  // [GUARANTEE: memory] bounded by maxRetainedBytesPerGroup.
  const previous = group.retained.get(message.signal);
  if (previous !== undefined) {
    group.retained.delete(message.signal);
    group.retainedBytes -= previous.message.size;
  }
  if (message.size > maxBytes) return; // too large to keep; a stale older value must not be replayed either
  for (const [signal, entry] of group.retained) {
    if (group.retainedBytes + message.size <= maxBytes) break;
    group.retained.delete(signal);
    group.retainedBytes -= entry.message.size;
  }
  group.retained.set(message.signal, { message, fields });
  group.retainedBytes += message.size;
}

/** The retained values a joiner with `filters` gets, oldest update first. */
export function replay<TPayload>(group: Group<TPayload>, filters: readonly Filter[]): Retained<TPayload>[] {
  return [...group.retained.values()].filter(
    ({ message, fields }) =>
      filters.length === 0 || anyFilterMatches(filters, message.signal, message.sender, fields),
  );
}
