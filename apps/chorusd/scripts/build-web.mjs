// Builds the web monitor into dist/web (served by the daemon, see src/web-assets.ts): the files of
// web/ as they are, plus @chorus/client's browser entry bundled into one ES module,
// chorus-client.js, which monitor.js imports. The bundle is resolved with the `browser` condition,
// so it is what package.json hands to browsers: no Node built-ins, the global WebSocket.
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}web/`;
const target = `${root}dist/web/`;

await rm(target, { recursive: true, force: true });
await mkdir(target, { recursive: true });
for (const name of await readdir(source)) {
  if (/\.(html|js|css|svg)$/.test(name)) await copyFile(source + name, target + name);
}

await build({
  input: '@chorus/client',
  cwd: root,
  platform: 'browser',
  logLevel: 'warn',
  output: { file: `${target}chorus-client.js`, format: 'esm', minify: true },
});

const { size } = await stat(`${target}chorus-client.js`);
process.stdout.write(`web monitor: dist/web/ (chorus-client.js ${Math.round(size / 1024)} KiB)\n`);
