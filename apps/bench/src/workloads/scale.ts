/*
 * Scale (Chorus only): the cost of an emit must grow with its recipients, not with the bus. The
 * emit rate (1 → 1, 64 B) on a fresh daemon is compared with the same on a daemon that also holds
 * 10,000 unrelated groups, 1,000 idle connections and 10,000 memberships of those connections in
 * those groups. Along the way the daemon's RSS gives the memory per idle connection, per group
 * and per membership; last, the join/leave rate.
 */

import type { Bus } from '@chorus/client';
import { nowUs, sleep } from '../clock.js';
import { rssBytes } from '../processes.js';
import type { Row } from '../results.js';
import { measureThroughput } from '../runner.js';
import { chorusServer } from '../systems/chorus-daemon.js';
import { type Context, type Running, setupFor, warmUp, withBroker } from './context.js';

const IDLE_CONNECTIONS = 1000;
const GROUPS = 10_000;
const OWNERS = 10; // maxGroupsPerConnection is 1024 by default
const MEMBERSHIPS_PER_CONNECTION = 10;
const CONCURRENT_JOINS = 64;

function row(
  metric: string,
  caseLabel: string,
  unit: string,
  better: 'higher' | 'lower',
  value: number | undefined,
  note?: string,
): Row {
  return {
    workload: 'scale',
    case: caseLabel,
    metric,
    unit,
    better,
    values: value === undefined ? {} : { chorus: value },
    spread: {},
    notes: note === undefined ? {} : { chorus: note },
  };
}

async function emitRate(context: Context, running: Running, label: string): Promise<number> {
  const rates: number[] = [];
  for (let r = 0; r < context.options.repeat; r++) {
    const topic = `bench.scale-${label}-${r}`;
    const result = await measureThroughput(
      setupFor(context, running, [topic], [[topic]], 64),
      context.options.durationMs,
    );
    if (!result.verification.ok)
      throw new Error(`verification failed: ${result.verification.problems.join('; ')}`);
    rates.push(result.messagesPerSec);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)] as number;
}

/** RSS after the daemon settled: the median of three readings. */
async function settledRss(pid: number): Promise<number> {
  await sleep(300);
  const readings: number[] = [];
  for (let k = 0; k < 3; k++) {
    readings.push(await rssBytes(pid));
    await sleep(100);
  }
  readings.sort((a, b) => a - b);
  return readings[1] as number;
}

async function createGroups(address: string): Promise<Bus[]> {
  const { connect } = await import('@chorus/client');
  const owners = await Promise.all(
    Array.from({ length: OWNERS }, () => connect({ address, client: 'bench-owner' })),
  );
  await Promise.all(
    owners.map(async (bus, o) => {
      const per = GROUPS / OWNERS;
      for (let start = 0; start < per; start += 200) {
        const batch: Promise<unknown>[] = [];
        for (let k = start; k < Math.min(per, start + 200); k++)
          batch.push(bus.createGroup(groupName(o * per + k)));
        await Promise.all(batch);
      }
    }),
  );
  return owners;
}

function groupName(index: number): string {
  return `bench.unrelated.g${index}`;
}

async function joinLeaveRate(address: string, durationMs: number): Promise<number> {
  const { connect } = await import('@chorus/client');
  const bus = await connect({ address, client: 'bench-joiner' });
  try {
    let ops = 0;
    const deadline = nowUs() + durationMs * 1000;
    const started = nowUs();
    await Promise.all(
      Array.from({ length: CONCURRENT_JOINS }, async (_, k) => {
        const group = groupName(GROUPS - 1 - k);
        while (nowUs() < deadline) {
          const sub = await bus.join(group);
          await sub.leave();
          ops += 2;
        }
      }),
    );
    return ops / ((nowUs() - started) / 1e6);
  } finally {
    await bus.close();
  }
}

