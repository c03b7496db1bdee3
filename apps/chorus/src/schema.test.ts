import { bytes, defineGroup, z } from '@chorus/client';
import { describe, expect, it } from 'vitest';
import { describeContract, describeValue, notesOf, renderContract, typeName } from './schema.js';
import { createStyle } from './style.js';

// Schemas as the SDK publishes them (defineGroup → jsonSchema(), what createGroup sends).
const Battery = defineGroup('test.cli.Battery', {
  signals: {
    LevelChanged: z.object({
      percent: z.number().min(0).max(100).describe('charge level'),
      source: z.enum(['ac', 'battery']).optional(),
      cells: z.array(z.object({ volts: z.number() })),
    }),
    Tick: z.number().int().optional(),
    Empty: z.object({}),
  },
  methods: {
    GetLevel: { input: z.object({}), output: z.object({ percent: z.number() }) },
    SetLimit: { input: z.object({ percent: z.number().int().min(1) }), output: z.boolean() },
  },
});

describe('describeContract', () => {
  it('digests the schema the SDK publishes: signals, methods, fields and constraints', () => {
    expect(describeContract(Battery.jsonSchema())).toEqual({
      signals: [
        {
          name: 'LevelChanged',
          optional: false,
          payload: {
            type: 'object',
            notes: [],
            fields: [
              { path: 'percent', type: 'number', optional: false, notes: ['≥ 0', '≤ 100', 'charge level'] },
              { path: 'source', type: '"ac" | "battery"', optional: true, notes: [] },
              { path: 'cells', type: 'object[]', optional: false, notes: [] },
              { path: 'cells[].volts', type: 'number', optional: false, notes: [] },
            ],
          },
        },
        // int()'s safe-integer bounds are not worth a note.
        { name: 'Tick', optional: true, payload: { type: 'integer', fields: [], notes: [] } },
        { name: 'Empty', optional: false, payload: { type: 'object', fields: [], notes: [] } },
      ],
      methods: [
        {
          name: 'GetLevel',
          input: { type: 'object', fields: [], notes: [] },
          output: {
            type: 'object',
            notes: [],
            fields: [{ path: 'percent', type: 'number', optional: false, notes: [] }],
          },
        },
        {
          name: 'SetLimit',
          input: {
            type: 'object',
            notes: [],
            fields: [{ path: 'percent', type: 'integer', optional: false, notes: ['≥ 1'] }],
          },
          output: { type: 'boolean', fields: [], notes: [] },
        },
      ],
    });
  });

  it("reads the bus's own schema (no required lists, inputs only)", () => {
    const schema = {
      type: 'object',
      properties: {
        signals: {
          type: 'object',
          properties: {
            NameLost: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
          },
        },
        methods: {
          type: 'object',
          properties: {
            GetNameOwner: {
              type: 'object',
              properties: { input: { type: 'object', properties: { name: { type: 'string' } } } },
            },
          },
        },
      },
    };
    const contract = describeContract(schema);
    expect(contract?.signals).toEqual([
      {
        name: 'NameLost',
        optional: false,
        payload: {
          type: 'object',
          notes: [],
          fields: [{ path: 'name', type: 'string', optional: false, notes: [] }],
        },
      },
    ]);
    expect(contract?.methods[0]).toMatchObject({ name: 'GetNameOwner', output: undefined });
    expect(contract?.methods[0]?.input?.fields).toEqual([
      { path: 'name', type: 'string', optional: true, notes: [] },
    ]);
  });

  it('says undefined for a schema of another shape', () => {
    expect(describeContract(null)).toBeUndefined();
    expect(describeContract({ type: 'string' })).toBeUndefined();
    expect(describeContract({ type: 'object', properties: { a: { type: 'number' } } })).toBeUndefined();
  });

  it('flattens nested objects, arrays of objects and records of objects, up to a depth', () => {
    const value = describeValue(
      z.toJSONSchema(
        z.object({
          a: z.object({ b: z.object({ c: z.string() }) }),
          byId: z.record(z.string(), z.object({ n: z.number() })),
        }),
      ),
    );
    expect(value.fields.map((field) => `${field.path}: ${field.type}`)).toEqual([
      'a: object',
      'a.b: object',
      'a.b.c: string',
      'byId: record<string, object>',
      'byId.*.n: number',
    ]);
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 20; i++) deep = { type: 'object', properties: { x: deep } };
    expect(describeValue(deep).fields.length).toBe(6);
  });
});

