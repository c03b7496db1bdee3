#!/usr/bin/env node
// Method calls to the bench's echo service, with the CPU each process spends per call: caller
// (this process), chorusd and the service, read from the kernel (/proc) and process.cpuUsage().
// CONC calls in flight (default 1) for DUR ms (default 3000). With --prof, the caller, the daemon
// and the service each write a CPU profile to ./calls-prof (read them with
// `npm run profile-summary -w @chorus/bench -- FILE`; run this script with `node --cpu-prof
// --cpu-prof-dir=calls-prof` to profile the caller too). Needs `npm run build` first.
// docs/PERFORMANCE.md, "Round two, continued".
//
//   CONC=64 node apps/bench/scripts/calls-cpu.mjs

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const profile = process.argv.includes('--prof') ? ['--cpu-prof', '--cpu-prof-dir=calls-prof'] : [];
const dir = mkdtempSync(join(tmpdir(), 'calls-cpu-'));
const socket = join(dir, 'bus.sock');
const daemon = spawn(
  process.execPath,
  [...profile, join(root, 'apps/chorusd/dist/main.js'), '--socket', socket, '--no-ws', '--log-level', 'warn'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
let said = '';
daemon.stdout.on('data', (bytes) => {
  said += bytes;
});
while (!said.includes('CHORUS_BUS_ADDRESS')) await new Promise((resolve) => setTimeout(resolve, 50));
const address = `unix:path=${socket}`;
const chorus = join(root, 'apps/bench/dist/systems/chorus.js');
const serviceCode = `
const { serveEcho } = await import(${JSON.stringify(chorus)});
const client = await serveEcho(process.argv[1]);
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  process.stdout.write(JSON.stringify(process.cpuUsage()) + '\\n');
  await client.close();
  process.exit(0);
});`;
const service = spawn(process.execPath, [...profile, '--input-type=module', '-e', serviceCode, address], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
let serviceSaid = '';
service.stdout.on('data', (bytes) => {
  serviceSaid += bytes;
});
while (!serviceSaid.includes('ready')) await new Promise((resolve) => setTimeout(resolve, 50));

const { connect } = await import(join(root, 'packages/client/dist/index.js'));
const { echoContract } = await import(chorus);
const bus = await connect({ address });
await bus.waitForName(echoContract.name);
for (let i = 0; i < 2000; i++) await bus.call(echoContract, 'Echo', { i }); // warm-up
/** The daemon's CPU so far, in µs (utime + stime from /proc, 100 ticks a second). */
const daemonCpu = () => {
  const fields = readFileSync(`/proc/${daemon.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};
const concurrency = Number(process.env.CONC ?? 1);
const duration = Number(process.env.DUR ?? 3000);
const daemonBefore = daemonCpu();
const callerBefore = process.cpuUsage();
const started = performance.now();
let calls = 0;
await Promise.all(
  Array.from({ length: concurrency }, async (_, lane) => {
    for (let k = 0; performance.now() - started < duration; k++) {
      const i = k * concurrency + lane;
      const reply = await bus.call(echoContract, 'Echo', { i });
      if (reply.i !== i) throw new Error(`call ${i} answered ${reply.i}`);
      calls++;
    }
  }),
);
const ms = performance.now() - started;
const caller = process.cpuUsage(callerBefore);
const daemonUs = daemonCpu() - daemonBefore;
service.stdin.write('x\n');
await new Promise((resolve) => service.once('exit', resolve));
const serviceCpu = JSON.parse(serviceSaid.split('\n')[1]);
console.log(
  `${concurrency} in flight: ${((calls / ms) * 1000).toFixed(0)} calls/s, ${((ms * 1000) / calls).toFixed(1)} µs a call; CPU µs per call: caller ${((caller.user + caller.system) / calls).toFixed(1)} (system ${(caller.system / calls).toFixed(1)}), daemon ${(daemonUs / calls).toFixed(1)}, service ${((serviceCpu.user + serviceCpu.system) / calls).toFixed(1)} (its start and warm-up included)`,
);
await bus.close();
daemon.kill('SIGTERM');
await new Promise((resolve) => daemon.once('exit', resolve));
rmSync(dir, { recursive: true, force: true });
