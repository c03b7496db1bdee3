import { contractJsonSchema } from '@chorus/protocol';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ContractIssue } from '../errors.js';
import { compareCall, compareJoin } from './contract-compare.js';
import { compareSchemas } from './schema-compare.js';

// The compatibility rules as a table: a publisher's payload schema, a subscriber's, and the
// issues the check must report (none: compatible). Both sides go through contractJsonSchema,
// the function createGroup publishes with, so the table covers what zod really produces.

function contractOf(payload: z.ZodType): Record<string, unknown> {
  return contractJsonSchema({ S: payload }, {}).schema;
}

function join(publisher: z.ZodType, subscriber: z.ZodType): ContractIssue[] {
  return compareJoin(contractOf(publisher), contractOf(subscriber));
}

const required = 'required by the subscriber, but the publisher may leave it out';
const Tree: z.ZodType = z.object({
  name: z.string(),
  get children() {
    return z.array(Tree).optional();
  },
});
const Tree2: z.ZodType = z.object({
  name: z.string(),
  get children() {
    return z.array(Tree2).optional();
  },
});
const NarrowTree: z.ZodType = z.object({
  name: z.string().max(3),
  get children() {
    return z.array(NarrowTree).optional();
  },
});

const compatible: [string, z.ZodType, z.ZodType][] = [
  ['the same schema', z.object({ a: z.number() }), z.object({ a: z.number() })],
  [
    'the publisher sends a field the subscriber lacks',
    z.object({ a: z.number(), b: z.string() }),
    z.object({ a: z.number() }),
  ],
  [
    'the subscriber adds an optional field',
    z.object({ a: z.number() }),
    z.object({ a: z.number(), b: z.string().optional() }),
  ],
  [
    'the subscriber adds a field with a default',
    z.object({ a: z.number() }),
    z.object({ a: z.number(), b: z.string().default('x') }),
  ],
  [
    'a required field the subscriber makes optional',
    z.object({ a: z.number() }),
    z.object({ a: z.number().optional() }),
  ],
  ['integers into numbers', z.number().int(), z.number()],
  ['a narrower range', z.number().min(10).max(20), z.number().min(0).max(100)],
  ['an exclusive bound on integers (> 3 is ≥ 4)', z.number().int().gt(3), z.number().int().min(4)],
  ['an enum into a wider enum', z.enum(['a', 'b']), z.enum(['a', 'b', 'c'])],
  ['an enum into a string', z.enum(['a', 'b']), z.string()],
  ['a literal into a nullable string', z.literal('x'), z.string().nullable()],
  ['a string into a nullable one', z.string(), z.string().nullable()],
  ['a boolean into a union with boolean', z.boolean(), z.union([z.boolean(), z.number()])],
  [
    'bytes into bytes',
    z.object({ data: z.instanceof(Uint8Array) }),
    z.object({ data: z.instanceof(Uint8Array) }),
  ],
  ['anything into unknown', z.object({ a: z.number() }), z.unknown()],
  ['a longer minimum length', z.string().min(3), z.string().min(1)],
  ['the same pattern', z.string().regex(/^a+$/), z.string().regex(/^a+$/)],
  ['the same format', z.email(), z.email()],
  ['fewer items', z.array(z.number()).max(3), z.array(z.number()).max(5)],
  [
    'a tuple into an array of a union',
    z.tuple([z.string(), z.number()]),
    z.array(z.union([z.string(), z.number()])),
  ],
  [
    'a tuple into a shorter tuple with rest',
    z.tuple([z.string(), z.number()]),
    z.tuple([z.string()], z.number()),
  ],
  [
    'a record into the same record',
    z.record(z.string(), z.number()),
    z.record(z.string(), z.number().nullable()),
  ],
  [
    'an object into a strict one with the same fields',
    z.object({ a: z.number() }),
    z.strictObject({ a: z.number(), b: z.string().optional() }),
  ],
  [
    'the same discriminated union',
    z.discriminatedUnion('k', [
      z.object({ k: z.literal('a') }),
      z.object({ k: z.literal('b'), v: z.number() }),
    ]),
    z.discriminatedUnion('k', [
      z.object({ k: z.literal('a') }),
      z.object({ k: z.literal('b'), v: z.number() }),
    ]),
  ],
  [
    'one branch of a union into the union',
    z.object({ k: z.literal('a') }),
    z.discriminatedUnion('k', [z.object({ k: z.literal('a') }), z.object({ k: z.literal('b') })]),
  ],
  ['the same recursive schema', Tree, Tree2],
  ['no payload into no payload', z.undefined(), z.undefined()],
  ['no payload into an optional one', z.undefined(), z.object({}).optional()],
  [
    'a transform runs on receipt (the wire carries its input)',
    z.string(),
    z.string().transform((s) => s.length),
  ],
  ['a subscriber that sees a field as unknown', z.object({ a: z.number() }), z.object({ a: z.unknown() })],
];

