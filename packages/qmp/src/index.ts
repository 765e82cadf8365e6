// @plugboard/qmp: the QMP wire protocol of QEMU 7.2 — JSON framing and
// parsing, QEMU's serialization, greeting, capability negotiation, dispatch
// with QAPI argument checks, events, and a client. Knows nothing of devices.

export { QmpError, QMP_ERROR_CLASSES, type QmpErrorClass } from './errors.js';
export {
  JsonStreamer,
  QEMU_JSON_LIMITS,
  type JsonLimits,
  type JsonStreamItem,
  type JsonStreamerOptions,
} from './json-streamer.js';
export { isJsonFloat } from './json-values.js';
export { toQmpJson, quoteQemuString, formatDouble } from './json-writer.js';
export { qdictBucket, qdictOrder } from './qdict-order.js';
export { checkArguments, memberOrder, qapiEnum, type QapiType, type QapiEnum, type QapiMembers, type UnvisitedOrder } from './qapi.js';
export {
  QmpDispatcher,
  QMP_CAPABILITIES,
  type QmpCommandDef,
  type QmpCallContext,
  type QmpDispatcherOptions,
  type QmpResponse,
  type QmpErrorBody,
} from './dispatcher.js';
export {
  QmpSession,
  QMP_LINE_END,
  QMP_REQ_QUEUE_LEN_MAX,
  DEFAULT_MAX_OUTPUT_BACKLOG,
  type QmpTransport,
  type QmpSessionCloseReason,
} from './session.js';
export {
  QmpServer,
  DEFAULT_CLOSE_GRACE_MS,
  wallClock,
  type QmpServerOptions,
  type QmpStreamOptions,
  type QmpTimestamp,
  type OpenedMonitors,
} from './server.js';
export {
  DEFAULT_UNIX_SOCKET_MODE,
  bindUnix,
  bindTcp,
  firstConnection,
  greetingLine,
  unlinkOwnSocket,
  type BoundUnix,
  type ListenWait,
  type QmpVersion,
} from './listen.js';
export {
  QmpClient,
  CLIENT_JSON_LIMITS,
  type QmpTarget,
  type QmpConnectOptions,
  type QmpGreeting,
  type QmpEventMessage,
} from './client.js';
