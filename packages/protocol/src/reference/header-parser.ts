/*
 * The reference header parser: decodes any header with the MessagePack decoder and checks every
 * field of its message type with the readers of fields.ts. It is the parser of every message that
 * has no fast path, and the one the fast readers (fast/header-reader.ts) are property-tested
 * against.
 */

import { ErrorCode, ProtocolError } from '../errors.js';
import type {
  AbortReason,
  CallRequest,
  ClientMessage,
  CreateRequest,
  EmitRequest,
  EmitterPolicy,
  ErrorReply,
  FailMessage,
  Filter,
  FilterValue,
  GroupClosedReason,
  GroupOptions,
  Hello,
  InvokeMessage,
  JoinRequest,
  JoinResult,
  JoinSpec,
  Limits,
  MonitorRequest,
  OnFullPolicy,
  Reply,
  ServerMessage,
  SignalMessage,
  Welcome,
} from '../messages.js';
import { decodeHeaderMap } from '../msgpack.js';
import {
  expectMap,
  FieldIssue,
  type HeaderMap,
  isSerial,
  readArray,
  readCount,
  readEnum,
  readMap,
  readName,
  readOptionalAny,
  readOptionalArray,
  readOptionalBoolean,
  readOptionalCount,
  readOptionalEnum,
  readOptionalMap,
  readOptionalName,
  readOptionalSerial,
  readOptionalText,
  readSerial,
  readText,
  within,
} from './fields.js';

const EMITTER_POLICIES: readonly EmitterPolicy[] = ['owner', 'members', 'anyone'];
const ON_FULL_POLICIES: readonly OnFullPolicy[] = ['block', 'reject', 'evict'];
const ABORT_REASONS: readonly AbortReason[] = ['cancelled', 'timeout', 'caller-left'];
const GROUP_CLOSED_REASONS: readonly GroupClosedReason[] = [
  'closed',
  'owner-left',
  'owner-evicted',
  'shutdown',
  'not-permitted',
];

/**
 * The reference parser of client headers: parseClientHeader without its fast path. Every rule of
 * the wire spec is checked here; the fast path is tested against it.
 */
export function parseClientHeaderGeneric(header: Uint8Array): ClientMessage {
  const map = decodeHeaderMap(header);
  try {
    switch (map.t) {
      case 'hello':
        return parseHello(map);
      case 'create':
        return parseCreate(map);
      case 'join':
        return parseJoin(map);
      case 'leave':
        return { t: 'leave', s: readSerial(map, 's'), g: readName(map, 'g') };
      case 'close':
        return { t: 'close', s: readSerial(map, 's'), g: readName(map, 'g') };
      case 'emit':
        return parseEmit(map);
      case 'ping':
        return { t: 'ping', s: readSerial(map, 's') };
      case 'call':
        return parseCall(map);
      case 'ret':
        return { t: 'ret', id: readSerial(map, 'id') };
      case 'fail':
        return parseFail(map);
      case 'cancel':
        return { t: 'cancel', id: readSerial(map, 'id') };
      case 'monitor':
        return parseMonitor(map);
    }
  } catch (error) {
    throw asProtocolError(error, map);
  }
  throw unknownType(map, 'client');
}

/** The reference parser of daemon headers: parseServerHeader without its fast path. */
export function parseServerHeaderGeneric(header: Uint8Array): ServerMessage {
  const map = decodeHeaderMap(header);
  try {
    switch (map.t) {
      case 'welcome':
        return parseWelcome(map);
      case 'ok':
        return parseReply(map);
      case 'err':
        return parseErrorReply(map);
      case 'sig':
        return parseSignal(map);
      case 'gclosed':
        return { t: 'gclosed', g: readName(map, 'g'), reason: readEnum(map, 'reason', GROUP_CLOSED_REASONS) };
      case 'bye':
        return { t: 'bye', reason: readText(map, 'reason') };
      case 'invoke':
        return parseInvoke(map);
      case 'abort':
        return { t: 'abort', id: readSerial(map, 'id'), reason: readEnum(map, 'reason', ABORT_REASONS) };
    }
  } catch (error) {
    throw asProtocolError(error, map);
  }
  throw unknownType(map, 'daemon');
}

function parseHello(map: HeaderMap): Hello {
  const message: Hello = { t: 'hello', v: readCount(map, 'v') };
  const join = readOptionalArray(map, 'join', parseJoinSpec);
  if (join !== undefined) message.join = join;
  const token = readOptionalText(map, 'token');
  if (token !== undefined) message.token = token;
  const client = readOptionalText(map, 'client');
  if (client !== undefined) message.client = client;
  return message;
}

