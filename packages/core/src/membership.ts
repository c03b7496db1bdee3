import { LimitExceededError } from './errors.js';
import { anyFilterMatches, type Filter, type LazyFields } from './filter.js';
import type { ConnectionId } from './message.js';
import { assertSignalName, signalNameProblem } from './names.js';
import type { EngineLimits } from './options.js';
import type { Connection, Group, Membership } from './records.js';

/*
 * Memberships and the index that finds a message's recipients without looking at every member
 * (the invariant is drawn in records.ts): a membership without filters is in `group.open`; one
 * with filters is in `group.wildcard` if a filter names no signal, and in `group.bySignal.get(s)`
 * for each signal `s` its filters name. Empty `bySignal` sets are deleted.
 */

export interface JoinSpec {
  readonly group: string;
  readonly filters?: readonly Filter[];
}

export interface JoinResult {
  readonly group: string;
  /** The first bus sequence number this membership can receive (live messages). */
  readonly startSeq: number;
  /** The first group sequence number this membership can receive. */
  readonly startGroupSeq: number;
  /** Retained values queued to the joiner ahead of any live message. */
  readonly retained: number;
}

/** Refuses filters past the limits, or naming an invalid signal, before anything is linked. */
export function checkFilters(filters: readonly Filter[], limits: EngineLimits): void {
  if (filters.length > limits.maxFiltersPerMembership) {
    throw new LimitExceededError('maxFiltersPerMembership', limits.maxFiltersPerMembership);
  }
  for (const filter of filters) {
    if (filter.signal !== undefined && signalNameProblem(filter.signal) !== undefined) {
      assertSignalName(filter.signal);
    }
    if (filter.fields !== undefined && Object.keys(filter.fields).length > limits.maxFieldsPerFilter) {
      throw new LimitExceededError('maxFieldsPerFilter', limits.maxFieldsPerFilter);
    }
  }
}

/** Makes `connection` a member of `group`: linked both ways and indexed. */
export function link<TPayload>(
  connection: Connection<TPayload>,
  group: Group<TPayload>,
  filters: readonly Filter[],
): Membership<TPayload> {
  const membership: Membership<TPayload> = { connection, group, filters: Object.freeze([...filters]) };
  group.members.set(connection.id, membership);
  connection.memberships.set(group.name, membership);
  if (filters.length === 0) {
    group.open.add(membership);
    return membership;
  }
  for (const filter of filters) {
    if (filter.signal === undefined) {
      group.wildcard.add(membership);
    } else {
      let set = group.bySignal.get(filter.signal);
      if (set === undefined) {
        set = new Set();
        group.bySignal.set(filter.signal, set);
      }
      set.add(membership);
    }
  }
  return membership;
}

/** Undoes `link`: out of both maps and out of the index. */
export function unlink<TPayload>(membership: Membership<TPayload>): void {
  const { group, connection, filters } = membership;
  group.members.delete(connection.id);
  connection.memberships.delete(group.name);
  group.open.delete(membership);
  group.wildcard.delete(membership);
  for (const filter of filters) {
    if (filter.signal === undefined) continue;
    const set = group.bySignal.get(filter.signal);
    if (set === undefined) continue;
    set.delete(membership);
    if (set.size === 0) group.bySignal.delete(filter.signal);
  }
}

/**
 * The exact recipient set of one message. Cost grows with the members checked, not the bus.
 * `stamp` is new for each call: a connection already taken carries it, so none is taken twice.
 */
export function recipients<TPayload>(
  group: Group<TPayload>,
  sender: ConnectionId,
  signal: string,
  fields: LazyFields,
  stamp: number,
): Connection<TPayload>[] {
  const skipSender = !group.options.loopback;
  const out: Connection<TPayload>[] = [];
  for (const membership of group.open) {
    const connection = membership.connection;
    if (skipSender && connection.id === sender) continue;
    connection.stamp = stamp;
    out.push(connection);
  }
  // Guarded: iterating even an empty Set costs an iterator, and most groups have no filters.
  if (group.wildcard.size > 0) {
    for (const membership of group.wildcard)
      consider(out, membership, stamp, skipSender, sender, signal, fields);
  }
  const bySignal = group.bySignal.get(signal);
  if (bySignal !== undefined) {
    for (const membership of bySignal) consider(out, membership, stamp, skipSender, sender, signal, fields);
  }
  // Send-to-peer: the owner hears its members without being one (the seed's UNIX_MREQ_SEND_TO_PEER).
  const owner = group.owner;
  if (group.options.sendToPeer && owner.id !== sender && owner.stamp !== stamp && group.members.has(sender)) {
    owner.stamp = stamp;
    out.push(owner);
  }
  return out;
}

/** Adds a filtered member if one of its filters matches and it is not in `out` already. */
function consider<TPayload>(
  out: Connection<TPayload>[],
  membership: Membership<TPayload>,
  stamp: number,
  skipSender: boolean,
  sender: ConnectionId,
  signal: string,
  fields: LazyFields,
): void {
  const connection = membership.connection;
  if (connection.stamp === stamp || (skipSender && connection.id === sender)) return;
  if (!anyFilterMatches(membership.filters, signal, sender, fields)) return;
  connection.stamp = stamp;
  out.push(connection);
}
