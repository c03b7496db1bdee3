// The public API of @chorus/protocol: named re-exports only, values and types apart.
// Layout: reference/ holds the generic codec (any message, every rule checked), fast/ the
// hand-written paths for the hot messages, each tested against the reference; the rest is shared.

export type {
  BusMethodInput,
  BusMethodName,
  BusMethodOutput,
  BusSignalName,
  BusSignalPayload,
} from './bus-contract.js';
export { BUS_NAME, busMethods, busSignals } from './bus-contract.js';
export {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_PREFIX_BYTES,
  MAX_NESTING_DEPTH,
  MAX_SERIAL,
  PROTOCOL_VERSION,
} from './constants.js';
export type { ContractIssue, ContractJsonSchema } from './contract-schema.js';
export {
  BYTES_KEYWORD,
  contractJsonSchema,
  UNDEFINED_KEYWORD,
  UNREPRESENTABLE_KEYWORD,
} from './contract-schema.js';
export type { ProtocolErrorOptions } from './errors.js';
export { ErrorCode, isProtocolError, ProtocolError } from './errors.js';
export type { FrameAllocator } from './fast/frame-encoder.js';
export {
  encodeEmitFrame,
  encodeEmitReplyFrame,
  encodeEmitValueFrame,
  encodeSignalFrame,
  encodeSignalFrameInto,
  signalFrameLength,
} from './fast/frame-encoder.js';
export { readEmitReplyHeader } from './fast/header-reader.js';
export type { FrameDecoderOptions, FrameHandler } from './frame-decoder.js';
export { FrameDecoder } from './frame-decoder.js';
export { parseClientHeader, parseServerHeader } from './header-parser.js';
export type {
  AbortMessage,
  AbortReason,
  Bye,
  CallRequest,
  CancelMessage,
  ClientMessage,
  ClientMessageType,
  CloseRequest,
  CreateRequest,
  EmitReplyResult,
  EmitRequest,
  EmitterPolicy,
  ErrorReply,
  FailMessage,
  Filter,
  FilterValue,
  GroupClosedNotice,
  GroupClosedReason,
  GroupOptions,
  Hello,
  InvokeMessage,
  JoinReplyResult,
  JoinRequest,
  JoinResult,
  JoinSpec,
  LeaveRequest,
  Limits,
  MonitorRequest,
  OnFullPolicy,
  PingRequest,
  Reply,
  ReturnMessage,
  ServerMessage,
  ServerMessageType,
  SignalMessage,
  Welcome,
} from './messages.js';
export { decodePayload, encodePayload } from './payload.js';
export { isTransient, kept, READ_BUFFER_BYTES, sharedReadBuffer } from './read-buffer.js';
export { encodeFrame } from './reference/frame-encoder.js';
