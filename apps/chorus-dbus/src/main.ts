#!/usr/bin/env node
/*
 * chorus-dbus: argv, config file, signals. Everything else is in bridge.ts and codegen.ts.
 *
 *   chorus-dbus [--dbus session|system|ADDRESS] [--address CHORUS] [--import NAME[:/path,…]]… [--export GROUP]…
 *               [--prefix P] [--config FILE] [--log-level L]
 *   chorus-dbus codegen (--xml FILE | --dbus BUS --service NAME --path PATH) [--interface I]… [--prefix P]
 */

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startBridge } from './bridge.js';
import { generateModule } from './codegen.js';
import { type ConfigFile, loadConfig, resolveSettings } from './config.js';
import { introspect, openDBus } from './dbus-connection.js';
import { BridgeError } from './errors.js';
import { createLog } from './log.js';
import { defaultPrefix } from './naming.js';

const USAGE = `Usage: chorus-dbus [--dbus session|system|ADDRESS] [--address CHORUS_ADDRESS]
                   [--import NAME[:/path,/path]]... [--export GROUP]... [--prefix PREFIX] [--config FILE]
                   [--log-level debug|info|warn|error|silent]
       chorus-dbus codegen (--xml FILE | --service NAME --path PATH [--dbus BUS])
                   [--interface NAME]... [--prefix PREFIX]

Bridges D-Bus and a Chorus bus: each imported D-Bus service's objects become typed Chorus groups;
each exported Chorus group becomes a D-Bus object (name, interface, signals, methods).
codegen prints a TypeScript module with the Chorus contract of each interface.
`;

async function bridge(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dbus: { type: 'string' },
      address: { type: 'string' },
      import: { type: 'string', multiple: true },
      export: { type: 'string', multiple: true },
      prefix: { type: 'string' },
      config: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const config: ConfigFile | undefined =
    values.config === undefined ? undefined : await loadConfig(values.config);
  const settings = resolveSettings(config, {
    dbus: values.dbus,
    chorus: values.address,
    prefix: values.prefix,
    logLevel: values['log-level'],
    import: values.import,
    export: values.export,
  });
  const log = createLog(settings.logLevel);
  const running = await startBridge(settings, log);
  // The line tests and scripts wait for: every import's groups exist, every export present is on D-Bus.
  process.stdout.write(`CHORUS_DBUS_READY=${running.imports.flatMap((i) => i.groups()).join(',')}\n`);
  const stop = () => {
    void running.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function codegen(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      xml: { type: 'string' },
      dbus: { type: 'string' },
      service: { type: 'string' },
      path: { type: 'string' },
      interface: { type: 'string', multiple: true },
      prefix: { type: 'string' },
    },
  });
  let xml: string;
  const service = values.service ?? 'org.example.Service';
  const path = values.path ?? '/';
  if (values.xml !== undefined) {
    xml = await readFile(values.xml, 'utf8');
  } else {
    if (values.service === undefined || values.path === undefined) {
      throw new BridgeError('CONFIG_INVALID', 'codegen needs --xml FILE, or --service NAME and --path PATH');
    }
    const dbus = await openDBus(values.dbus ?? 'session');
    try {
      xml = await introspect(dbus, service, path);
    } finally {
      dbus.disconnect();
    }
  }
  process.stdout.write(
    generateModule(xml, {
      service,
      path,
      prefix: values.prefix ?? defaultPrefix(values.dbus ?? 'session'),
      interfaces: values.interface,
    }),
  );
}

try {
  const [first, ...rest] = process.argv.slice(2);
  if (first === 'codegen') await codegen(rest);
  else await bridge(process.argv.slice(2));
} catch (error) {
  const code = (error as { code?: string }).code ?? (error as Error).name;
  process.stderr.write(`chorus-dbus: ${code}: ${(error as Error).message}\n`);
  process.exit(error instanceof BridgeError || String(code).startsWith('ERR_PARSE_ARGS') ? 2 : 1);
}
