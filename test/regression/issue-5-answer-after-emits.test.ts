import { connect, defineGroup, z } from '@chorus/client';
import { expect, it } from 'vitest';
import { withDaemon } from '../harness/daemon.js';

// Found by test/calls.test.ts (issue 5, §4 "calls interleaved with signals"): a handler that emits
// and then answers could have its answer overtake its own signals. Emits beyond `maxInFlight` wait
// in the SDK for room, but a service's `ret` was written at once, so the caller got the answer
// first and the signals after it (with 1000 calls in flight, call 642's reply came before its
// Step). An answer now waits behind the emits that were made before it.

const Calc = defineGroup('test.regression.AnswerAfterEmits', {
  signals: { Step: z.object({ i: z.number(), k: z.number() }) },
  methods: { Steps: { input: z.object({ i: z.number() }), output: z.object({ i: z.number() }) } },
});

it("a service's answer never overtakes the signals it emitted before answering", async () => {
  const daemon = await withDaemon();
  try {
    // maxInFlight 1: the second and third emits of each call wait for the first one's ack.
    const service = await connect({ address: daemon.address, maxInFlight: 1 });
    const group = await service.createGroup(Calc);
    service.serve(Calc, {
      Steps: ({ i }) => {
        // Not awaited; a failed emit shows as a missing Step below.
        for (let k = 0; k < 3; k++) void group.emit('Step', { i, k }).catch(() => undefined);
        return { i };
      },
    });
    await service.requestName(Calc.name);

    const caller = await connect({ address: daemon.address, join: [Calc] });
    const seen: string[] = [];
    (await caller.join(Calc)).on('Step', ({ i, k }) => seen.push(`S${i}.${k}`));
    const answered = (i: number): void => {
      seen.push(`R${i}`);
    };
    for (let i = 0; i < 5; i++) answered((await caller.call(Calc, 'Steps', { i })).i);
    await Promise.all(
      Array.from({ length: 20 }, (_, j) =>
        caller.call(Calc, 'Steps', { i: 5 + j }).then(({ i }) => answered(i)),
      ),
    );
    for (let i = 0; i < 25; i++) {
      const answer = seen.indexOf(`R${i}`);
      for (let k = 0; k < 3; k++) {
        const step = seen.indexOf(`S${i}.${k}`);
        expect(step >= 0 && step < answer, `Step ${i}.${k} at ${step}, answer at ${answer}`).toBe(true);
      }
    }
    await Promise.all([service.close(), caller.close()]);
  } finally {
    await daemon.cleanup();
  }
});
