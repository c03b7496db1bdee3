import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect as connectBrowser } from '../connect-browser.js';
import { isChorusError } from '../errors.js';
import { FakeDaemon } from '../testing/fake-daemon.js';
import { daemonEnd, type FakeWebSocket, fakeWebSocketClass } from '../testing/fake-websocket.js';
import type { Transport } from './transport.js';
import { connectWebSocket, type WebSocketTransport } from './websocket.js';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

/** Opens a transport over a fresh fake socket and returns both. */
async function opened(
  options: Parameters<typeof fakeWebSocketClass>[0] = {},
  extra: { maxUnreadBytes?: number; closeTimeoutMs?: number } = {},
): Promise<{ transport: WebSocketTransport; socket: FakeWebSocket }> {
  const { WebSocket, sockets } = fakeWebSocketClass(options);
  const pending = connectWebSocket('ws://127.0.0.1:7733', { WebSocket, token: 'secret', ...extra });
  const socket = sockets[0] as FakeWebSocket;
  socket.networkOpen();
  return { transport: await pending, socket };
}

/** Reads chunks until the transport ends; resolves with them, or rejects with the failure. */
async function drain(transport: Transport): Promise<number[][]> {
  const chunks: number[][] = [];
  for await (const chunk of transport) chunks.push([...chunk]);
  return chunks;
}

const bytes = (...values: number[]) => new Uint8Array(values);

describe('connectWebSocket: opening', () => {
  it('puts the token in the query (browsers cannot set headers) and asks for ArrayBuffers', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    const pending = connectWebSocket('ws://127.0.0.1:7733/bus?x=1&token=old', {
      WebSocket,
      token: 'a b&c=d/é',
    });
    const socket = sockets[0] as FakeWebSocket;
    const url = new URL(socket.url);
    expect(url.pathname).toBe('/bus');
    expect(url.searchParams.get('x')).toBe('1');
    expect(url.searchParams.getAll('token')).toEqual(['a b&c=d/é']);
    expect(socket.binaryType).toBe('arraybuffer');
    socket.networkOpen();
    await pending;
  });

  it('leaves the URL alone without a token, and takes another binaryType', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    void connectWebSocket('ws://127.0.0.1:7733', { WebSocket, binaryType: 'nodebuffer' });
    expect(sockets[0]?.url).toBe('ws://127.0.0.1:7733');
    expect(sockets[0]?.binaryType).toBe('nodebuffer');
  });

  it('rejects when the upgrade fails (a 401 or 403 shows as an error, then a close)', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    const pending = connectWebSocket('ws://127.0.0.1:7733', { WebSocket, token: 'wrong' });
    sockets[0]?.networkError('Unexpected server response: 401');
    sockets[0]?.networkClose(1006);
    const error = await pending.then(
      () => new Error('expected a rejection'),
      (e: unknown) => e as Error,
    );
    expect(error.message).toBe('Unexpected server response: 401');
    expect(error.message).not.toContain('wrong');
  });

  it('rejects when the socket closes before opening without an error event', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    const pending = connectWebSocket('ws://127.0.0.1:7733', { WebSocket });
    sockets[0]?.networkClose(1006);
    await expect(pending).rejects.toThrow('code 1006');
  });

  it('rejects a malformed URL', async () => {
    const { WebSocket } = fakeWebSocketClass();
    await expect(connectWebSocket('ws://[nope', { WebSocket, token: 't' })).rejects.toThrow();
  });

  it('gives up when the signal aborts, closing the socket, with the reason', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    const controller = new AbortController();
    const pending = connectWebSocket('ws://127.0.0.1:7733', { WebSocket, signal: controller.signal });
    controller.abort('gave up');
    await expect(pending).rejects.toBe('gave up');
    expect(sockets[0]?.closeCalls).toHaveLength(1);
    await vi.waitFor(() => expect(sockets[0]?.readyState).toBe(3));
  });

  it('does not even make a socket for an aborted signal', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    await expect(connectWebSocket('ws://x', { WebSocket, signal: AbortSignal.abort('no') })).rejects.toBe(
      'no',
    );
    expect(sockets).toHaveLength(0);
  });
});

