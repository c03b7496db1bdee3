/*
 * Latency: 1 → 10 subscribers at a fixed 5,000 msg/s, 64 B; emit→receive p50, p99, p99.9.
 */

import type { Row } from '../results.js';
import { measureLatency } from '../runner.js';
import { type Context, Figures, setupFor, warmUp, withBroker } from './context.js';

export const LATENCY_RATE = 5000;
const SUBSCRIBERS = 10;

export async function latency(context: Context): Promise<Row[]> {
  const figures = new Figures();
  const key = `1→${SUBSCRIBERS}, ${LATENCY_RATE} msg/s, 64 B`;
  for (const system of context.systems) {
    await withBroker(context, system, async (running) => {
      await warmUp(context, running);
      const topic = `bench.latency-${system.id}`;
      const setup = setupFor(
        context,
        running,
        [topic],
        Array.from({ length: SUBSCRIBERS }, () => [topic]),
        64,
      );
      try {
        const result = await measureLatency(setup, LATENCY_RATE, context.options.latencyMs);
        const note = result.verification.ok
          ? undefined
          : `verification failed: ${result.verification.problems.join('; ')}`;
        const slow =
          result.rate < LATENCY_RATE * 0.95 ? `sent only ${result.rate.toFixed(0)} msg/s` : undefined;
        for (const [metric, value] of [
          ['p50', result.p50Ms],
          ['p99', result.p99Ms],
          ['p99.9', result.p999Ms],
        ] as const) {
          figures.add(
            `${key}/${metric}`,
            system.id,
            note === undefined ? value : undefined,
            undefined,
            note ?? slow,
          );
        }
        context.log(
          `  latency ${system.label.padEnd(10)} p50 ${result.p50Ms.toFixed(3)} ms  p99 ${result.p99Ms.toFixed(3)} ms  p99.9 ${result.p999Ms.toFixed(3)} ms  (${result.samples} samples, ${result.rate.toFixed(0)} msg/s) ${note ?? 'verified'}`,
        );
      } catch (error) {
        for (const metric of ['p50', 'p99', 'p99.9']) {
          figures.add(
            `${key}/${metric}`,
            system.id,
            undefined,
            undefined,
            `error: ${String(error).split('\n')[0]}`,
          );
        }
        context.log(`  latency ${system.label}: error ${String(error)}`);
      }
    });
  }
  const ids = context.systems.map((s) => s.id);
  return ['p50', 'p99', 'p99.9'].map((metric) =>
    figures.row(
      `${key}/${metric}`,
      { workload: 'latency', case: key, metric, unit: 'ms', better: 'lower' },
      ids,
    ),
  );
}
