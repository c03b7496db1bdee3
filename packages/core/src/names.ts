import { InvalidNameError } from './errors.js';

/** Group names follow D-Bus well-known names: `org.example.Battery`. */
export const MAX_NAME_LENGTH = 255;

// Elements of [A-Za-z0-9_-], not starting with a digit, at least two of them, dot-separated.
const GROUP_NAME = /^[A-Za-z_-][A-Za-z0-9_-]*(?:\.[A-Za-z_-][A-Za-z0-9_-]*)+$/;
// Signal (and method) names are single identifiers, as D-Bus member names.
const MEMBER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Why `name` is not a valid group name, or `undefined` when it is.
 *
 * @example
 * groupNameProblem('org.example.Battery'); // undefined
 * groupNameProblem('battery');             // 'needs at least two dot-separated elements'
 */
export function groupNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'empty';
  if (name.length > MAX_NAME_LENGTH) return `longer than ${MAX_NAME_LENGTH} characters`;
  if (name.startsWith(':')) return 'names starting with ":" are unique connection names';
  if (GROUP_NAME.test(name)) return undefined;
  if (!name.includes('.')) return 'needs at least two dot-separated elements';
  if (/(^|\.)(\.|$)/.test(name)) return 'empty element';
  if (/(^|\.)[0-9]/.test(name)) return 'an element starts with a digit';
  return 'only A-Z, a-z, 0-9, "_" and "-" are allowed in elements';
}

/** Why `name` is not a valid signal name, or `undefined` when it is. */
export function signalNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'empty';
  if (name.length > MAX_NAME_LENGTH) return `longer than ${MAX_NAME_LENGTH} characters`;
  if (MEMBER_NAME.test(name)) return undefined;
  return 'must be an identifier: A-Z, a-z, 0-9 and "_", not starting with a digit';
}

/** Throws `InvalidNameError` (code `INVALID_NAME`) unless `name` is a valid group name. */
export function assertGroupName(name: string): void {
  const problem = groupNameProblem(name);
  if (problem !== undefined) throw new InvalidNameError('group', String(name), problem);
}

/** Throws `InvalidNameError` (code `INVALID_NAME`) unless `name` is a valid signal name. */
export function assertSignalName(name: string): void {
  const problem = signalNameProblem(name);
  if (problem !== undefined) throw new InvalidNameError('signal', String(name), problem);
}
