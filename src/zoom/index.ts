/** The Zoom edge: OAuth, pacing, retries, paging and the chat report endpoints. */
export {
  ZoomClient,
  parseMissingScopes,
  type HttpMethod,
  type QueryValue,
  type ZoomCallEvent,
  type ZoomClientOptions,
  type ZoomClientStats,
  type ZoomRequestOptions,
  type ZoomResponse,
  type ZoomRetryTuning,
  type ZoomStreamResponse,
} from './client.js';
export { OAuthTokenProvider, TOKEN_ENDPOINT, type OAuthTokenProviderOptions, type TokenStats } from './oauth.js';
export {
  RateLimiter,
  RATE_LABELS,
  DEFAULT_MAX_DAILY_WAIT_MS,
  type AcquireOptions,
  type LabelPause,
  type PauseKind,
  type RateLimiterOptions,
} from './rate-limiter.js';
export { computeBackoffMs, nextUtcMidnightMs, parseRetryAfter, type BackoffOptions } from './backoff.js';
export { paginate, DEFAULT_MAX_PAGE_RESTARTS, type PageMeta, type PaginateOptions } from './pagination.js';
export {
  fetchSessionMessagePages,
  listChatSessionPages,
  validateReportWindow,
  SESSIONS_ENDPOINT,
  SESSION_MESSAGES_ENDPOINT,
  type ReportWindowOptions,
} from './reports.js';
export { parseMessagePage, parseSessionPage, ReportParseError } from './report-parser.js';
