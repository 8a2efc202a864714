/**
 * The Zoom HTTP client: OAuth token, rate limiting per label, retries with Retry-After, body limits,
 * Zoom's error bodies → typed errors. Over 400 lines because every request goes through one retry and
 * error path that must be read whole; paging and parsing live in pagination.ts and report-parser.ts.
 */
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { ZoomConfig, ZoomCredentials } from '../config/config.js';
import type { RateLabel } from '../domain/zoom-endpoints.js';
import { AbortError, ArchiverError, ZoomApiError, ZoomScopeError, type ZoomErrorDetails } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { systemClock, type Clock } from '../util/clock.js';
import { abortErrorFor, sleepOrAbort } from './abort.js';
import { computeBackoffMs, computeRetryDelayMs, nextUtcMidnightMs, parseRetryAfter, type BackoffOptions } from './backoff.js';
import {
  decodeUtf8Strict,
  headerValue,
  networkErrorCode,
  parseZoomErrorBody,
  provesNothingWasSent,
  readBodyBounded,
  readErrorBodyText,
  unreachableCause,
  type ResponseHeaders,
} from './http-transport.js';
import { OAuthTokenProvider } from './oauth.js';
import { formatDuration, RateLimiter } from './rate-limiter.js';

/**
 * The one way this program talks to Zoom's REST API. Every attempt waits for its label's rate slot,
 * carries a bearer token from the shared provider, and is retried only when that is known to be
 * safe and useful: 429 (after pausing the label for every worker), 5xx and network failures, with
 * capped, jittered backoff. Nothing else is retried, and a POST is never replayed once it may have
 * reached Zoom.
 */

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';
export type QueryValue = string | number | boolean | undefined;

export interface ZoomRequestOptions {
  /** Logical name used in logs, errors and metrics, e.g. `report.chat.sessions`. Never a URL. */
  endpoint: string;
  label: RateLabel;
  method: HttpMethod;
  /** Relative to `apiBaseUrl`, already URL-encoded, e.g. `/report/chat/sessions/abc%2F1`. */
  path: string;
  query?: Record<string, QueryValue>;
  /** Sent as an `application/json` body. */
  json?: unknown;
  signal?: AbortSignal;
}

export interface ZoomResponse {
  status: number;
  bodyText: string;
  headers: ResponseHeaders;
  trackingId?: string;
}

export interface ZoomStreamResponse {
  status: number;
  headers: ResponseHeaders;
  /** The caller must consume or destroy it; it is not retried mid-body. */
  body: Readable;
  trackingId?: string;
}

/** One per HTTP attempt, for progress display and metrics. */
export interface ZoomCallEvent {
  endpoint: string;
  label: RateLabel;
  method: HttpMethod;
  status: number | 'network';
  durationMs: number;
  /** 1 for the first attempt of a request, 2 for its first retry, … */
  attempt: number;
}

export interface ZoomRetryTuning {
  /** Backoff ceiling of the first retry after a 5xx or network error. Default 500 ms. */
  baseDelayMs?: number;
  /** Longest backoff. Default 30 s. */
  maxDelayMs?: number;
  /** Pause after a per-second 429 without Retry-After, plus up to half of it as jitter. Default 1 s. */
  qpsRetryDelayMs?: number;
}

export interface ZoomClientOptions {
  config: ZoomConfig;
  credentials: ZoomCredentials;
  /** Default: a keep-alive undici Agent owned (and closed) by the client. */
  dispatcher?: Dispatcher;
  clock?: Clock;
  logger: Logger;
  onCall?: (event: ZoomCallEvent) => void;
  /** Uniform [0, 1) source for jitter; tests pin it. */
  random?: () => number;
  /**
   * Share one limiter between clients of the same account. Default: one per client, built from
   * `config.ratePerSecond` with `burstCapacity` and `maxDailyWaitMs`.
   */
  rateLimiter?: RateLimiter;
  burstCapacity?: number;
  maxDailyWaitMs?: number;
  retry?: ZoomRetryTuning;
}

