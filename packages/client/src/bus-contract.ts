/*
 * The bus's own interface, `org.chorus.Bus`, as a contract: the signals about name ownership and
 * the methods the daemon answers itself. Its schemas are defined once, in @chorus/protocol (the
 * daemon validates and publishes with the same ones); this file only makes them a group contract.
 * The wrappers on Bus (requestName, listGroups, ...) call through it, so the daemon's answers are
 * validated like any service's.
 */

import { BUS_NAME, busMethods, busSignals } from '@chorus/protocol';
import type { z } from 'zod';
import { defineGroup } from './contract.js';

export { BUS_NAME };

/**
 * What `bus.requestName` resolves to (as in D-Bus): the name is now ours, we wait in its queue,
 * someone else owns it (and we did not queue), or we owned it already.
 *
 * @example
 * ```ts
 * const result: NameRequestResult = await bus.requestName('org.example.Battery');
 * ```
 */
export type NameRequestResult = z.output<typeof busMethods.RequestName.output>['result'];

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
export type NameReleaseResult = z.output<typeof busMethods.ReleaseName.output>['result'];

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
export const BusContract = defineGroup(BUS_NAME, { signals: busSignals, methods: busMethods });

/**
 * An entry of `bus.listNames()`.
 *
 * @example
 * ```ts
 * for (const { name, owner, queue } of await bus.listNames()) console.log(name, owner, queue.length);
 * ```
 */
export type NameInfo = z.output<typeof busMethods.ListNames.output>['names'][number];

/**
 * An entry of `bus.listGroups()`.
 *
 * @example
 * ```ts
 * const busy = (await bus.listGroups()).filter((g: GroupInfo) => g.members > 10);
 * ```
 */
export type GroupInfo = z.output<typeof busMethods.ListGroups.output>['groups'][number];

/**
 * An entry of `bus.listConnections()`.
 *
 * @example
 * ```ts
 * const monitors = (await bus.listConnections()).filter((c: ConnectionInfo) => c.monitor);
 * ```
 */
export type ConnectionInfo = z.output<typeof busMethods.ListConnections.output>['connections'][number];

/**
 * What `bus.getStats()` resolves to: counters since the daemon started, in total and per group.
 *
 * @example
 * ```ts
 * const { total, uptimeMs }: BusStats = await bus.getStats();
 * ```
 */
export type BusStats = z.output<typeof busMethods.GetStats.output>;
