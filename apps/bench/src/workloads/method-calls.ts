/*
 * Method calls (Chorus only; the peers' pub/sub clients have no equivalent here): round trips/s
 * of a typed call (zod on input and output, both ends) to a service in a subscriber process, with
 * 1 and with 64 calls in flight. Every answer is checked against its call.
 */

import type { Row } from '../results.js';
import { chorusServer } from '../systems/chorus-daemon.js';
import { type Context, withBroker } from './context.js';

export async function methodCalls(context: Context): Promise<Row[]> {
  const rows: Row[] = [];
  if (!context.systems.some((s) => s.id === 'chorus')) return rows;
  await withBroker(context, chorusServer, async (running) => {
    const { callEcho } = await import('../systems/chorus.js');
    const service = await context.pool.serveEcho(running.broker.address);
    try {
      // Warm-up: the first calls pay for JIT in the daemon and both SDKs.
      await callEcho(running.broker.address, 64, context.options.quick ? 300 : 1000);
      for (const concurrency of [1, 64]) {
        const caseLabel = `${concurrency} in flight`;
        try {
          const rates: number[] = [];
          let wrong = 0;
          for (let r = 0; r < context.options.repeat; r++) {
            const result = await callEcho(running.broker.address, concurrency, context.options.durationMs);
            rates.push(result.calls / result.seconds);
            wrong += result.wrong;
          }
          rates.sort((a, b) => a - b);
          const value = rates[Math.floor(rates.length / 2)] as number;
          const spread =
            rates.length > 1 ? ((rates[rates.length - 1] as number) - (rates[0] as number)) / value : 0;
          context.log(
            `  method calls ${caseLabel}: ${value.toFixed(0)} round trips/s${wrong > 0 ? `, ${wrong} wrong answers` : ''}`,
          );
          rows.push({
            workload: 'method calls',
            case: caseLabel,
            metric: 'round trips/s',
            unit: '/s',
            better: 'higher',
            values: wrong > 0 ? {} : { chorus: value },
            spread: { chorus: spread },
            notes:
              wrong > 0 ? { chorus: `verification failed: ${wrong} answers did not match their call` } : {},
          });
        } catch (error) {
          context.log(`  method calls ${caseLabel}: error ${String(error)}`);
          rows.push({
            workload: 'method calls',
            case: caseLabel,
            metric: 'round trips/s',
            unit: '/s',
            better: 'higher',
            values: {},
            spread: {},
            notes: { chorus: `error: ${String(error).split('\n')[0]}` },
          });
        }
      }
    } finally {
      await service.close();
    }
  });
  return rows;
}
