/*
 * Method calls: round trips/s of a call to an echo service in a subscriber process, with 1 and
 * with 64 calls in flight, on Chorus (a typed method, zod on input and output at both ends), NATS
 * request/reply and D-Bus method calls (systems/echo.ts). Every answer is checked against its
 * call; a figure with a wrong answer is not reported.
 */

import type { Row } from '../results.js';
import { callEcho, callSystems } from '../systems/echo.js';
import type { SystemId } from '../systems/system.js';
import { type Context, Figures, withBroker } from './context.js';

const CONCURRENCY = [1, 64] as const;

export async function methodCalls(context: Context): Promise<Row[]> {
  const figures = new Figures();
  const systems = context.systems.filter((s) => callSystems.includes(s.id));
  for (const system of systems) {
    await withBroker(context, system, async (running) => {
      const address = running.broker.address;
      const service = await context.pool.serveEcho(system.id, address);
      try {
        // Warm-up: the first calls pay for JIT in the broker and both clients.
        await callEcho(system.id, address, 64, context.options.quick ? 300 : 1000);
        for (const concurrency of CONCURRENCY) {
          const key = `${concurrency}`;
          try {
            for (let r = 0; r < context.options.repeat; r++) {
              const result = await callEcho(system.id, address, concurrency, context.options.durationMs);
              const rate = result.calls / result.seconds;
              context.log(
                `  method calls ${system.label} ${concurrency} in flight: ${rate.toFixed(0)} round trips/s${result.wrong > 0 ? `, ${result.wrong} wrong answers` : ''}`,
              );
              figures.add(
                key,
                system.id,
                rate,
                undefined,
                result.wrong > 0
                  ? `verification failed: ${result.wrong} answers did not match their call`
                  : undefined,
              );
            }
          } catch (error) {
            context.log(`  method calls ${system.label} ${concurrency} in flight: error ${String(error)}`);
            figures.add(key, system.id, undefined, undefined, `error: ${String(error).split('\n')[0]}`);
          }
        }
      } finally {
        await service.close();
      }
    });
  }
  const ids: SystemId[] = systems.map((s) => s.id);
  return CONCURRENCY.map((concurrency) =>
    figures.row(
      `${concurrency}`,
      {
        workload: 'method calls',
        case: `${concurrency} in flight`,
        metric: 'round trips/s',
        unit: '/s',
        better: 'higher',
      },
      ids,
    ),
  );
}
