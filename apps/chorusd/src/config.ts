import { readFile } from 'node:fs/promises';
import { type EngineLimits, defaultLimits as engineDefaults } from '@chorus/core';
import { DEFAULT_MAX_FRAME_BYTES } from '@chorus/protocol';
import { z } from 'zod';
import { federationSchema } from './federation/config.js';
import { isLogLevel, type LogLevel } from './logger.js';
import { ACTIONS, defaultRules, Policy, type PolicyRule } from './policy.js';

/** Every knob of the daemon, with units. The engine's own limits are documented in @chorus/core. */
export interface DaemonLimits extends EngineLimits {
  /** Largest frame (header + payload) a client may send or receive, bytes. */
  readonly maxFrameBytes: number;
  /** Time a new connection has to send `hello`, ms. */
  readonly helloTimeoutMs: number;
  /** Time SIGTERM/SIGINT gives queued frames to flush before sockets are cut, ms. */
  readonly shutdownTimeoutMs: number;
  /** Interval of WebSocket pings; a connection that has not answered the previous one is cut, ms. */
  readonly wsPingIntervalMs: number;
  /**
   * Connections one identity (the socket's owner, a token) may have open at once. A WebSocket
   * counts from its upgrade (its token is known then), a Unix-socket connection from its hello.
   */
  readonly maxConnectionsPerIdentity: number;
  /**
   * Connections that have not said hello yet, per WebSocket identity, and on the Unix socket
   * together: nobody can hold every slot with connections that never say hello. (Not lower:
   * a client may open a burst of a hundred connections at once, all waiting for hello.)
   */
  readonly maxHelloPending: number;
  /** Method calls one connection may have waiting for a reply. */
  readonly maxPendingCalls: number;
  /** Bytes a transport may hold unwritten before the daemon stops taking from the connection's queue. */
  readonly maxSocketBufferBytes: number;
  /** Size of a group's schema (`create.schema`) as JSON text, bytes: compiling it costs in proportion. */
  readonly maxSchemaBytes: number;
}

// [GUARANTEE: memory] every knob of the daemon has a finite default; the config takes only positive integers.
export const defaultDaemonLimits: DaemonLimits = Object.freeze({
  ...engineDefaults,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, // 1 MiB
  helloTimeoutMs: 5_000, // 5 s
  shutdownTimeoutMs: 2_000, // 2 s
  maxSocketBufferBytes: 256 * 1024, // 256 KiB
  maxPendingCalls: 1024,
  maxConnectionsPerIdentity: 1024,
  maxHelloPending: 256,
  wsPingIntervalMs: 30_000, // 30 s
  maxSchemaBytes: 256 * 1024, // 256 KiB
});

const positiveInt = z.number().int().positive();
const limitsSchema = z.strictObject(
  Object.fromEntries(Object.keys(defaultDaemonLimits).map((key) => [key, positiveInt.optional()])) as Record<
    keyof DaemonLimits,
    z.ZodOptional<typeof positiveInt>
  >,
);

const identityName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "-", "." (1-64)');
const namePattern = z
  .string()
  .regex(/^(\*\*|\*|[A-Za-z0-9_-]+)(\.(\*\*|\*|[A-Za-z0-9_-]+))*$/, 'a name pattern like org.example.*');

const ruleSchema = z.strictObject({
  effect: z.enum(['allow', 'deny']),
  actions: z.union([z.literal('*'), z.array(z.enum(ACTIONS)).min(1)]),
  identity: z.union([identityName, z.literal('*'), z.array(identityName).min(1)]).optional(),
  transport: z.enum(['unix', 'ws']).optional(),
  name: namePattern.optional(),
});

const tokenSchema = z
  .strictObject({ file: z.string().min(1).optional(), value: z.string().min(16).optional() })
  .refine((t) => (t.file === undefined) !== (t.value === undefined), {
    message: 'give exactly one of file, value',
  });

