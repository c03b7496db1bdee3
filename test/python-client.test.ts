import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// The Python client (packages/client-python), written from the wire spec: its own unittest
// suite runs the language-neutral vectors and drives the real daemon (built by `npm test`), alone
// and with Node SDK clients (test/fixtures/py-interop.mjs). Debian's python3-msgpack is the only
// dependency; CI installs it (.ci/run). Without it locally, the test says why and passes.

const PYTHON = '/usr/bin/python3';
const root = fileURLToPath(new URL('..', import.meta.url));
const packageDir = `${root}packages/client-python`;

function missing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const probe = spawnSync(PYTHON, ['-c', 'import msgpack'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'python3-msgpack is missing (apt-get install python3-msgpack)';
  return undefined;
}

it('passes its unittest suite: vectors, the daemon, and interop with the Node SDK', () => {
  const reason = missing();
  if (reason !== undefined) {
    console.warn(`skipping the Python client's tests: ${reason}`);
    return;
  }
  const run = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', `${packageDir}/tests`, '-v'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: packageDir, PYTHONDONTWRITEBYTECODE: '1' },
    timeout: 170_000,
  });
  if (run.status !== 0) console.error(run.stdout, run.stderr);
  expect(run.stderr).toMatch(/\nOK/);
  expect(run.status).toBe(0);
}, 180_000);
