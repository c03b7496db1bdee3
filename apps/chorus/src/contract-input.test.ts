import { contractJsonSchema } from '@chorus/protocol';
import { compileContract } from '@chorus/protocol/contract-validator';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { exampleOf, formatPath, refuseIssue } from './contract-input.js';

describe('exampleOf', () => {
  it('builds a payload that fits: required fields (a default makes one optional), first choices, minimums, nested objects', () => {
    type Node = { kids: Node[] };
    const node: z.ZodType<Node> = z.lazy(() => z.object({ kids: z.array(node) }));
    const Said = z.object({
      text: z.string(),
      at: z.number().int().min(5),
      mood: z.enum(['happy', 'sad']),
      loud: z.boolean().default(true),
      to: z.array(z.string()).min(1),
      where: z.object({ room: z.literal('hall'), seat: z.number().nullable() }),
      tree: node,
      note: z.string().optional(),
    });
    type Schema = { properties: { signals: { properties: { Said: unknown } } } };
    const schema = contractJsonSchema({ Said }, {}).schema as unknown as Schema;
    const example = exampleOf(schema.properties.signals.properties.Said, schema);
    expect(example).toEqual({
      text: '',
      at: 5,
      mood: 'happy',
      to: [''],
      where: { room: 'hall', seat: 0 },
      tree: { kids: [] },
    });
    expect(compileContract(schema)?.checkSignal('Said', example)).toBeUndefined();
  });

  it('marks bytes, and says no value for the no-value marker', () => {
    expect(exampleOf({ type: 'object', properties: { jpeg: { 'x-chorus-bytes': true } } })).toEqual({
      jpeg: '<bytes>',
    });
    expect(exampleOf({ not: {}, 'x-chorus-undefined': true })).toBeUndefined();
  });
});

describe('formatPath and refuseIssue', () => {
  it('writes paths as a reader does, and refuses with INVALID_PAYLOAD', () => {
    expect(formatPath(['cells', 0, 'x'], '(payload)')).toBe('cells[0].x');
    expect(formatPath([], '(payload)')).toBe('(payload)');
    expect(() => refuseIssue({ path: ['text'], reason: 'must be string' }, '(payload)')).toThrow(
      expect.objectContaining({ code: 'INVALID_PAYLOAD', message: 'text: must be string' }),
    );
    expect(() => refuseIssue(undefined, '(payload)')).not.toThrow();
  });
});
