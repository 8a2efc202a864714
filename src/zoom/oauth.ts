import type { Dispatcher } from 'undici';
import type { ZoomCredentials } from '../config/config.js';
import { ZoomApiError, type ErrorCode, type ZoomErrorDetails, AbortError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { systemClock, type Clock } from '../util/clock.js';
import { abortErrorFor, raceWithAbort, sleepOrAbort } from './abort.js';
import { computeRetryDelayMs, parseRetryAfter, type BackoffOptions } from './backoff.js';
import { headerValue, networkErrorCode, readBodyBounded, readErrorBodyText, unreachableCause } from './http-transport.js';

/**
 * Server-to-Server OAuth: one cached access token per provider, fetched single-flight and renewed
 * shortly before it expires. Zoom has in the past revoked the previous token when it issued a new
 * one, so two requests racing for a token must never both fetch one: they share one fetch, and
 * `invalidate` only drops a token that is still the current one, so N concurrent 401s for the same
 * stale token cause one refresh, not N.
 */

export const TOKEN_ENDPOINT = 'oauth.token';
const TOKEN_BODY_MAX_BYTES = 64 * 1024;
const DEFAULT_RENEW_BEFORE_EXPIRY_MS = 60_000;
/** Zoom issues one-hour tokens; used only when a response leaves `expires_in` out. */
const FALLBACK_EXPIRES_IN_SECONDS = 3600;

export interface OAuthTokenProviderOptions {
  tokenUrl: string;
  credentials: ZoomCredentials;
  dispatcher: Dispatcher;
  logger: Logger;
  clock?: Clock;
  requestTimeoutMs: number;
  /** Retries after the first attempt, for 429, 5xx and network errors only. */
  maxRetries: number;
  backoff?: BackoffOptions;
  /** Renew this long before `expires_in` runs out. Default 60 s. */
  renewBeforeExpiryMs?: number;
}

interface CachedToken {
  value: string;
  /**
   * Wall-clock epoch ms after which the token is renewed: `renewBeforeExpiryMs` before it expires,
   * counting its life from when the request was sent (the conservative end).
   */
  renewAtMs: number;
}

export interface TokenStats {
  /** Token fetches started (one per single-flight group). */
  tokenFetches: number;
  /** HTTP attempts against the token endpoint, retries included. */
  tokenRequests: number;
}

type AttemptResult =
  | { kind: 'token'; token: CachedToken }
  | { kind: 'retry'; reason: string; status: number | 'network'; retryAfterMs: number | undefined; error: ZoomApiError };

export class OAuthTokenProvider {
  private readonly options: OAuthTokenProviderOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly tokenUrl: URL;
  private readonly renewBeforeExpiryMs: number;
  /** Aborts a fetch in flight when the provider is closed; callers' signals only stop their own wait. */
  private readonly closing = new AbortController();
  private current: CachedToken | undefined;
  private inflight: Promise<CachedToken> | undefined;
  private readonly counters: TokenStats = { tokenFetches: 0, tokenRequests: 0 };

  constructor(options: OAuthTokenProviderOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.tokenUrl = new URL(options.tokenUrl);
    this.renewBeforeExpiryMs = options.renewBeforeExpiryMs ?? DEFAULT_RENEW_BEFORE_EXPIRY_MS;
  }

  /** A valid access token, from the cache or from one fetch shared by every concurrent caller. */
  async getToken(signal?: AbortSignal): Promise<string> {
    if (signal?.aborted) throw abortErrorFor(signal);
    const cached = this.current;
    if (cached && this.isFresh(cached)) return cached.value;
    if (this.inflight === undefined) {
      this.counters.tokenFetches++;
      const flight = (async () => {
        try {
          const token = await this.fetchWithRetry();
          this.current = token;
          return token;
        } finally {
          this.inflight = undefined;
        }
      })();
      this.inflight = flight;
    }
    const token = await raceWithAbort(this.inflight, signal);
    return token.value;
  }

  /** Drops `token` if it is still the cached one (Zoom rejected it); a newer token is kept. */
  invalidate(token: string): void {
    if (this.current?.value === token) this.current = undefined;
  }

  stats(): TokenStats {
    return { ...this.counters };
  }

  /** Stops a fetch in flight; later calls fail. */
  close(): void {
    this.closing.abort(new AbortError('token provider closed'));
  }

  private isFresh(token: CachedToken): boolean {
    return this.clock.now().getTime() < token.renewAtMs;
  }

  private async fetchWithRetry(): Promise<CachedToken> {
    const { maxRetries } = this.options;
    for (let retryIndex = 0; ; retryIndex++) {
      const result = await this.attempt();
      if (result.kind === 'token') return result.token;
      if (retryIndex >= maxRetries) throw result.error;
      const delayMs = computeRetryDelayMs(retryIndex, result.retryAfterMs, this.options.backoff);
      this.logger.warn(
        { endpoint: TOKEN_ENDPOINT, status: result.status, trackingId: result.error.trackingId, attempt: retryIndex + 1, delayMs },
        `access token request failed (${result.reason}); retrying in ${delayMs} ms`,
      );
      await sleepOrAbort(delayMs, this.closing.signal);
    }
  }

  private async attempt(): Promise<AttemptResult> {
    const { credentials, requestTimeoutMs } = this.options;
    const basic = Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`, 'utf8').toString('base64');
    // The grant goes in the form body: Zoom has been seen to reject it in the query string.
    const form = new URLSearchParams({ grant_type: 'account_credentials', account_id: credentials.accountId }).toString();
    this.counters.tokenRequests++;
    const requestedAtMs = this.clock.now().getTime();
    let response: Dispatcher.ResponseData;
    try {
      response = await this.options.dispatcher.request({
        origin: this.tokenUrl.origin,
        path: `${this.tokenUrl.pathname}${this.tokenUrl.search}`,
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form,
        headersTimeout: requestTimeoutMs,
        bodyTimeout: requestTimeoutMs,
        signal: this.closing.signal,
      });
    } catch (err) {
      if (this.closing.signal.aborted) throw abortErrorFor(this.closing.signal);
      // Replaying a token request is harmless: it creates nothing but a fresh token.
      return this.networkFailure(err);
    }

    const details: ZoomErrorDetails = {
      endpoint: TOKEN_ENDPOINT,
      method: 'POST',
      status: response.statusCode,
      trackingId: headerValue(response.headers, 'x-zm-trackingid'),
    };
    const status = response.statusCode;

    if (status >= 200 && status < 300) {
      let text: string;
      try {
        const body = await readBodyBounded(response.body, TOKEN_BODY_MAX_BYTES, response.headers);
        if (body.kind === 'too-large') {
          throw new ZoomApiError('ZOOM_INVALID_RESPONSE', `the access token response is larger than ${TOKEN_BODY_MAX_BYTES} bytes`, details);
        }
        text = body.bytes.toString('utf8');
      } catch (err) {
        if (err instanceof ZoomApiError) throw err;
        if (this.closing.signal.aborted) throw abortErrorFor(this.closing.signal);
        return this.networkFailure(err);
      }
      return { kind: 'token', token: this.parseToken(text, requestedAtMs, details) };
    }

    const bodyText = await readErrorBodyText(response.body, TOKEN_BODY_MAX_BYTES);
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'], this.clock.now().getTime());
    if (status === 429 || status >= 500) {
      const code: ErrorCode = status === 429 ? 'ZOOM_RATE_LIMITED' : 'ZOOM_SERVER_ERROR';
      return {
        kind: 'retry',
        reason: `HTTP ${status}`,
        status,
        retryAfterMs,
        error: new ZoomApiError(code, `the Zoom token endpoint kept answering HTTP ${status}; no access token could be obtained`, { ...details, retryAfterMs }),
      };
    }
    throw this.authError(bodyText, details);
  }

  private networkFailure(err: unknown): AttemptResult {
    const unreachable = unreachableCause(err);
    if (unreachable !== undefined) {
      // One attempt, one error: a host that does not resolve or refuses connections will not
      // answer the second time either, and every caller after this one would wait the same minute.
      throw new ZoomApiError(
        'ZOOM_UNREACHABLE',
        `cannot reach the Zoom token endpoint ${this.tokenUrl.href}: ${unreachable}; check ZOOM_OAUTH_TOKEN_URL and this machine's network (DNS, proxy, firewall)`,
        { endpoint: TOKEN_ENDPOINT, method: 'POST' },
        { cause: err },
      );
    }
    const code = networkErrorCode(err) ?? 'unknown network error';
    return {
      kind: 'retry',
      reason: code,
      status: 'network',
      retryAfterMs: undefined,
      error: new ZoomApiError('ZOOM_NETWORK_ERROR', `could not reach the Zoom token endpoint ${this.tokenUrl.origin} (${code})`, { endpoint: TOKEN_ENDPOINT, method: 'POST' }, { cause: err }),
    };
  }

  private parseToken(text: string, requestedAtMs: number, details: ZoomErrorDetails): CachedToken {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new ZoomApiError('ZOOM_INVALID_RESPONSE', 'the access token response is not JSON', details, { cause: err });
    }
    const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const value = record['access_token'];
    if (typeof value !== 'string' || value === '') {
      throw new ZoomApiError('ZOOM_INVALID_RESPONSE', 'the access token response has no access_token', details);
    }
    const expiresIn = Number(record['expires_in']);
    let expiresInSeconds = expiresIn;
    if (!Number.isFinite(expiresIn) || expiresIn <= 0) {
      this.logger.warn({ endpoint: TOKEN_ENDPOINT }, `access token response has no usable expires_in; assuming ${FALLBACK_EXPIRES_IN_SECONDS} s (a 401 will renew it sooner)`);
      expiresInSeconds = FALLBACK_EXPIRES_IN_SECONDS;
    }
    // A token that lives shorter than twice the renewal margin is renewed at half its life instead
    // of on every call.
    const lifetimeMs = expiresInSeconds * 1000;
    const renewMarginMs = Math.min(this.renewBeforeExpiryMs, lifetimeMs / 2);
    this.logger.debug({ endpoint: TOKEN_ENDPOINT, expiresInSeconds }, 'obtained a Zoom access token');
    return { value, renewAtMs: requestedAtMs + lifetimeMs - renewMarginMs };
  }

  private authError(bodyText: string, details: ZoomErrorDetails): ZoomApiError {
    let reason: string | undefined;
    let error: string | undefined;
    let zoomCode: number | undefined;
    try {
      const body = JSON.parse(bodyText) as Record<string, unknown>;
      if (typeof body['reason'] === 'string') reason = body['reason'];
      if (typeof body['error'] === 'string') error = body['error'];
      if (typeof body['code'] === 'number') zoomCode = body['code'];
      if (reason === undefined && typeof body['message'] === 'string') reason = body['message'];
    } catch {
      // Not JSON: the status is all we have.
    }
    const hint =
      error === 'invalid_client'
        ? 'check ZOOM_CLIENT_ID / ZOOM_CLIENT_SECRET'
        : error === 'invalid_grant'
          ? 'check ZOOM_ACCOUNT_ID'
          : error === 'unsupported_grant_type'
            ? 'the app must be a Server-to-Server OAuth app (grant type account_credentials)'
            : 'check ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, and that the app is activated';
    const said = [error, reason].filter((s): s is string => s !== undefined).join(': ');
    return new ZoomApiError(
      'ZOOM_AUTH_FAILED',
      `Zoom refused to issue an access token (HTTP ${details.status}${said ? `, ${said}` : ''}); ${hint}`,
      { ...details, zoomCode, zoomMessage: reason ?? error },
    );
  }
}
