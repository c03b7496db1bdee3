// Why: org.chorus.Bus is defined once here, and its JSON Schema is what the daemon publishes for its
// own group (test/bus-interface.test.ts compares the two on a real daemon). These tests pin down
// the definition's shape and the one function that turns any contract into JSON Schema.

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { busMethods, busSignals } from './bus-contract.js';
import { contractJsonSchema } from './contract-schema.js';

describe('org.chorus.Bus', () => {
  it('has the D-Bus-like methods and the name ownership signals', () => {
    expect(Object.keys(busMethods)).toEqual([
      'RequestName',
      'ReleaseName',
      'GetNameOwner',
      'ListNames',
      'ListGroups',
      'ListConnections',
      'GetGroupSchema',
      'GetStats',
    ]);
    expect(Object.keys(busSignals)).toEqual(['NameOwnerChanged', 'NameAcquired', 'NameLost']);
  });

  it('takes an empty map for the methods without input, and refuses a missing name', () => {
    for (const method of ['ListNames', 'ListGroups', 'ListConnections', 'GetStats'] as const)
      expect(busMethods[method].input.safeParse({}).success).toBe(true);
    expect(busMethods.RequestName.input.safeParse({ nom: 'x' }).success).toBe(false);
    expect(busMethods.RequestName.input.parse({ name: 'a.b', flags: { doNotQueue: true } })).toEqual({
      name: 'a.b',
      flags: { doNotQueue: true },
    });
  });

  it('keeps fields it does not know in listed entries (a newer daemon), and refuses a wrong shape', () => {
    const connection = {
      name: ':1.4',
      transport: 'unix',
      identity: 'owner',
      groups: [],
      owned: [],
      names: [],
      queuedBytes: 0,
      monitor: false,
      pendingCalls: 0,
      future: 1,
    };
    expect(busMethods.ListConnections.output.parse({ connections: [connection] })).toEqual({
      connections: [connection],
    });
    expect(busMethods.GetNameOwner.output.safeParse({ owner: 5 }).success).toBe(false);
  });

  it('publishes every signal and every method (input and output) as JSON Schema', () => {
    const { schema, problems } = contractJsonSchema(busSignals, busMethods);
    expect(problems).toEqual([]);
    expect(schema).toMatchObject({
      type: 'object',
      properties: {
        signals: {
          properties: {
            NameOwnerChanged: {
              properties: { oldOwner: { type: ['string', 'null'] } },
              required: ['name', 'oldOwner', 'newOwner'],
            },
            NameAcquired: { properties: { name: { type: 'string' } } },
            NameLost: { properties: { name: { type: 'string' } } },
          },
        },
        methods: {
          properties: {
            RequestName: {
              properties: {
                input: { required: ['name'] },
                output: {
                  properties: { result: { enum: ['primary-owner', 'in-queue', 'exists', 'already-owner'] } },
                },
              },
            },
          },
        },
      },
    });
    const { methods } = schema['properties'] as { methods: { properties: object } };
    expect(Object.keys(methods.properties)).toEqual(Object.keys(busMethods));
  });
});

describe('contractJsonSchema', () => {
  it('names each place of a contract that has no JSON form (never published)', () => {
    const { schema, problems } = contractJsonSchema({ At: z.date() }, {});
    expect(problems).toEqual([{ path: 'signals.At', reason: expect.stringMatching(/^a Date/) }]);
    expect(schema).toMatchObject({
      properties: { signals: { properties: { At: { 'x-chorus-unrepresentable': expect.any(String) } } } },
    });
  });

  it('marks bytes and no value, which have no JSON word', () => {
    const { schema, problems } = contractJsonSchema(
      { Frame: z.object({ jpeg: z.instanceof(Uint8Array) }), Off: z.undefined() },
      {},
    );
    expect(problems).toEqual([]);
    expect(schema).toMatchObject({
      properties: {
        signals: {
          properties: {
            Frame: { properties: { jpeg: { 'x-chorus-bytes': true } } },
            Off: { not: {}, 'x-chorus-undefined': true },
          },
        },
      },
    });
  });
});