const incompatible: [string, z.ZodType, z.ZodType, ContractIssue[]][] = [
  [
    'a field the subscriber requires and the publisher lacks',
    z.object({ a: z.number() }),
    z.object({ a: z.number(), b: z.string() }),
    [{ path: 'signals.S.b', reason: required }],
  ],
  [
    'a field the subscriber requires and the publisher may omit',
    z.object({ a: z.number().optional() }),
    z.object({ a: z.number() }),
    [{ path: 'signals.S.a', reason: required }],
  ],
  [
    'numbers into integers',
    z.object({ n: z.number() }),
    z.object({ n: z.number().int() }),
    [
      {
        path: 'signals.S.n',
        reason: 'the publisher may send non-integer numbers; the subscriber accepts integers only',
      },
    ],
  ],
  [
    'a lower minimum',
    z.number().min(0),
    z.number().min(1),
    [{ path: 'signals.S', reason: 'the publisher may send numbers < 1; the subscriber needs ≥ 1' }],
  ],
  [
    'no maximum into a maximum',
    z.number().min(0),
    z.number().min(0).max(100),
    [{ path: 'signals.S', reason: 'the publisher may send numbers > 100; the subscriber needs ≤ 100' }],
  ],
  [
    'an inclusive bound into an exclusive one',
    z.number().max(5),
    z.number().lt(5),
    [{ path: 'signals.S', reason: 'the publisher may send numbers ≥ 5; the subscriber needs < 5' }],
  ],
  [
    'an enum value the subscriber lacks',
    z.enum(['a', 'b', 'c']),
    z.enum(['a', 'b']),
    [{ path: 'signals.S', reason: 'the publisher may send "c", which the subscriber refuses' }],
  ],
  [
    'a string into an enum',
    z.string(),
    z.enum(['a', 'b']),
    [{ path: 'signals.S', reason: 'the subscriber accepts only "a", "b"; the publisher may send others' }],
  ],
  [
    'another type',
    z.object({ a: z.string() }),
    z.object({ a: z.number() }),
    [{ path: 'signals.S.a', reason: 'the publisher may send a string; the subscriber expects a number' }],
  ],
  [
    'null the subscriber refuses',
    z.object({ a: z.string().nullable() }),
    z.object({ a: z.string() }),
    [{ path: 'signals.S.a', reason: 'the publisher may send null, which the subscriber refuses' }],
  ],
  [
    'bytes into a string',
    z.object({ data: z.instanceof(Uint8Array) }),
    z.object({ data: z.string() }),
    [{ path: 'signals.S.data', reason: 'the publisher may send bytes; the subscriber expects a string' }],
  ],
  [
    'a string into bytes',
    z.object({ data: z.string() }),
    z.object({ data: z.instanceof(Uint8Array) }),
    [{ path: 'signals.S.data', reason: 'the publisher may send a string; the subscriber expects bytes' }],
  ],
  [
    'a longer string',
    z.string().max(20),
    z.string().max(10),
    [{ path: 'signals.S', reason: 'the publisher may send strings longer than 10' }],
  ],
  [
    'a shorter string',
    z.string(),
    z.string().min(1),
    [{ path: 'signals.S', reason: 'the publisher may send strings shorter than 1' }],
  ],
  [
    'another pattern',
    z.string().regex(/^a+$/),
    z.string().regex(/^a*$/),
    [
      {
        path: 'signals.S',
        reason: 'the subscriber needs the pattern /^a*$/, which the publisher does not have',
      },
    ],
  ],
  [
    'a format the publisher does not promise',
    z.string(),
    z.email(),
    [
      { path: 'signals.S', reason: 'the subscriber needs format email; the publisher does not promise it' },
      {
        path: 'signals.S',
        reason: expect.stringMatching(/^the subscriber needs the pattern/) as unknown as string,
      },
    ],
  ],
  [
    'more items',
    z.array(z.number()),
    z.array(z.number()).max(5),
    [{ path: 'signals.S', reason: 'the publisher may send more than 5 items' }],
  ],
  [
    'fewer items',
    z.array(z.number()),
    z.array(z.number()).nonempty(),
    [{ path: 'signals.S', reason: 'the publisher may send fewer than 1 items' }],
  ],
  [
    'items of another type, nested',
    z.object({ cells: z.array(z.object({ volts: z.number() })) }),
    z.object({ cells: z.array(z.object({ volts: z.number().int() })) }),
    [
      {
        path: 'signals.S.cells[].volts',
        reason: 'the publisher may send non-integer numbers; the subscriber accepts integers only',
      },
    ],
  ],
  [
    'a longer tuple',
    z.tuple([z.string(), z.number()]),
    z.tuple([z.string()]),
    [{ path: 'signals.S', reason: 'the publisher may send more than 1 items' }],
  ],
  [
    'a tuple member of another type',
    z.tuple([z.string(), z.number()]),
    z.tuple([z.string(), z.string()]),
    [{ path: 'signals.S[1]', reason: 'the publisher may send a number; the subscriber expects a string' }],
  ],
  [
    'a declared field a strict subscriber refuses',
    z.object({ a: z.number(), extra: z.string() }),
    z.strictObject({ a: z.number() }),
    [
      {
        path: 'signals.S.extra',
        reason: 'the publisher may send this property; the subscriber refuses unknown properties',
      },
    ],
  ],
  [
    'any properties into a strict subscriber',
    z.looseObject({ a: z.number() }),
    z.strictObject({ a: z.number() }),
    [
      {
        path: 'signals.S',
        reason: 'the publisher may send other properties; the subscriber refuses unknown properties',
      },
    ],
  ],
  [
    'record values of another type',
    z.record(z.string(), z.string()),
    z.record(z.string(), z.number()),
    [{ path: 'signals.S.*', reason: 'the publisher may send a string; the subscriber expects a number' }],
  ],
  [
    'no payload into a payload',
    z.undefined(),
    z.object({}),
    [
      {
        path: 'signals.S',
        reason: 'the publisher may send no value (the empty payload); the subscriber needs one',
      },
    ],
  ],
  [
    'a union branch the subscriber lacks',
    z.discriminatedUnion('k', [z.object({ k: z.literal('a') }), z.object({ k: z.literal('b') })]),
    z.object({ k: z.literal('a') }),
    [{ path: 'signals.S.k', reason: 'the publisher may send "b", which the subscriber refuses' }],
  ],
  [
    'a recursive schema narrowed inside',
    Tree,
    NarrowTree,
    [{ path: 'signals.S.name', reason: 'the publisher may send strings longer than 3' }],
  ],
  [
    'any value into a number',
    z.object({ a: z.unknown() }),
    z.object({ a: z.number() }),
    [{ path: 'signals.S.a', reason: 'the publisher may send any value here; the subscriber accepts fewer' }],
  ],
  [
    'a subscriber schema with no JSON form',
    z.object({ a: z.string() }),
    z.object({ a: z.custom<string>(() => true) }),
    [
      {
        path: 'signals.S.a',
        reason: expect.stringMatching(/^cannot compare: a z\.custom\(\)/) as unknown as string,
      },
    ],
  ],
];

