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
    const schema = contractJsonSchema(busSignals, busMethods);
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
    if (schema === undefined) throw new Error('the bus contract has a JSON form');
    const { methods } = schema['properties'] as { methods: { properties: object } };
    expect(Object.keys(methods.properties)).toEqual(Object.keys(busMethods));
  });
});

describe('contractJsonSchema', () => {
  it('is undefined for a contract with a schema that has no JSON form', () => {
    expect(contractJsonSchema({ At: z.date() }, {})).toBeUndefined();
  });
});
