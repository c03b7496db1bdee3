/*
 * `npm run bench [-- options]`: Chorus against the raw broker (always) and the peers (`--peers`),
 * every figure verified while measured, printed as a markdown table with ratios, and written as
 * JSON, markdown and an SVG chart under apps/bench/results/.
 */

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fanOutChart } from './chart.js';
import { machine } from './machine.js';
import { SubscriberPool } from './pool.js';
import { applyTargets, markdownReport } from './report.js';
import type { Row, RunReport } from './results.js';
import { servers } from './systems/index.js';
import type { SystemServer } from './systems/system.js';
import type { BenchOptions, Context } from './workloads/context.js';
import { dbusBridge } from './workloads/dbus-bridge.js';
import { fanOut } from './workloads/fan-out.js';
import { federation } from './workloads/federation.js';
import { latency } from './workloads/latency.js';
import { manyToMany } from './workloads/many-to-many.js';
import { methodCalls } from './workloads/method-calls.js';
import { scale } from './workloads/scale.js';

const WORKLOADS = {
  'fan-out': fanOut,
  latency,
  'many-to-many': manyToMany,
  'method-calls': methodCalls,
  scale,
  'dbus-bridge': dbusBridge,
  federation,
} as const;

type WorkloadName = keyof typeof WORKLOADS;

const usage = `Usage: npm run bench -- [options]

  --quick              a smoke run (under a minute without --peers): fewer cases, short runs
  --peers              also run NATS, Redis, mosquitto and D-Bus (each skipped with a note when
                       not installed; apps/bench/scripts/install-peers.sh installs them)
  --only LIST          comma-separated workloads: ${Object.keys(WORKLOADS).join(', ')}
                       (dbus-bridge: D-Bus → Chorus through chorus-dbus vs a direct D-Bus
                       listener; needs dbus-daemon, skipped with a note without it)
                       (federation: one emitter, 30 recipients: local Chorus, Chorus federated
                       over a 3-node JetStream cluster with 3 daemons × 10, plain JetStream
                       3 × 10; needs nats-server, skipped with a note without it)
  --repeat N           measurements per throughput case (default: 1 quick, 3 full); median reported
  --duration MS        length of one throughput measurement (default: 500 quick, 2000 full)
  --latency-duration MS  length of the latency measurement (default: 1000 quick, 5000 full)
  --out DIR            where results go (default: apps/bench/results)
  --latest             also write DIR/latest.json and DIR/latest.md (the committed full run)
  --chart PATH         also write the fan-out chart to PATH (e.g. docs/performance-fanout.svg)
  --systems LIST       only these of chorus, chorus-emit, raw, nats, redis, mqtt, dbus (e.g. to
                       profile one); chorus publishes, chorus-emit emits (one answer per message);
                       chorus-novalidate (groups created with validate: false) runs only when named
  --cases LIST         fan-out cases instead of the default matrix, e.g. 10x64,50x1024 (N x bytes)
  --replot FILE        redraw the fan-out chart of a saved JSON run (to --chart PATH), measure nothing
  --daemon-cpu-prof DIR  run chorusd with --cpu-prof, profiles in DIR (npm run profile-summary -w
                       @chorus/bench -- DIR/FILE.cpuprofile names the top functions)
  --subscriber-cpu-prof DIR  the same for the subscriber processes (one profile each, written when
                       the bench ends; measure one system and case at a time to read them)
  -h, --help
`;

const benchRoot = fileURLToPath(new URL('../', import.meta.url));

