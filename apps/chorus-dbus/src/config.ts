/*
 * The bridge's config file (JSON) and flags, with chorusd's conventions: every key is optional,
 * unknown keys are errors, and an error names the key and its line.
 */

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BridgeError, BridgeErrorCode } from './errors.js';
import { isLogLevel, type LogLevel } from './log.js';
import { defaultPrefix } from './naming.js';

const objectPath = z.string().regex(/^\/$|^(\/[A-Za-z0-9_]+)+$/, 'an object path like /org/example/Thing');
const busName = z
  .string()
  .regex(/^[A-Za-z_-][A-Za-z0-9_-]*(\.[A-Za-z_-][A-Za-z0-9_-]*)+$/, 'a name like org.example.Thing');

const groupNameSchema = z
  .string()
  .regex(
    /^[A-Za-z_-][A-Za-z0-9_-]*(\.[A-Za-z_-][A-Za-z0-9_-]*)*$/,
    'a Chorus group name like org.example.Player',
  );
const interfaceName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/, 'an interface name like org.example.Player');

export const configSchema = z.strictObject({
  /** `session`, `system` or a D-Bus address (`unix:path=…`). */
  dbus: z.string().min(1).optional(),
  /** The Chorus bus address (default: $CHORUS_BUS_ADDRESS, else the default socket). */
  chorus: z.string().min(1).optional(),
  /** The group-name prefix of imported objects (default dbus.session or dbus.system). */
  prefix: z
    .string()
    .regex(/^[A-Za-z_-][A-Za-z0-9_-]*(\.[A-Za-z_-][A-Za-z0-9_-]*)*$/, 'dot-separated elements')
    .optional(),
  logLevel: z.string().refine(isLogLevel, { message: 'one of debug, info, warn, error, silent' }).optional(),
  /** D-Bus services to import: a name (every object), or the name and the object paths. */
  import: z
    .array(
      z.union([busName, z.strictObject({ service: busName, paths: z.array(objectPath).min(1).optional() })]),
    )
    .optional(),
  /** Chorus groups to export to D-Bus: a group name, or the group with its D-Bus names and types. */
  export: z
    .array(
      z.union([
        groupNameSchema,
        z.strictObject({
          group: groupNameSchema,
          /** The D-Bus well-known name (default: the group name). */
          name: busName.optional(),
          /** The object path (default: / and the group name's elements). */
          path: objectPath.optional(),
          /** The interface name (default: the group name). */
          interface: interfaceName.optional(),
          /** Field → D-Bus signature, where the schema does not fix one (README: the annotations). */
          types: z.record(z.string(), z.string()).optional(),
        }),
      ]),
    )
    .optional(),
  limits: z
    .strictObject({
      maxObjects: z.number().int().positive().optional(),
      maxQueuedMessages: z.number().int().positive().optional(),
      maxPendingEmits: z.number().int().positive().optional(),
      maxPendingCalls: z.number().int().positive().optional(),
    })
    .optional(),
});

export type ConfigFile = z.infer<typeof configSchema>;

/** Everything the bridge needs, config and flags merged. */
export interface BridgeSettings {
  readonly dbus: string;
  readonly chorus: string | undefined;
  readonly prefix: string;
  readonly logLevel: LogLevel;
  readonly imports: readonly { service: string; paths?: readonly string[] | undefined }[];
  readonly exports: readonly ExportSettings[];
  readonly maxObjects: number;
  readonly maxQueuedMessages: number;
  readonly maxPendingEmits: number;
  readonly maxPendingCalls: number;
}

export interface ExportSettings {
  readonly group: string;
  readonly dbusName: string;
  readonly path: string;
  readonly iface: string;
  readonly types: Readonly<Record<string, string>>;
}

export const defaultLimits = {
  maxObjects: 256, // objects introspected per service
  maxQueuedMessages: 4096, // D-Bus messages per imported service waiting to become emits
  maxPendingEmits: 1024, // emits per imported service sent and not yet answered
  maxPendingCalls: 256, // D-Bus calls to exported groups in progress at once
} as const;

export function parseConfig(text: string, file: string): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new BridgeError(
      BridgeErrorCode.CONFIG_INVALID,
      `${file}: not valid JSON: ${(cause as Error).message}`,
      { cause },
    );
  }
  const result = configSchema.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join('.');
    const extra = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
    const keys = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] as string] : issue.path;
    const line = lineOf(text, keys);
    return `${key === '' ? '(top level)' : key}${line === undefined ? '' : ` (line ${line})`}: ${issue.message}${extra}`;
  });
  throw new BridgeError(BridgeErrorCode.CONFIG_INVALID, `${file}: ${problems.join('; ')}`);
}

export async function loadConfig(file: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new BridgeError(
      BridgeErrorCode.CONFIG_INVALID,
      `${file}: cannot read: ${(cause as Error).message}`,
      { cause },
    );
  }
  return parseConfig(text, file);
}

export interface Flags {
  readonly dbus?: string | undefined;
  readonly chorus?: string | undefined;
  readonly prefix?: string | undefined;
  readonly logLevel?: string | undefined;
  readonly import?: readonly string[] | undefined;
  readonly export?: readonly string[] | undefined;
}

