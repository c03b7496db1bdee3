/*
 * What a command runs with: where to write, how to connect, whether to speak JSON. The process
 * (stdout, env, signals) comes in through Io, so commands run in tests without one.
 */

import { type Bus, connect, defaultAddress, isChorusError, parseAddress } from '@chorus/client';
import { type OptionValues, stringOption } from './args.js';
import { UnreachableError } from './errors.js';
import { compactJson } from './format.js';
import { colourWanted, createStyle, type Style } from './style.js';

/** A stream to write text to: process.stdout / process.stderr, or a fake in tests. */
export interface OutputStream {
  readonly isTTY?: boolean | undefined;
  /** Returns false when the caller should wait for `drain`. */
  write(text: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** The process, as the CLI sees it. */
export interface Io {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** For the default socket path (`/tmp/chorus-<uid>/bus.sock`). */
  readonly uid: number;
  /**
   * Calls `handler` when the user asks to stop (Ctrl-C, SIGTERM, stdout closed by a pipe reader).
   * Returns the remover. Without a handler, stopping ends the process as usual.
   */
  onInterrupt(handler: () => void): () => void;
}

// A CLI should fail fast when nothing listens; the SDK's default (10 s) suits services better.
const CONNECT_TIMEOUT_MS = 5000;

/** Per-run state shared by the commands. */
export interface Context {
  readonly io: Io;
  /** `--json`: one JSON document on stdout (JSON lines for monitor). */
  readonly json: boolean;
  readonly style: Style;
  readonly address: string;
  /** Connects (once per call); failures become UnreachableError (exit 3). Closed by the runner. */
  connect(): Promise<Bus>;
  /** Writes one line on stdout. */
  print(line?: string): void;
  /** Writes a JSON document (one line) on stdout. */
  printJson(value: unknown): void;
  /** Closes what connect() opened. */
  close(): Promise<void>;
}

/**
 * The context for parsed global options. The address is `--address`, else `$CHORUS_BUS_ADDRESS`,
 * else the default socket; it is checked here (BAD_ADDRESS, exit 2) before anything connects.
 * The token is `--token`, else `$CHORUS_TOKEN` for ws:// addresses (a unix socket rejects a token
 * it does not know, and CHORUS_TOKEN is the WebSocket bridge's).
 */
export function createContext(io: Io, values: OptionValues): Context {
  const address = stringOption(values, 'address') ?? defaultAddress(io.env, io.uid);
  const parsed = parseAddress(address);
  const envToken = io.env['CHORUS_TOKEN'];
  const token =
    stringOption(values, 'token') ??
    (parsed.kind === 'websocket' && envToken !== undefined && envToken !== '' ? envToken : undefined);
  const json = values['json'] === true;
  // A command is one connection's work: when it is lost the command fails (exit 1) rather than
  // go on as another connection (the SDK reconnects by default, where it supports reconnecting).
  const options = { address, client: 'chorus-cli', timeoutMs: CONNECT_TIMEOUT_MS, reconnect: false };
  const buses: Bus[] = [];
  return {
    io,
    json,
    style: createStyle(!json && colourWanted(io.stdout, io.env)),
    address,
    async connect() {
      try {
        const bus = await connect({ ...options, token });
        buses.push(bus);
        return bus;
      } catch (error) {
        if (!isChorusError(error)) throw error;
        throw new UnreachableError(error.code, error.message, { cause: error });
      }
    },
    print(line = '') {
      io.stdout.write(`${line}\n`);
    },
    printJson(value) {
      io.stdout.write(`${compactJson(value)}\n`);
    },
    async close() {
      await Promise.all(buses.splice(0).map((bus) => bus.close().catch(() => undefined)));
    },
  };
}