// `npm run bench` runs in apps/bench; paths given on the command line are meant from where npm
// was started (INIT_CWD), e.g. `--chart docs/performance-fanout.svg` from the repository root.
const fromCaller = (path: string): string => resolve(process.env['INIT_CWD'] ?? process.cwd(), path);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      peers: { type: 'boolean', default: false },
      only: { type: 'string' },
      repeat: { type: 'string' },
      duration: { type: 'string' },
      'latency-duration': { type: 'string' },
      out: { type: 'string' },
      latest: { type: 'boolean', default: false },
      chart: { type: 'string' },
      'daemon-cpu-prof': { type: 'string' },
      'subscriber-cpu-prof': { type: 'string' },
      cases: { type: 'string' },
      systems: { type: 'string' },
      replot: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  if (values.replot !== undefined) {
    // Redraws the chart of a saved run (to --chart, else beside the JSON file); measures nothing.
    const saved = JSON.parse(await readFile(fromCaller(values.replot), 'utf8')) as RunReport;
    const chart = fanOutChart(
      saved.rows,
      `Fan-out, deliveries/s (${saved.mode} run, ${saved.startedAt.slice(0, 10)})`,
    );
    if (chart === undefined) throw new Error(`${values.replot} has no fan-out figures to plot`);
    const target = fromCaller(values.chart ?? values.replot.replace(/\.json$/, '-fanout.svg'));
    await writeFile(target, chart);
    log(`wrote ${target}`);
    return 0;
  }
  const quick = values.quick === true;
  const number = (text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got '${text}'`);
    return n;
  };
  const profileDir = values['daemon-cpu-prof'];
  const options: BenchOptions = {
    quick,
    durationMs: number(values.duration, quick ? 500 : 2000),
    latencyMs: number(values['latency-duration'], quick ? 1000 : 5000),
    repeat: number(values.repeat, quick ? 1 : 3),
    daemonFlags: profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', fromCaller(profileDir)],
    cases: values.cases?.split(',').map((text) => {
      const match = /^(\d+)x(\d+)$/.exec(text.trim());
      if (match === null) throw new Error(`--cases: expected NxBYTES (e.g. 10x64), got '${text}'`);
      return { n: Number(match[1]), size: Number(match[2]) };
    }),
  };
  const only = (values.only?.split(',').map((s) => s.trim()) ?? Object.keys(WORKLOADS)) as WorkloadName[];
  for (const name of only) if (!(name in WORKLOADS)) throw new Error(`unknown workload '${name}'`);

  const started = Date.now();
  const machineAtStart = machine();
  const skipped: Record<string, string> = {};
  const systems: SystemServer[] = [];
  const versions: Record<string, string> = {};
  const wanted = values.systems?.split(',').map((s) => s.trim());
  for (const server of servers) {
    if (server.peer && values.peers !== true) continue;
    if (server.optIn === true && wanted?.includes(server.id) !== true) continue;
    if (wanted !== undefined && !wanted.includes(server.id)) {
      skipped[server.label] = 'not in --systems';
      continue;
    }
    const why = await server.unavailable();
    if (why !== undefined) {
      skipped[server.label] = why;
      log(
        `note: ${server.label} skipped: ${why}${server.peer ? ' (apps/bench/scripts/install-peers.sh installs the peers)' : ''}`,
      );
      continue;
    }
    systems.push(server);
    Object.assign(versions, await server.versions());
  }
  // In the order --systems gives: two runs in opposite orders even out a load that drifts.
  if (wanted !== undefined) systems.sort((a, b) => wanted.indexOf(a.id) - wanted.indexOf(b.id));
  if (values.peers !== true) skipped['peers'] = 'not requested (run with --peers)';

  const subscriberProfiles = values['subscriber-cpu-prof'] ?? process.env['BENCH_SUBSCRIBER_CPU_PROF'];
  const pool = SubscriberPool.start(
    10,
    subscriberProfiles === undefined ? undefined : fromCaller(subscriberProfiles),
  );
  const context: Context = { options, pool, systems, log };
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    for (const name of only) {
      log(`${name}:`);
      rows.push(...(await WORKLOADS[name](context)));
    }
  } finally {
    await pool.stop();
  }
  applyTargets(rows);
  notes.push(
    `Load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (the machine is shared: figures move with what else runs).`,
  );
  if (systems.some((s) => s.id === 'raw') && only.includes('many-to-many')) {
    notes.push('The raw broker fans out a single stream; it has no many-to-many figure.');
  }
  notes.push(
    'Chorus runs with zod validation on both ends, onFull: block and the default limits; 10 subscriber processes (N=50: 5 connections each).',
  );
  const report: RunReport = {
    startedAt: new Date(started).toISOString(),
    mode: quick ? 'quick' : 'full',
    seconds: (Date.now() - started) / 1000,
    machine: machineAtStart,
    versions: { node: process.version, ...versions },
    skipped,
    rows,
    notes,
  };
  const markdown = markdownReport(report);
  process.stdout.write(`\n${markdown}`);

  const outDir = values.out === undefined ? resolve(`${benchRoot}results`) : fromCaller(values.out);
  await mkdir(outDir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const base = `${outDir}/${stamp}-${report.mode}`;
  await writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(`${base}.md`, markdown);
  const chart = fanOutChart(
    rows,
    `Fan-out, deliveries/s (${report.mode} run, ${report.startedAt.slice(0, 10)})`,
  );
  if (chart !== undefined) await writeFile(`${base}-fanout.svg`, chart);
  if (values.latest === true) {
    await writeFile(`${outDir}/latest.json`, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(`${outDir}/latest.md`, markdown);
  }
  if (values.chart !== undefined && chart !== undefined) {
    await mkdir(dirname(fromCaller(values.chart)), { recursive: true });
    await writeFile(fromCaller(values.chart), chart);
  }
  log(`\nwrote ${base}.json, .md${chart === undefined ? '' : ', -fanout.svg'}`);
  return 0;
}

process.on('unhandledRejection', (reason) => {
  process.stderr.write(`bench: unhandled rejection: ${String(reason)}\n`);
});

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
