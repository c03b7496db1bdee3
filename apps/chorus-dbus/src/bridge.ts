/*
 * The bridge: one D-Bus connection, one Chorus connection, the imports between them.
 * main.ts turns argv and the config into BridgeSettings and calls startBridge.
 */

import { type Bus, connect } from '@chorus/client';
import type { BridgeSettings } from './config.js';
import { type MessageBus, openDBus } from './dbus-connection.js';
import { ServiceImport } from './importer.js';
import type { Log } from './log.js';

export interface Bridge {
  readonly dbus: MessageBus;
  readonly chorus: Bus;
  readonly imports: readonly ServiceImport[];
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
        },
        log,
      ),
  );
  for (const one of imports) await one.start();
  log('info', 'ready', {
    dbus: settings.dbus,
    dbusName: dbus.name,
    chorus: chorus.name,
    imports: imports.map((i) => i.service),
  });
  return {
    dbus,
    chorus,
    imports,
    async close() {
      for (const one of imports) await one.close();
      await chorus.close();
      dbus.disconnect();
    },
  };
}
