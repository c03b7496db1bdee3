import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';

/** One tick as a recipient fixture records it: [seq, group, groupSeq, sender, emitter id, i]. */
export type Tick = [seq: number, group: string, groupSeq: number, sender: string, e: string, i: number];

/** One emit as an emitter fixture acknowledges it: [i, group, seq, groupSeq, recipients]. */
export type Ack = [i: number, group: string, seq: number, groupSeq: number, recipients: number];

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/**
 * Expects two long sequences to be equal, reporting the first difference (with some context)
 * instead of a diff of thousands of lines.
 */
export function expectSameSequence<T>(actual: readonly T[], expected: readonly T[], what: string): void {
  const n = Math.min(actual.length, expected.length);
  for (let k = 0; k < n; k++) {
    if (JSON.stringify(actual[k]) !== JSON.stringify(expected[k])) {
      expect.fail(
        `${what}: first difference at index ${k}: got ${JSON.stringify(actual.slice(k, k + 3))}, ` +
          `expected ${JSON.stringify(expected.slice(k, k + 3))} (after ${JSON.stringify(actual.slice(Math.max(0, k - 2), k))})`,
      );
    }
  }
  expect(actual.length, `${what}: length`).toBe(expected.length);
}

/** Expects `values` to be exactly first, first+1, first+2, ... */
export function expectConsecutive(values: readonly number[], first: number, what: string): void {
  expectSameSequence(
    values,
    values.map((_, k) => first + k),
    what,
  );
}

/** Expects strictly increasing numbers. */
export function expectIncreasing(values: readonly number[], what: string): void {
  for (let k = 1; k < values.length; k++) {
    if ((values[k] as number) <= (values[k - 1] as number)) {
      expect.fail(`${what}: not increasing at index ${k}: ${values[k - 1]} then ${values[k]}`);
    }
  }
}
