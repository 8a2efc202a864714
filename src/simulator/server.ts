/**
 * The Zoom API simulator's HTTP server: OAuth, the rate limiter with Zoom's headers and error bodies,
 * fault injection, clock control and dispatch to the route modules. Over 400 lines because the
 * cross-cutting behaviour every route shares (limits, faults, error shapes) must be applied in one
 * order in one place; the routes themselves are in *-routes.ts.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ManualClock, sleep, systemClock, type Clock } from '../util/clock.js';
import { utcToday } from '../util/dates.js';
import { chatMessageRoutes, handleChatMessageControl, SimChatMessages } from './chat-message-routes.js';
import { handleControlRequest } from './control-routes.js';
import type { SimDataset } from './dataset.js';
import { FaultInjector, type Fault, type FaultController } from './faults.js';
import { CHAT_FILE_ENDPOINTS, SimFiles, fileRoutes, type SimFilesOptions } from './file-routes.js';
import { handleLegalHoldControl, legalHoldRoutes } from './legal-hold-routes.js';
import { SimLegalHold, type SimLegalHoldOptions } from './legal-hold-state.js';
import { writeStreamedBody } from './legal-hold-zip.js';
import { AccessTokenStore, EXPIRED_TOKEN_MESSAGE, SIM_CREDENTIALS, authorise, bearerToken, handleTokenRequest, type SimCredentials } from './oauth.js';
import { PAGE_TOKEN_INVALID_MESSAGE, PageTokenStore } from './page-tokens.js';
import { RateLimiter, rateLimitedResponse, type RateLimits } from './rate-limits.js';
import { reportRoutes } from './report-routes.js';
import type { SessionListingMode } from './report-selection.js';
import { RouteTable, zoomError, type RouteContext, type RouteDefinition, type RouteModule, type SimResponse } from './route-table.js';
import { StatsRecorder, type Outcome, type SimulatorStats } from './stats.js';

/**
 * The Zoom API simulator: a real HTTP server on 127.0.0.1 serving `POST /oauth/token` and the `/v2`
 * routes of every route module, with Zoom's authentication, rate limits, paging and error shapes,
 * plus scripted faults. Every request goes through the same pipeline:
 *
 *   route → fault (if one matches) → authenticate → rate limit → handler → latency → write
 *
 * Faults come first because real failures (gateways, resets) happen before Zoom looks at the request.
 */

export const OAUTH_ENDPOINT = 'oauth.token';
/** Route families served by default. */
export const DEFAULT_ROUTE_MODULES: readonly RouteModule[] = [reportRoutes, legalHoldRoutes, chatMessageRoutes];

const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3599;
const DEFAULT_PAGE_TOKEN_TTL_MS = 15 * 60_000;
const MAX_REQUEST_BODY_BYTES = 1024 * 1024;
const HUGE_BODY_CHUNK_BYTES = 64 * 1024;
const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

export interface SimulatorOptions {
  dataset: SimDataset;
  /** Default 0: a free port. The host is always 127.0.0.1. */
  port?: number;
  /**
   * Drives "today", token and page-token expiry, rate windows, and what the account shows (as of):
   * a dataset generated with a later `now` shows its activity day by day as the clock moves. A
   * ManualClock can also be moved through `POST /__sim/clock`.
   */
  clock?: Clock;
  credentials?: SimCredentials;
  /** Default: every scope the served routes accept. */
  grantedScopes?: string[];
  accessTokenTtlSeconds?: number;
  /** Default true: a new token invalidates the previous ones, as Zoom has done. */
  invalidatePreviousTokens?: boolean;
  pageTokenTtlMs?: number;
  /** Requests per second per label (RESOURCE-INTENSIVE too); null or absent = unlimited. */
  rateLimits?: RateLimits | null;
  /** Daily cap shared by HEAVY and RESOURCE-INTENSIVE calls; null = none. */
  dailyLimit?: number | null;
  /** Added to every OAuth and API response. */
  latencyMs?: number;
  sessionListing?: SessionListingMode;
  modificationsPaging?: 'first-page' | 'every-page';
  /** Seeds chaos mode when its options give no seed. */
  seed?: number;
  /** Keep a log of every request in the stats (off by default: benchmarks make millions). */
  recordRequests?: boolean;
  /** More route families (tests, future modules), served after the default ones. */
  extraRouteModules?: readonly RouteModule[];
  /**
   * Serve the dataset's files: "Get file info", and content at `download_url`s that point at this
   * simulator (the dataset's `fileBaseUrl` is set to it). Off: URLs point at a host that never resolves.
   */
  serveFiles?: boolean | SimFilesOptions;
  /** Legal-hold matters to start with, when their files become ready, zip sizes, quirks (see legal-hold-state.ts). */
  legalHold?: SimLegalHoldOptions;
}

