/*
 * Federated traffic for the e2e tests: one service owns a federated group (emitters: 'anyone'),
 * one emitter and some recipients on every daemon. Every recipient records each message's
 * stream sequence and who sent it; the checks compare them message by message.
 */
import { type Bus, defineGroup, type Subscription, z } from '@chorus/client';
import { expect } from 'vitest';
import { waitUntil } from '../harness/nats.js';
import { client, type FederatedDaemon } from './harness.js';

export const Tick = defineGroup('org.example.fed.Tick', {
  signals: { Tick: z.object({ e: z.number(), n: z.number() }) },
});

export interface Received {
  readonly fseq: number;
  readonly key: string;
}

export interface Recipient {
  readonly host: number;
  readonly bus: Bus;
  sub: Subscription<typeof Tick>;
  readonly got: Received[];
  /** Gap events: the SDK rejoined after a reconnect. */
  gaps: number;
}

/** Creates the group on `daemons[0]` and waits until every daemon carries it. */
export async function federatedGroup(daemons: FederatedDaemon[]): Promise<Bus> {
  const service = await client(daemons[0]?.daemon as FederatedDaemon['daemon']);
  await service.createGroup(Tick, { federated: true, emitters: 'anyone' });
  for (const fed of daemons) {
    const probe = await client(fed.daemon);
    await waitUntil(
      async () => (await probe.listGroups()).some((g) => g.name === Tick.name),
      15_000,
      () => `${fed.id} never carried the group`,
    );
    await probe.close();
  }
  return service;
}

export async function recipients(daemons: FederatedDaemon[], perHost: number): Promise<Recipient[]> {
  const out: Recipient[] = [];
  for (const [host, fed] of daemons.entries()) {
    for (let i = 0; i < perHost; i++) {
      const bus = await client(fed.daemon);
      const sub = await bus.join(Tick);
      const recipient: Recipient = { host, bus, sub, got: [], gaps: 0 };
      sub.on('gap', () => {
        recipient.gaps++;
      });
      sub.on('Tick', ({ e, n }, meta) => recipient.got.push({ fseq: meta.fseq ?? -1, key: `${e}.${n}` }));
      out.push(recipient);
    }
  }
  return out;
}

/**
 * Emitter `e` sends `count` ticks, one after the other's ack; returns the keys acknowledged.
 * An emit refused (FEDERATION_UNAVAILABLE while the cluster recovers) is not retried: its
 * message may or may not exist, and the checks allow either.
 */
export async function emitTicks(
  bus: Bus,
  e: number,
  count: number,
  pace?: () => Promise<void>,
): Promise<Set<string>> {
  const acked = new Set<string>();
  for (let n = 0; n < count; n++) {
    try {
      await bus.emit(Tick, 'Tick', { e, n });
      acked.add(`${e}.${n}`);
    } catch (error) {
      expect((error as { code?: string }).code).toBe('FEDERATION_UNAVAILABLE');
    }
    await pace?.();
  }
  return acked;
}

/**
 * The federated promises, checked: every recipient got every acknowledged message exactly once,
 * in strictly increasing stream order, each emitter's in the order it sent them, and all
 * recipients saw the very same sequence (one order everywhere).
 */
export async function checkDelivery(all: Recipient[], acked: Set<string>, timeoutMs = 30_000): Promise<void> {
  await waitUntil(
    () => all.every((r) => [...acked].every((key) => r.got.some((m) => m.key === key))),
    timeoutMs,
    () =>
      `missing acknowledged messages: ${all
        .map((r) => `host ${r.host}: ${[...acked].filter((k) => !r.got.some((m) => m.key === k)).length}`)
        .join(', ')}`,
  );
  // Let anything still in flight (unacknowledged but stored) arrive everywhere too.
  const settle = Math.max(...all.map((r) => r.got.at(-1)?.fseq ?? 0));
  await waitUntil(
    () => all.every((r) => (r.got.at(-1)?.fseq ?? 0) >= settle),
    timeoutMs,
    () => 'not settled',
  );
  const reference = all[0]?.got ?? [];
  for (const r of all) {
    const keys = r.got.map((m) => m.key);
    expect(new Set(keys).size, `host ${r.host}: a duplicate`).toBe(keys.length);
    for (let i = 1; i < r.got.length; i++)
      expect((r.got[i] as Received).fseq, `host ${r.host}: stream order`).toBeGreaterThan(
        (r.got[i - 1] as Received).fseq,
      );
    const lastPerEmitter = new Map<string, number>();
    for (const m of r.got) {
      const [e, n] = m.key.split('.');
      const before = lastPerEmitter.get(e as string) ?? -1;
      expect(Number(n), `host ${r.host}: emitter ${e}'s order`).toBeGreaterThan(before);
      lastPerEmitter.set(e as string, Number(n));
    }
    // One order everywhere: message by message, the same as the first recipient's.
    expect(r.got, `host ${r.host} differs from host ${all[0]?.host}`).toEqual(reference);
  }
}
