/*
 * Micro-benchmarks of the engine's pure operations (no IO): emit to N recipients (and take the
 * queued items, as the daemon does), join + leave, and filter matching on signal and fields.
 */

import { Engine } from '@chorus/core';
import { bench, describe } from 'vitest';

const payload = new Uint8Array(64);

function fanOutEngine(members: number, filters?: (k: number) => object[]) {
  const engine = new Engine<Uint8Array>();
  const owner = engine.connect().id;
  engine.createGroup(owner, 'bench.group');
  const ids: number[] = [];
  for (let k = 0; k < members; k++) {
    const id = engine.connect().id;
    engine.join(id, 'bench.group', (filters?.(k) ?? []) as never);
    ids.push(id);
  }
  return { engine, owner, ids };
}

describe('engine emit (and take) to N recipients', () => {
  for (const members of [1, 10, 50]) {
    const { engine, owner, ids } = fanOutEngine(members);
    bench(`N=${members}`, () => {
      engine.emit({ sender: owner, group: 'bench.group', signal: 'Tick', payload, size: 128 });
      for (const id of ids) engine.take(id);
    });
  }
  const busy = fanOutEngine(10);
  // 10,000 unrelated groups (10 owners) and 1,000 idle connections with 10 memberships each, as
  // in the macro bench: an emit's cost must not depend on them.
  const owners = Array.from({ length: 10 }, () => busy.engine.connect().id);
  for (let g = 0; g < 10_000; g++) busy.engine.createGroup(owners[g % 10] as number, `bench.unrelated.g${g}`);
  for (let c = 0; c < 1000; c++) {
    const id = busy.engine.connect().id;
    for (let k = 0; k < 10; k++) busy.engine.join(id, `bench.unrelated.g${(c * 10 + k) % 10_000}`);
  }
  bench('N=10, with 10,000 unrelated groups and 1,000 idle connections', () => {
    busy.engine.emit({ sender: busy.owner, group: 'bench.group', signal: 'Tick', payload, size: 128 });
    for (const id of busy.ids) busy.engine.take(id);
  });
});

describe('engine filter matching, 10 members', () => {
  const bySignal = fanOutEngine(10, (k) => [{ signal: k % 2 === 0 ? 'Tick' : 'Other' }]);
  bench('signal filters (5 of 10 match)', () => {
    bySignal.engine.emit({
      sender: bySignal.owner,
      group: 'bench.group',
      signal: 'Tick',
      payload,
      size: 128,
    });
    for (const id of bySignal.ids) bySignal.engine.take(id);
  });
  const byField = fanOutEngine(10, (k) => [{ fields: { level: k % 2 === 0 ? 'high' : 'low' } }]);
  const fields = { level: 'high', value: 42 };
  bench('field filters (5 of 10 match, payload read once)', () => {
    byField.engine.emit({
      sender: byField.owner,
      group: 'bench.group',
      signal: 'Tick',
      payload,
      size: 128,
      fields: () => fields,
    });
    for (const id of byField.ids) byField.engine.take(id);
  });
});

describe('engine join + leave', () => {
  const { engine } = fanOutEngine(0);
  const joiner = engine.connect().id;
  bench('join then leave one group', () => {
    engine.join(joiner, 'bench.group');
    engine.leave(joiner, 'bench.group');
  });
});
