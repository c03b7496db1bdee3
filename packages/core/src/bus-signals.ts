import { BUS_CONNECTION, type ConnectionId, type Message, uniqueName } from './message.js';
import { BUS_NAME, type OwnerChange } from './name-registry.js';
import type { Connection } from './records.js';

/*
 * The signals the bus emits itself, on its own group `org.chorus.Bus`, from BUS_CONNECTION. The
 * engine sequences and queues them like any message (see Engine's #busSignal), so they are in
 * order with all other traffic; this module says what they are.
 */

/** Sends one bus signal: to the group's members (filters apply), or only to `to`. */
export type BusSignalSend<TPayload> = (
  signal: string,
  value: Record<string, unknown>,
  to?: Connection<TPayload>,
) => void;

/** Turns name owner changes into the bus's signals, in the order D-Bus sends them. */
export function announce<TPayload>(
  changes: readonly OwnerChange[],
  connections: ReadonlyMap<ConnectionId, Connection<TPayload>>,
  send: BusSignalSend<TPayload>,
): void {
  // [GUARANTEE: causal-order] sequenced: no one sees a new owner's signal before the change.
  for (const { name, oldOwner, newOwner } of changes) {
    const lost = oldOwner === undefined ? undefined : connections.get(oldOwner);
    const acquired = newOwner === undefined ? undefined : connections.get(newOwner);
    if (lost !== undefined) send('NameLost', { name }, lost);
    send('NameOwnerChanged', {
      name,
      oldOwner: oldOwner === undefined ? null : uniqueName(oldOwner),
      newOwner: newOwner === undefined ? null : uniqueName(newOwner),
    });
    if (acquired !== undefined) send('NameAcquired', { name }, acquired);
  }
}

/**
 * A message from the bus itself. `groupSeq` is 0 for a signal directed to one connection: it is
 * not part of the group's stream, and members must see no gap for it.
 */
export function busMessage<TPayload>(
  seq: number,
  groupSeq: number,
  signal: string,
  payload: TPayload,
  size: number,
): Message<TPayload> {
  return {
    kind: 'signal',
    seq,
    groupSeq,
    group: BUS_NAME,
    signal,
    sender: BUS_CONNECTION,
    payload,
    size,
    retained: false,
    tag: undefined,
    wire: undefined,
  };
}
