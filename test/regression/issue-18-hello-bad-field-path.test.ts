import { connect as connectUnix } from 'node:net';
import { type ErrorReply, encodeFrame, FrameDecoder, parseServerHeader } from '@chorus/protocol';
import { encode } from '@msgpack/msgpack';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from '../harness/daemon.js';

// Issue 18: every BAD_FIELD `err` carries `data: { path }` (the wire spec, section 7), except the
// one answering a malformed hello: the daemon rebuilt that error as fatal and dropped its data, so
// a client in another language could not tell which field of its hello was wrong. Found while
// writing the Python client from the spec.

let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon({ args: ['--no-ws'] });
});
afterAll(async () => {
  await daemon?.cleanup();
});

/** Sends one frame as the first of a connection; resolves with the daemon's fatal err. */
function firstFrame(frame: Uint8Array): Promise<ErrorReply> {
  return new Promise((resolve, reject) => {
    const socket = connectUnix(daemon.socketPath);
    socket.on('error', reject);
    const decoder = new FrameDecoder({
      frame: (header) => {
        const message = parseServerHeader(header);
        if (message.t === 'err') resolve(message);
        else reject(new Error(`expected err, got ${message.t}`));
        socket.destroy();
      },
      error: reject,
    });
    socket.on('data', (chunk) => decoder.push(chunk));
    socket.on('close', () => reject(new Error('closed without an err')));
    socket.write(frame);
  });
}

it('answers a hello with a bad field with a fatal BAD_FIELD and its path', async () => {
  const header = encode({ t: 'hello', v: 1, join: [{ g: 'test.a.B', f: [{ eq: { level: [1] } }] }] });
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setUint32(0, header.byteLength);
  const err = await firstFrame(new Uint8Array([...prefix, ...header]));
  expect(err).toMatchObject({
    code: 'BAD_FIELD',
    fatal: true,
    data: { path: ['join', 0, 'f', 0, 'eq', 'level'] },
  });
});

it('keeps a fatal error without data as it was (no data key)', async () => {
  const err = await firstFrame(encodeFrame({ t: 'ping', s: 1 }));
  expect(err).toStrictEqual({
    t: 'err',
    code: 'HELLO_REQUIRED',
    msg: "expected hello, got 'ping'",
    fatal: true,
  });
});
