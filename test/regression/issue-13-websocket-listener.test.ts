import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { connect } from '@chorus/client';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type RunningDaemon, startDaemon } from '../harness/daemon.js';

// Issue 13: (1) `npx chorusd --socket /tmp/t.sock` exited 1 while the default daemon ran, because
// the WebSocket port was taken: a secondary listener must never keep the bus from starting, and
// two users' buses must coexist with defaults. (2) A new WebSocket token was made at every start,
// so the web monitor's "Reconnect" got 401 forever after a daemon restart.

let blocker: Server;
let port: number;
const daemons: RunningDaemon[] = [];

beforeAll(async () => {
  blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  port = (blocker.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.kill();
});

async function start(args: string[], dir?: string): Promise<RunningDaemon> {
  const d = await startDaemon({ args, logLevel: 'info', ...(dir === undefined ? {} : { dir }) });
  daemons.push(d);
  return d;
}

it('starts on a free port when the WebSocket port is taken, and says where', async () => {
  const d = await start(['--ws', `127.0.0.1:${port}`]);
  expect(d.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
  expect(d.wsUrl).not.toBe(`ws://127.0.0.1:${port}`);
  expect((await readFile(`${d.dir}/ws-url`, 'utf8')).trim()).toBe(d.wsUrl);
  expect(((await stat(`${d.dir}/ws-url`)).mode & 0o777).toString(8)).toBe('600');
  expect(d.stderr()).toContain('websocket port in use; listening on a free port instead');
  // And the bus works on both transports.
  const unix = await connect({ address: d.address, reconnect: false });
  const ws = await connect({ address: d.wsUrl as string, token: await d.wsToken(), reconnect: false });
  expect((await ws.listConnections()).length).toBe(2);
  await Promise.all([unix.close(), ws.close()]);
});

it('two buses with the same WebSocket setting both start', async () => {
  const first = await start(['--ws', '127.0.0.1:0']);
  const taken = Number(new URL(first.wsUrl as string).port);
  const second = await start(['--ws', `127.0.0.1:${taken}`]);
  expect(second.wsUrl).not.toBe(first.wsUrl);
});

it('keeps its WebSocket token across restarts, so clients reconnect by themselves', async () => {
  const d = await start(['--ws', '127.0.0.1:0']);
  const token = await d.wsToken();
  expect(((await stat(`${d.dir}/ws-token`)).mode & 0o777).toString(8)).toBe('600');
  await d.stop();
  const again = await start(['--ws', '127.0.0.1:0'], d.dir);
  expect(await again.wsToken()).toBe(token);
  expect(again.stderr()).toContain('websocket token reused');
  const bus = await connect({ address: again.wsUrl as string, token, reconnect: false });
  await bus.close();
  await again.stop();

  // Rotated on request.
  const rotated = await start(['--ws', '127.0.0.1:0', '--rotate-ws-token'], d.dir);
  expect(await rotated.wsToken()).not.toBe(token);
  await rotated.stop();

  // A token file others can read is not trusted: a new one replaces it.
  const leaked = await rotated.wsToken();
  await writeFile(`${d.dir}/ws-token`, `${leaked}\n`, { mode: 0o644 });
  const { chmod } = await import('node:fs/promises');
  await chmod(`${d.dir}/ws-token`, 0o644);
  const fresh = await start(['--ws', '127.0.0.1:0'], d.dir);
  expect(await fresh.wsToken()).not.toBe(leaked);
  expect(fresh.stderr()).toMatch(/"replaced":"mode 644 lets others read it"/);
  await fresh.stop();
  await rm(d.dir, { recursive: true, force: true });
});
