import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { loadOrCreateToken } from './ws-token.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chorus-token-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('creates a 0600 token once, then reuses it', async () => {
  const file = join(dir, 'ws-token');
  const first = await loadOrCreateToken(file);
  expect(first.created).toBe(true);
  expect(first.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  expect(await loadOrCreateToken(file)).toEqual({ token: first.token, created: false });
});

it('rotates on request', async () => {
  const file = join(dir, 'ws-token');
  const first = await loadOrCreateToken(file);
  const rotated = await loadOrCreateToken(file, { rotate: true });
  expect(rotated.token).not.toBe(first.token);
  expect((await readFile(file, 'utf8')).trim()).toBe(rotated.token);
});

it('replaces a token others may read, a malformed one, and a symlink', async () => {
  const file = join(dir, 'ws-token');
  await writeFile(file, 'x'.repeat(40));
  await chmod(file, 0o644);
  expect((await loadOrCreateToken(file)).replaced).toBe('mode 644 lets others read it');
  await writeFile(file, 'short\n', { mode: 0o600 });
  expect((await loadOrCreateToken(file)).replaced).toBe('not a well-formed token');
  await rm(file);
  await writeFile(join(dir, 'elsewhere'), `${'y'.repeat(40)}\n`, { mode: 0o600 });
  await symlink(join(dir, 'elsewhere'), file);
  const replaced = await loadOrCreateToken(file);
  expect(replaced.replaced).toBe('not a regular file');
  expect(replaced.token).not.toBe('y'.repeat(40));
  // The symlink itself was replaced, not followed: the other file is untouched.
  expect((await readFile(join(dir, 'elsewhere'), 'utf8')).trim()).toBe('y'.repeat(40));
});
