import { type Bus, bytes, connect, defineGroup, isChorusError, z } from '@chorus/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chorus } from '../harness/cli.js';
import { type RunningDaemon, withDaemon } from '../harness/daemon.js';

// Issue 14: one binary field removed the whole schema. The README recommends
// z.instanceof(Uint8Array) for bytes, but a contract with one such field published no schema at
// all (getGroupSchema → null), so `chorus introspect` said the group "was created without a
// contract". Now bytes are part of the published schema (x-chorus-bytes), introspect shows them,
// and a contract that truly has no JSON form is refused at createGroup with the path, instead of
// silently publishing nothing.

const Camera = defineGroup('test.issue14.Camera', {
  signals: {
    Frame: z.object({ seq: z.number().int(), jpeg: z.instanceof(Uint8Array), thumb: bytes().optional() }),
  },
});

let daemon: RunningDaemon & { cleanup(): Promise<void> };
let bus: Bus;

beforeAll(async () => {
  daemon = await withDaemon();
  bus = await connect({ address: daemon.address });
});

afterAll(async () => {
  await bus?.close();
  await daemon?.cleanup();
});

it('publishes a contract with bytes fields, the fields marked as bytes', async () => {
  await bus.createGroup(Camera);
  const schema = await bus.getGroupSchema(Camera.name);
  expect(schema).toMatchObject({
    properties: {
      signals: {
        properties: {
          Frame: {
            properties: { jpeg: { 'x-chorus-bytes': true }, thumb: { 'x-chorus-bytes': true } },
            required: ['seq', 'jpeg'],
          },
        },
      },
    },
  });
});

it('shows the bytes fields in chorus introspect', async () => {
  const result = await chorus(daemon, 'introspect', Camera.name);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^\s+jpeg\s+bytes\s*$/m);
  expect(result.stdout).toMatch(/^\s+thumb\?\s+bytes\s*$/m);
  expect(result.stdout).not.toContain('without a contract');
});

it('refuses a contract with no JSON form at createGroup, naming the path, and creates nothing', async () => {
  const Odd = defineGroup('test.issue14.Odd', {
    signals: { Tick: z.object({ at: z.custom<Date>((value) => value instanceof Date) }) },
  });
  const error = await bus.createGroup(Odd).catch((thrown: unknown) => thrown);
  expect(isChorusError(error, 'UNPUBLISHABLE_CONTRACT')).toBe(true);
  expect(error).toMatchObject({ issues: [{ path: 'signals.Tick.at' }] });
  const missing = await bus.getGroupSchema(Odd.name).catch((thrown: unknown) => thrown);
  expect(isChorusError(missing, 'UNKNOWN_GROUP')).toBe(true);
  // An explicit untyped group stays possible.
  await bus.createGroup(Odd.name);
  expect(await bus.getGroupSchema(Odd.name)).toBeNull();
});