export interface ZoomClientStats {
  /** HTTP attempts per endpoint, then per status code (or `network`). */
  calls: Record<string, Record<string, number>>;
  /** Attempts that were retries (backoff, 429 or one token refresh). */
  retries: number;
  rateLimited: { qps: number; daily: number };
  /** Token fetches started (concurrent callers share one). */
  tokenFetches: number;
  /** HTTP attempts against the token endpoint. */
  tokenRequests: number;
}

/** Zoom error bodies are a few hundred bytes; anything beyond this is a proxy page we need not read. */
const ERROR_BODY_MAX_BYTES = 16 * 1024;
const DEFAULT_QPS_RETRY_DELAY_MS = 1000;
const ZOOM_CODE_MISSING_SCOPES = 4711;
const ZOOM_CODE_INVALID_PARAMETER = 300;

type SuccessReader<T> = (response: Dispatcher.ResponseData, trackingId: string | undefined) => Promise<T>;

export class ZoomClient {
  readonly logger: Logger;
  private readonly config: ZoomConfig;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly clock: Clock;
  private readonly callObservers = new Set<(event: ZoomCallEvent) => void>();
  private readonly random: () => number;
  private readonly limiter: RateLimiter;
  private readonly tokens: OAuthTokenProvider;
  private readonly backoff: BackoffOptions;
  private readonly qpsRetryDelayMs: number;
  private readonly origin: string;
  private readonly basePath: string;
  private closed = false;
  private readonly counters = { calls: new Map<string, Map<string, number>>(), retries: 0, qps: 0, daily: 0 };

