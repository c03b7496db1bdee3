import type { Reply } from '@chorus/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PendingEntry, PendingRequests } from './pending-requests.js';

describe('PendingRequests', () => {
  it('settles each request by its serial', async () => {
    const pending = new PendingRequests();
    const s1 = pending.nextSerial();
    const r1 = pending.register(s1);
    const s2 = pending.nextSerial();
    const r2 = pending.register(s2);
    expect([s1, s2]).toEqual([1, 2]);
    expect(pending.resolve(s2, { t: 'ok', s: s2 })).toBe(true);
    expect(pending.reject(s1, new Error('no'))).toBe(true);
    expect(pending.resolve(s1, { t: 'ok', s: s1 })).toBe(false);
    await expect(r2).resolves.toEqual({ t: 'ok', s: 2 });
    await expect(r1).rejects.toThrow('no');
  });

  it('hands the payload of an ok to a request registered with payload', async () => {
    const pending = new PendingRequests();
    const serial = pending.nextSerial();
    const reply = pending.registerWithPayload(serial);
    const plain = pending.register(pending.nextSerial());
    expect(pending.resolve(serial, { t: 'ok', s: serial }, new Uint8Array([7]))).toBe(true);
    expect(pending.resolve(serial + 1, { t: 'ok', s: serial + 1 }, new Uint8Array([8]))).toBe(true);
    await expect(reply).resolves.toEqual({ reply: { t: 'ok', s: serial }, payload: new Uint8Array([7]) });
    await expect(plain).resolves.toEqual({ t: 'ok', s: serial + 1 });
  });

  it('wraps after 2^32-1 and skips serials still in use', () => {
    const pending = new PendingRequests(0xffff_fffe);
    void pending.register(1); // still unanswered from long ago
    expect(pending.nextSerial()).toBe(0xffff_fffe);
    expect(pending.nextSerial()).toBe(0xffff_ffff);
    expect(pending.nextSerial()).toBe(2);
    expect(pending.nextSerial()).toBe(3);
  });

  it('rejects everything at once and reports idleness', async () => {
    const pending = new PendingRequests();
    const replies = [pending.register(pending.nextSerial()), pending.register(pending.nextSerial())];
    let idle = false;
    const whenIdle = pending.whenIdle().then(() => (idle = true));
    expect(idle).toBe(false);
    pending.rejectAll(new Error('gone'));
    for (const reply of replies) await expect(reply).rejects.toThrow('gone');
    await whenIdle;
    expect(pending.size).toBe(0);
  });

  it('settles the right entry however serials collide in its table (against a Map as the model)', () => {
    // Reason: entries sit in a table indexed by the serial's low bits, with an overflow map; long-
    // lived requests among a stream of short ones collide with the newer serials.
    type Op =
      | { kind: 'add'; life: number }
      | { kind: 'answer'; pick: number }
      | { kind: 'skip'; count: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), life: fc.nat({ max: 3 }) }),
      fc.record({ kind: fc.constant('answer' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('skip' as const), count: fc.integer({ min: 1, max: 5000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.constantFrom(1, 0xffff_ff00), (ops, first) => {
        const pending = new PendingRequests(first);
        const model = new Map<number, string>();
        const settled: string[] = [];
        const entry = (name: string): PendingEntry => ({
          resolve: (reply: Reply) => settled.push(`${name} ok ${reply.s}`),
          reject: (error) => settled.push(`${name} ${String(error)}`),
        });
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'add') {
            // Bursts of serials, as pipelined emits take them.
            for (let k = 0; k <= o.life * 100; k++) {
              const serial = pending.nextSerial();
              expect(model.has(serial)).toBe(false);
              const name = `r${n++}`;
              model.set(serial, name);
              pending.add(serial, entry(name));
            }
          } else if (o.kind === 'answer' && model.size > 0) {
            const serials = [...model.keys()];
            const serial = serials[o.pick % serials.length]!;
            settled.length = 0;
            expect(pending.resolve(serial, { t: 'ok', s: serial })).toBe(true);
            expect(settled).toEqual([`${model.get(serial)} ok ${serial}`]);
            model.delete(serial);
            expect(pending.resolve(serial, { t: 'ok', s: serial })).toBe(false);
          } else if (o.kind === 'skip') {
            // Serials used by requests answered at once: the live ones age.
            for (let k = 0; k < o.count; k++) {
              const serial = pending.nextSerial();
              pending.add(serial, entry('short'));
              pending.resolve(serial, { t: 'ok', s: serial });
            }
          }
          expect(pending.size).toBe(model.size);
        }
        settled.length = 0;
        pending.rejectAll('gone');
        expect(settled.sort()).toEqual([...model.values()].map((name) => `${name} gone`).sort());
        expect(pending.size).toBe(0);
      }),
      { numRuns: 50 },
    );
  });
});
