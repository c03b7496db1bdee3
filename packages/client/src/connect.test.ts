import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BusAddress } from './address.js';
import { connect as connectBrowser } from './connect-browser.js';
import { connect } from './connect-node.js';
import { isChorusError } from './errors.js';
import { FakeDaemon } from './testing/fake-daemon.js';
import { createMemoryTransportPair } from './transports/memory.js';
import type { Transport } from './transports/transport.js';
import { socketTransport } from './transports/unix.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isChorusError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** A fake daemon that never answers hello. */
function mute() {
  const [client, server] = createMemoryTransportPair();
  const daemon = new FakeDaemon(server);
  daemon.respond('hello', () => undefined);
  return { client, daemon };
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

describe('connect: timeout and abort', () => {
  it('times out when no welcome comes, and closes the transport', async () => {
    const { client, daemon } = mute();
    await expect(connect({ transport: client, timeoutMs: 20 })).rejects.toMatchObject({
      code: 'TIMEOUT',
      timeoutMs: 20,
    });
    await daemon.ended; // the daemon side sees EOF
  });

  it('aborts through the signal, with the reason as cause', async () => {
    const { client } = mute();
    const controller = new AbortController();
    const pending = connect({ transport: client, signal: controller.signal });
    controller.abort('user gave up');
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED', cause: 'user gave up' });
  });

  it('rejects at once with an already aborted signal', async () => {
    const { client, daemon } = mute();
    expect(await codeOf(connect({ transport: client, signal: AbortSignal.abort() }))).toBe('ABORTED');
    expect(daemon.received).toHaveLength(0);
  });

  it('passes the abort to a transport factory that is still connecting', async () => {
    let seen: AbortSignal | undefined;
    const factory = (_address: BusAddress, signal: AbortSignal) => {
      seen = signal;
      return new Promise<never>(() => {});
    };
    expect(await codeOf(connect({ address: 'unix:path=/x', transport: factory, timeoutMs: 10 }))).toBe(
      'TIMEOUT',
    );
    expect(seen?.aborted).toBe(true);
  });

  it('closes a transport that arrives after the timeout', async () => {
    const [client, server] = createMemoryTransportPair();
    let arrive!: () => void;
    const factory = () => new Promise<typeof client>((resolve) => (arrive = () => resolve(client)));
    expect(await codeOf(connect({ address: 'unix:path=/x', transport: factory, timeoutMs: 10 }))).toBe(
      'TIMEOUT',
    );
    arrive();
    const received: Uint8Array[] = [];
    for await (const chunk of server) received.push(chunk);
    expect(received).toEqual([]); // closed without a hello
  });

  it('refuses a bad knob', async () => {
    expect(await codeOf(connect({ transport: createMemoryTransportPair()[0], maxInFlight: 0 }))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('connect: addresses and transports', () => {
  it('hands the parsed address to a transport factory', async () => {
    const seen: BusAddress[] = [];
    const bus = await connect({
      address: 'ws://localhost:7070/bus',
      transport: async (address) => {
        seen.push(address);
        const [client, server] = createMemoryTransportPair();
        new FakeDaemon(server);
        return client;
      },
    });
    expect(seen).toEqual([{ kind: 'websocket', url: 'ws://localhost:7070/bus' }]);
    await bus.close();
  });

  it('opens ws:// addresses with the built-in WebSocket transport', async () => {
    // Port 1 on loopback refuses: the failure comes from the transport, not from a missing one.
    expect(await codeOf(connect({ address: 'ws://127.0.0.1:1/' }))).toBe('CONNECT_FAILED');
  });

  it('has no unix transport in the browser build, and no default address', async () => {
    expect(await codeOf(connectBrowser({ address: 'unix:path=/tmp/x.sock' }))).toBe('UNSUPPORTED_TRANSPORT');
    expect(await codeOf(connectBrowser())).toBe('BAD_ADDRESS');
  });

  it('rejects an address it cannot parse', async () => {
    expect(await codeOf(connect({ address: 'tcp:host=localhost' }))).toBe('BAD_ADDRESS');
  });

  it('reports a missing socket as CONNECT_FAILED, with the address', async () => {
    vi.stubEnv('CHORUS_BUS_ADDRESS', 'unix:path=/nonexistent/chorus/bus.sock');
    const error = await connect().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'CONNECT_FAILED',
      address: 'unix:path=/nonexistent/chorus/bus.sock',
    });
    expect((error as Error).cause).toMatchObject({ code: 'ENOENT' });
  });
});

describe('connect over a unix socket', () => {
  let dir: string | undefined;
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    server = undefined;
    dir = undefined;
  });

  /** A fake daemon per connection, listening at `relative` inside a fresh temp dir. */
  async function listen(...relative: string[]): Promise<{ path: string; daemons: FakeDaemon<Transport>[] }> {
    dir = await mkdtemp(join(tmpdir(), 'chorus-client-'));
    const path = join(dir, ...relative);
    await mkdir(dirname(path), { recursive: true });
    const daemons: FakeDaemon<Transport>[] = [];
    server = createServer((socket) => daemons.push(new FakeDaemon(socketTransport(socket))));
    await new Promise<void>((resolve) => server?.listen(path, resolve));
    return { path, daemons };
  }

  it('finds the default socket under XDG_RUNTIME_DIR and talks to it', async () => {
    const { daemons } = await listen('chorus', 'bus.sock');
    vi.stubEnv('CHORUS_BUS_ADDRESS', '');
    vi.stubEnv('XDG_RUNTIME_DIR', dir);
    const bus = await connect();
    expect(bus.name).toBe(':1.7');
    const sub = await bus.join('org.example.Battery');
    const next = sub[Symbol.asyncIterator]().next();
    daemons[0]?.signal('org.example.Battery', 'LevelChanged', { percent: 3 });
    expect((await next).value?.payload).toEqual({ percent: 3 });
    await bus.close();
    await daemons[0]?.ended;
  });

  it('pauses the socket, loses nothing, and ends with the error once drained', async () => {
    const { path, daemons } = await listen('bus.sock');
    // Ends rather than reconnects: the subject is how a lost connection drains.
    const bus = await connect({ address: `unix:path=${path}`, maxBufferedMessages: 1, reconnect: false });
    const sub = await bus.join('g');
    const iterator = sub[Symbol.asyncIterator]();
    for (let i = 0; i < 50; i++) daemons[0]?.signal('g', 's', i);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await daemons[0]?.transport.close();
    const seen: unknown[] = [];
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await iterator.next();
          if (done) break;
          seen.push(value.payload);
        }
      })(),
    ).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect((await bus.closed)?.code).toBe('CONNECTION_CLOSED');
  });
});
