#!/usr/bin/env node
// What a Unix-socket reader pays per KiB, by how it reads: into fresh memory per read (a socket's
// 'data' events, Node's default) or into one reused buffer (net's `onread`, what the SDK does).
// A writer process sends 64 KiB chunks as fast as it can; each reader reads 2 GB and reports its
// CPU per KiB read and the system part of it. With `taskset` installed, the writer runs on CPU 0
// and each reader on CPU 1 (the placement that costs most). docs/PERFORMANCE.md, "Round two, continued".
//
//   node apps/bench/scripts/socket-reads.mjs            # both readers, twice
//   GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456 node apps/bench/scripts/socket-reads.mjs

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOTAL = 2e9;
const [, , role, path, mode] = process.argv;

if (role === 'writer') {
  const chunk = Buffer.alloc(64 * 1024, 7);
  createServer((socket) => {
    const pump = () => {
      while (socket.write(chunk));
    };
    socket.on('drain', pump);
    socket.on('error', () => {});
    pump();
  }).listen(path, () => process.stdout.write('ready\n'));
} else if (role === 'reader') {
  let bytes = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const done = () => {
    const used = process.cpuUsage(cpu);
    const kib = bytes / 1024;
    const ms = performance.now() - started;
    console.log(
      `${mode.padEnd(6)} ${(bytes / ms / 1e3).toFixed(0).padStart(5)} MB/s, reader CPU ${((used.user + used.system) / kib).toFixed(3)} µs per KiB (system ${(used.system / kib).toFixed(3)})`,
    );
    process.exit(0);
  };
  const count = (n) => {
    bytes += n;
    if (bytes > TOTAL) done();
  };
  if (mode === 'onread') {
    connect({ path, onread: { buffer: new Uint8Array(64 * 1024), callback: (n) => count(n) } });
  } else {
    connect({ path }).on('data', (chunk) => count(chunk.length));
  }
} else {
  const self = fileURLToPath(import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'socket-reads-'));
  const socketPath = join(dir, 's.sock');
  const pin = spawnSync('taskset', ['-V']).status === 0;
  const writer = spawn(process.execPath, [self, 'writer', socketPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => writer.stdout.once('data', resolve));
  if (pin) execFileSync('taskset', ['-pc', '0', String(writer.pid)]);
  try {
    for (let round = 0; round < 2; round++) {
      for (const readMode of ['data', 'onread']) {
        const command = pin ? 'taskset' : process.execPath;
        const args = pin
          ? ['-c', '1', process.execPath, self, 'reader', socketPath, readMode]
          : [self, 'reader', socketPath, readMode];
        spawnSync(command, args, { stdio: 'inherit' });
      }
    }
  } finally {
    writer.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
