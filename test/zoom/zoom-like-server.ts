import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { ZoomConfig, ZoomCredentials } from '../../src/config/config.js';
import type { Logger } from '../../src/logging/logger.js';

/**
 * A tiny Zoom-shaped HTTP server for fault cases the real simulator cannot pin down precisely: each
 * request is answered by a script (status, headers, delay, a socket reset mid-body, …) and recorded
 * with the time it arrived. `POST /oauth/token` issues `token-1`, `token-2`, … unless scripted;
 * everything under `/v2` goes to the API script.
 */

export interface RecordedRequest {
  /** 0-based, per route (token and API requests are counted apart). */
  index: number;
  method: string;
  pathname: string;
  /** The raw request target as sent, query included. */
  url: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** `performance.now()` when the request head arrived. */
  receivedAtMs: number;
}

export interface Scripted {
  status?: number;
  headers?: Record<string, string | number>;
  json?: unknown;
  body?: string | Buffer;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Send the head (with the full Content-Length) and this many body bytes, then reset the socket. */
  resetAfterBodyBytes?: number;
  /** Reset the socket without answering at all. */
  resetWithoutResponse?: boolean;
  /** Omit Content-Length (chunked transfer encoding). */
  chunked?: boolean;
}

export type Handler = (req: RecordedRequest) => Scripted | Promise<Scripted>;

export interface ZoomLikeServer {
  apiBaseUrl: string;
  tokenUrl: string;
  port: number;
  apiRequests: RecordedRequest[];
  tokenRequests: RecordedRequest[];
  close(): Promise<void>;
}

export interface ZoomLikeServerOptions {
  api: Handler;
  token?: Handler;
  tokenExpiresInSeconds?: number;
}

export async function startZoomLikeServer(options: ZoomLikeServerOptions): Promise<ZoomLikeServer> {
  const apiRequests: RecordedRequest[] = [];
  const tokenRequests: RecordedRequest[] = [];
  const tokenHandler: Handler =
    options.token ?? ((req) => ({ json: tokenBody(`token-${req.index + 1}`, options.tokenExpiresInSeconds ?? 3599) }));

  const server = http.createServer((req, res) => {
    const receivedAtMs = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const isToken = url.pathname === '/oauth/token';
      const isApi = url.pathname.startsWith('/v2/');
      const list = isToken ? tokenRequests : apiRequests;
      const recorded: RecordedRequest = {
        index: list.length,
        method: req.method ?? '',
        pathname: url.pathname,
        url: req.url ?? '',
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAtMs,
      };
      if (!isToken && !isApi) {
        res.writeHead(404).end();
        return;
      }
      list.push(recorded);
      const handler = isToken ? tokenHandler : options.api;
      void Promise.resolve(handler(recorded)).then((script) => answer(req, res, script));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiBaseUrl: `http://127.0.0.1:${port}/v2`,
    tokenUrl: `http://127.0.0.1:${port}/oauth/token`,
    port,
    apiRequests,
    tokenRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, script: Scripted): Promise<void> {
  if (script.delayMs) await new Promise((r) => setTimeout(r, script.delayMs));
  if (res.destroyed) return;
  if (script.resetWithoutResponse) {
    req.socket.resetAndDestroy();
    return;
  }
  const body =
    script.body !== undefined
      ? Buffer.isBuffer(script.body)
        ? script.body
        : Buffer.from(script.body, 'utf8')
      : script.json !== undefined
        ? Buffer.from(JSON.stringify(script.json), 'utf8')
        : Buffer.alloc(0);
  const headers: Record<string, string | number> = { ...(script.headers ?? {}) };
  if (script.json !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  if (!script.chunked) headers['content-length'] = body.length;
  res.writeHead(script.status ?? 200, headers);
  if (script.resetAfterBodyBytes !== undefined) {
    res.write(body.subarray(0, script.resetAfterBodyBytes), () => {
      // Let the partial body reach the client before the reset.
      setTimeout(() => req.socket.resetAndDestroy(), 20);
    });
    return;
  }
  res.end(body);
}

export function tokenBody(accessToken: string, expiresInSeconds = 3599): Record<string, unknown> {
  return { access_token: accessToken, token_type: 'bearer', expires_in: expiresInSeconds, scope: 'report:read:admin', api_url: 'https://api.zoom.us' };
}

/** A handler answering the i-th request with `responses[i]`, repeating the last one afterwards. */
export function sequence(...responses: Scripted[]): Handler {
  return (req) => responses[Math.min(req.index, responses.length - 1)] ?? { status: 500 };
}

export function zoomError(status: number, code: number, message: string, headers: Record<string, string | number> = {}): Scripted {
  return { status, json: { code, message }, headers: { 'x-zm-trackingid': `track-${status}-${code}`, ...headers } };
}

export const TEST_CREDENTIALS: ZoomCredentials = { accountId: 'acct-123', clientId: 'client-abc', clientSecret: 's3cret' };

export function testZoomConfig(server: Pick<ZoomLikeServer, 'apiBaseUrl' | 'tokenUrl'>, overrides: Partial<ZoomConfig> = {}): ZoomConfig {
  return {
    accountId: TEST_CREDENTIALS.accountId,
    clientId: TEST_CREDENTIALS.clientId,
    clientSecret: TEST_CREDENTIALS.clientSecret,
    apiBaseUrl: server.apiBaseUrl,
    oauthTokenUrl: server.tokenUrl,
    plan: 'pro',
    rateShare: 0.5,
    // Fast enough that pacing stays out of the way unless a test asks for it.
    ratePerSecond: { light: 1000, medium: 1000, heavy: 1000, 'resource-intensive': 1000 },
    requestTimeoutMs: 2000,
    maxRetries: 3,
    maxResponseBytes: 1024 * 1024,
    ...overrides,
  };
}

/** A pino logger writing JSON lines into memory, with no redaction: tests check what is logged. */
export function captureLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void raw.push(line) });
  const text = () => raw.join('');
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
