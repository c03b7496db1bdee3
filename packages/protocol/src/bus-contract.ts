/*
 * `org.chorus.Bus`, the bus's own interface, defined once: the signals about name ownership and
 * the methods the daemon answers itself, as zod schemas. The daemon validates inputs with them,
 * types its replies by them and publishes their JSON Schema; the SDK calls through them; the tests
 * check real replies against them. As in D-Bus (org.freedesktop.DBus), method inputs and outputs
 * are MessagePack maps.
 *
 * Output objects are loose: fields a newer daemon adds reach tools instead of failing the reply.
 */

import { z } from 'zod';

/**
 * The name of the bus's own group and service.
 *
 * @example
 * ```ts
 * const isBus = message.from === BUS_NAME;
 * ```
 */
export const BUS_NAME = 'org.chorus.Bus';

/** A connection's unique name, `:1.N`, given by the bus. */
const uniqueName = z.string();

// chorusd sends every option and field below (test/bus-interface.test.ts checks it); those marked
// optional were optional or absent in the SDK's public types (GroupInfo, ConnectionInfo), and tools
// read them as such.
const groupOptions = z.object({
  emitters: z.enum(['owner', 'members', 'anyone']).optional(),
  loopback: z.boolean().optional(),
  sendToPeer: z.boolean().optional(),
  onFull: z.enum(['block', 'reject', 'evict']).optional(),
  retain: z.boolean().optional(),
  /** Emits are checked against the group's published schema (false: the owner turned it off). */
  validate: z.boolean().optional(),
});

const nameInfo = z.object({
  name: z.string(),
  /** Unique name of the primary owner. */
  owner: uniqueName,
  /** Unique names waiting for the name, in order (the owner not included). */
  queue: z.array(uniqueName),
});

const groupInfo = z.looseObject({
  name: z.string(),
  /** Unique name of the owner (`org.chorus.Bus` for the bus's own group). */
  owner: z.string(),
  /** Member count. */
  members: z.number(),
  /** Every option, defaults included. */
  options: groupOptions,
  /** The last group sequence number assigned. */
  seq: z.number(),
  /** The contract's JSON Schema as published by `create` (null when none). */
  schema: z.unknown(),
});

const connectionInfo = z.looseObject({
  name: uniqueName,
  /** `unix` or `ws`. */
  transport: z.string(),
  /** Who the policy sees: `owner`, `ws`, or the name of a token from the config. */
  identity: z.string().optional(),
  /** Groups it is a member of. */
  groups: z.array(z.string()),
  /** Groups it owns. */
  owned: z.array(z.string()),
  /** Well-known names it is the primary owner of. */
  names: z.array(z.string()),
  /** Bytes queued towards it. */
  queuedBytes: z.number(),
  monitor: z.boolean(),
  /** Calls it made that wait for an answer. */
  pendingCalls: z.number().optional(),
  /** The process at the other end of a Unix-socket connection, from the kernel; null when unknown. */
  pid: z.number().nullable().optional(),
  /** That process's real uid, from the kernel; null when unknown. */
  uid: z.number().nullable().optional(),
  /** That process's command line, from the kernel; null when unknown. */
  command: z.string().nullable().optional(),
  /** A WebSocket's remote address and port; null on the Unix socket. */
  remote: z.string().nullable().optional(),
  /** The name the client gave itself at hello (`connect({ client })`): declared, not verified. */
  client: z.string().nullable().optional(),
});

const counters = z.object({
  messages: z.number(),
  deliveries: z.number(),
  bytes: z.number(),
  /** Emits refused because their payload did not fit the group's contract (INVALID_PAYLOAD). */
  invalid: z.number(),
});

const stats = z.looseObject({
  total: counters.extend({ evictions: z.number(), errors: z.number() }),
  /** Counters by group name. */
  groups: z.record(z.string(), counters),
  /** Connections open now. */
  connections: z.number(),
  /** Well-known names owned now. */
  names: z.number(),
  /** Monitors connected now. */
  monitors: z.number(),
  /** Calls routed and not answered yet. */
  pendingCalls: z.number(),
  /** The bus's last sequence number. */
  seq: z.number(),
  uptimeMs: z.number(),
  /** What the daemon itself counted since it started. */
  daemon: z.looseObject({
    accepted: z.number(),
    refused: z.number(),
    protocolErrors: z.number(),
    requestErrors: z.number(),
    fatalErrors: z.number(),
    policyDenials: z.number(),
    /** Emits refused with INVALID_PAYLOAD (as `total.invalid`). */
    invalidPayloads: z.number(),
  }),
  /** WebSocket upgrades (and /metrics requests) refused, by reason (`token`, `origin`, ...). */
  wsRejections: z.record(z.string(), z.number()),
});

