/*
 * Many-to-many: 10 emitters, each on its own group, and 20 subscriber connections; group g has
 * the 10 members g, g+1, ..., g+9 (mod 20), so neighbouring groups share 9 members and each
 * subscriber is in 5 groups. Every stream is verified; on Chorus each connection also checks
 * that the bus sequence rises across all its groups (one order for all).
 */

import type { Row } from '../results.js';
import { measureThroughput } from '../runner.js';
import { type Context, Figures, setupFor, warmUp, withBroker } from './context.js';

const EMITTERS = 10;
const CONNECTIONS = 20;
const MEMBERS = 10;

export function membership(round: number): { topics: string[]; subscribers: string[][] } {
  const topics = Array.from({ length: EMITTERS }, (_, g) => `bench.m2m-r${round}-g${g}`);
  const subscribers = Array.from({ length: CONNECTIONS }, (_, c) =>
    topics.filter((_, g) => (c - g + CONNECTIONS) % CONNECTIONS < MEMBERS),
  );
  return { topics, subscribers };
}

export async function manyToMany(context: Context): Promise<Row[]> {
  const figures = new Figures();
  const key = `${EMITTERS} emitters, ${EMITTERS} groups × ${MEMBERS} members, 64 B`;
  const systems = context.systems.filter((s) => s.topics);
  for (const system of systems) {
    await withBroker(context, system, async (running) => {
      await warmUp(context, running);
      for (let r = 0; r < context.options.repeat; r++) {
        const { topics, subscribers } = membership(r);
        try {
          const result = await measureThroughput(
            setupFor(context, running, topics, subscribers, 64),
            context.options.durationMs,
          );
          const ok = result.verification.ok;
          figures.add(
            key,
            system.id,
            ok ? result.deliveriesPerSec : undefined,
            result.mbPerSec,
            ok ? undefined : `verification failed: ${result.verification.problems.join('; ')}`,
          );
          context.log(
            `  many-to-many ${system.label.padEnd(10)} ${(result.deliveriesPerSec / 1e3).toFixed(0).padStart(6)} k deliveries/s  CPU µs/delivery: broker ${result.cpu.brokerUs?.toFixed(2) ?? '?'}, subscribers ${result.cpu.subscribersUs.toFixed(2)}, emitters ${result.cpu.emittersUs.toFixed(2)}  ${ok ? 'verified' : `FAILED ${result.verification.problems.join('; ')}`}`,
          );
        } catch (error) {
          figures.add(key, system.id, undefined, undefined, `error: ${String(error).split('\n')[0]}`);
          context.log(`  many-to-many ${system.label}: error ${String(error)}`);
        }
      }
    });
  }
  const row = figures.row(
    key,
    { workload: 'many-to-many', case: key, metric: 'deliveries/s', unit: '/s', better: 'higher' },
    context.systems.map((s) => s.id),
    'MB/s',
  );
  return [row];
}
