/*
 * The bus's own interface, `org.chorus.Bus`, as a contract: the signals about name ownership and
 * the methods the daemon answers itself. The wrappers on Bus (requestName, listGroups, ...) call
 * through it, so the daemon's answers are validated like any service's.
 */

import { z } from 'zod';
import { defineGroup } from './contract.js';

/** The name of the bus's own group and service. */
export const BUS_NAME = 'org.chorus.Bus';

const uniqueName = z.string();

/**
 * What `bus.requestName` resolves to (as in D-Bus): the name is now ours, we wait in its queue,
 * someone else owns it (and we did not queue), or we owned it already.
 *
 * @example
 * ```ts
 * const result: NameRequestResult = await bus.requestName('org.example.Battery');
 * ```
 */
export type NameRequestResult = 'primary-owner' | 'in-queue' | 'exists' | 'already-owner';

/**
 * What `bus.releaseName` resolves to (as in D-Bus): `released` when we owned the name (the next in
 * its queue, if any, takes over) or only waited in its queue (we leave it); `non-existent` when
 * nobody owns it; `not-owner` when it is owned and we neither own it nor wait for it.
 *
 * @example
 * ```ts
 * const result: NameReleaseResult = await bus.releaseName('org.example.Battery');
 * ```
 */
export type NameReleaseResult = 'released' | 'non-existent' | 'not-owner';

const groupOptions = z.object({
  emitters: z.enum(['owner', 'members', 'anyone']).optional(),
  loopback: z.boolean().optional(),
  sendToPeer: z.boolean().optional(),
  onFull: z.enum(['block', 'reject', 'evict']).optional(),
  retain: z.boolean().optional(),
});

const nameInfo = z.object({
  name: z.string(),
  /** Unique name of the primary owner. */
  owner: uniqueName,
  /** Unique names waiting for the name, in order (the owner not included). */
  queue: z.array(uniqueName),
});

// Loose: what the daemon adds beyond the agreed fields (identity, pendingCalls, ...) reaches tools.
const groupInfo = z.looseObject({
  name: z.string(),
  /** Unique name of the owner (`org.chorus.Bus` for the bus's own group). */
  owner: z.string(),
  /** Member count. */
  members: z.number(),
  options: groupOptions,
  /** The contract's JSON Schema as published by `createGroup` (absent or null when none). */
  schema: z.unknown(),
  /** The group's last sequence number. */
  seq: z.number(),
});

const connectionInfo = z.looseObject({
  name: uniqueName,
  /** `unix`, `ws`, ... */
  transport: z.string(),
  /** Groups it is a member of. */
  groups: z.array(z.string()),
  /** Groups it owns. */
  owned: z.array(z.string()),
  /** Well-known names it owns. */
  names: z.array(z.string()),
  /** Bytes queued towards it. */
  queuedBytes: z.number(),
  monitor: z.boolean(),
});

const counters = z.object({ messages: z.number(), deliveries: z.number(), bytes: z.number() });

const stats = z.looseObject({
  total: counters.extend({ evictions: z.number(), errors: z.number() }),
  groups: z.record(z.string(), counters),
  /** Connections open now. */
  connections: z.number(),
  uptimeMs: z.number(),
});

/**
 * The bus's own interface. Join it to watch name ownership; the Bus methods (`requestName`,
 * `listGroups`, ...) call its methods. `NameAcquired`/`NameLost` reach the connection concerned
 * even without a membership: see `bus.on('nameAcquired' | 'nameLost')`.
 *
 * @example
 * ```ts
 * const sub = await bus.join(BusContract, { filter: { signal: 'NameOwnerChanged' } });
 * sub.on('NameOwnerChanged', ({ name, newOwner }) => console.log(name, '→', newOwner));
 * const { names } = await bus.call(BusContract, 'ListNames', {});
 * ```
 */
export const BusContract = defineGroup(BUS_NAME, {
  signals: {
    NameOwnerChanged: z.object({
      name: z.string(),
      oldOwner: uniqueName.nullable(),
      newOwner: uniqueName.nullable(),
    }),
    NameAcquired: z.object({ name: z.string() }),
    NameLost: z.object({ name: z.string() }),
  },
  methods: {
    RequestName: {
      input: z.object({
        name: z.string(),
        flags: z
          .object({
            allowReplacement: z.boolean().optional(),
            replaceExisting: z.boolean().optional(),
            doNotQueue: z.boolean().optional(),
          })
          .optional(),
      }),
      output: z.object({ result: z.enum(['primary-owner', 'in-queue', 'exists', 'already-owner']) }),
    },
    ReleaseName: {
      input: z.object({ name: z.string() }),
      output: z.object({ result: z.enum(['released', 'non-existent', 'not-owner']) }),
    },
    GetNameOwner: {
      input: z.object({ name: z.string() }),
      output: z.object({ owner: uniqueName.nullable() }),
    },
    ListNames: { input: z.object({}), output: z.object({ names: z.array(nameInfo) }) },
    ListGroups: { input: z.object({}), output: z.object({ groups: z.array(groupInfo) }) },
    ListConnections: { input: z.object({}), output: z.object({ connections: z.array(connectionInfo) }) },
    GetGroupSchema: { input: z.object({ group: z.string() }), output: z.object({ schema: z.unknown() }) },
    GetStats: { input: z.object({}), output: stats },
  },
});

/**
 * An entry of `bus.listNames()`.
 *
 * @example
 * ```ts
 * for (const { name, owner, queue } of await bus.listNames()) console.log(name, owner, queue.length);
 * ```
 */
export type NameInfo = z.output<typeof nameInfo>;

/**
 * An entry of `bus.listGroups()`.
 *
 * @example
 * ```ts
 * const busy = (await bus.listGroups()).filter((g: GroupInfo) => g.members > 10);
 * ```
 */
export type GroupInfo = z.output<typeof groupInfo>;

/**
 * An entry of `bus.listConnections()`.
 *
 * @example
 * ```ts
 * const monitors = (await bus.listConnections()).filter((c: ConnectionInfo) => c.monitor);
 * ```
 */
export type ConnectionInfo = z.output<typeof connectionInfo>;

/**
 * What `bus.getStats()` resolves to: counters since the daemon started, in total and per group.
 *
 * @example
 * ```ts
 * const { total, uptimeMs }: BusStats = await bus.getStats();
 * ```
 */
export type BusStats = z.output<typeof stats>;
