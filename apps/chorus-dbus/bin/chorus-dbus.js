#!/usr/bin/env node
// npm links a bin at install time only if its file exists then, and dist/ only appears with the
// build: so the bin is this committed file, which runs the build, and `npm ci && npm run build`
// gives a working `npx chorus-dbus`.
try {
  await import('../dist/main.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/main.js')) throw error;
  process.stderr.write("chorus-dbus: NOT_BUILT: run 'npm run build' first\n");
  process.exitCode = 1;
}
