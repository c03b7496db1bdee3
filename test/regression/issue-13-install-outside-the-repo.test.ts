import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { repoRoot } from '../harness/daemon.js';

// Issue 13: Chorus must install and run outside its repository. This packs every published
// workspace as `npm publish` would, installs the tarballs into an empty directory under the
// system's temp dir (no workspace, no source condition, no hoisted dev dependencies), and there
// runs the daemon, the CLI, a JavaScript app and a type-check of a TypeScript app.

const run = promisify(execFile);
// The repository's compiler; the app's types come from its own node_modules.
const tsc = join(repoRoot, 'node_modules/.bin/tsc');
const PUBLISHED = ['@chorus/core', '@chorus/protocol', '@chorus/client', '@chorus/chorusd', '@chorus/cli'];

let dir: string;
let app: string;
let tarballs: string[];
let daemon: ChildProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chorus-install-'));
  const packs = join(dir, 'packs');
  app = join(dir, 'app');
  await mkdir(packs);
  await mkdir(app);
  // The build ran before the tests (npm test): pack what it made, as prepack would.
  await run(
    'npm',
    ['pack', '--ignore-scripts', '--pack-destination', packs, ...PUBLISHED.flatMap((w) => ['-w', w])],
    { cwd: repoRoot },
  );
  tarballs = (await readdir(packs)).filter((f) => f.endsWith('.tgz')).map((f) => join(packs, f));
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'my-app', private: true, type: 'module' }),
  );
  // zod is the SDK's peer: the app brings its own, and the SDK must use that one copy.
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, 'zod@^4.1.0'], {
    cwd: app,
    timeout: 120_000,
  });
}, 180_000);

afterAll(async () => {
  daemon?.kill('SIGKILL');
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function tarContents(tarball: string): Promise<string[]> {
  const { stdout } = await run('tar', ['tzf', tarball]);
  return stdout.trim().split('\n');
}

it('packs every workspace with a licence, a README, engines and only what it needs', async () => {
  expect(tarballs).toHaveLength(PUBLISHED.length);
  for (const tarball of tarballs) {
    const files = await tarContents(tarball);
    expect(files, tarball).toContain('package/LICENSE');
    expect(files, tarball).toContain('package/README.md');
    expect(
      files.filter((f) => /tsbuildinfo|\.test\.|\/testing\//.test(f)),
      tarball,
    ).toEqual([]);
    const { stdout } = await run('tar', ['xzf', tarball, '-O', 'package/package.json']);
    const manifest = JSON.parse(stdout) as {
      private?: boolean;
      license?: string;
      engines?: { node?: string };
      exports: Record<string, unknown>;
    };
    expect(manifest.private, tarball).toBeUndefined();
    expect(manifest.license, tarball).toBe('MIT');
    expect(manifest.engines?.node, tarball).toBe('>=20.19');
    // Every file an export condition points at is in the tarball (the source condition included).
    for (const target of exportTargets(manifest.exports)) {
      expect(files, `${tarball}: ${target}`).toContain(`package/${target.replace(/^\.\//, '')}`);
    }
    // Every source map points at a file that ships.
    for (const map of files.filter((f) => f.endsWith('.js.map')).slice(0, 5)) {
      const { stdout: text } = await run('tar', ['xzf', tarball, '-O', map]);
      const { sources } = JSON.parse(text) as { sources: string[] };
      for (const source of sources) {
        const resolved = join(map.replace(/[^/]+$/, ''), source).replace(/\\/g, '/');
        expect(files, `${map} → ${source}`).toContain(resolved);
      }
    }
  }
});

it('installs with one copy of zod, shared by the app and the SDK', async () => {
  const { stdout } = await run('npm', ['ls', 'zod', '--all', '--parseable'], { cwd: app });
  const copies = stdout
    .trim()
    .split('\n')
    .filter((line) => line.endsWith('/zod'));
  expect(copies).toEqual([join(app, 'node_modules/zod')]);
});

it('runs chorusd, the chorus command and an app from the installed packages', async () => {
  const socket = join(dir, 'run', 'bus.sock');
  daemon = spawn(
    join(app, 'node_modules/.bin/chorusd'),
    ['--socket', socket, '--no-ws', '--log-level', 'warn'],
    {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    daemon?.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /CHORUS_BUS_ADDRESS=(\S+)/.exec(out);
      if (match !== null) resolve(match[1] as string);
    });
    daemon?.once('exit', (code) => reject(new Error(`chorusd exited ${code}`)));
  });
  expect(address).toBe(`unix:path=${socket}`);

  const status = await run(
    join(app, 'node_modules/.bin/chorus'),
    ['status', '--json', '--address', address],
    {
      cwd: app,
    },
  );
  expect(JSON.parse(status.stdout)).toMatchObject({ name: expect.stringMatching(/^:1\.\d+$/) });

  await writeFile(
    join(app, 'app.mjs'),
    `import { connect, defineGroup, z } from '@chorus/client';
const Battery = defineGroup('org.example.Battery', {
  signals: { LevelChanged: z.object({ percent: z.number().min(0).max(100) }) },
});
const service = await connect({ address: process.argv[2] });
const group = await service.createGroup(Battery, { retain: true });
const app = await connect({ address: process.argv[2] });
const sub = await app.join(Battery);
const got = new Promise((resolve) => sub.on('LevelChanged', ({ percent }) => resolve(percent)));
await group.emit('LevelChanged', { percent: 42 });
console.log('level', await got);
await app.close();
await service.close();
`,
  );
  const result = await run(process.execPath, ['app.mjs', address], { cwd: app, timeout: 20_000 });
  expect(result.stdout.trim()).toBe('level 42');
}, 60_000);

it('type-checks a TypeScript app against the installed types', async () => {
  await writeFile(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: ['app.ts'],
    }),
  );
  const source = `import { connect, defineGroup, z } from '@chorus/client';
const Battery = defineGroup('org.example.Battery', {
  signals: { LevelChanged: z.object({ percent: z.number() }) },
});
export async function main(): Promise<number> {
  const bus = await connect();
  const sub = await bus.join(Battery);
  let last = 0;
  sub.on('LevelChanged', ({ percent }) => {
    last = percent;
  });
  return last;
}
`;
  await writeFile(join(app, 'app.ts'), source);
  await run(tsc, ['-p', '.'], { cwd: app });
  // And the check is real: a wrong payload type is an error.
  await writeFile(join(app, 'app.ts'), source.replace('last = percent;', "last = percent + ''; "));
  const failed = await run(tsc, ['-p', '.'], { cwd: app }).catch((error: { stdout: string }) => error);
  expect('stdout' in failed ? failed.stdout : '').toMatch(/TS2322/);
  expect(await readFile(join(app, 'app.ts'), 'utf8')).toContain("percent + ''");
}, 60_000);

function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (exports === null || typeof exports !== 'object') return [];
  return Object.values(exports).flatMap(exportTargets);
}
