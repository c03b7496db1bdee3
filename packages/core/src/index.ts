export type {
  Accepted,
  Blocked,
  CloseReason,
  ConnectionId,
  ConnectionInfo,
  ConnectOptions,
  DirectItem,
  EmitInput,
  EmitOutcome,
  EngineHooks,
  EngineOptions,
  EngineStats,
  GroupClosedNotice,
  GroupInfo,
  GroupStats,
  JoinResult,
  JoinSpec,
  Message,
  OutboundItem,
} from './engine.js';
export { BUS_CONNECTION, Engine, uniqueName } from './engine.js';
export {
  AlreadyMemberError,
  EngineError,
  EngineErrorCode,
  GroupExistsError,
  InvalidNameError,
  isEngineError,
  LimitExceededError,
  NotMemberError,
  NotOwnerError,
  NotPermittedError,
  QueueFullError,
  SenderBlockedError,
  UnknownConnectionError,
  UnknownGroupError,
} from './errors.js';
export type { FieldsReader, FieldValue, Filter } from './filter.js';
// The driver filters what it delivers on its own (a federated group's replay) as the engine does.
export { anyFilterMatches, LazyFields } from './filter.js';
export type {
  NameInfo,
  OwnerChange,
  ReleaseNameResult,
  RequestNameFlags,
  RequestNameResult,
} from './name-registry.js';
export { assertRequestableName, BUS_NAME, NameRegistry } from './name-registry.js';
export {
  assertGroupName,
  assertSignalName,
  groupNameProblem,
  MAX_NAME_LENGTH,
  signalNameProblem,
} from './names.js';
export type { Emitters, EngineLimits, GroupOptions, OnFull } from './options.js';
export { defaultGroupOptions, defaultLimits, QUEUE_CEILING_FACTOR } from './options.js';