  constructor(options: ZoomClientOptions) {
    const { config } = options;
    this.config = config;
    this.logger = options.logger.child({ module: 'zoom-client' });
    this.clock = options.clock ?? systemClock;
    if (options.onCall) this.callObservers.add(options.onCall);
    this.random = options.random ?? Math.random;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 10 * 60_000,
        connect: { timeout: Math.min(config.requestTimeoutMs, 30_000) },
      });
    this.limiter =
      options.rateLimiter ??
      new RateLimiter({
        ratePerSecond: config.ratePerSecond,
        clock: this.clock,
        ...(options.burstCapacity !== undefined ? { burstCapacity: options.burstCapacity } : {}),
        ...(options.maxDailyWaitMs !== undefined ? { maxDailyWaitMs: options.maxDailyWaitMs } : {}),
      });
    this.backoff = {
      baseDelayMs: options.retry?.baseDelayMs,
      maxDelayMs: options.retry?.maxDelayMs,
      random: this.random,
    };
    this.qpsRetryDelayMs = options.retry?.qpsRetryDelayMs ?? DEFAULT_QPS_RETRY_DELAY_MS;
    this.tokens = new OAuthTokenProvider({
      tokenUrl: config.oauthTokenUrl,
      credentials: options.credentials,
      dispatcher: this.dispatcher,
      logger: this.logger,
      clock: this.clock,
      requestTimeoutMs: config.requestTimeoutMs,
      maxRetries: config.maxRetries,
      backoff: this.backoff,
    });
    const base = new URL(config.apiBaseUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
  }

  /** Sends one API call (with retries) and reads its body fully, as strict UTF-8. */
  request(options: ZoomRequestOptions): Promise<ZoomResponse> {
    return this.execute(options, 'application/json', async (response, trackingId) => {
      const body = await readBodyBounded(response.body, this.config.maxResponseBytes, response.headers);
      const details = { endpoint: options.endpoint, method: options.method, status: response.statusCode, trackingId };
      if (body.kind === 'too-large') {
        const size = body.declaredBytes === undefined ? 'more than' : `${body.declaredBytes} bytes, over`;
        throw new ZoomApiError(
          'ZOOM_RESPONSE_TOO_LARGE',
          `Zoom's response to ${options.method} ${options.endpoint} is ${size} the ${this.config.maxResponseBytes}-byte limit (ZOOM_MAX_RESPONSE_BYTES)${trackingSuffix(trackingId)}`,
          details,
        );
      }
      let bodyText: string;
      try {
        bodyText = decodeUtf8Strict(body.bytes);
      } catch (err) {
        throw new ZoomApiError(
          'ZOOM_INVALID_RESPONSE',
          `Zoom's response to ${options.method} ${options.endpoint} is not valid UTF-8${trackingSuffix(trackingId)}`,
          details,
          { cause: err },
        );
      }
      return { status: response.statusCode, bodyText, headers: response.headers, ...(trackingId !== undefined ? { trackingId } : {}) };
    });
  }

  /** `request` and `JSON.parse`; use `request` for 204 responses. The shape of T is not checked. */
  async requestJson<T = unknown>(options: ZoomRequestOptions): Promise<T> {
    const response = await this.request(options);
    try {
      return JSON.parse(response.bodyText) as T;
    } catch (err) {
      throw new ZoomApiError(
        'ZOOM_INVALID_RESPONSE',
        `Zoom's response to ${options.method} ${options.endpoint} is not JSON${trackingSuffix(response.trackingId)}`,
        { endpoint: options.endpoint, method: options.method, status: response.status, trackingId: response.trackingId },
        { cause: err },
      );
    }
  }

  /**
   * For large downloads: the same auth, pacing and retries until a 2xx status and headers arrive;
   * the body is then the caller's to consume (a failure mid-body is not retried here).
   */
  openStream(options: ZoomRequestOptions): Promise<ZoomStreamResponse> {
    // Downloads are zip files, not JSON; error bodies still come as JSON whatever we accept.
    return this.execute(options, '*/*', async (response, trackingId) => ({
      status: response.statusCode,
      headers: response.headers,
      body: response.body,
      ...(trackingId !== undefined ? { trackingId } : {}),
    }));
  }

  /**
   * One GET of an absolute URL outside the API (a file's signed `download_url`): no rate slot (it
   * is not an API call), no retries (the caller decides), no redirects. The bearer token is sent
   * only when `withToken` is set and the URL's host is Zoom's or the API's own, so a signed URL
   * pointing elsewhere never receives it. Any status is returned; the caller must consume or
   * destroy the body.
   */
  async openUrl(url: string, options: { endpoint: string; withToken: boolean; signal?: AbortSignal }): Promise<ZoomStreamResponse> {
    if (this.closed) throw new AbortError('the Zoom client is closed');
    const target = new URL(url);
    const sendToken = options.withToken && this.mayReceiveToken(target);
    const token = sendToken ? await this.tokens.getToken(options.signal) : undefined;
    const startedMs = performance.now();
    const event = (status: number | 'network') =>
      this.recordCall({ endpoint: options.endpoint, label: 'light', method: 'GET', status, durationMs: Math.round(performance.now() - startedMs), attempt: 1 });
    let response: Dispatcher.ResponseData;
    try {
      response = await this.dispatcher.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: 'GET',
        headers: { accept: '*/*', 'user-agent': 'zoom-chat-archiver', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
        headersTimeout: this.config.requestTimeoutMs,
        bodyTimeout: this.config.requestTimeoutMs,
        signal: options.signal ?? null,
      });
    } catch (err) {
      event('network');
      if (options.signal?.aborted) throw abortErrorFor(options.signal);
      const unreachable = unreachableCause(err);
      throw new ZoomApiError(
        unreachable !== undefined ? 'ZOOM_UNREACHABLE' : 'ZOOM_NETWORK_ERROR',
        `GET ${options.endpoint} (${target.origin}) failed: ${unreachable ?? networkErrorCode(err) ?? 'network error'}`,
        { endpoint: options.endpoint, method: 'GET' },
        { cause: err },
      );
    }
    event(response.statusCode);
    const trackingId = headerValue(response.headers, 'x-zm-trackingid');
    return { status: response.statusCode, headers: response.headers, body: response.body, ...(trackingId !== undefined ? { trackingId } : {}) };
  }

  /** Zoom's own hosts (zoom.us and below it) and the API's host: the only ones a bearer token goes to. */
  private mayReceiveToken(target: URL): boolean {
    if (target.origin === this.origin) return true;
    if (target.protocol !== 'https:') return false;
    const host = target.hostname.toLowerCase();
    return host === 'zoom.us' || host.endsWith('.zoom.us') || host === 'zoomgov.com' || host.endsWith('.zoomgov.com');
  }

  stats(): ZoomClientStats {
    const calls: Record<string, Record<string, number>> = {};
    for (const [endpoint, byStatus] of this.counters.calls) calls[endpoint] = Object.fromEntries(byStatus);
    const tokenStats = this.tokens.stats();
    return {
      calls,
      retries: this.counters.retries,
      rateLimited: { qps: this.counters.qps, daily: this.counters.daily },
      tokenFetches: tokenStats.tokenFetches,
      tokenRequests: tokenStats.tokenRequests,
    };
  }

  /** Closes the dispatcher if the client created it; in-flight requests finish first. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tokens.close();
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async execute<T>(options: ZoomRequestOptions, accept: string, readSuccess: SuccessReader<T>): Promise<T> {
    const { endpoint, label, method, signal } = options;
    const { maxRetries, requestTimeoutMs } = this.config;
    const path = this.buildPath(options.path, options.query);
    const pageToken = options.query?.['next_page_token'];
    const carriesPageToken = typeof pageToken === 'string' && pageToken !== '';
    const body = options.json === undefined ? undefined : JSON.stringify(options.json);
    // A POST may create something (a legal-hold matter); sending it twice could create it twice.
    // It is therefore retried only when Zoom provably did not act on it: a 429, a 401 before any
    // processing, or a connection that never opened. A reset, a timeout or a 5xx proves nothing.
    const idempotent = method !== 'POST';
    let retriesUsed = 0;
    let tokenRefreshed = false;

    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new AbortError('the Zoom client is closed');
      // Take the token before the rate slot so a token fetch never sits between slot and send:
      // the pacing Zoom sees is the pacing the limiter granted.
      await this.tokens.getToken(signal);
      await this.limiter.acquire(label, { signal, endpoint, method });
      const token = await this.tokens.getToken(signal);

      const startedMs = performance.now();
      let reported = false;
      const report = (status: number | 'network') => {
        if (reported) return;
        reported = true;
        this.recordCall({ endpoint, label, method, status, durationMs: Math.round(performance.now() - startedMs), attempt });
      };

      let response: Dispatcher.ResponseData;
      try {
        response = await this.dispatcher.request({
          origin: this.origin,
          path,
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept,
            'user-agent': 'zoom-chat-archiver',
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          body: body ?? null,
          headersTimeout: requestTimeoutMs,
          bodyTimeout: requestTimeoutMs,
          signal: signal ?? null,
        });
      } catch (err) {
        report('network');
        if (signal?.aborted) throw abortErrorFor(signal);
        retriesUsed = await this.retryAfterNetworkError(err, { endpoint, method, attempt, retriesUsed, idempotent, signal });
        continue;
      }

      const status = response.statusCode;
      const trackingId = headerValue(response.headers, 'x-zm-trackingid');

      if (status >= 200 && status < 300) {
        try {
          const result = await readSuccess(response, trackingId);
          report(status);
          return result;
        } catch (err) {
          if (err instanceof ArchiverError) {
            report(status);
            throw err;
          }
          // The connection failed mid-body (reset, body timeout): the request did reach Zoom.
          report('network');
          if (signal?.aborted) throw abortErrorFor(signal);
          retriesUsed = await this.retryAfterNetworkError(err, { endpoint, method, attempt, retriesUsed, idempotent, signal });
          continue;
        }
      }

      const errorText = await readErrorBodyText(response.body, ERROR_BODY_MAX_BYTES);
      report(status);
      if (signal?.aborted) throw abortErrorFor(signal);
      const zoom = parseZoomErrorBody(errorText);
      const details: ZoomErrorDetails = { endpoint, method, status, zoomCode: zoom.code, zoomMessage: zoom.message, trackingId };

      // Checked before 401: Zoom may send it as a 401, but a new token would lack the scopes too.
      if (zoom.code === ZOOM_CODE_MISSING_SCOPES) throw new ZoomScopeError(parseMissingScopes(zoom.message), details);

      if (status === 401) {
        if (tokenRefreshed) {
          throw new ZoomApiError(
            'ZOOM_AUTH_FAILED',
            `Zoom rejected a freshly issued access token for ${describe(details)}; check that the Server-to-Server OAuth app is activated and its credentials belong to this account`,
            details,
          );
        }
        tokenRefreshed = true;
        this.tokens.invalidate(token);
        this.counters.retries++;
        this.logger.warn(
          { endpoint, method, status, zoomCode: zoom.code, trackingId, attempt, delayMs: 0 },
          'Zoom rejected the access token; fetching a new token and retrying once',
        );
        continue;
      }

      if (status === 429) {
        retriesUsed = this.handleRateLimited(response.headers, details, { label, attempt, retriesUsed });
        continue;
      }

      const retryAfterMs = parseRetryAfter(response.headers['retry-after'], this.clock.now().getTime());
      if (status >= 500) {
        if (!idempotent) {
          throw new ZoomApiError('ZOOM_SERVER_ERROR', `${describe(details)}; not retried because the ${method} may have taken effect`, details);
        }
        if (retriesUsed >= maxRetries) {
          throw new ZoomApiError('ZOOM_SERVER_ERROR', `${describe(details)}; gave up after ${attempt} attempts`, details);
        }
        const delayMs = computeRetryDelayMs(retriesUsed, retryAfterMs, this.backoff);
        retriesUsed++;
        this.counters.retries++;
        this.logger.warn(
          { endpoint, method, status, zoomCode: zoom.code, trackingId, attempt, delayMs },
          `Zoom answered HTTP ${status}; retrying in ${delayMs} ms (retry ${retriesUsed} of ${maxRetries})`,
        );
        await sleepOrAbort(delayMs, signal);
        continue;
      }

      throw classifyClientError(details, carriesPageToken);
    }
  }

  /** Decides whether a network failure may be retried, waits the backoff, and returns the retry count. */
  private async retryAfterNetworkError(
    err: unknown,
    context: { endpoint: string; method: HttpMethod; attempt: number; retriesUsed: number; idempotent: boolean; signal: AbortSignal | undefined },
  ): Promise<number> {
    const { endpoint, method, attempt, idempotent, signal } = context;
    const errorCode = networkErrorCode(err) ?? 'unknown network error';
    const details: ZoomErrorDetails = { endpoint, method };
    const unreachable = unreachableCause(err);
    if (unreachable !== undefined) {
      // Nothing was sent, and nothing will be: the host does not resolve or refuses. Said once.
      throw new ZoomApiError(
        'ZOOM_UNREACHABLE',
        `cannot reach the Zoom API at ${this.origin}${this.basePath} (${method} ${endpoint}): ${unreachable}; check ZOOM_API_BASE_URL and this machine's network (DNS, proxy, firewall)`,
        details,
        { cause: err },
      );
    }
    if (!idempotent && !provesNothingWasSent(err)) {
      throw new ZoomApiError(
        'ZOOM_NETWORK_ERROR',
        `${method} ${endpoint} failed (${errorCode}) after the request may have reached Zoom; not sent again, as a replayed ${method} could take effect twice`,
        details,
        { cause: err },
      );
    }
    if (context.retriesUsed >= this.config.maxRetries) {
      throw new ZoomApiError('ZOOM_NETWORK_ERROR', `${method} ${endpoint} failed ${attempt} times; last error ${errorCode}`, details, { cause: err });
    }
    const delayMs = computeBackoffMs(context.retriesUsed, this.backoff);
    const retriesUsed = context.retriesUsed + 1;
    this.counters.retries++;
    this.logger.warn(
      { endpoint, method, status: 'network', errorCode, attempt, delayMs },
      `network error calling Zoom (${errorCode}); retrying in ${delayMs} ms (retry ${retriesUsed} of ${this.config.maxRetries})`,
    );
    await sleepOrAbort(delayMs, signal);
    return retriesUsed;
  }

  /**
   * A 429 pauses the whole label, so every worker backs off, not just this one; the retry then
   * waits in the limiter like any other call. Returns the retry count or throws.
   */
  private handleRateLimited(
    headers: ResponseHeaders,
    details: ZoomErrorDetails,
    context: { label: RateLabel; attempt: number; retriesUsed: number },
  ): number {
    const { label, attempt } = context;
    const { endpoint, method, status, zoomCode, trackingId } = details;
    const nowMs = this.clock.now().getTime();
    const retryAfterMs = parseRetryAfter(headers['retry-after'], nowMs);
    const limitType = headerValue(headers, 'x-ratelimit-type') ?? '';
    const daily = /daily/i.test(limitType) || /daily/i.test(details.zoomMessage ?? '');

    if (daily) {
      this.counters.daily++;
      // Without Retry-After we assume the caps reset at 00:00 UTC (Zoom does not say).
      const untilMs = retryAfterMs !== undefined ? nowMs + retryAfterMs : nextUtcMidnightMs(nowMs);
      const waitMs = untilMs - nowMs;
      this.limiter.pause(label, untilMs, 'daily');
      const resumesAt = new Date(untilMs).toISOString();
      if (waitMs > this.limiter.maxDailyWaitMs || context.retriesUsed >= this.config.maxRetries) {
        throw new ZoomApiError(
          'ZOOM_DAILY_LIMIT_REACHED',
          `${describe(details)}: Zoom's daily rate limit for ${label.toUpperCase()} calls is reached; calls resume at ${resumesAt} (in ${formatDuration(waitMs)})`,
          { ...details, retryAfterMs: waitMs },
        );
      }
      const retriesUsed = context.retriesUsed + 1;
      this.counters.retries++;
      this.logger.warn(
        { endpoint, method, status, zoomCode, trackingId, attempt, delayMs: waitMs },
        `Zoom's daily rate limit for ${label.toUpperCase()} calls is reached; pausing the label until ${resumesAt}, then retrying`,
      );
      return retriesUsed;
    }

    this.counters.qps++;
    const jitteredMs = this.qpsRetryDelayMs + Math.round(this.random() * (this.qpsRetryDelayMs / 2));
    // Repeated 429s back off further, in case other apps on the account are using the budget.
    const waitMs = Math.max(retryAfterMs ?? jitteredMs, computeBackoffMs(context.retriesUsed, this.backoff));
    this.limiter.pause(label, nowMs + waitMs, 'qps');
    if (context.retriesUsed >= this.config.maxRetries || waitMs > this.limiter.maxDailyWaitMs) {
      throw new ZoomApiError(
        'ZOOM_RATE_LIMITED',
        `${describe(details)}: rate limited by Zoom; ${context.retriesUsed >= this.config.maxRetries ? `gave up after ${attempt} attempts` : `Retry-After asks for ${formatDuration(waitMs)}`}`,
        { ...details, retryAfterMs: waitMs },
      );
    }
    const retriesUsed = context.retriesUsed + 1;
    this.counters.retries++;
    this.logger.warn(
      { endpoint, method, status, zoomCode, trackingId, attempt, delayMs: waitMs },
      `rate limited by Zoom (per-second limit); pausing ${label.toUpperCase()} calls for ${waitMs} ms, then retrying (retry ${retriesUsed} of ${this.config.maxRetries})`,
    );
    return retriesUsed;
  }

  private recordCall(event: ZoomCallEvent): void {
    let byStatus = this.counters.calls.get(event.endpoint);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.counters.calls.set(event.endpoint, byStatus);
    }
    const key = String(event.status);
    byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
    for (const observer of this.callObservers) {
      try {
        observer(event);
      } catch (err) {
        this.logger.error({ err, endpoint: event.endpoint }, 'a call observer threw; ignored');
      }
    }
  }

  /**
   * Also tells `observer` about every HTTP attempt from now on (besides `onCall`), until the
   * returned function is called. Observers run in the caller's async context, so one can attribute
   * the calls made inside an AsyncLocalStorage scope (see sync/call-accounting.ts).
   */
  observeCalls(observer: (event: ZoomCallEvent) => void): () => void {
    this.callObservers.add(observer);
    return () => this.callObservers.delete(observer);
  }

  private buildPath(path: string, query: Record<string, QueryValue> | undefined): string {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) search.append(key, String(value));
    }
    const queryString = search.toString();
    const relative = path.startsWith('/') ? path : `/${path}`;
    return `${this.basePath}${relative}${queryString === '' ? '' : `?${queryString}`}`;
  }
}