export async function scale(context: Context): Promise<Row[]> {
  const rows: Row[] = [];
  if (!context.systems.some((s) => s.id === 'chorus')) return rows;
  let baseline: number | undefined;
  await withBroker(context, chorusServer, async (running) => {
    await warmUp(context, running);
    baseline = await emitRate(context, running, 'empty');
    context.log(`  scale: empty bus ${(baseline / 1e3).toFixed(1)} k emits/s`);
  });
  await withBroker(context, chorusServer, async (running) => {
    const pid = running.broker.pid as number;
    // Memory first, on a fresh daemon: a warm-up would grow the heap, and the connections would
    // then fill pages already counted in the RSS.
    const rss0 = await settledRss(pid);
    const idle = await context.pool.open(
      'chorus',
      running.broker.address,
      Array.from({ length: IDLE_CONNECTIONS }, () => []),
    );
    const owners: Bus[] = [];
    try {
      const rss1 = await settledRss(pid);
      const perConnection = (rss1 - rss0) / IDLE_CONNECTIONS;
      context.log(
        `  scale: ${IDLE_CONNECTIONS} idle connections: ${(perConnection / 1024).toFixed(1)} KiB each`,
      );
      const createdAt = nowUs();
      owners.push(...(await createGroups(running.broker.address)));
      const createRate = GROUPS / ((nowUs() - createdAt) / 1e6);
      const rss2 = await settledRss(pid);
      const perGroup = (rss2 - rss1) / GROUPS;
      context.log(
        `  scale: ${GROUPS} groups: ${(perGroup / 1024).toFixed(2)} KiB each, created at ${createRate.toFixed(0)}/s`,
      );
      await idle.join((c) =>
        Array.from({ length: MEMBERSHIPS_PER_CONNECTION }, (_, k) =>
          groupName((c * MEMBERSHIPS_PER_CONNECTION + k) % GROUPS),
        ),
      );
      const rss3 = await settledRss(pid);
      const memberships = IDLE_CONNECTIONS * MEMBERSHIPS_PER_CONNECTION;
      const perMembership = (rss3 - rss2) / memberships;
      context.log(`  scale: ${memberships} memberships: ${(perMembership / 1024).toFixed(2)} KiB each`);
      await warmUp(context, running);
      const loaded = await emitRate(context, running, 'loaded');
      context.log(`  scale: loaded bus ${(loaded / 1e3).toFixed(1)} k emits/s`);
      const joinLeave = await joinLeaveRate(running.broker.address, context.options.durationMs);
      context.log(`  scale: join/leave ${joinLeave.toFixed(0)} ops/s`);
      const empty = baseline ?? Number.NaN;
      const busy = `${GROUPS.toLocaleString('en')} groups, ${IDLE_CONNECTIONS.toLocaleString('en')} idle connections`;
      rows.push(row('emit cost, empty bus', '1 → 1, 64 B', 'µs', 'lower', 1e6 / empty));
      rows.push(row('emit cost, busy bus', `1 → 1, 64 B, ${busy}`, 'µs', 'lower', 1e6 / loaded));
      const ratio = empty / loaded;
      const last = rows[rows.length - 1] as Row;
      // Flat: no dearer than the empty bus beyond noise (a cheaper figure is noise too, not a miss).
      last.target = {
        goal: 'flat (≤ 1.1× the empty bus)',
        met: ratio <= 1.1,
        detail: `${ratio.toFixed(2)}× the empty bus`,
      };
      const memory = row(
        'daemon memory per idle connection',
        `${IDLE_CONNECTIONS} connections`,
        'KiB',
        'lower',
        perConnection / 1024,
      );
      memory.target = {
        goal: '< 20 KiB',
        met: perConnection < 20 * 1024,
        detail: `${(perConnection / 1024).toFixed(1)} KiB`,
      };
      rows.push(memory);
      rows.push(
        row(
          'daemon memory per group',
          `${GROUPS.toLocaleString('en')} groups`,
          'KiB',
          'lower',
          perGroup / 1024,
        ),
      );
      rows.push(
        row(
          'daemon memory per membership',
          `${memberships.toLocaleString('en')} memberships`,
          'KiB',
          'lower',
          perMembership / 1024,
        ),
      );
      rows.push(row('group creation', 'pipelined, 10 owners', '/s', 'higher', createRate));
      rows.push(
        row('join + leave', `${CONCURRENT_JOINS} groups at once, 1 connection`, 'ops/s', 'higher', joinLeave),
      );
    } finally {
      await idle.close();
      await Promise.all(owners.map((bus) => bus.close().catch(() => undefined)));
    }
  });
  return rows;
}