describe('compareJoin on zod contracts', () => {
  it.each(compatible)('compatible: %s', (_name, publisher, subscriber) => {
    expect(join(publisher, subscriber)).toEqual([]);
  });

  it.each(incompatible)('incompatible: %s', (_name, publisher, subscriber, issues) => {
    expect(join(publisher, subscriber)).toEqual(issues);
  });

  it('needs every signal the subscriber handles, and ignores the ones it does not', () => {
    const publisher = contractJsonSchema({ A: z.number(), B: z.string() }, {}).schema;
    expect(compareJoin(publisher, contractJsonSchema({ A: z.number() }, {}).schema)).toEqual([]);
    expect(compareJoin(publisher, contractJsonSchema({ A: z.number(), C: z.null() }, {}).schema)).toEqual([
      { path: 'signals.C', reason: 'the subscriber handles this signal; the publisher does not declare it' },
    ]);
  });
});

describe('compareCall: the caller sends the input, the service the output', () => {
  const contract = (input: z.ZodType, output: z.ZodType) =>
    contractJsonSchema({}, { M: { input, output } }).schema;
  const service = contract(z.object({ n: z.number() }), z.object({ v: z.number().int() }));

  it('passes a narrower input and a wider output', () => {
    expect(
      compareCall(service, contract(z.object({ n: z.number().int() }), z.object({ v: z.number() })), 'M'),
    ).toEqual([]);
  });

  it('refuses an input the service may refuse and an output the caller may refuse', () => {
    const caller = contract(z.object({ n: z.number().nullable() }), z.object({ v: z.number().int().max(9) }));
    expect(compareCall(service, caller, 'M')).toEqual([
      { path: 'methods.M.input.n', reason: 'the publisher may send null, which the subscriber refuses' },
      { path: 'methods.M.output.v', reason: 'the publisher may send numbers > 9; the subscriber needs ≤ 9' },
    ]);
  });

  it('refuses a method the service does not declare', () => {
    expect(compareCall(service, contract(z.null(), z.null()), 'N')).toEqual([
      { path: 'methods.N', reason: expect.stringMatching(/^cannot compare/) },
    ]);
    const caller = contractJsonSchema({}, { N: { input: z.null(), output: z.null() } }).schema;
    expect(compareCall(service, caller, 'N')).toEqual([
      { path: 'methods.N', reason: 'the caller calls this method; the service does not declare it' },
    ]);
  });
});