describe('bytes', () => {
  it('shows a bytes field (z.instanceof(Uint8Array), bytes()) as bytes', () => {
    const Camera = defineGroup('test.cli.Camera', {
      signals: {
        Frame: z.object({ jpeg: bytes(), thumb: z.instanceof(Uint8Array).nullable() }),
        Off: z.undefined(),
      },
    });
    const contract = describeContract(Camera.jsonSchema());
    expect(contract?.signals[0]?.payload.fields).toEqual([
      { path: 'jpeg', type: 'bytes', optional: false, notes: [] },
      { path: 'thumb', type: 'bytes | null', optional: false, notes: [] },
    ]);
    expect(contract?.signals[1]?.payload.type).toBe('no value');
  });
});

describe('typeName', () => {
  it.each([
    [{ type: 'string' }, 'string'],
    [{ type: ['string', 'null'] }, 'string | null'],
    [{ anyOf: [{ type: 'number' }, { type: 'null' }] }, 'number | null'],
    [{ enum: ['a', 1] }, '"a" | 1'],
    [{ const: 'x' }, '"x"'],
    [{ type: 'array', items: { type: 'number' } }, 'number[]'],
    [{ type: 'array', items: { type: ['string', 'null'] } }, '(string | null)[]'],
    [{ type: 'array' }, 'any[]'],
    [{ type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }] }, '[string, number]'],
    [{ type: 'object', additionalProperties: { type: 'number' } }, 'record<string, number>'],
    [{ type: 'object', properties: { a: {} } }, 'object'],
    [{ allOf: [{ $ref: '#/$defs/A' }, { $ref: '#/$defs/B' }] }, 'A & B'],
    [{ $ref: '#' }, 'self'],
    [{ 'x-chorus-bytes': true }, 'bytes'],
    [{ not: {}, 'x-chorus-undefined': true }, 'no value'],
    [{ anyOf: [{ 'x-chorus-bytes': true }, { type: 'null' }] }, 'bytes | null'],
    [{}, 'any'],
    [true, 'any'],
    [false, 'never'],
  ])('%j reads %s', (schema, text) => {
    expect(typeName(schema)).toBe(text);
  });
});

describe('notesOf', () => {
  it('tells bounds, lengths, format, default and description', () => {
    expect(notesOf({ type: 'number', exclusiveMinimum: 0, maximum: 1, multipleOf: 0.5 })).toEqual([
      '> 0',
      '≤ 1',
      'multiple of 0.5',
    ]);
    expect(notesOf({ type: 'string', minLength: 1, maxLength: 8 })).toEqual(['length 1..8']);
    expect(notesOf({ type: 'array', minItems: 2, maxItems: 2 })).toEqual(['items 2']);
    expect(notesOf({ type: 'string', format: 'date-time', pattern: '^\\d{4}-...$' })).toEqual([
      'format date-time',
    ]);
    expect(notesOf({ type: 'string', pattern: '^[a-z]+$' })).toEqual(['pattern /^[a-z]+$/']);
    expect(notesOf({ type: 'string', pattern: 'x'.repeat(60) })).toEqual([`pattern /${'x'.repeat(40)}…/`]);
    expect(notesOf({ default: 3, deprecated: true, description: 'how many' })).toEqual([
      'default 3',
      'deprecated',
      'how many',
    ]);
  });
});

describe('renderContract', () => {
  it('prints signals and methods with aligned field rows', () => {
    const contract = describeContract(Battery.jsonSchema());
    expect(contract).toBeDefined();
    expect(renderContract(contract!, createStyle(false))).toEqual([
      'Signals (3)',
      '  LevelChanged',
      '    percent        number            ≥ 0, ≤ 100, charge level',
      '    source?        "ac" | "battery"',
      '    cells          object[]',
      '    cells[].volts  number',
      '  Tick  (payload optional)',
      '    integer',
      '  Empty',
      '    {} (no fields)',
      '',
      'Methods (2)',
      '  GetLevel',
      '    input   {} (no fields)',
      '    output',
      '      percent  number',
      '  SetLimit',
      '    input',
      '      percent  integer  ≥ 1',
      '    output  boolean',
    ]);
  });

  it('says when a contract has no signals or no methods, and when an output is not published', () => {
    const lines = renderContract(
      { signals: [], methods: [{ name: 'M', input: undefined, output: undefined }] },
      createStyle(false),
    );
    expect(lines).toEqual([
      'Signals (0)',
      '  (none)',
      '',
      'Methods (1)',
      '  M',
      '    input   (not published)',
      '    output  (not published)',
    ]);
  });
});