function parseJoinSpec(value: unknown): JoinSpec {
  const map = expectMap(value);
  const spec: JoinSpec = { g: readName(map, 'g') };
  const f = readOptionalArray(map, 'f', parseFilter);
  if (f !== undefined) spec.f = f;
  return spec;
}

function parseCreate(map: HeaderMap): CreateRequest {
  const message: CreateRequest = { t: 'create', s: readSerial(map, 's'), g: readName(map, 'g') };
  const o = readOptionalMap(map, 'o');
  if (o !== undefined) message.o = within('o', () => parseGroupOptions(o));
  const schema = readOptionalAny(map, 'schema');
  if (schema !== undefined) message.schema = schema;
  return message;
}

function parseGroupOptions(map: HeaderMap): GroupOptions {
  const options: GroupOptions = {};
  const emitters = readOptionalEnum(map, 'emitters', EMITTER_POLICIES);
  if (emitters !== undefined) options.emitters = emitters;
  const loopback = readOptionalBoolean(map, 'loopback');
  if (loopback !== undefined) options.loopback = loopback;
  const sendToPeer = readOptionalBoolean(map, 'sendToPeer');
  if (sendToPeer !== undefined) options.sendToPeer = sendToPeer;
  const onFull = readOptionalEnum(map, 'onFull', ON_FULL_POLICIES);
  if (onFull !== undefined) options.onFull = onFull;
  const retain = readOptionalBoolean(map, 'retain');
  if (retain !== undefined) options.retain = retain;
  const federated = readOptionalBoolean(map, 'federated');
  if (federated !== undefined) options.federated = federated;
  const validate = readOptionalBoolean(map, 'validate');
  if (validate !== undefined) options.validate = validate;
  return options;
}

function parseJoin(map: HeaderMap): JoinRequest {
  const message: JoinRequest = { t: 'join', s: readSerial(map, 's'), g: readName(map, 'g') };
  const f = readOptionalArray(map, 'f', parseFilter);
  if (f !== undefined) message.f = f;
  const fseq = readOptionalCount(map, 'fseq');
  if (fseq !== undefined) message.fseq = fseq;
  const own = readOptionalArray(map, 'own', parseOrigin);
  if (own !== undefined) message.own = own;
  return message;
}

function parseOrigin(value: unknown): string {
  if (typeof value === 'string' && value !== '') return value;
  throw new FieldIssue([], 'expected a non-empty string');
}

function parseFilter(value: unknown): Filter {
  const map = expectMap(value);
  const filter: Filter = {};
  const sig = readOptionalName(map, 'sig');
  if (sig !== undefined) filter.sig = sig;
  const from = readOptionalName(map, 'from');
  if (from !== undefined) filter.from = from;
  const eq = readOptionalMap(map, 'eq');
  if (eq !== undefined) filter.eq = within('eq', () => parseEq(eq));
  return filter;
}

function parseEq(map: HeaderMap): Record<string, FilterValue> {
  // Keys are payload field names, not protocol keys: every one is kept. nil is a value here
  // (match a null field), not an absent condition.
  for (const key of Object.keys(map)) {
    const value = map[key];
    const type = typeof value;
    if (!(value === null || type === 'string' || type === 'number' || type === 'boolean')) {
      throw new FieldIssue([key], 'expected a string, number, boolean or nil');
    }
  }
  return map as Record<string, FilterValue>;
}

function parseWelcome(map: HeaderMap): Welcome {
  const v = readCount(map, 'v');
  const name = readName(map, 'name');
  const seq = readCount(map, 'seq');
  const limits = readMap(map, 'limits');
  const welcome: Welcome = {
    t: 'welcome',
    v,
    name,
    seq,
    limits: within('limits', () => parseLimits(limits)),
    joined: readArray(map, 'joined', parseJoinResult),
  };
  const origin = readOptionalName(map, 'origin');
  if (origin !== undefined) welcome.origin = origin;
  return welcome;
}

function parseLimits(map: HeaderMap): Limits {
  const limits: Limits = {
    maxFrameBytes: readCount(map, 'maxFrameBytes'),
    maxQueueBytes: readCount(map, 'maxQueueBytes'),
  };
  // Other limits are kept when they are numbers; anything else is a future extension we cannot
  // interpret, ignored like any unknown key.
  for (const key of Object.keys(map)) {
    const value = map[key];
    if (typeof value === 'number' && key !== 'maxFrameBytes' && key !== 'maxQueueBytes') limits[key] = value;
  }
  return limits;
}

function parseJoinResult(value: unknown): JoinResult {
  const map = expectMap(value);
  const result: JoinResult = {
    g: readName(map, 'g'),
    startSeq: readCount(map, 'startSeq'),
    startGroupSeq: readCount(map, 'startGroupSeq'),
  };
  const fseq = readOptionalCount(map, 'fseq');
  if (fseq !== undefined) result.fseq = fseq;
  return result;
}

