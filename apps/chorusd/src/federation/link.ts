import { readFile } from 'node:fs/promises';
import {
  connect,
  credsAuthenticator,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
} from 'nats';
import type { Logger } from '../logger.js';
import type { FederationConfig } from './config.js';

/** JetStream's de-duplication window: a publish retried within it with the same id is not a second message. */
export const DUPLICATE_WINDOW_MS = 120_000;

/**
 * The subjects of one federation's stream: a group's signals on `STREAM.s.GROUP`, its life
 * (create, close) on `STREAM.c.GROUP`. Group names are dotted like NATS subjects, so a group is
 * a subject and a consumer may filter on it (replay) or on all control subjects (start-up).
 */
export class Subjects {
  readonly all: string;
  readonly control: string;
  readonly #signal: string;
  readonly #controlPrefix: string;

  constructor(stream: string) {
    this.all = `${stream}.>`;
    this.control = `${stream}.c.>`;
    this.#signal = `${stream}.s.`;
    this.#controlPrefix = `${stream}.c.`;
  }

  signal(group: string): string {
    return this.#signal + group;
  }

  controlOf(group: string): string {
    return this.#controlPrefix + group;
  }

  /** What a stream subject carries: a group's signal or its life, or neither. */
  parse(subject: string): { kind: 's' | 'c'; group: string } | undefined {
    if (subject.startsWith(this.#signal)) return { kind: 's', group: subject.slice(this.#signal.length) };
    if (subject.startsWith(this.#controlPrefix))
      return { kind: 'c', group: subject.slice(this.#controlPrefix.length) };
    return undefined;
  }
}

/** One NATS connection and its JetStream handles; the connection reconnects for ever. */
export interface Link {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

/** JetStream API requests (stream info, consumer create) time out after this, ms: a dead node must not hold us long. */
const API_TIMEOUT_MS = 2_000;

export async function openLink(config: FederationConfig, log: Logger): Promise<Link> {
  const authenticator =
    config.credentials === undefined
      ? undefined
      : credsAuthenticator(new Uint8Array(await readFile(config.credentials)));
  const nc = await connect({
    servers: [...config.servers],
    name: `chorusd ${config.daemonId}`,
    // The daemon runs without NATS as long as it must (local groups keep working); it keeps trying.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
    // A frozen or dead server is noticed within a few seconds, and the client moves to another.
    pingInterval: 2_000,
    maxPingOut: 2,
    ...(authenticator === undefined ? {} : { authenticator }),
  });
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect')
        log.info(`federation ${status.type}`, { server: String(status.data) });
    }
  })();
  const jsm = await nc.jetstreamManager({ timeout: API_TIMEOUT_MS });
  const js = nc.jetstream({ timeout: API_TIMEOUT_MS });
  return { nc, js, jsm };
}

/** Makes sure the stream exists (created with the configured replicas if not); retries until `deadline`. */
export async function ensureStream(link: Link, config: FederationConfig, deadline: number): Promise<void> {
  const subjects = new Subjects(config.stream);
  for (;;) {
    try {
      try {
        await link.jsm.streams.info(config.stream);
        return;
      } catch (error) {
        if (!/stream not found/i.test(String(error))) throw error;
      }
      await link.jsm.streams.add({
        name: config.stream,
        subjects: [subjects.all],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        num_replicas: config.replicas,
        discard: DiscardPolicy.Old,
        duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      });
      return;
    } catch (error) {
      if (/already in use/i.test(String(error))) return; // another daemon created it meanwhile
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
