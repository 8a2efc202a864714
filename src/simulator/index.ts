/**
 * The project's Zoom Team Chat API simulator: a real HTTP server with Zoom's OAuth, chat-report
 * endpoints, paging, rate limits and errors, a deterministic synthetic account, scripted faults, and
 * the ground truth a complete archive must equal. Used by integration tests, benchmarks and `demo`.
 */

export { startZoomSimulator, DEFAULT_ROUTE_MODULES, OAUTH_ENDPOINT, type SimulatorOptions, type RunningSimulator } from './server.js';
export { SIM_CREDENTIALS, type SimCredentials } from './oauth.js';
export {
  generateDataset,
  findSession,
  summariseSessions,
  MessageFlag,
  type DatasetOptions,
  type DatasetQuirks,
  type DatasetQuirksInput,
  type SessionProfile,
  type SessionSummary,
  type SimDataset,
  type SimSession,
  type SimUser,
} from './dataset.js';
export {
  expectedVersions,
  iterateExpectedVersions,
  iterateAdmissibleVersions,
  expectedMalformedItems,
  type ExpectedVersion,
  type ExpectedMalformedItem,
  type GroundTruthOptions,
} from './ground-truth.js';
export { listSessionsIn, countMessagesIn, type SessionListingMode } from './report-selection.js';
export { REPORT_ENDPOINTS } from './report-routes.js';
export { LEGAL_HOLD_ENDPOINTS, legalHoldRoutes } from './legal-hold-routes.js';
export { CHAT_FILE_ENDPOINTS, SimFiles, fileRoutes, type SimFileInfo, type SimFileQuirk, type SimFilesOptions } from './file-routes.js';
export { CHAT_MESSAGE_ENDPOINTS, chatMessageRoutes, SimChatMessages, type SentChatMessage } from './chat-message-routes.js';
export {
  SimLegalHold,
  type FileCorruption,
  type SimCustodian,
  type SimLegalHoldOptions,
  type SimLegalHoldQuirks,
  type SimMatterSeed,
  type SimMatterView,
} from './legal-hold-state.js';
export { crc32Combine, planZip, zipChunks, type StreamedBody, type ZipPlan } from './legal-hold-zip.js';
export type { Fault, FaultKind, FaultMatch, FaultRule, FaultController, PendingFault, ChaosOptions } from './faults.js';
export type { SimulatorStats, EndpointStats, RequestLogEntry } from './stats.js';
export type { RateLimits } from './rate-limits.js';
export { jsonResponse, zoomError, type RouteModule, type RouteDefinition, type RouteContext, type RouteRequest, type SimResponse, type RateLabel } from './route-table.js';
export { runStandaloneSimulator, parseStandaloneArgs, type StandaloneOptions, type StandaloneIo } from './standalone.js';