describe('the WebSocket transport', () => {
  it('sends each write as one binary message and yields each message as a chunk', async () => {
    const { transport, socket } = await opened();
    transport.write(bytes(1, 2));
    transport.write(bytes(3));
    expect(socket.sent.map((m) => [...m])).toEqual([[1, 2], [3]]);
    const view = new Uint8Array([9, 9, 4, 5, 9]).subarray(2, 4);
    socket.networkMessage(bytes(7).buffer);
    socket.networkMessage(view); // a view (the `ws` package's Buffer) keeps its offset
    socket.networkClose(1000);
    expect(await drain(transport)).toEqual([[7], [4, 5]]);
  });

  it('ends on a normal close after the queued messages, and fails on an abnormal one', async () => {
    const normal = await opened();
    normal.socket.networkMessage(bytes(1).buffer);
    normal.socket.networkClose(1000);
    expect(await drain(normal.transport)).toEqual([[1]]);

    const abnormal = await opened();
    abnormal.socket.networkMessage(bytes(2).buffer);
    abnormal.socket.networkClose(1006, 'gone');
    const seen: number[][] = [];
    await expect(
      (async () => {
        for await (const chunk of abnormal.transport) seen.push([...chunk]);
      })(),
    ).rejects.toMatchObject({ code: 'CONNECTION_CLOSED', message: 'WebSocket closed (code 1006: gone)' });
    expect(seen).toEqual([[2]]);
  });

  it('fails on a socket error after opening', async () => {
    const { transport, socket } = await opened();
    socket.networkError('ECONNRESET');
    socket.networkClose(1006);
    await expect(drain(transport)).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
  });

  it('refuses a text message: the protocol is binary only', async () => {
    const { transport, socket } = await opened();
    socket.networkMessage('hello');
    await expect(drain(transport)).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(socket.closeCalls[0]?.code).toBe(1003);
  });

  it('drops writes after close() and before open is impossible (it resolves only once open)', async () => {
    const { transport, socket } = await opened();
    const closing = transport.close();
    transport.write(bytes(1));
    await closing;
    expect(socket.sent).toEqual([]);
    expect(socket.closeCalls).toEqual([{ code: 1000, reason: undefined }]);
    expect(socket.readyState).toBe(3);
    await transport.close(); // idempotent
    expect(socket.closeCalls).toHaveLength(1);
  });

  it('close() finishes the reader at once', async () => {
    const { transport, socket } = await opened();
    socket.networkMessage(bytes(1).buffer);
    await transport.close();
    expect(await drain(transport)).toEqual([]);
  });

  it('close() stops waiting for a peer that never answers the closing handshake', async () => {
    vi.useFakeTimers();
    const { transport, socket } = await opened(
      { answersClose: false, pausable: true },
      { closeTimeoutMs: 50 },
    );
    const closing = transport.close();
    await vi.advanceTimersByTimeAsync(50);
    await closing;
    expect(socket.flowCalls).toEqual(['resume', 'terminate']);
  });

  it('reports bufferedAmount (written, not yet sent) and unreadBytes', async () => {
    const { transport, socket } = await opened();
    socket.bufferedAmount = 1234;
    expect(transport.bufferedAmount).toBe(1234);
    socket.networkMessage(bytes(1, 2, 3).buffer);
    expect(transport.unreadBytes).toBe(3);
    const iterator = transport[Symbol.asyncIterator]();
    await iterator.next();
    expect(transport.unreadBytes).toBe(0);
  });
});

describe('the WebSocket transport: backpressure', () => {
  it('pause/resume stop and restart reading the socket where it can (ws in Node)', async () => {
    const { transport, socket } = await opened({ pausable: true });
    const iterator = transport[Symbol.asyncIterator]();
    transport.pause();
    socket.networkMessage(bytes(1).buffer); // already on its way when pause() was called
    let got: unknown;
    void iterator.next().then((r) => (got = r.value));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(got).toBeUndefined(); // held back while paused
    transport.resume();
    await vi.waitFor(() => expect(got).toEqual(bytes(1)));
    expect(socket.flowCalls).toEqual(['pause', 'resume']);
  });

  it('in a browser (no pause), holds what arrives while paused, up to maxUnreadBytes', async () => {
    const { transport, socket } = await opened({}, { maxUnreadBytes: 10 });
    transport.pause();
    for (let i = 0; i < 5; i++) socket.networkMessage(bytes(i, i).buffer);
    expect(transport.unreadBytes).toBe(10);
    expect(socket.closeCalls).toEqual([]);
    transport.resume();
    const iterator = transport[Symbol.asyncIterator]();
    for (let i = 0; i < 5; i++) expect([...((await iterator.next()).value as Uint8Array)]).toEqual([i, i]);
    expect(transport.unreadBytes).toBe(0);
  });

  it('in a browser, fails once more than maxUnreadBytes are unread (as an eviction would)', async () => {
    const { transport, socket } = await opened({}, { maxUnreadBytes: 10 });
    transport.pause();
    for (let i = 0; i < 6; i++) socket.networkMessage(bytes(i, i).buffer);
    expect(socket.closeCalls[0]?.code).toBe(1008);
    // What arrived before is still read, then the failure: nothing is silently lost.
    const seen: number[] = [];
    const error = await (async () => {
      for await (const chunk of transport) seen.push(chunk[0] as number);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(isChorusError(error, 'CONNECTION_CLOSED')).toBe(true);
    expect((error as Error).message).toMatch(/fell behind/);
  });
});

describe('connect() in a browser, over the global WebSocket', () => {
  it('connects with the token in the URL and talks to the daemon', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    vi.stubGlobal('WebSocket', WebSocket);
    const connecting = connectBrowser({ address: 'ws://127.0.0.1:7733', token: 'secret' });
    const socket = sockets[0] as FakeWebSocket;
    expect(new URL(socket.url).searchParams.get('token')).toBe('secret');
    const daemon = new FakeDaemon(daemonEnd(socket));
    socket.networkOpen();
    const bus = await connecting;
    expect(bus.name).toBe(':1.7');
    const sub = await bus.join('org.example.Battery');
    const next = sub[Symbol.asyncIterator]().next();
    daemon.signal('org.example.Battery', 'LevelChanged', { percent: 5 });
    expect((await next).value?.payload).toEqual({ percent: 5 });
    await bus.close();
    expect(socket.readyState).toBe(3);
  });

  it('reports a refused upgrade as CONNECT_FAILED, without the token', async () => {
    const { WebSocket, sockets } = fakeWebSocketClass();
    vi.stubGlobal('WebSocket', WebSocket);
    const connecting = connectBrowser({ address: 'ws://127.0.0.1:7733', token: 'secret-token' });
    sockets[0]?.networkError();
    sockets[0]?.networkClose(1006);
    const error = await connecting.then(
      () => new Error('expected a rejection'),
      (e: unknown) => e as Error,
    );
    expect(isChorusError(error, 'CONNECT_FAILED')).toBe(true);
    expect(error.message).not.toContain('secret-token');
  });

  it('has no WebSocket transport where there is no global WebSocket', async () => {
    vi.stubGlobal('WebSocket', undefined);
    const error = await connectBrowser({ address: 'ws://127.0.0.1:7733' }).catch((e: unknown) => e);
    expect(isChorusError(error, 'UNSUPPORTED_TRANSPORT')).toBe(true);
  });
});