function parseReply(map: HeaderMap): Reply {
  const message: Reply = { t: 'ok', s: readSerial(map, 's') };
  const r = readOptionalMap(map, 'r');
  if (r !== undefined) message.r = r;
  return message;
}

function parseErrorReply(map: HeaderMap): ErrorReply {
  // Built with `s` in second place whether present or not, so re-encoding keeps the key order.
  const s = readOptionalSerial(map, 's');
  const code = readName(map, 'code');
  const msg = readText(map, 'msg');
  const message: ErrorReply = s === undefined ? { t: 'err', code, msg } : { t: 'err', s, code, msg };
  const fatal = readOptionalBoolean(map, 'fatal');
  if (fatal !== undefined) message.fatal = fatal;
  const data = readOptionalAny(map, 'data');
  if (data !== undefined) message.data = data;
  const g = readOptionalName(map, 'g');
  if (g !== undefined) message.g = g;
  const sig = readOptionalName(map, 'sig');
  if (sig !== undefined) message.sig = sig;
  return message;
}

function parseEmit(map: HeaderMap): EmitRequest {
  const message: EmitRequest = {
    t: 'emit',
    s: readSerial(map, 's'),
    g: readName(map, 'g'),
    sig: readName(map, 'sig'),
  };
  const q = readOptionalBoolean(map, 'q');
  if (q !== undefined) message.q = q;
  return message;
}

function parseSignal(map: HeaderMap): SignalMessage {
  const message: SignalMessage = {
    t: 'sig',
    seq: readCount(map, 'seq'),
    gseq: readCount(map, 'gseq'),
    g: readName(map, 'g'),
    sig: readName(map, 'sig'),
    from: readName(map, 'from'),
  };
  const r = readOptionalBoolean(map, 'r');
  if (r !== undefined) message.r = r;
  const fseq = readOptionalCount(map, 'fseq');
  if (fseq !== undefined) message.fseq = fseq;
  return message;
}

function parseCall(map: HeaderMap): CallRequest {
  const message: CallRequest = {
    t: 'call',
    s: readSerial(map, 's'),
    dest: readName(map, 'dest'),
    m: readName(map, 'm'),
  };
  const g = readOptionalName(map, 'g');
  if (g !== undefined) message.g = g;
  const to = readOptionalCount(map, 'to');
  if (to !== undefined) message.to = to;
  return message;
}

function parseFail(map: HeaderMap): FailMessage {
  const message: FailMessage = {
    t: 'fail',
    id: readSerial(map, 'id'),
    code: readName(map, 'code'),
    msg: readText(map, 'msg'),
  };
  const name = readOptionalText(map, 'name');
  if (name !== undefined) message.name = name;
  return message;
}

function parseMonitor(map: HeaderMap): MonitorRequest {
  const message: MonitorRequest = { t: 'monitor', s: readSerial(map, 's') };
  const g = readOptionalArray(map, 'g', (value) => {
    if (typeof value !== 'string' || value === '') throw new FieldIssue([], 'expected a non-empty string');
    return value;
  });
  if (g !== undefined) message.g = g;
  return message;
}

function parseInvoke(map: HeaderMap): InvokeMessage {
  const message: InvokeMessage = {
    t: 'invoke',
    id: readSerial(map, 'id'),
    from: readName(map, 'from'),
    dest: readName(map, 'dest'),
    m: readName(map, 'm'),
  };
  const g = readOptionalName(map, 'g');
  if (g !== undefined) message.g = g;
  return message;
}

function serialOf(map: HeaderMap): number | undefined {
  const s = map.s;
  return isSerial(s) ? s : undefined;
}

function asProtocolError(error: unknown, map: HeaderMap): unknown {
  if (!(error instanceof FieldIssue)) return error;
  const options: { serial?: number; data: { path: (string | number)[] } } = { data: { path: error.path } };
  const serial = serialOf(map);
  if (serial !== undefined) options.serial = serial;
  return new ProtocolError(ErrorCode.BAD_FIELD, error.describe(), options);
}

function unknownType(map: HeaderMap, side: 'client' | 'daemon'): ProtocolError {
  const t = map.t;
  const serial = serialOf(map);
  const options = serial === undefined ? {} : { serial };
  if (typeof t !== 'string') {
    const message = t === undefined || t === null ? 't: required' : 't: expected a string';
    return new ProtocolError(ErrorCode.BAD_FIELD, message, { ...options, data: { path: ['t'] } });
  }
  return new ProtocolError(ErrorCode.UNKNOWN_TYPE, `unknown ${side} message type '${t}'`, options);
}
