import { readFile } from 'node:fs/promises';
import { type EngineLimits, defaultLimits as engineDefaults } from '@chorus/core';
import { DEFAULT_MAX_FRAME_BYTES } from '@chorus/protocol';
import { z } from 'zod';
import { isLogLevel, type LogLevel } from './logger.js';

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
  /** Method calls one connection may have waiting for a reply. */
  readonly maxPendingCalls: number;
  /** Bytes a transport may hold unwritten before the daemon stops taking from the connection's queue. */
  readonly maxSocketBufferBytes: number;
}

export const defaultDaemonLimits: DaemonLimits = Object.freeze({
  ...engineDefaults,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, // 1 MiB
  helloTimeoutMs: 5_000, // 5 s
  shutdownTimeoutMs: 2_000, // 2 s
  maxSocketBufferBytes: 256 * 1024, // 256 KiB
  maxPendingCalls: 1024,
  wsPingIntervalMs: 30_000, // 30 s
});

const positiveInt = z.number().int().positive();
const limitsSchema = z.strictObject(
  Object.fromEntries(Object.keys(defaultDaemonLimits).map((key) => [key, positiveInt.optional()])) as Record<
    keyof DaemonLimits,
    z.ZodOptional<typeof positiveInt>
  >,
);

export const configSchema = z.strictObject({
  socket: z.string().min(1).optional(),
  logLevel: z.string().refine(isLogLevel, { message: 'one of debug, info, warn, error, silent' }).optional(),
  limits: limitsSchema.optional(),
  ws: z
    .strictObject({
      /** `HOST:PORT`, or false for no WebSocket listener. */
      listen: z.union([z.string().min(1), z.literal(false)]).optional(),
      tokenFile: z.string().min(1).optional(),
      allowedOrigins: z.array(z.string().url()).optional(),
    })
    .optional(),
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
    throw new ConfigError(`${file}: not valid JSON: ${(cause as Error).message}`, { cause });
  }
  const result = configSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path.join('.');
      const extra = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
      return `${key === '' ? '(top level)' : key}: ${issue.message}${extra}`;
    });
    throw new ConfigError(`${file}: ${problems.join('; ')}`);
  }
  return result.data;
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