/** Flags win over the config file; `--import` services are added to the config's. */
export function resolveSettings(config: ConfigFile | undefined, flags: Flags): BridgeSettings {
  const dbus = flags.dbus ?? config?.dbus ?? 'session';
  const logLevel = flags.logLevel ?? config?.logLevel ?? 'info';
  if (!isLogLevel(logLevel))
    throw new BridgeError(BridgeErrorCode.CONFIG_INVALID, `unknown log level '${logLevel}'`);
  const imports = [
    ...(config?.import ?? []).map((entry) => (typeof entry === 'string' ? { service: entry } : entry)),
    ...(flags.import ?? []).map((service) => parseImportFlag(service)),
  ];
  const prefix = flags.prefix ?? config?.prefix ?? defaultPrefix(dbus);
  const exports = [
    ...(config?.export ?? []),
    ...(flags.export ?? []).map((group) => checkGroupFlag(group)),
  ].map((entry) => exportSettings(typeof entry === 'string' ? { group: entry } : entry));
  checkNoLoop(prefix, imports, exports);
  const limits = config?.limits;
  return {
    dbus,
    chorus: flags.chorus ?? config?.chorus,
    prefix,
    logLevel,
    imports,
    exports,
    maxObjects: limits?.maxObjects ?? defaultLimits.maxObjects,
    maxQueuedMessages: limits?.maxQueuedMessages ?? defaultLimits.maxQueuedMessages,
    maxPendingEmits: limits?.maxPendingEmits ?? defaultLimits.maxPendingEmits,
    maxPendingCalls: limits?.maxPendingCalls ?? defaultLimits.maxPendingCalls,
  };
}

function checkGroupFlag(group: string): string {
  if (!groupNameSchema.safeParse(group).success) {
    throw new BridgeError(BridgeErrorCode.CONFIG_INVALID, `--export ${group}: not a Chorus group name`);
  }
  return group;
}

/**
 * An export's D-Bus names: the group name as the well-known name and interface (a `-` becomes
 * `_`, which interface names do not allow), `/` + its elements as the path.
 */
export function exportSettings(entry: {
  group: string;
  name?: string | undefined;
  path?: string | undefined;
  interface?: string | undefined;
  types?: Record<string, string> | undefined;
}): ExportSettings {
  const elements = entry.group.split('.').map((e) => (/^[0-9]/.test(e) ? `_${e}` : e));
  const dbusName = entry.name ?? elements.join('.');
  const iface = entry.interface ?? elements.map((e) => e.replace(/-/g, '_')).join('.');
  const path = entry.path ?? `/${elements.map((e) => e.replace(/-/g, '_')).join('/')}`;
  if (!busName.safeParse(dbusName).success || !interfaceName.safeParse(iface).success) {
    throw new BridgeError(
      BridgeErrorCode.CONFIG_INVALID,
      `export ${entry.group}: '${dbusName}' is not a D-Bus name with two elements or more: give "name" and "interface" in the config`,
    );
  }
  return { group: entry.group, dbusName, path, iface, types: entry.types ?? {} };
}

/**
 * [GUARANTEE: dbus-no-loop] the configuration cannot make a loop: no group under the import
 * prefix is exported, and no D-Bus name the bridge exports is imported.
 */
function checkNoLoop(
  prefix: string,
  imports: readonly { service: string }[],
  exports: readonly ExportSettings[],
): void {
  for (const one of exports) {
    if (one.group === prefix || one.group.startsWith(`${prefix}.`)) {
      throw new BridgeError(
        BridgeErrorCode.CONFIG_INVALID,
        `export ${one.group}: it is under the import prefix '${prefix}' (an imported D-Bus object): exporting it back would make a loop`,
      );
    }
    if (imports.some((i) => i.service === one.dbusName)) {
      throw new BridgeError(
        BridgeErrorCode.CONFIG_INVALID,
        `import ${one.dbusName}: the bridge owns this D-Bus name itself (it exports ${one.group}): importing it would make a loop`,
      );
    }
  }
}

/** `--import NAME` or `--import NAME:/path,/other/path`. */
function parseImportFlag(flag: string): { service: string; paths?: string[] } {
  const [service, paths] = flag.split(':', 2) as [string, string | undefined];
  if (!busName.safeParse(service).success) {
    throw new BridgeError(
      BridgeErrorCode.CONFIG_INVALID,
      `--import ${flag}: '${service}' is not a D-Bus service name`,
    );
  }
  if (paths === undefined) return { service };
  const list = paths.split(',');
  for (const path of list) {
    if (!objectPath.safeParse(path).success) {
      throw new BridgeError(
        BridgeErrorCode.CONFIG_INVALID,
        `--import ${flag}: '${path}' is not an object path`,
      );
    }
  }
  return { service, paths: list };
}

/**
 * The line where the value at `path` starts, found by walking the keys in order through the
 * text (as chorusd's config.ts does): good enough to point a person at the right place.
 */
function lineOf(text: string, path: readonly PropertyKey[]): number | undefined {
  let at = 0;
  for (const segment of path) {
    if (typeof segment === 'number') {
      let depth = 0;
      let index = -1;
      const open = text.indexOf('[', at);
      if (open === -1) return undefined;
      for (let i = open + 1; i < text.length; i++) {
        const c = text[i];
        if (c === '[' || c === '{' || c === '"') {
          if (depth === 0 && ++index === segment) {
            at = i;
            break;
          }
          if (c === '"') i = text.indexOf('"', i + 1);
          else depth++;
        } else if (c === ']' || c === '}') {
          if (depth === 0) return undefined;
          depth--;
        }
      }
      if (index !== segment) return undefined;
    } else {
      const found = text.indexOf(JSON.stringify(String(segment)), at);
      if (found === -1) break;
      at = found;
    }
  }
  return text.slice(0, at).split('\n').length;
}
