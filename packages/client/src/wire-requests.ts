/*
 * Builders of what the bus sends: pure functions from the app's options to wire requests, and
 * back from replies to numbers. Kept apart so the first request and the one a reconnection sends
 * again are built by the same code.
 */

import {
  type GroupOptions,
  type Hello,
  type JoinSpec,
  PROTOCOL_VERSION,
  type Reply,
  type Filter as WireFilter,
} from '@chorus/protocol';
import { BUS_NAME, type BusContract } from './bus-contract.js';
import type { RequestNameOptions } from './bus-types.js';
import type { RequestMessage } from './connection.js';
import type { MethodInput } from './contract.js';
import { type CreateGroupOptions, checkGroupOptions, type GroupCreation } from './group.js';

/** What every hello of a bus carries (the first one and each reconnection's). */
export interface HelloFields {
  readonly token?: string | undefined;
  readonly client?: string | undefined;
}

export function helloMessage(fields: HelloFields, join: JoinSpec[]): Hello {
  const message: Hello = { t: 'hello', v: PROTOCOL_VERSION };
  if (join.length > 0) message.join = join;
  if (fields.token !== undefined) message.token = fields.token;
  if (fields.client !== undefined) message.client = fields.client;
  return message;
}

/** The waitForName watch: NameOwnerChanged only. */
export const WATCH_SPEC: JoinSpec = { g: BUS_NAME, f: [{ sig: 'NameOwnerChanged' }] };

export function joinSpec(group: string, filters: WireFilter[] | undefined): JoinSpec {
  return filters === undefined ? { g: group } : { g: group, f: filters };
}

export function createMessage(name: string, { o, schema }: GroupCreation): RequestMessage {
  return {
    t: 'create',
    g: name,
    ...(o === undefined ? {} : { o }),
    ...(schema === undefined ? {} : { schema }),
  };
}

export function monitorMessage(groups: readonly string[] | undefined): RequestMessage {
  return { t: 'monitor', ...(groups === undefined ? {} : { g: [...groups] }) };
}

export function nameRequestInput(
  name: string,
  options: RequestNameOptions,
): MethodInput<typeof BusContract, 'RequestName'> {
  const flags: NonNullable<MethodInput<typeof BusContract, 'RequestName'>['flags']> = {};
  if (options.allowReplacement !== undefined) flags.allowReplacement = options.allowReplacement;
  if (options.replaceExisting !== undefined) flags.replaceExisting = options.replaceExisting;
  if (options.doNotQueue !== undefined) flags.doNotQueue = options.doNotQueue;
  return Object.keys(flags).length === 0 ? { name } : { name, flags };
}

export function groupOptions(options: CreateGroupOptions): GroupOptions | undefined {
  // Only the known keys: an options object may carry anything at runtime.
  checkGroupOptions(options);
  const o: GroupOptions = {};
  if (options.emitters !== undefined) o.emitters = options.emitters;
  if (options.loopback !== undefined) o.loopback = options.loopback;
  if (options.sendToPeer !== undefined) o.sendToPeer = options.sendToPeer;
  if (options.onFull !== undefined) o.onFull = options.onFull;
  if (options.retain !== undefined) o.retain = options.retain;
  if (options.federated !== undefined) o.federated = options.federated;
  if (options.validate !== undefined) o.validate = options.validate;
  return Object.keys(o).length === 0 ? undefined : o;
}

export function resultNumber(reply: Reply, key: string): number {
  const value = reply.r?.[key];
  return typeof value === 'number' ? value : 0;
}

export function optionalNumber(reply: Reply, key: string): number | undefined {
  const value = reply.r?.[key];
  return typeof value === 'number' ? value : undefined;
}

/** A federated join's `ok.r.fseq`: where the membership starts in the stream. */
export function resultFseq(reply: Reply): number | undefined {
  return optionalNumber(reply, 'fseq');
}
