import { contractJsonSchema, decodePayload, encodePayload } from '@chorus/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compareJoin } from './contract-compare.js';

// [GUARANTEE: compatibility] The checker is sound: whenever it says a subscriber's contract is
// compatible with a publisher's, every payload valid for the publisher (as its own receivers see
// it, after the wire) passes the subscriber's zod schema. Pairs are generated as a random schema
// and a random mutation of it (so both verdicts are common), payloads from the publisher's schema.

type Shape =
  | { t: 'number'; int: boolean; min?: number; max?: number; exclusive: boolean }
  | { t: 'string'; min?: number; max?: number }
  | { t: 'boolean' | 'null' | 'bytes' | 'unknown' }
  | { t: 'literal'; value: string | number | boolean }
  | { t: 'enum'; values: string[] }
  | { t: 'array'; item: Shape; min?: number; max?: number }
  | { t: 'tuple'; items: Shape[] }
  | { t: 'object'; fields: Field[]; strict: boolean }
  | { t: 'nullable'; inner: Shape }
  | { t: 'union'; options: Shape[] }
  | { t: 'record'; value: Shape };

interface Field {
  name: string;
  shape: Shape;
  optional: boolean;
}

const small = fc.option(fc.constantFrom(0, 1, 3, 10), { nil: undefined });
const names = ['a', 'b', 'c'];
const words = ['x', 'y', 'z'];

const leaf: fc.Arbitrary<Shape> = fc.oneof(
  fc.record({
    t: fc.constant('number' as const),
    int: fc.boolean(),
    min: small,
    max: small,
    exclusive: fc.boolean(),
  }),
  fc.record({ t: fc.constant('string' as const), min: small, max: small }),
  fc.constantFrom<Shape>({ t: 'boolean' }, { t: 'null' }, { t: 'bytes' }, { t: 'unknown' }),
  fc.record({
    t: fc.constant('literal' as const),
    value: fc.constantFrom<string | number | boolean>('x', 1, true),
  }),
  fc.record({ t: fc.constant('enum' as const), values: fc.subarray(words, { minLength: 1 }) }),
);

const shape: fc.Arbitrary<Shape> = fc.letrec<{ shape: Shape }>((tie) => ({
  shape: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ t: fc.constant('array' as const), item: tie('shape'), min: small, max: small }),
    fc.record({
      t: fc.constant('tuple' as const),
      items: fc.array(tie('shape'), { minLength: 1, maxLength: 3 }),
    }),
    fc.record({ t: fc.constant('object' as const), fields: fieldsOf(tie('shape')), strict: fc.boolean() }),
    fc.record({ t: fc.constant('nullable' as const), inner: tie('shape') }),
    fc.record({
      t: fc.constant('union' as const),
      options: fc.array(tie('shape'), { minLength: 2, maxLength: 3 }),
    }),
    fc.record({ t: fc.constant('record' as const), value: tie('shape') }),
  ),
})).shape;

function fieldsOf(inner: fc.Arbitrary<Shape>): fc.Arbitrary<Field[]> {
  return fc.uniqueArray(
    fc.record({ name: fc.constantFrom(...names), shape: inner, optional: fc.boolean() }),
    {
      selector: (field) => field.name,
      maxLength: 3,
    },
  );
}

/** `shape` itself, or a small change somewhere in it. */
function mutated(from: Shape): fc.Arbitrary<Shape> {
  const local: fc.Arbitrary<Shape>[] = [fc.constant(from), leaf];
  switch (from.t) {
    case 'number':
      local.push(
        fc.record({ ...constants(from), int: fc.boolean(), min: small, max: small, exclusive: fc.boolean() }),
      );
      break;
    case 'string':
      local.push(fc.record({ ...constants(from), min: small, max: small }));
      break;
    case 'enum':
      local.push(
        fc.record({ t: fc.constant('enum' as const), values: fc.subarray(words, { minLength: 1 }) }),
      );
      break;
    case 'array':
      local.push(
        mutated(from.item).chain((item) =>
          fc.record({ ...constants({ ...from, item }), min: small, max: small }),
        ),
      );
      break;
    case 'tuple':
      local.push(fc.tuple(...from.items.map(mutated)).map((items) => ({ ...from, items })));
      if (from.items.length > 1) local.push(fc.constant({ ...from, items: from.items.slice(0, -1) }));
      break;
    case 'object':
      local.push(
        fc
          .tuple(
            fc.tuple(...from.fields.map((field) => fieldMutation(field))),
            fc.boolean(),
            fc.option(fc.record({ name: fc.constantFrom(...names), shape: leaf, optional: fc.boolean() }), {
              nil: undefined,
            }),
          )
          .map(([fields, strict, added]) => {
            const kept = fields.filter((field): field is Field => field !== undefined);
            const extra = added !== undefined && !kept.some((f) => f.name === added.name) ? [added] : [];
            return { t: 'object' as const, fields: [...kept, ...extra], strict };
          }),
      );
      break;
    case 'nullable':
      local.push(
        mutated(from.inner).map((inner) => ({ ...from, inner })),
        fc.constant(from.inner),
      );
      break;
    case 'union':
      local.push(fc.tuple(...from.options.map(mutated)).map((options) => ({ ...from, options })));
      break;
    case 'record':
      local.push(mutated(from.value).map((value) => ({ ...from, value })));
      break;
  }
  local.push(fc.constant<Shape>({ t: 'nullable', inner: from }));
  return fc.oneof(...local);
}

