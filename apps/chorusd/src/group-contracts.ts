import { assertSignalName } from '@chorus/core';
import { decodePayload, ErrorCode, isProtocolError } from '@chorus/protocol';
import {
  type CompiledContract,
  ContractCache,
  ContractSchemaError,
  type PayloadIssue,
} from '@chorus/protocol/contract-validator';
import { RequestError } from './request-error.js';

/**
 * What the daemon keeps of a group's contract, as the engine's opaque `meta` of the group: the
 * schema as published (for GetGroupSchema, ListGroups) and, when the daemon checks emits, the
 * schema compiled. It lives and dies with its group.
 */
export interface GroupContract {
  /** The schema as `create` gave it (undefined: none). */
  readonly schema: unknown;
  /** The `validate` option (default true). */
  readonly validate: boolean;
  /** Compiled, when `validate` is on and the schema is a contract; undefined: emits are not checked. */
  readonly check: CompiledContract | undefined;
  /** Emits refused with INVALID_PAYLOAD. */
  invalid: number;
}

/** The schema of a group's meta (what `create` published), or null. */
export function publishedSchema(meta: unknown): unknown {
  return (meta as GroupContract | undefined)?.schema ?? null;
}

/**
 * Compiles the contracts of groups at `create`, each schema text once (a cache of the last
 * `maxCompiled` distinct texts, so that a thousand groups of one contract compile it once).
 */
export class GroupContracts {
  readonly #cache: ContractCache;
  readonly #maxSchemaBytes: number;

  constructor(maxSchemaBytes: number, maxCompiled = 256) {
    this.#cache = new ContractCache(maxCompiled);
    this.#maxSchemaBytes = maxSchemaBytes;
  }

  /**
   * The meta of a new group. Throws INVALID_SCHEMA (a schema that is no JSON Schema, or that
   * ajv cannot compile) or LIMIT_EXCEEDED (maxSchemaBytes): the group is not created.
   */
  forGroup(schema: unknown, validate = true): GroupContract {
    if (schema === undefined) return { schema, validate, check: undefined, invalid: 0 };
    let text: string;
    try {
      text = JSON.stringify(schema) ?? '';
    } catch {
      throw new RequestError(ErrorCode.INVALID_SCHEMA, 'the schema is not JSON', { path: ['schema'] });
    }
    // [GUARANTEE: memory] compiling costs time and memory in proportion to the schema's size.
    if (text.length > this.#maxSchemaBytes) {
      throw new RequestError(
        ErrorCode.LIMIT_EXCEEDED,
        `the schema takes ${text.length} bytes as JSON; limit maxSchemaBytes is ${this.#maxSchemaBytes}`,
      );
    }
    try {
      // A schema is compiled even with validate off: what the bus publishes is always a schema
      // that can be checked (by tools, by a later owner who turns validation on).
      const compiled = this.#cache.get(text, schema);
      return { schema, validate, check: validate ? compiled : undefined, invalid: 0 };
    } catch (error) {
      if (!(error instanceof ContractSchemaError)) throw error;
      throw new RequestError(ErrorCode.INVALID_SCHEMA, `the schema cannot be used: ${error.message}`, {
        path: ['schema'],
      });
    }
  }
}

/** The INVALID_PAYLOAD refusal of an emit: what is wrong and where, for the emitter. */
export function invalidPayload(group: string, signal: string, issue: PayloadIssue): RequestError {
  const where = issue.path.length === 0 ? 'the payload' : issue.path.join('.');
  return new RequestError(ErrorCode.INVALID_PAYLOAD, `${group} ${signal}: ${where}: ${issue.reason}`, {
    signal,
    path: issue.path,
    reason: issue.reason,
  });
}

/**
 * Checks an emit into a typed group against its contract: once per message, before anyone gets
 * it. Returns the decoded payload for the engine's field filters (decoded once), or throws
 * INVALID_PAYLOAD (an unknown signal, a missing payload, one that does not fit or decode), after
 * counting it.
 */
export function checkEmit(
  contract: GroupContract,
  message: { readonly g: string; readonly sig: string },
  payload: Uint8Array,
  counted: () => void,
): () => unknown {
  const check = contract.check as NonNullable<GroupContract['check']>;
  let value: unknown;
  let issue: ReturnType<typeof check.checkSignal>;
  try {
    value = decodePayload(payload);
    issue = check.checkSignal(message.sig, value);
  } catch (error) {
    if (!isProtocolError(error)) throw error;
    issue = { path: [], reason: error.message };
  }
  if (issue === undefined) return () => value;
  // A name that breaks the grammar stays INVALID_NAME, as on any group.
  if (issue.path.length === 0) assertSignalName(message.sig);
  contract.invalid++;
  counted();
  // [GUARANTEE: contract] refused before the engine sees it: nothing is delivered, no seq is taken.
  throw invalidPayload(message.g, message.sig, issue);
}
