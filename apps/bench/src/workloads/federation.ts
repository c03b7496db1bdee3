/*
 * Federated fan-out: one emitter, 30 recipients, every delivery verified (each message, in order,
 * none twice), side by side in one run:
 *   - Chorus, local: one daemon, the 30 recipients on it;
 *   - Chorus, federated: a 3-node JetStream cluster on loopback, three daemons each attached to
 *     its own node, 10 recipients per daemon, the emitter on the first;
 *   - plain JetStream: the same kind of cluster, a publisher and 3 × 10 ordered push consumers
 *     (10 per node).
 * Throughput (deliveries/s) and emit→delivery latency at a fixed rate (p50, p99): what
 * federation adds over local Chorus, and over JetStream itself. Skipped, with the reason, when
 * nats-server is not installed.
 */

import type { Row } from '../results.js';
import { measureLatency, measureThroughput } from '../runner.js';
import { chorusServer } from '../systems/chorus-daemon.js';
import { chorusFederatedServer, jetStreamServer } from '../systems/federation.js';
import type { SystemServer } from '../systems/system.js';
import { type Context, Figures, setupFor, warmUp, withBroker } from './context.js';

const RECIPIENTS = 30;
const PAYLOAD = 64;
/**
 * The latency run's rate: well within what one federated emitter sustains (its emits are answered
 * one at a time, a few hundred per second here), so that the figure is the path, not a queue.
 */
export const FEDERATION_LATENCY_RATE = 100;

export async function federation(context: Context): Promise<Row[]> {
  const systems: SystemServer[] = [chorusServer, chorusFederatedServer, jetStreamServer];
  for (const system of systems) {
    const why = await system.unavailable();
    if (why !== undefined) {
      context.log(`  federation skipped: ${system.label}: ${why}`);
      return [];
    }
  }
  const versions = { ...(await chorusFederatedServer.versions()) };
  context.log(
    `  federation versions: ${Object.entries(versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  const figures = new Figures();
  const throughputKey = `1→${RECIPIENTS} (3 hosts × 10), ${PAYLOAD} B`;
  const latencyKey = `1→${RECIPIENTS}, ${FEDERATION_LATENCY_RATE} msg/s, ${PAYLOAD} B`;
  let round = 0;
  for (const system of systems) {
    await withBroker(context, system, async (running) => {
      if (system.id !== 'chorus-federated') await warmUp(context, running);
      const setup = (kind: string) => {
        const topic = `bench.fed-${system.id}-${kind}-${round++}`;
        return setupFor(
          context,
          running,
          [topic],
          Array.from({ length: RECIPIENTS }, () => [topic]),
          PAYLOAD,
        );
      };
      // The federated daemons' JIT and stream warm up on a short unmeasured run.
      if (system.id === 'chorus-federated') await measureThroughput(setup('warmup'), 1000);
      for (let r = 0; r < context.options.repeat; r++) {
        try {
          const result = await measureThroughput(setup('throughput'), context.options.durationMs);
          const note = result.verification.ok
            ? undefined
            : `verification failed: ${result.verification.problems.join('; ')}`;
          figures.add(
            throughputKey,
            system.id,
            note === undefined ? result.deliveriesPerSec : undefined,
            undefined,
            note,
          );
          context.log(
            `  federation ${system.label.padEnd(28)} ${result.deliveriesPerSec.toFixed(0).padStart(8)} deliveries/s (${result.messagesPerSec.toFixed(0)} msg/s, ${result.deliveries} deliveries) ${note ?? 'verified'}`,
          );
        } catch (error) {
          figures.add(
            throughputKey,
            system.id,
            undefined,
            undefined,
            `error: ${String(error).split('\n')[0]}`,
          );
          context.log(`  federation ${system.label}: error ${String(error)}`);
        }
      }
      try {
        const result = await measureLatency(
          setup('latency'),
          FEDERATION_LATENCY_RATE,
          context.options.latencyMs,
        );
        const note = result.verification.ok
          ? undefined
          : `verification failed: ${result.verification.problems.join('; ')}`;
        const slow =
          result.rate < FEDERATION_LATENCY_RATE * 0.95
            ? `sent only ${result.rate.toFixed(0)} msg/s`
            : undefined;
        for (const [metric, value] of [
          ['p50', result.p50Ms],
          ['p99', result.p99Ms],
        ] as const) {
          figures.add(
            `${latencyKey}/${metric}`,
            system.id,
            note === undefined ? value : undefined,
            undefined,
            note ?? slow,
          );
        }
        context.log(
          `  federation latency ${system.label.padEnd(28)} p50 ${result.p50Ms.toFixed(3)} ms  p99 ${result.p99Ms.toFixed(3)} ms  (${result.samples} samples, ${result.rate.toFixed(0)} msg/s) ${note ?? 'verified'}`,
        );
      } catch (error) {
        for (const metric of ['p50', 'p99'])
          figures.add(
            `${latencyKey}/${metric}`,
            system.id,
            undefined,
            undefined,
            `error: ${String(error).split('\n')[0]}`,
          );
        context.log(`  federation latency ${system.label}: error ${String(error)}`);
      }
    });
  }
  const ids = systems.map((s) => s.id);
  return [
    figures.row(
      throughputKey,
      { workload: 'federation', case: throughputKey, metric: 'deliveries/s', unit: '/s', better: 'higher' },
      ids,
    ),
    ...['p50', 'p99'].map((metric) =>
      figures.row(
        `${latencyKey}/${metric}`,
        { workload: 'federation', case: latencyKey, metric, unit: 'ms', better: 'lower' },
        ids,
      ),
    ),
  ];
}