/** `…does not contain scopes:[a, b].` → `['a', 'b']`; empty when Zoom did not list them. */
export function parseMissingScopes(message: string | undefined): string[] {
  const match = /scopes\s*:\s*\[([^\]]*)\]/i.exec(message ?? '');
  if (!match?.[1]) return [];
  return match[1]
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function classifyClientError(details: ZoomErrorDetails, carriesPageToken: boolean): ZoomApiError {
  const { status, zoomCode } = details;
  if (status === 400 && zoomCode === ZOOM_CODE_INVALID_PARAMETER && carriesPageToken) {
    return new ZoomApiError('ZOOM_PAGE_TOKEN_EXPIRED', `${describe(details)}: the next_page_token expired or is invalid`, details);
  }
  if (status === 404) return new ZoomApiError('ZOOM_NOT_FOUND', describe(details), details);
  if (status === 403) return new ZoomApiError('ZOOM_FORBIDDEN', `${describe(details)}; check the Zoom app's permissions and the account's plan`, details);
  if (status !== undefined && status >= 400 && status < 500) return new ZoomApiError('ZOOM_BAD_REQUEST', describe(details), details);
  // 1xx/3xx: redirects are not followed, as that would carry the bearer token to another host.
  return new ZoomApiError('ZOOM_INVALID_RESPONSE', `${describe(details)}: unexpected HTTP status`, details);
}

