import { BUS_NAME, type Engine, uniqueName } from '@chorus/core';
import {
  type BusMethodInput,
  type BusMethodName,
  type BusMethodOutput,
  busMethods,
  busSignals,
  contractJsonSchema,
  decodePayload,
  ErrorCode,
  isProtocolError,
} from '@chorus/protocol';
import type { AccessControl, Requester } from './access.js';
import { type GroupContract, publishedSchema } from './group-contracts.js';
import { RequestError } from './request-error.js';

/**
 * `org.chorus.Bus`: the methods the bus answers itself, as D-Bus's org.freedesktop.DBus. The
 * contract (inputs, outputs, signals) is defined once in @chorus/protocol: inputs are checked with
 * it (INVALID_ARGS), replies are typed by it, and its JSON Schema is what the bus publishes for its
 * own group.
 */

export type BusMethod = BusMethodName;

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
 * JSON Schema of the bus's own contract, computed by the function the SDK's `createGroup` uses for
 * any group (`properties.signals.properties.<Signal>`, `properties.methods.properties.<Method>`),
 * so tools read it like any other.
 */
// The bus contract has a JSON form throughout (bus-contract.test.ts); null if that ever broke.
const busContractSchema = contractJsonSchema(busSignals, busMethods);
const busSchema = busContractSchema.problems.length === 0 ? busContractSchema.schema : null;

/** One bus method: its validated input in, its reply (typed by the contract's output) out. */
type Handler<TMethod extends BusMethodName> = (
  daemon: BusHost,
  session: Requester,
  input: BusMethodInput<TMethod>,
) => BusMethodOutput<TMethod>;

const handlers: { readonly [TMethod in BusMethodName]: Handler<TMethod> } = {
  RequestName(daemon, session, { name, flags }) {
    if (!daemon.access.permits(session, 'own-name', name)) {
      throw new RequestError(
        ErrorCode.NOT_PERMITTED,
        `the policy does not let '${session.identity}' own '${name}'`,
      );
    }
    return { result: daemon.engine.requestName(session.id, name, flags) };
  },
  ReleaseName: (daemon, session, { name }) => ({ result: daemon.engine.releaseName(session.id, name) }),
  GetNameOwner(daemon, _session, { name }) {
    const owner = daemon.engine.nameOwner(name);
    return { owner: owner === undefined ? null : uniqueName(owner) };
  },
  ListNames: (daemon) => ({
    names: daemon.engine
      .names()
      .map((n) => ({ name: n.name, owner: uniqueName(n.owner), queue: n.queue.map(uniqueName) })),
  }),
  ListGroups: (daemon) => ({
    groups: [...daemon.engine.groups()].map((g) => ({
      name: g.name,
      owner: uniqueName(g.owner),
      members: g.members,
      options: { ...g.options, validate: (g.meta as GroupContract | undefined)?.validate ?? true },
      seq: g.seq,
      schema: g.owner === 0 ? busSchema : publishedSchema(g.meta),
    })),
  }),
  // The daemon describes its connections and counters itself; test/bus-interface.test.ts checks
  // every reply against the contract's output, field by field.
  ListConnections: (daemon) => ({
    connections: daemon.describeConnections() as BusMethodOutput<'ListConnections'>['connections'],
  }),
  GetGroupSchema(daemon, _session, { group: name }) {
    const group = daemon.engine.group(name);
    if (group === undefined) throw new RequestError(ErrorCode.UNKNOWN_GROUP, `no group named '${name}'`);
    return { schema: group.owner === 0 ? busSchema : publishedSchema(group.meta) };
  },
  GetStats: (daemon) => daemon.describeStats() as BusMethodOutput<'GetStats'>,
};

/** Answers one call to the bus; throws RequestError or an engine error. */
export function callBus(daemon: BusHost, session: Requester, method: string, payload: Uint8Array): unknown {
  if (!Object.hasOwn(busMethods, method)) {
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
  const parsed = busMethods[method as BusMethod].input.safeParse(raw ?? {});
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
  // The input was parsed with this method's own schema just above.
  const handler = handlers[method as BusMethod] as Handler<BusMethod>;
  return handler(daemon, session, parsed.data as BusMethodInput<BusMethod>);
}
