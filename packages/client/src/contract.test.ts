import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bytes } from './bytes.js';
import { checkPayload, checkValue, defineGroup } from './contract.js';
import { UnpublishableContractError } from './errors.js';

const Battery = defineGroup('org.example.Battery', {
  signals: {
    LevelChanged: z.object({ percent: z.number().min(0).max(100) }),
    Renamed: z.object({ name: z.string().transform((s) => s.trim()) }),
  },
});

describe('defineGroup', () => {
  it('keeps the name and signals, and looks schemas up by signal', () => {
    expect(Battery.name).toBe('org.example.Battery');
    expect(Battery.schemaFor('LevelChanged')).toBe(Battery.signals.LevelChanged);
    expect(Battery.schemaFor('Nope')).toBeUndefined();
    // Not inherited properties: the lookup is a Map, not the signals object.
    expect(Battery.schemaFor('toString')).toBeUndefined();
  });

  it('refuses the reserved event names as signal names', () => {
    const reserved = { closed: z.object({}) } as unknown as Record<string, z.ZodType>;
    expect(() => defineGroup('x', { signals: reserved as never })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('refuses a signal without a schema, and an empty name', () => {
    expect(() => defineGroup('x', { signals: { A: 'string' as unknown as z.ZodType } })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => defineGroup('', { signals: {} })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('computes the JSON Schema (input side) once', () => {
    const schema = Battery.jsonSchema();
    expect(schema).toBe(Battery.jsonSchema());
    expect(schema).toMatchObject({
      type: 'object',
      properties: {
        signals: {
          properties: {
            LevelChanged: { properties: { percent: { type: 'number', minimum: 0, maximum: 100 } } },
            Renamed: { properties: { name: { type: 'string' } } },
          },
        },
        methods: { type: 'object', properties: {} },
      },
    });
  });
});

describe('checkPayload', () => {
  it('returns the parsed value (transforms applied)', () => {
    expect(checkPayload(Battery, 'Renamed', { name: '  pack ' })).toEqual({
      ok: true,
      value: { name: 'pack' },
    });
  });

  it('reports zod issues as plain data', () => {
    const result = checkPayload(Battery, 'LevelChanged', { percent: 101 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.issues).toEqual([
      { code: 'too_big', path: ['percent'], message: expect.any(String) },
    ]);
    expect(JSON.parse(JSON.stringify(result.error.issues))).toEqual(result.error.issues);
  });

  it('reports a signal the contract does not have', () => {
    const result = checkPayload(Battery, 'Exploded', {});
    expect(result.ok ? undefined : result.error.issues[0]?.code).toBe('unknown_signal');
  });
});

describe('methods', () => {
  const Meter = defineGroup('org.example.Meter', {
    methods: {
      GetLevel: { input: z.object({}), output: z.object({ percent: z.number().min(0) }) },
      Rename: { input: z.object({ name: z.string().transform((s) => s.trim()) }), output: z.null() },
    },
  });

  it('keeps the methods and looks them up by name, own names only', () => {
    expect(Meter.signals).toEqual({});
    expect(Meter.methodFor('GetLevel')).toBe(Meter.methods.GetLevel);
    expect(Meter.methodFor('Nope')).toBeUndefined();
    expect(Meter.methodFor('constructor')).toBeUndefined();
    expect(Meter.schemaFor('GetLevel')).toBeUndefined();
  });

  it('refuses a method without both zod schemas, and an empty method name', () => {
    const missing = { M: { input: z.null() } } as never;
    expect(() => defineGroup('x', { methods: missing })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const notZod = { M: { input: z.null(), output: 'null' } } as never;
    expect(() => defineGroup('x', { methods: notZod })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const empty = { '': { input: z.null(), output: z.null() } };
    expect(() => defineGroup('x', { methods: empty })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('publishes input and output of each method in the JSON Schema (input side)', () => {
    expect(Meter.jsonSchema()).toMatchObject({
      properties: {
        signals: { type: 'object', properties: {} },
        methods: {
          properties: {
            GetLevel: {
              properties: {
                input: { type: 'object', properties: {} },
                output: { type: 'object', properties: { percent: { type: 'number', minimum: 0 } } },
              },
            },
            Rename: {
              properties: { input: { properties: { name: { type: 'string' } } }, output: { type: 'null' } },
            },
          },
        },
      },
    });
  });

  it('checkValue returns the parsed value or the issues as data', () => {
    expect(checkValue(Meter.methods.Rename.input, { name: ' a ' })).toEqual({
      ok: true,
      value: { name: 'a' },
    });
    expect(checkValue(Meter.methods.GetLevel.output, { percent: -1 })).toEqual({
      ok: false,
      issues: [{ code: 'too_small', path: ['percent'], message: expect.any(String) }],
    });
  });
});

describe('the published schema', () => {
  it('marks bytes and no value, so a contract with either still publishes', () => {
    const Camera = defineGroup('org.example.Camera', {
      signals: {
        Frame: z.object({ jpeg: bytes(), thumb: z.instanceof(Uint8Array).optional() }),
        Off: z.undefined(),
      },
    });
    expect(Camera.jsonSchema()).toMatchObject({
      properties: {
        signals: {
          properties: {
            Frame: {
              properties: { jpeg: { 'x-chorus-bytes': true }, thumb: { 'x-chorus-bytes': true } },
              required: ['jpeg'],
            },
            Off: { not: {}, 'x-chorus-undefined': true },
          },
        },
      },
    });
  });

  it('refuses what has no JSON form, naming each place', () => {
    const Odd = defineGroup('org.example.Odd', {
      signals: {
        Custom: z.object({ v: z.custom<string>((value) => typeof value === 'string') }),
        Transformed: z.object({ list: z.array(z.transform((value) => String(value))) }),
      },
      methods: { At: { input: z.object({}), output: z.object({ when: z.date() }) } },
    });
    let error: unknown;
    try {
      Odd.jsonSchema();
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(UnpublishableContractError);
    expect((error as UnpublishableContractError).issues).toEqual([
      { path: 'methods.At.output.when', reason: expect.stringMatching(/^a Date/) },
      { path: 'signals.Transformed.list[]', reason: expect.stringMatching(/^a transform/) },
      { path: 'signals.Custom.v', reason: expect.stringMatching(/^a z\.custom\(\)/) },
    ]);
    expect(() => Odd.jsonSchema()).toThrow(UnpublishableContractError);
  });

  it('publishes the input of a transform: the wire carries it', () => {
    const Named = defineGroup('org.example.Named', { signals: { N: z.string().transform((s) => s.length) } });
    expect(Named.jsonSchema()).toMatchObject({
      properties: { signals: { properties: { N: { type: 'string' } } } },
    });
  });
});
