import { type ChorusError, isChorusError } from '../errors.js';

/**
 * Awaits a promise that must reject with a Chorus error and returns that error; anything else
 * fails the test. The e2e tests use it too (test/harness/errors.ts).
 */
export async function rejection(promise: Promise<unknown>): Promise<ChorusError> {
  try {
    await promise;
  } catch (error) {
    if (isChorusError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}
