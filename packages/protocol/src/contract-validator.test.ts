import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { contractJsonSchema } from './contract-schema.js';
import {
  BYTES_KEYWORD,
  ContractCache,
  ContractSchemaError,
  compileContract,
  UNDEFINED_KEYWORD,
} from './contract-validator.js';

// What the SDK publishes for a chat contract (zod's JSON Schema, draft 2020-12), plus the Chorus
// markers as the SDK writes them for bytes and for no value.
function chatSchema(): Record<string, unknown> {
  const schema = contractJsonSchema(
    {
      Said: z.object({ text: z.string(), at: z.number().int().min(0), tags: z.array(z.string()).optional() }),
      Left: z.object({ who: z.string() }).optional(),
      Ping: z.string(),
      Frame: z.object({ jpeg: z.string() }),
      Tick: z.string(),
    },
    { Send: { input: z.object({ text: z.string() }), output: z.object({ ok: z.boolean() }) } },
  ).schema as unknown as Record<string, unknown>;
  type Node = { properties?: Record<string, unknown> } & Record<string, unknown>;
  const signals = (schema['properties'] as { signals: { properties: Record<string, Node> } }).signals
    .properties;
  const frame = signals['Frame']?.properties;
  if (frame === undefined) throw new Error('Frame has properties');
  frame['jpeg'] = { [BYTES_KEYWORD]: true };
  signals['Tick'] = { not: {}, [UNDEFINED_KEYWORD]: true };
  return schema;
}

describe('compileContract', () => {
  const contract = compileContract(chatSchema());
  if (contract === undefined) throw new Error('a contract');

  it('lists the signals and methods', () => {
    expect(contract.signals).toEqual(['Said', 'Left', 'Ping', 'Frame', 'Tick']);
    expect(contract.methods).toEqual(['Send']);
  });

  it('accepts a payload that fits, and says where one does not and why', () => {
    expect(contract.checkSignal('Said', { text: 'hi', at: 1 })).toBeUndefined();
    expect(contract.checkSignal('Said', { text: 42, at: 1 })).toEqual({
      path: ['text'],
      reason: 'must be string',
    });
    expect(contract.checkSignal('Said', { text: 'hi' })).toEqual({ path: ['at'], reason: 'is required' });
    expect(contract.checkSignal('Said', { text: 'hi', at: -1 })).toEqual({
      path: ['at'],
      reason: 'must be >= 0',
    });
    expect(contract.checkSignal('Said', { text: 'hi', at: 1, tags: ['a', 2] })).toEqual({
      path: ['tags', 1],
      reason: 'must be string',
    });
    expect(contract.checkSignal('Said', 'hello')).toEqual({ path: [], reason: 'must be object' });
  });

  it('refuses an unknown signal, naming the known ones', () => {
    expect(contract.checkSignal('Sad', { text: 'hi', at: 1 })).toEqual({
      path: [],
      reason: "the contract has no signal 'Sad' (its signals: Said, Left, Ping, Frame, Tick)",
    });
  });

  it('refuses a missing payload unless the signal takes no value', () => {
    expect(contract.checkSignal('Said', undefined)?.reason).toMatch(/payload is required/);
    expect(contract.checkSignal('Ping', undefined)?.reason).toMatch(/payload is required/);
    expect(contract.checkSignal('Left', undefined)).toBeUndefined(); // optional
    expect(contract.checkSignal('Tick', undefined)).toBeUndefined(); // x-chorus-undefined
    expect(contract.checkSignal('Tick', 'x')).toEqual({ path: [], reason: 'must be left out (no value)' });
  });

  it('checks bytes with the x-chorus-bytes marker', () => {
    expect(contract.checkSignal('Frame', { jpeg: new Uint8Array([1, 2]) })).toBeUndefined();
    expect(contract.checkSignal('Frame', { jpeg: 'AQI=' })).toEqual({
      path: ['jpeg'],
      reason: 'must be bytes (a MessagePack bin)',
    });
  });

  it("checks a method's input", () => {
    expect(contract.checkInput('Send', { text: 'hi' })).toBeUndefined();
    expect(contract.checkInput('Send', {})).toEqual({ path: ['text'], reason: 'is required' });
    expect(contract.checkInput('Nope', {})?.reason).toMatch(/no method 'Nope'/);
  });

  it('compiles what zod writes for formats, recursion and unknown keywords', () => {
    type Node = { kids: Node[] };
    const node: z.ZodType<Node> = z.lazy(() => z.object({ kids: z.array(node) }));
    const schema = contractJsonSchema(
      {
        A: z.object({ mail: z.email(), id: z.uuid(), at: z.iso.datetime(), tree: node }).meta({ custom: 1 }),
      },
      {},
    ).schema;
    const compiled = compileContract(schema);
    const id = '123e4567-e89b-12d3-a456-426614174000';
    const ok = { mail: 'a@b.io', id, at: '2020-01-01T00:00:00Z', tree: { kids: [{ kids: [] }] } };
    expect(compiled?.checkSignal('A', ok)).toBeUndefined();
    expect(compiled?.checkSignal('A', { ...ok, mail: 'nope' })?.path).toEqual(['mail']);
    expect(compiled?.checkSignal('A', { ...ok, tree: { kids: [{}] } })).toEqual({
      path: ['tree', 'kids', 0, 'kids'],
      reason: 'is required',
    });
  });

  it('takes a schema of another shape as no contract, and refuses what is no JSON Schema', () => {
    expect(compileContract({ signals: { X: { type: 'object' } } })).toBeUndefined();
    expect(compileContract({ doc: 'x' })).toBeUndefined();
    expect(compileContract(true)).toBeUndefined();
    expect(() => compileContract('calc')).toThrow(ContractSchemaError);
    expect(() => compileContract({ type: 42 })).toThrow(ContractSchemaError);
    const badRef = { properties: { signals: { properties: { A: { $ref: '#/nowhere' } } } } };
    expect(() => compileContract(badRef)).toThrow(ContractSchemaError);
    const badPattern = { properties: { signals: { properties: { A: { type: 'string', pattern: '(' } } } } };
    expect(() => compileContract(badPattern)).toThrow(ContractSchemaError);
  });
});

describe('ContractCache', () => {
  it('compiles one schema text once, and drops the least recently used past its bound', () => {
    const cache = new ContractCache(2);
    const schema = chatSchema();
    const text = JSON.stringify(schema);
    const first = cache.get(text, schema);
    expect(cache.get(text, JSON.parse(text))).toBe(first);
    cache.get('{"a":1}', { a: 1 });
    cache.get(text, schema); // most recent again
    cache.get('{"b":1}', { b: 1 }); // drops {"a":1}
    expect(cache.size).toBe(2);
    expect(cache.get(text, schema)).toBe(first);
  });

  it('refuses a schema it cannot compile every time, caching nothing for it', () => {
    const cache = new ContractCache();
    expect(() => cache.get('{"type":42}', { type: 42 })).toThrow(ContractSchemaError);
    expect(cache.size).toBe(0);
  });
});