const nameInput = z.object({ name: z.string() });
const noInput = z.object({});

/**
 * The signals of `org.chorus.Bus`: every change of a name's primary owner to the group's members,
 * and `NameAcquired`/`NameLost` to the connection concerned (member or not), before the reply to
 * the request that caused them.
 *
 * @example
 * ```ts
 * const change = busSignals.NameOwnerChanged.parse(decodePayload(payload));
 * ```
 */
export const busSignals = {
  NameOwnerChanged: z.object({
    name: z.string(),
    oldOwner: uniqueName.nullable(),
    newOwner: uniqueName.nullable(),
  }),
  NameAcquired: z.object({ name: z.string() }),
  NameLost: z.object({ name: z.string() }),
};

/**
 * The methods of `org.chorus.Bus`: the input each takes and the output it answers.
 *
 * @example
 * ```ts
 * const input = busMethods.RequestName.input.parse(decodePayload(payload));
 * ```
 */
export const busMethods = {
  RequestName: {
    input: z.object({
      name: z.string(),
      flags: z
        .object({
          /** Let a later `replaceExisting` request take the name from us. */
          allowReplacement: z.boolean().optional(),
          /** Take the name from its owner if the owner allowed replacement. */
          replaceExisting: z.boolean().optional(),
          /** Answer `exists` instead of waiting in the queue. */
          doNotQueue: z.boolean().optional(),
        })
        .optional(),
    }),
    output: z.object({ result: z.enum(['primary-owner', 'in-queue', 'exists', 'already-owner']) }),
  },
  ReleaseName: {
    input: nameInput,
    output: z.object({ result: z.enum(['released', 'non-existent', 'not-owner']) }),
  },
  GetNameOwner: { input: nameInput, output: z.object({ owner: uniqueName.nullable() }) },
  ListNames: { input: noInput, output: z.object({ names: z.array(nameInfo) }) },
  ListGroups: { input: noInput, output: z.object({ groups: z.array(groupInfo) }) },
  ListConnections: { input: noInput, output: z.object({ connections: z.array(connectionInfo) }) },
  GetGroupSchema: { input: z.object({ group: z.string() }), output: z.object({ schema: z.unknown() }) },
  GetStats: { input: noInput, output: stats },
};

/**
 * A method of `org.chorus.Bus`.
 *
 * @example
 * ```ts
 * const method: BusMethodName = 'ListNames';
 * ```
 */
export type BusMethodName = keyof typeof busMethods;

/**
 * A signal of `org.chorus.Bus`.
 *
 * @example
 * ```ts
 * const signal: BusSignalName = 'NameOwnerChanged';
 * ```
 */
export type BusSignalName = keyof typeof busSignals;

/**
 * What a bus method takes, once validated.
 *
 * @example
 * ```ts
 * const { name, flags }: BusMethodInput<'RequestName'> = { name: 'org.example.Battery' };
 * ```
 */
export type BusMethodInput<TMethod extends BusMethodName> = z.output<(typeof busMethods)[TMethod]['input']>;

/**
 * What the daemon answers to a bus method (what travels: the output schema's input side).
 *
 * @example
 * ```ts
 * const reply: BusMethodOutput<'GetNameOwner'> = { owner: null };
 * ```
 */
export type BusMethodOutput<TMethod extends BusMethodName> = z.input<(typeof busMethods)[TMethod]['output']>;

/**
 * The payload of a bus signal.
 *
 * @example
 * ```ts
 * const change: BusSignalPayload<'NameOwnerChanged'> = { name: 'a.b', oldOwner: null, newOwner: ':1.4' };
 * ```
 */
export type BusSignalPayload<TSignal extends BusSignalName> = z.output<(typeof busSignals)[TSignal]>;
