import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from '@chorus/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningDaemon, repoRoot, withDaemon } from '../harness/daemon.js';

// Issue 13: `chorus list connections` could not tell which process is `:1.1`. Now each Unix-socket
// connection shows the pid, uid and command of the process at the other end, as the kernel knows
// them, and what a client only declares (`connect({ client })`) is shown apart, as declared.

const run = promisify(execFile);
let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon();
});
afterAll(async () => {
  await daemon?.cleanup();
});

it('ListConnections and `chorus list connections` show the process behind each connection', async () => {
  const script = join(repoRoot, 'test/fixtures/declared-client.mjs');
  const child = spawn(process.execPath, [script, daemon.address, 'my-panel'], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const name = await new Promise<string>((resolve) =>
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
    );
    const observer = await connect({ address: daemon.address, reconnect: false });
    await expect
      .poll(async () => (await observer.listConnections()).find((c) => c.name === name), { timeout: 10_000 })
      .toMatchObject({
        pid: child.pid,
        uid: process.getuid?.(),
        command: `${process.execPath} ${script} ${daemon.address} my-panel`,
        client: 'my-panel',
      });
    await observer.close();

    const { stdout } = await run(process.execPath, [
      join(repoRoot, 'apps/chorus/dist/main.js'),
      'list',
      'connections',
      '--address',
      daemon.address,
    ]);
    const line = stdout.split('\n').find((l) => l.startsWith(name));
    expect(line).toContain(String(child.pid));
    expect(line).toContain(`${process.execPath} ${script}`.slice(0, 20));
    expect(line).toContain('says it is my-panel');
  } finally {
    child.stdin.end();
    await new Promise((resolve) => child.once('exit', resolve));
  }
});

it('a WebSocket connection shows its remote address', async () => {
  const ws = await connect({
    address: daemon.wsUrl as string,
    token: await daemon.wsToken(),
    reconnect: false,
  });
  const observer = await connect({ address: daemon.address, reconnect: false });
  const me = (await observer.listConnections()).find((c) => c.name === ws.name);
  expect(me?.remote).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(me?.pid).toBeNull();
  await Promise.all([ws.close(), observer.close()]);
});
