/*
 * The bridge: one D-Bus connection, one Chorus connection, the imports between them.
 * main.ts turns argv and the config into BridgeSettings and calls startBridge.
 */

import { type Bus, BusContract, connect } from '@chorus/client';
import type { BridgeSettings } from './config.js';
import { type MessageBus, openDBus } from './dbus-connection.js';
import { ExportTable, GroupExport } from './exporter.js';
import { ServiceImport } from './importer.js';
import type { Log } from './log.js';

export interface Bridge {
  readonly dbus: MessageBus;
  readonly chorus: Bus;
  readonly imports: readonly ServiceImport[];
  readonly exports: readonly GroupExport[];
  close(): Promise<void>;
}

/**
 * Connects to both buses and starts every import. Resolves once each imported service's groups
 * exist (or, for a service that is not running, once its absence is known).
 *
 * @example
 * const bridge = await startBridge(resolveSettings(undefined, { dbus: 'system', import: ['org.freedesktop.UPower'] }), log);
 */
export async function startBridge(settings: BridgeSettings, log: Log): Promise<Bridge> {
  const dbus = await openDBus(settings.dbus);
  const chorus = await connect(settings.chorus === undefined ? {} : { address: settings.chorus });
  const imports = settings.imports.map(
    (entry) =>
      new ServiceImport(
        dbus,
        chorus,
        {
          service: entry.service,
          paths: entry.paths,
          prefix: settings.prefix,
          maxObjects: settings.maxObjects,
          maxQueuedMessages: settings.maxQueuedMessages,
          maxPendingEmits: settings.maxPendingEmits,
        },
        log,
      ),
  );
  const exports = await startExports(dbus, chorus, settings, log);
  for (const one of imports) await one.start();
  log('info', 'ready', {
    dbus: settings.dbus,
    dbusName: dbus.name,
    chorus: chorus.name,
    imports: imports.map((i) => i.service),
    exports: exports.exports.map((e) => e.options.group),
  });
  return {
    dbus,
    chorus,
    imports,
    exports: exports.exports,
    async close() {
      for (const one of imports) await one.close();
      await exports.close();
      await chorus.close();
      dbus.disconnect();
    },
  };
}

/**
 * Starts every export: watches the Chorus names' owners (NameOwnerChanged of org.chorus.Bus,
 * joined before asking GetNameOwner, so an owner that comes in between is seen either way) and
 * resolves once each export present at start is on D-Bus.
 */
async function startExports(
  dbus: MessageBus,
  chorus: Bus,
  settings: BridgeSettings,
  log: Log,
): Promise<{ exports: GroupExport[]; close(): Promise<void> }> {
  if (settings.exports.length === 0) return { exports: [], close: async () => {} };
  const table = new ExportTable(dbus);
  const calls = { pending: 0, max: settings.maxPendingCalls };
  const exports = settings.exports.map((entry) => {
    const one = new GroupExport(
      dbus,
      chorus,
      {
        group: entry.group,
        dbusName: entry.dbusName,
        path: entry.path,
        iface: entry.iface,
        types: entry.types,
      },
      calls,
      log,
    );
    table.add(one);
    return one;
  });
  const byName = new Map(exports.map((e) => [e.options.group, e]));
  const watch = await chorus.join(BusContract, {
    filter: exports.map((e) => ({ signal: 'NameOwnerChanged' as const, fields: { name: e.options.group } })),
  });
  watch.on('NameOwnerChanged', ({ name, newOwner }) => {
    void byName.get(name)?.ownerIs(newOwner);
  });
  await Promise.all(exports.map(async (one) => one.ownerIs(await chorus.getNameOwner(one.options.group))));
  await Promise.all(exports.map((one) => one.idle()));
  return {
    exports,
    async close() {
      await watch.leave().catch(() => {});
      for (const one of exports) await one.close();
      table.close();
    },
  };
}
