import { BUS_NAME, type Engine, uniqueName } from '@chorus/core';
import { decodePayload, ErrorCode, isProtocolError } from '@chorus/protocol';
import { z } from 'zod';
import type { AccessControl, Requester } from './access.js';
import { RequestError } from './request-error.js';

/**
 * `org.chorus.Bus`: the methods the bus answers itself, as D-Bus's org.freedesktop.DBus.
 * Inputs and outputs are MessagePack maps; inputs are checked with zod (INVALID_ARGS).
 */

const nameInput = z.object({ name: z.string() });
const inputs = {
  RequestName: z.object({
    name: z.string(),
    flags: z
      .object({
        allowReplacement: z.boolean().optional(),
        replaceExisting: z.boolean().optional(),
        doNotQueue: z.boolean().optional(),
      })
      .optional(),
  }),
  ReleaseName: nameInput,
  GetNameOwner: nameInput,
  ListNames: z.object({}),
  ListGroups: z.object({}),
  ListConnections: z.object({}),
  GetGroupSchema: z.object({ group: z.string() }),
  GetStats: z.object({}),
} as const;

export type BusMethod = keyof typeof inputs;

/** What the bus's own methods need of the daemon. */
export interface BusHost {
  readonly engine: Engine<Uint8Array>;
  readonly access: Pick<AccessControl, 'permits'>;
  /** For `ListConnections`. */
  describeConnections(): Record<string, unknown>[];
  /** For `GetStats`. */
  describeStats(): Record<string, unknown>;
}

/**
 * JSON Schema of the bus's own contract, in the shape the SDK publishes for any group
 * (`properties.signals.properties.<Signal>`), so tools read it like any other.
 */
const nameSignal = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
const busSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    signals: {
      type: 'object',
      properties: {
        NameOwnerChanged: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            oldOwner: { type: ['string', 'null'] },
            newOwner: { type: ['string', 'null'] },
          },
          required: ['name', 'oldOwner', 'newOwner'],
        },
        NameAcquired: nameSignal,
        NameLost: nameSignal,
      },
    },
    methods: {
      type: 'object',
      properties: Object.fromEntries(
        Object.keys(inputs).map((method) => [
          method,
          { type: 'object', properties: { input: z.toJSONSchema(inputs[method as BusMethod]) } },
        ]),
      ),
    },
  },
};

/** Answers one call to the bus; throws RequestError or an engine error. */
export function callBus(daemon: BusHost, session: Requester, method: string, payload: Uint8Array): unknown {
  const caller = session.id;
  if (!Object.hasOwn(inputs, method)) {
    throw new RequestError(ErrorCode.UNKNOWN_METHOD, `org.chorus.Bus has no method '${method}'`);
  }
  let raw: unknown;
  try {
    raw = payload.byteLength === 0 ? {} : decodePayload(payload);
  } catch (error) {
    throw new RequestError(
      ErrorCode.INVALID_ARGS,
      isProtocolError(error) ? error.message : 'undecodable input',
    );
  }
  const parsed = inputs[method as BusMethod].safeParse(raw ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`)
      .join('; ');
    throw new RequestError(ErrorCode.INVALID_ARGS, `${method}: ${issues}`);
  }
  if (method !== 'RequestName' && !daemon.access.permits(session, 'call', BUS_NAME)) {
    throw new RequestError(
      ErrorCode.NOT_PERMITTED,
      `the policy does not let '${session.identity}' call '${BUS_NAME}'`,
    );
  }
  const input = parsed.data as Record<string, unknown>;
  const engine = daemon.engine;
  switch (method as BusMethod) {
    case 'RequestName': {
      const { name, flags } = input as z.infer<(typeof inputs)['RequestName']>;
      if (!daemon.access.permits(session, 'own-name', name)) {
        throw new RequestError(
          ErrorCode.NOT_PERMITTED,
          `the policy does not let '${session.identity}' own '${name}'`,
        );
      }
      return { result: engine.requestName(caller, name, flags) };
    }
    case 'ReleaseName':
      return { result: engine.releaseName(caller, (input as { name: string }).name) };
    case 'GetNameOwner': {
      const owner = engine.nameOwner((input as { name: string }).name);
      return { owner: owner === undefined ? null : uniqueName(owner) };
    }
    case 'ListNames':
      return {
        names: engine
          .names()
          .map((n) => ({ name: n.name, owner: uniqueName(n.owner), queue: n.queue.map(uniqueName) })),
      };
    case 'ListGroups':
      return {
        groups: [...engine.groups()].map((g) => ({
          name: g.name,
          owner: uniqueName(g.owner),
          members: g.members,
          options: g.options,
          seq: g.seq,
          schema: g.owner === 0 ? busSchema : (g.meta ?? null),
        })),
      };
    case 'ListConnections':
      return { connections: daemon.describeConnections() };
    case 'GetGroupSchema': {
      const group = engine.group((input as { group: string }).group);
      if (group === undefined) {
        throw new RequestError(
          ErrorCode.UNKNOWN_GROUP,
          `no group named '${(input as { group: string }).group}'`,
        );
      }
      return { schema: group.owner === 0 ? busSchema : (group.meta ?? null) };
    }
    case 'GetStats':
      return daemon.describeStats();
  }
}
