#!/usr/bin/env node
// The bin npm links at install time, before dist/ exists: it only loads the built daemon.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("chorusd: not built yet: run 'npm run build' first\n");
  process.exit(1);
}
await import(main.href);