describe('compareSchemas on raw JSON Schemas', () => {
  it('reports what it cannot decide instead of guessing', () => {
    expect(compareSchemas({ type: 'string' }, { type: 'string', if: {} })).toEqual([
      { path: '', reason: "cannot compare: the subscriber's schema uses 'if'" },
    ]);
    expect(compareSchemas({ type: 'object', patternProperties: {} }, { type: 'object' })).toEqual([
      { path: '', reason: "cannot compare: the publisher's schema uses 'patternProperties'" },
    ]);
    const overlapping = { oneOf: [{ type: 'number' }, { type: 'integer' }] };
    expect(compareSchemas({ type: 'integer' }, overlapping)).toEqual([
      {
        path: '',
        reason: expect.stringMatching(/^cannot compare: the subscriber's oneOf branches may overlap/),
      },
    ]);
    expect(compareSchemas({ $ref: '#/$defs/missing' }, { type: 'string' })).toEqual([
      { path: '', reason: expect.stringMatching(/^cannot compare: the publisher's the \$ref/) },
    ]);
  });

  it('ignores what only narrows the publisher, and annotations', () => {
    expect(
      compareSchemas(
        { type: 'string', format: 'uuid', description: 'an id' },
        { type: 'string', title: 'x' },
      ),
    ).toEqual([]);
  });

  it('follows $ref on both sides, through recursion', () => {
    const list = {
      $defs: { L: { type: 'object', properties: { next: { $ref: '#/$defs/L' }, v: { type: 'integer' } } } },
      $ref: '#/$defs/L',
    };
    const wide = {
      $defs: { N: { type: 'object', properties: { next: { $ref: '#/$defs/N' }, v: { type: 'number' } } } },
      $ref: '#/$defs/N',
    };
    expect(compareSchemas(list, wide)).toEqual([]);
    expect(compareSchemas(wide, list)).toEqual([
      {
        path: 'v',
        reason: 'the publisher may send non-integer numbers; the subscriber accepts integers only',
      },
    ]);
  });
});
