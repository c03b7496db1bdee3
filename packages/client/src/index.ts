/*
 * @chorus/client for Node. The browser entry (index.browser.ts) exports the same names except the
 * unix transport; package.json `exports` picks one by the `browser` condition.
 */

export { ErrorCode } from '@chorus/protocol';
export { z } from 'zod';
export type { AddressEnvironment, BusAddress, UnixAddress, WebSocketAddress } from './address.js';
export { defaultAddress, parseAddress } from './address.js';
export type { Bus, JoinOptions } from './bus.js';
export { connect } from './connect-node.js';
export type {
  AnyGroupContract,
  GroupContract,
  GroupDefinition,
  ReservedEventName,
  SignalInput,
  SignalName,
  SignalPayload,
  SignalSchemas,
} from './contract.js';
export { defineGroup, RESERVED_EVENT_NAMES } from './contract.js';
export type { ValidationIssue } from './errors.js';
export {
  AbortError,
  AddressError,
  BusError,
  ChorusError,
  ClientErrorCode,
  ConnectError,
  ConnectionClosedError,
  InvalidArgumentError,
  isChorusError,
  MessageTooLargeError,
  PayloadValidationError,
  ProtocolViolationError,
  TimeoutError,
  UnsupportedTransportError,
} from './errors.js';
export type { FieldValue, FilterInput, SignalFilter } from './filter.js';
export type { CreateGroupOptions, EmitArgs, EmitResult, Group } from './group.js';
export type { AutoJoin, ConnectOptions, TransportFactory } from './options.js';
export { defaultConnectOptions } from './options.js';
export type { SignalEnvelope, SignalMeta, Subscription, SubscriptionEndReason } from './subscription.js';
export type { MemoryTransport } from './transports/memory.js';
export { createMemoryTransportPair } from './transports/memory.js';
export type { Transport, TransportOpener } from './transports/transport.js';
export type { UnixConnectOptions } from './transports/unix.js';
export { connectUnix, socketTransport } from './transports/unix.js';