function fieldMutation(field: Field): fc.Arbitrary<Field | undefined> {
  return fc.oneof(
    fc.constant(field),
    fc.constant(undefined),
    fc.constant({ ...field, optional: !field.optional }),
    mutated(field.shape).map((shape) => ({ ...field, shape })),
  );
}

function constants<T extends object>(value: T): { [K in keyof T]: fc.Arbitrary<T[K]> } {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fc.constant(v)])) as never;
}

function toZod(s: Shape): z.ZodType {
  switch (s.t) {
    case 'number': {
      let n = s.int ? z.number().int() : z.number();
      if (s.min !== undefined) n = s.exclusive ? n.gt(s.min) : n.min(s.min);
      if (s.max !== undefined) n = s.exclusive ? n.lt(s.max) : n.max(s.max);
      return n;
    }
    case 'string': {
      let str = z.string();
      if (s.min !== undefined) str = str.min(s.min);
      if (s.max !== undefined) str = str.max(s.max);
      return str;
    }
    case 'boolean':
      return z.boolean();
    case 'null':
      return z.null();
    case 'bytes':
      return z.instanceof(Uint8Array);
    case 'unknown':
      return z.unknown();
    case 'literal':
      return z.literal(s.value);
    case 'enum':
      return z.enum(s.values as [string, ...string[]]);
    case 'array': {
      let a = z.array(toZod(s.item));
      if (s.min !== undefined) a = a.min(s.min);
      if (s.max !== undefined) a = a.max(s.max);
      return a;
    }
    case 'tuple':
      return z.tuple(s.items.map(toZod) as [z.ZodType, ...z.ZodType[]]);
    case 'object': {
      const fields = Object.fromEntries(
        s.fields.map((f) => [f.name, f.optional ? toZod(f.shape).optional() : toZod(f.shape)]),
      );
      return s.strict ? z.strictObject(fields) : z.object(fields);
    }
    case 'nullable':
      return toZod(s.inner).nullable();
    case 'union':
      return z.union(s.options.map(toZod) as [z.ZodType, z.ZodType, ...z.ZodType[]]);
    case 'record':
      return z.record(z.string(), toZod(s.value));
  }
}

/** Values of the shape's kind (not all valid: bounds are checked by the publisher's zod). */
function payloadsOf(s: Shape): fc.Arbitrary<unknown> {
  switch (s.t) {
    case 'number':
      return s.int
        ? fc.integer({ min: -20, max: 20 })
        : fc.oneof(fc.integer({ min: -20, max: 20 }), fc.double({ min: -20, max: 20, noNaN: true }));
    case 'string':
      return fc.string({ maxLength: 12 });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'bytes':
      return fc.uint8Array({ maxLength: 4 });
    case 'unknown':
      return fc.oneof(
        fc.integer(),
        fc.string(),
        fc.constant(null),
        fc.boolean(),
        fc.uint8Array({ maxLength: 2 }),
      );
    case 'literal':
      return fc.constant(s.value);
    case 'enum':
      return fc.constantFrom(...s.values);
    case 'array':
      return fc.array(payloadsOf(s.item), { maxLength: 4 });
    case 'tuple':
      return fc.tuple(...s.items.map(payloadsOf));
    case 'object': {
      const model = Object.fromEntries(s.fields.map((f) => [f.name, payloadsOf(f.shape)]));
      const requiredKeys = s.fields.filter((f) => !f.optional).map((f) => f.name);
      return fc.record(model, { requiredKeys });
    }
    case 'nullable':
      return fc.oneof(fc.constant(null), payloadsOf(s.inner));
    case 'union':
      return fc.oneof(...s.options.map(payloadsOf));
    case 'record':
      return fc.dictionary(fc.constantFrom('a', 'k'), payloadsOf(s.value), { maxKeys: 2 });
  }
}

function contractOf(payload: z.ZodType): Record<string, unknown> {
  return contractJsonSchema({ S: payload }, {}).schema;
}

describe('compareJoin (property)', () => {
  it('says compatible only when every payload valid for the publisher passes the subscriber', () => {
    let compatiblePairs = 0;
    let payloadsChecked = 0;
    const pairs = shape.chain((publisher) =>
      fc.tuple(
        fc.constant(publisher),
        mutated(publisher),
        fc.array(payloadsOf(publisher), { minLength: 1, maxLength: 6 }),
      ),
    );
    fc.assert(
      fc.property(pairs, ([publisher, subscriber, payloads]) => {
        const zp = toZod(publisher);
        const zs = toZod(subscriber);
        if (compareJoin(contractOf(zp), contractOf(zs)).length > 0) return;
        compatiblePairs++;
        for (const payload of payloads) {
          if (!zp.safeParse(payload).success) continue;
          // What the subscriber receives: the value after MessagePack, as the publisher's own
          // receivers see it too.
          const received = decodePayload(encodePayload(payload));
          if (!zp.safeParse(received).success) continue;
          payloadsChecked++;
          expect(zs.safeParse(received).error?.issues).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
    // Not vacuous: many pairs were compatible and had valid payloads to try.
    expect(compatiblePairs).toBeGreaterThan(40);
    expect(payloadsChecked).toBeGreaterThan(40);
  }, 60_000);
});
