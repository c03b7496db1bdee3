/*
 * Fan-out: 1 emitter → N subscribers (spread over the subscriber processes), one topic, payloads
 * of 64 B, 1 KiB and 64 KiB. Deliveries/s are counted when the last subscriber has the last message.
 */

import type { Row } from '../results.js';
import { measureThroughput } from '../runner.js';
import { type Context, Figures, setupFor, warmUp, withBroker } from './context.js';

export function fanOutCases(quick: boolean): { n: number; size: number }[] {
  if (quick) {
    return [
      { n: 1, size: 64 },
      { n: 10, size: 64 },
      { n: 50, size: 64 },
      { n: 10, size: 1024 },
    ];
  }
  const cases: { n: number; size: number }[] = [];
  for (const size of [64, 1024, 65536]) for (const n of [1, 10, 50]) cases.push({ n, size });
  return cases;
}

export function sizeLabel(size: number): string {
  return size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

export function fanOutKey(n: number, size: number): string {
  return `N=${n}, ${sizeLabel(size)}`;
}

export async function fanOut(context: Context): Promise<Row[]> {
  const cases = context.options.cases ?? fanOutCases(context.options.quick);
  const figures = new Figures();
  const cpuFigures = new Figures();
  for (const system of context.systems) {
    await withBroker(context, system, async (running) => {
      await warmUp(context, running);
      let run = 0;
      for (const { n, size } of cases) {
        for (let r = 0; r < context.options.repeat; r++) {
          const topic = `bench.fanout-n${n}-s${size}-r${run++}`;
          const setup = setupFor(
            context,
            running,
            [topic],
            Array.from({ length: n }, () => [topic]),
            size,
          );
          const key = fanOutKey(n, size);
          try {
            const result = await measureThroughput(setup, context.options.durationMs);
            const ok = result.verification.ok;
            figures.add(
              key,
              system.id,
              ok ? result.deliveriesPerSec : undefined,
              result.mbPerSec,
              ok ? undefined : `verification failed: ${result.verification.problems.join('; ')}`,
            );
            const cpu = result.cpu;
            if (ok && cpu.brokerUs !== undefined) cpuFigures.add(`${key}/broker`, system.id, cpu.brokerUs);
            if (ok) cpuFigures.add(`${key}/clients`, system.id, cpu.subscribersUs);
            context.log(
              `  fan-out ${system.label.padEnd(10)} ${key.padEnd(14)} ${(result.deliveriesPerSec / 1e3).toFixed(0).padStart(6)} k deliveries/s ${result.mbPerSec.toFixed(1).padStart(7)} MB/s  CPU µs/delivery: broker ${cpu.brokerUs?.toFixed(2) ?? '?'}, subscribers ${cpu.subscribersUs.toFixed(2)}, emitter ${cpu.emittersUs.toFixed(2)}  ${ok ? 'verified' : `FAILED ${result.verification.problems.join('; ')}`}`,
            );
          } catch (error) {
            figures.add(key, system.id, undefined, undefined, `error: ${String(error).split('\n')[0]}`);
            context.log(`  fan-out ${system.label} ${key}: error ${String(error)}`);
          }
        }
      }
    });
  }
  const ids = context.systems.map((s) => s.id);
  const rows = cases.map(({ n, size }) =>
    figures.row(
      fanOutKey(n, size),
      { workload: 'fan-out', case: fanOutKey(n, size), metric: 'deliveries/s', unit: '/s', better: 'higher' },
      ids,
      'MB/s',
    ),
  );
  // What each delivery costs in CPU time: unlike deliveries/s, this barely moves with the load
  // other programs put on the machine. Shown for the cases the targets are about.
  for (const { n, size } of cases) {
    if (n < 10 || size > 1024) continue;
    const key = fanOutKey(n, size);
    const base = { workload: 'fan-out CPU', case: key, unit: 'µs', better: 'lower' } as const;
    rows.push(cpuFigures.row(`${key}/broker`, { ...base, metric: 'broker CPU per delivery' }, ids));
    rows.push(cpuFigures.row(`${key}/clients`, { ...base, metric: 'subscriber CPU per delivery' }, ids));
  }
  return rows;
}