export interface RunningSimulator {
  baseUrl: string;
  /** `${baseUrl}/v2`: what ZOOM_API_BASE_URL points at. */
  apiBaseUrl: string;
  /** `${baseUrl}/oauth/token`: what ZOOM_OAUTH_TOKEN_URL points at. */
  tokenUrl: string;
  credentials: SimCredentials;
  faults: FaultController;
  /** The account's legal-hold matters: change them behind the archiver's back (delete, rename, ready, corrupt). */
  legalHold: SimLegalHold;
  /** Chat messages posted through the API (the archiver's alerts), as sent. */
  chatMessages: SimChatMessages;
  /** The account's shared files: delete them, give two ids the same content, add quirks. */
  files: SimFiles;
  stats(): SimulatorStats;
  resetStats(): void;
  /** Closes the server and destroys every open connection; safe to call twice. */
  close(): Promise<void>;
}

function requireNonNegative(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw new RangeError(`simulator option ${name} must be a number >= 0 (got ${value})`);
}

function requirePositive(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new RangeError(`simulator option ${name} must be a number > 0 (got ${value})`);
}

class RequestBodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_REQUEST_BODY_BYTES) throw new RequestBodyTooLarge();
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

interface Resolved {
  endpoint: string;
  route: RouteDefinition | null;
  params: Record<string, string>;
  /** A response decided by routing alone (404, 405). */
  early: SimResponse | null;
}