export const configSchema = z.strictObject({
  socket: z.string().min(1).optional(),
  logLevel: z.string().refine(isLogLevel, { message: 'one of debug, info, warn, error, silent' }).optional(),
  limits: limitsSchema.optional(),
  /** Named tokens: the name is the identity its holder gets in policy rules. */
  tokens: z
    .record(identityName, tokenSchema)
    .refine((t) => !('owner' in t) && !('ws' in t), { message: "'owner' and 'ws' are built-in identities" })
    .optional(),
  policy: z
    .strictObject({
      /** Start from the built-in rules (owner and the default WebSocket token may do everything). */
      includeDefaults: z.boolean().optional(),
      groupsRequireName: z.boolean().optional(),
      rules: z.array(ruleSchema).optional(),
    })
    .optional(),
  ws: z
    .strictObject({
      /** `HOST:PORT`, or false for no WebSocket listener. */
      listen: z.union([z.string().min(1), z.literal(false)]).optional(),
      tokenFile: z.string().min(1).optional(),
      allowedOrigins: z.array(z.string().url()).optional(),
    })
    .optional(),
  /** Federated groups over NATS JetStream (issue 16); `--federation` overrides `servers`. */
  federation: federationSchema.optional(),
});

export type ConfigFile = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Parses and validates a config file's text; errors name the file and the bad key. */
export function parseConfig(text: string, file: string): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const at = /position (\d+)/.exec((cause as Error).message);
    const line = at === null ? '' : ` (line ${text.slice(0, Number(at[1])).split('\n').length})`;
    throw new ConfigError(`${file}: not valid JSON${line}: ${(cause as Error).message}`, { cause });
  }
  const result = configSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path.join('.');
      const line = lineOf(text, issue.path);
      const extra = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
      const where = line === undefined ? '' : ` (line ${line})`;
      return `${key === '' ? '(top level)' : key}${where}: ${issue.message}${extra}`;
    });
    throw new ConfigError(`${file}: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Who may do what: the compiled policy and the named tokens (value → identity). */
export interface Access {
  readonly policy: Policy;
  readonly tokens: ReadonlyMap<string, string>;
}

export async function resolveAccess(config: ConfigFile | undefined): Promise<Access> {
  const tokens = new Map<string, string>();
  for (const [identity, token] of Object.entries(config?.tokens ?? {})) {
    let value = token.value;
    if (token.file !== undefined) {
      try {
        value = (await readFile(token.file, 'utf8')).trim();
      } catch (cause) {
        throw new ConfigError(
          `tokens.${identity}.file: cannot read ${token.file}: ${(cause as Error).message}`,
          {
            cause,
          },
        );
      }
    }
    if (value === undefined || value.length < 16) {
      throw new ConfigError(`tokens.${identity}: a token must be at least 16 characters`);
    }
    if (tokens.has(value)) throw new ConfigError(`tokens.${identity}: the same token is given twice`);
    tokens.set(value, identity);
  }
  const rules: PolicyRule[] = [
    ...(config?.policy?.includeDefaults === false ? [] : defaultRules),
    ...((config?.policy?.rules ?? []) as PolicyRule[]),
  ];
  return {
    policy: new Policy({ rules, groupsRequireName: config?.policy?.groupsRequireName ?? false }),
    tokens,
  };
}

export async function loadConfig(file: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(`${file}: cannot read: ${(cause as Error).message}`, { cause });
  }
  return parseConfig(text, file);
}

export function resolveLimits(config: ConfigFile | undefined): DaemonLimits {
  return Object.freeze({ ...defaultDaemonLimits, ...config?.limits });
}

export function resolveLogLevel(flag: string | undefined, config: ConfigFile | undefined): LogLevel {
  const level = flag ?? config?.logLevel ?? 'info';
  if (!isLogLevel(level)) throw new ConfigError(`unknown log level '${level}'`);
  return level;
}

/**
 * The line where the value at `path` starts, found by walking the keys in order through the
 * text: good enough to point a person at the right place, and never wrong about the key.
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
        if (c === '[' || c === '{') {
          if (depth === 0 && ++index === segment) {
            at = i;
            break;
          }
          depth++;
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
