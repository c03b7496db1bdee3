/*
 * @chorus/client for browsers: the same names as index.ts minus the unix transport, and nothing
 * that imports a Node built-in (index.browser.test.ts walks the import graph to prove it).
 */

export { BYTES_KEYWORD, ErrorCode, UNDEFINED_KEYWORD } from '@chorus/protocol';
export { z } from 'zod';
export type { AddressEnvironment, BusAddress, UnixAddress, WebSocketAddress } from './address.js';
export { defaultAddress, parseAddress } from './address.js';
export type {
  Bus,
  BusGap,
  CallOptions,
  JoinOptions,
  RequestNameOptions,
  WaitForNameOptions,
} from './bus.js';
export type {
  BusStats,
  ConnectionInfo,
  GroupInfo,
  NameInfo,
  NameReleaseResult,
  NameRequestResult,
} from './bus-contract.js';
export { BUS_NAME, BusContract } from './bus-contract.js';
export { bytes } from './bytes.js';
export { comparableSchema, compareContract } from './compat/contract-check.js';
export { connect } from './connect-browser.js';
export type {
  AnyGroupContract,
  GroupContract,
  GroupDefinition,
  MethodInput,
  MethodName,
  MethodOutput,
  MethodSchema,
  MethodSchemas,
  ReservedEventName,
  SignalInput,
  SignalName,
  SignalPayload,
  SignalSchemas,
} from './contract.js';
export { defineGroup, RESERVED_EVENT_NAMES } from './contract.js';
export type { CallTarget, ContractIssue, ValidationIssue } from './errors.js';
export {
  AbortError,
  AddressError,
  BusError,
  CallError,
  ChorusError,
  ClientErrorCode,
  ConnectError,
  ConnectionClosedError,
  IncompatibleContractError,
  InvalidArgsError,
  InvalidArgumentError,
  InvalidReplyError,
  isChorusError,
  MessageTooLargeError,
  NoReplyError,
  PayloadDroppedError,
  PayloadValidationError,
  ProtocolViolationError,
  PublishError,
  RemoteError,
  ServiceUnknownError,
  TimeoutError,
  UnclaimedJoinError,
  UnknownMethodError,
  UnpublishableContractError,
  UnsupportedTransportError,
} from './errors.js';
export type { FieldValue, FilterInput, SignalFilter } from './filter.js';
export type { CreateGroupOptions, EmitArgs, EmitResult, Group } from './group.js';
export type { Monitor, MonitoredSignal } from './monitor.js';
export type { AutoJoin, ConnectOptions, ReconnectOptions, TransportFactory } from './options.js';
export { defaultConnectOptions, defaultReconnectOptions } from './options.js';
export type {
  CallContext,
  MethodHandler,
  MethodHandlers,
  Service,
  UntypedMethodHandler,
} from './service.js';
export type {
  SignalEnvelope,
  SignalMeta,
  Subscription,
  SubscriptionEndReason,
  SubscriptionGap,
} from './subscription.js';
export type { MemoryTransport } from './transports/memory.js';
export { createMemoryTransportPair } from './transports/memory.js';
export type { Transport, TransportOpener } from './transports/transport.js';
export type {
  WebSocketConnectOptions,
  WebSocketConstructor,
  WebSocketEventLike,
  WebSocketLike,
  WebSocketTransport,
} from './transports/websocket.js';
export { connectWebSocket, defaultWebSocketOptions } from './transports/websocket.js';