/** `Zoom answered HTTP 404 (code 1001: User does not exist.) to GET report.chat.sessions, trackingId …` */
function describe(details: ZoomErrorDetails): string {
  const code = details.zoomCode === undefined ? '' : ` (code ${details.zoomCode}${details.zoomMessage ? `: ${details.zoomMessage}` : ''})`;
  return `Zoom answered HTTP ${details.status}${code} to ${details.method} ${details.endpoint}${trackingSuffix(details.trackingId)}`;
}

function trackingSuffix(trackingId: string | undefined): string {
  return trackingId === undefined ? '' : `, trackingId ${trackingId}`;
}

/** Parses a response body; a parser's error gains the endpoint and tracking id, which Zoom support asks for. */
export function parseResponseBody<P>(response: ZoomResponse, method: HttpMethod, endpoint: string, parse: (bodyText: string) => P): P {
  try {
    return parse(response.bodyText);
  } catch (err) {
    if (!(err instanceof ArchiverError)) throw err;
    throw new ZoomApiError(
      err.code,
      `${err.message} (${method} ${endpoint}${response.trackingId === undefined ? '' : `, trackingId ${response.trackingId}`})`,
      { endpoint, method, status: response.status, trackingId: response.trackingId },
      { cause: err },
    );
  }
}