export async function startZoomSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  requireNonNegative('latencyMs', options.latencyMs);
  requirePositive('accessTokenTtlSeconds', options.accessTokenTtlSeconds);
  requirePositive('pageTokenTtlMs', options.pageTokenTtlMs);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`simulator option port must be 0..65535 (got ${port})`);

  const clock = options.clock ?? systemClock;
  const credentials = options.credentials ?? { ...SIM_CREDENTIALS };
  const latencyMs = options.latencyMs ?? 0;
  const pageTokens = new PageTokenStore(clock, options.pageTokenTtlMs ?? DEFAULT_PAGE_TOKEN_TTL_MS);
  const legalHold = new SimLegalHold(options.dataset, clock, options.legalHold);
  const chatMessages = new SimChatMessages(options.dataset);
  const context: RouteContext = {
    dataset: options.dataset,
    clock,
    pageTokens,
    sessionListing: options.sessionListing ?? 'every-active-window',
    modificationsPaging: options.modificationsPaging ?? 'first-page',
    legalHold,
    chatMessages,
  };
  const files = new SimFiles(options.dataset, clock, typeof options.serveFiles === 'object' ? options.serveFiles : {});
  const serveFiles = options.serveFiles !== undefined && options.serveFiles !== false;
  let apiUrl = '';
  const fileModules = serveFiles ? [fileRoutes(files, () => apiUrl)] : [];
  const table = new RouteTable([...DEFAULT_ROUTE_MODULES, ...fileModules, ...(options.extraRouteModules ?? [])].flatMap((module) => module(context)));
  const grantedScopes = options.grantedScopes ?? table.allScopes();
  const accessTokens = new AccessTokenStore(clock, options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS, options.invalidatePreviousTokens ?? true);
  const limiter = new RateLimiter(clock, options.rateLimits ?? null, options.dailyLimit ?? null);
  const faults = new FaultInjector(options.seed ?? 1);
  const recorder = new StatsRecorder(options.recordRequests ?? false);
  const lifetime = new AbortController();
  const sockets = new Set<Socket>();
  let trackingSeq = 0;

  const stats = (): SimulatorStats =>
    recorder.snapshot({ accessTokensIssued: accessTokens.issued, pageTokensIssued: pageTokens.issued, pageTokensRejected: pageTokens.rejected });
  const resetStats = (): void => {
    recorder.reset();
    accessTokens.issued = 0;
    pageTokens.issued = 0;
    pageTokens.rejected = 0;
  };

  function resolve(method: string, pathname: string): Resolved {
    if (pathname === '/oauth/token') return { endpoint: OAUTH_ENDPOINT, route: null, params: {}, early: null };
    if (serveFiles && pathname.startsWith('/file/download/')) {
      const fileId = decodeSegment(pathname.slice('/file/download/'.length));
      if (method !== 'GET') return { endpoint: CHAT_FILE_ENDPOINTS.download, route: null, params: { fileId }, early: { ...zoomError(405, 405, `Method ${method} not allowed.`), headers: { Allow: 'GET' } } };
      return { endpoint: CHAT_FILE_ENDPOINTS.download, route: null, params: { fileId }, early: null };
    }
    if (pathname.startsWith('/v2/')) {
      const match = table.match(method, pathname.slice(3));
      if (match.kind === 'found') return { endpoint: match.route.endpoint, route: match.route, params: match.params, early: null };
      if (match.kind === 'method-not-allowed') {
        return { endpoint: 'unknown', route: null, params: {}, early: { ...zoomError(405, 405, `Method ${method} not allowed.`), headers: { Allow: match.allowed.join(', ') } } };
      }
    }
    return { endpoint: 'unknown', route: null, params: {}, early: zoomError(404, 404, `No such API path: ${pathname}`) };
  }

  /** The response of a request no fault replaced: OAuth, or authenticate → rate limit → handler. */
  async function respond(req: IncomingMessage, url: URL, resolved: Resolved, body: Buffer, nowMs: number): Promise<SimResponse> {
    if (resolved.early) return resolved.early;
    if (resolved.endpoint === OAUTH_ENDPOINT) {
      return handleTokenRequest(req.method ?? 'GET', req.headers, body, { credentials, grantedScopes, apiUrl }, accessTokens);
    }
    if (resolved.endpoint === CHAT_FILE_ENDPOINTS.download) return files.handleDownload(resolved.params['fileId'] ?? '', url.searchParams, req.headers, accessTokens, nowMs);
    const route = resolved.route;
    if (!route) return zoomError(404, 404, `No such API path: ${url.pathname}`);
    const denied = authorise(req.headers, accessTokens, route.scopes);
    if (denied) return denied;
    const budget = limiter.take(route.rateLabel);
    if (!budget.allowed) {
      recorder.countPaced(budget.type);
      return budget.response;
    }
    const result = await route.handle({
      method: route.method,
      path: url.pathname.slice(3),
      params: resolved.params,
      query: url.searchParams,
      headers: req.headers,
      body,
      nowMs,
      today: utcToday(new Date(nowMs)),
    });
    return { ...result, headers: { ...budget.headers, ...result.headers } };
  }

  /** A fault that replaces the response outright, or null when the request goes on (maybe delayed or mangled). */
  async function applyFault(fault: Fault, req: IncomingMessage, url: URL, resolved: Resolved, nowMs: number): Promise<SimResponse | null> {
    switch (fault.kind) {
      case 'status': {
        if (fault.body === undefined) return zoomError(fault.status, fault.status, `Simulated HTTP ${fault.status}.`);
        if (typeof fault.body === 'string') return { status: fault.status, body: fault.body, contentType: fault.contentType ?? 'text/plain;charset=UTF-8' };
        return { status: fault.status, body: JSON.stringify(fault.body), contentType: fault.contentType ?? JSON_CONTENT_TYPE };
      }
      case 'rate-limit': {
        recorder.countInjectedRateLimit();
        const label = resolved.route?.rateLabel ?? 'light';
        return rateLimitedResponse(fault.type, label, limiter.limitFor(label, fault.type), fault.retryAfter ?? 'seconds', nowMs);
      }
      case 'expire-page-token': {
        const token = url.searchParams.get('next_page_token');
        if (token) pageTokens.expire(token);
        return zoomError(400, 300, PAGE_TOKEN_INVALID_MESSAGE);
      }
      case 'expire-oauth-token': {
        const token = bearerToken(req.headers);
        if (token) accessTokens.expire(token);
        return zoomError(401, 124, EXPIRED_TOKEN_MESSAGE);
      }
      case 'slow':
        await sleep(fault.delayMs, lifetime.signal);
        return null;
      case 'reset':
      case 'reset-mid-body':
      case 'invalid-json':
      case 'huge-body':
        return null;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A client that hangs up mid-response is the client's business, never a simulator crash.
    res.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.setHeader('x-zm-trackingid', `v=2.0;clid=sim;rid=SIM_${(++trackingSeq).toString(36)}_${randomBytes(6).toString('hex')}`);
    const method = req.method ?? 'GET';
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      if (err instanceof RequestBodyTooLarge) await writeResponse(res, zoomError(413, 413, 'Request body too large.'), null);
      else res.destroy();
      return;
    }

    if (url.pathname === '/__sim/chat-messages' || url.pathname.startsWith('/__sim/chat-messages/')) {
      await writeResponse(res, handleChatMessageControl(chatMessages, method, url.pathname, body), null);
      return;
    }
    if (url.pathname.startsWith('/__sim/legal-hold/')) {
      await writeResponse(res, handleLegalHoldControl(legalHold, method, url.pathname, body), null);
      return;
    }
    if (url.pathname.startsWith('/__sim/')) {
      const target = {
        faults,
        stats,
        reset: () => {
          faults.clear();
          resetStats();
          limiter.reset();
        },
        clock,
        moveClock: clock instanceof ManualClock ? (toMs: number) => clock.set(toMs) : undefined,
      };
      await writeResponse(res, handleControlRequest(target, method, url.pathname, body), null);
      return;
    }

    const nowMs = clock.now().getTime();
    const resolved = resolve(method, url.pathname);
    const picked = resolved.early
      ? null
      : faults.take({ endpoint: resolved.endpoint, sessionId: resolved.params['sessionId'], query: url.searchParams, isApiCall: resolved.route !== null });
    const fault = picked?.fault ?? null;
    const log = (outcome: Outcome) =>
      recorder.record({
        atMs: nowMs,
        method,
        endpoint: resolved.endpoint,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        outcome,
        ...(fault ? { fault: fault.kind } : {}),
      });

    if (fault?.kind === 'reset') {
      log('reset');
      res.socket?.destroy();
      return;
    }
    let response = fault ? await applyFault(fault, req, url, resolved, nowMs) : null;
    response ??= await respond(req, url, resolved, body, nowMs);
    if (latencyMs > 0) await sleep(latencyMs, lifetime.signal);
    log(response.status);
    await writeResponse(res, response, fault);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (lifetime.signal.aborted) {
        res.destroy();
        return;
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      void writeResponse(res, zoomError(500, 500, `Simulator error: ${message}`), null);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${address.port}`;
  apiUrl = baseUrl;
  if (serveFiles) options.dataset.fileBaseUrl = baseUrl;

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolveClose) => {
      lifetime.abort(new Error('simulator closed'));
      server.close(() => resolveClose());
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
    });
    return closing;
  };

  return {
    baseUrl,
    apiBaseUrl: `${baseUrl}/v2`,
    tokenUrl: `${baseUrl}/oauth/token`,
    credentials,
    faults,
    legalHold,
    chatMessages,
    files,
    stats,
    resetStats,
    close,
  };
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Writes a response, mangled by a body fault when one applies. */
async function writeResponse(res: ServerResponse, response: SimResponse, fault: Fault | null): Promise<void> {
  const headers: Record<string, string> = { 'Content-Type': response.contentType ?? JSON_CONTENT_TYPE, ...response.headers };
  if (response.stream) {
    await writeStreamedBody(res, response.status, headers, response.stream, fault ?? (response.resetMidBody ? { kind: 'reset-mid-body' } : null));
    return;
  }
  const body = typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength);
  switch (fault?.kind) {
    case 'invalid-json': {
      // Any strict prefix of a JSON object is invalid JSON.
      const cut = body.subarray(0, Math.floor(body.length / 2));
      res.writeHead(response.status, { ...headers, 'Content-Length': String(cut.length) });
      res.end(cut);
      return;
    }
    case 'reset-mid-body': {
      res.writeHead(response.status, { ...headers, 'Content-Length': String(body.length) });
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
      return;
    }
    case 'huge-body':
      await writeHugeBody(res, response.status, headers, body, fault.bytes);
      return;
    default:
      res.writeHead(response.status, { ...headers, 'Content-Length': String(body.length) });
      res.end(body);
  }
}

/**
 * The real body with a leading `"zm_sim_padding":"aaa…"` key, so the result is still valid JSON of at
 * least `bytes` bytes; streamed in chunks with backpressure instead of built in memory.
 */
async function writeHugeBody(res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer, bytes: number): Promise<void> {
  const text = body.toString('utf8');
  const isObject = text.startsWith('{');
  const head = Buffer.from(isObject ? '{"zm_sim_padding":"' : '');
  const rest = text.slice(1).trim();
  const tail = Buffer.from(isObject ? (rest === '}' ? '"}' : `",${rest}`) : text);
  const padBytes = Math.max(0, bytes - head.length - tail.length);
  res.writeHead(status, { ...headers, 'Content-Length': String(head.length + padBytes + tail.length) });
  const chunk = Buffer.alloc(HUGE_BODY_CHUNK_BYTES, 'a');
  // One 'close' listener for the whole body; a client that hangs up ends the stream.
  const closed = once(res, 'close').then(
    () => false,
    () => false,
  );
  const write = async (buf: Buffer): Promise<boolean> => {
    if (res.destroyed) return false;
    if (res.write(buf)) return true;
    const drained = once(res, 'drain').then(
      () => true,
      () => false,
    );
    return (await Promise.race([drained, closed])) && !res.destroyed;
  };
  if (!(await write(head))) return;
  for (let left = padBytes; left > 0; left -= HUGE_BODY_CHUNK_BYTES) {
    if (!(await write(left >= HUGE_BODY_CHUNK_BYTES ? chunk : chunk.subarray(0, left)))) return;
  }
  res.end(tail);
}
