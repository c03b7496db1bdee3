import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';

/**
 * How a daemon joins a federation: the NATS servers, the JetStream stream that carries its
 * federated groups, and its own id. Without it (no `--federation`, no `federation` key) nothing
 * of the federation exists in the daemon.
 */
export interface FederationConfig {
  /** NATS URLs (`nats://HOST:PORT`); the client fails over between them. */
  readonly servers: readonly string[];
  /** The JetStream stream (and its subjects' first token): daemons on one stream share its groups. */
  readonly stream: string;
  /** Replicas of the stream when this daemon creates it (an existing stream is used as it is). */
  readonly replicas: number;
  /** A NATS credentials file (`.creds`), if the servers require one. */
  readonly credentials: string | undefined;
  /** This daemon's id on the stream: in message ids and in the `from` of its emits elsewhere. */
  readonly daemonId: string;
  /** How long a federated emit or create may wait for JetStream before FEDERATION_UNAVAILABLE, ms. */
  readonly publishTimeoutMs: number;
  /** How long the applier may see the stream ahead of it without progress before re-creating its consumer, ms. */
  readonly stallMs: number;
  /** The most messages one rejoining subscriber is replayed from the stream; past it, a gap. */
  readonly maxReplayMessages: number;
}

export const federationDefaults = Object.freeze({
  stream: 'CHORUS',
  replicas: 1,
  publishTimeoutMs: 10_000, // 10 s
  stallMs: 3_000, // 3 s
  maxReplayMessages: 10_000,
});

const daemonIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_", "-" (1-64): it is part of NATS message ids');

/** The config file's `federation` key. */
export const federationSchema = z.strictObject({
  servers: z.array(z.string().regex(/^(nats|tls):\/\/[^,\s]+$/, 'a nats://HOST:PORT URL')).min(1),
  stream: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, "_", "-" (1-32)')
    .optional(),
  replicas: z.number().int().min(1).max(5).optional(),
  credentials: z.string().min(1).optional(),
  daemonId: daemonIdSchema.optional(),
  publishTimeoutMs: z.number().int().positive().optional(),
  stallMs: z.number().int().positive().optional(),
  maxReplayMessages: z.number().int().positive().optional(),
});

export type FederationFile = z.infer<typeof federationSchema>;

/** `--federation nats://a:4222,nats://b:4222` as the config key's `servers`. */
export function parseServers(flag: string): string[] {
  const servers = flag
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = servers.find((s) => !/^(nats|tls):\/\/[^,\s]+$/.test(s));
  if (servers.length === 0 || bad !== undefined)
    throw new Error(`--federation expects nats://HOST:PORT[,…]; got '${bad ?? flag}'`);
  return servers;
}

/**
 * The federation of this daemon, if any: the flag's servers win over the file's. The default id
 * is the host name plus a hash of the socket path, so that two daemons on one host differ.
 */
export function resolveFederation(
  flag: string | undefined,
  file: FederationFile | undefined,
  socketPath: string,
): FederationConfig | undefined {
  if (flag === undefined && file === undefined) return undefined;
  const servers = flag === undefined ? (file?.servers ?? []) : parseServers(flag);
  const host = hostname()
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .slice(0, 48);
  const hash = createHash('sha256').update(socketPath).digest('hex').slice(0, 8);
  return Object.freeze({
    servers,
    stream: file?.stream ?? federationDefaults.stream,
    replicas: file?.replicas ?? federationDefaults.replicas,
    credentials: file?.credentials,
    daemonId: file?.daemonId ?? `${host}-${hash}`,
    publishTimeoutMs: file?.publishTimeoutMs ?? federationDefaults.publishTimeoutMs,
    stallMs: file?.stallMs ?? federationDefaults.stallMs,
    maxReplayMessages: file?.maxReplayMessages ?? federationDefaults.maxReplayMessages,
  });
}
