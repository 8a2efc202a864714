import { ArchiverError, InputError, ZoomApiError } from '../errors.js';
import { isDatabaseConnectionError } from '../util/failure.js';

/**
 * What the HTTP API answers when something goes wrong: a status and a body
 * `{ "error": { "code", "message", "parameter"? , "request_id" } }`. Codes are stable strings that
 * clients branch on. Messages are written for the person reading them and never carry a stack
 * trace, SQL, a file path outside the archive's own terms, or a database URL.
 */

export type ApiErrorCode =
  | 'INPUT_INVALID'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'CONFLICT'
  | 'GONE'
  | 'PAYLOAD_TOO_LARGE'
  | 'URI_TOO_LONG'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RANGE_NOT_SATISFIABLE'
  | 'TOO_MANY_EXPORTS'
  | 'QUERY_TIMEOUT'
  | 'SERVICE_UNAVAILABLE'
  | 'UPSTREAM_ERROR'
  | 'INTERNAL';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode | string,
    message: string,
    readonly parameter?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string; parameter?: string; request_id?: string };
}

export function badRequest(message: string, parameter?: string): ApiError {
  return new ApiError(400, 'INPUT_INVALID', message, parameter);
}

export function notFound(message: string): ApiError {
  return new ApiError(404, 'NOT_FOUND', message);
}

/** PostgreSQL SQLSTATEs we answer specifically. */
const QUERY_CANCELED = '57014';
const CONNECTION_CLASS = /^08/;
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/**
 * A date/time the database cannot hold (field overflow, invalid format): only ever from a value the
 * request carried, as stored values were valid when written. Validation refuses them first; this is
 * the backstop that keeps a missed case a 400 instead of a 500 with a stack trace.
 */
const BAD_DATETIME_STATES = new Set(['22007', '22008']);
/** How long a client should wait before retrying while the database is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;
const UNAVAILABLE_MESSAGE = 'the database is unavailable; try again shortly';

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

/**
 * Maps any error to a status and a safe body. `internal` is true when the error was not expected
 * and must be logged in full (the client only gets the request id to quote).
 */
export function toErrorResponse(err: unknown, requestId: string): { status: number; body: ErrorBody; headers: Record<string, string>; internal: boolean } {
  const wrap = (status: number, code: string, message: string, parameter?: string, headers: Record<string, string> = {}, internal = false) => ({
    status,
    headers,
    internal,
    body: { error: { code, message, ...(parameter !== undefined ? { parameter } : {}), request_id: requestId } },
  });
  if (err instanceof ApiError) return wrap(err.status, err.code, err.message, err.parameter, err.headers);
  if (err instanceof InputError) return wrap(400, 'INPUT_INVALID', err.message, err.field);
  if (err instanceof ZoomApiError) {
    // A legal-hold change Zoom refused or could not answer: Zoom's answer, in the module's words.
    const status = err.code === 'ZOOM_NOT_FOUND' ? 404 : err.code === 'ZOOM_BAD_REQUEST' ? 400 : 502;
    return wrap(status, err.code, err.message);
  }
  const unavailable = () => wrap(503, 'SERVICE_UNAVAILABLE', UNAVAILABLE_MESSAGE, undefined, { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) });
  if (err instanceof ArchiverError && err.code === 'DATABASE_UNAVAILABLE') return unavailable();

  const e = (err ?? {}) as FastifyLikeError;
  const code = typeof e.code === 'string' ? e.code : '';
  if (code === QUERY_CANCELED) return wrap(503, 'QUERY_TIMEOUT', 'the query took too long and was cancelled; narrow it (a shorter time range, a sender or a session)', undefined, { 'Retry-After': '1' });
  if (CONNECTION_CLASS.test(code) || UNAVAILABLE_STATES.has(code) || isDatabaseConnectionError(err) || isNetworkFailure(err)) return unavailable();
  if (BAD_DATETIME_STATES.has(code)) return wrap(400, 'INPUT_INVALID', 'a date or time in the request is outside what the archive can hold (a real calendar date, years 0001–9999)');
  // Fastify's own errors before a route runs (frameworkErrors: a malformed or overlong URL).
  if (code === 'FST_ERR_BAD_URL') return wrap(400, 'INPUT_INVALID', 'the URL is not valid: a part of its path is not correctly percent-encoded UTF-8', 'path');
  if (code === 'FST_ERR_MAX_PARAM_LENGTH') return wrap(414, 'URI_TOO_LONG', 'a part of the URL path is longer than this API accepts (500 characters)', 'path');
  // Fastify's own request errors (body parsing, limits, content type).
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return wrap(413, 'PAYLOAD_TOO_LARGE', 'the request body is larger than this server accepts (HTTP_MAX_BODY_BYTES)');
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return wrap(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the request body as application/json');
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return wrap(400, 'INPUT_INVALID', 'the request body is empty; send a JSON object', 'body');
  if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return wrap(400, 'INPUT_INVALID', 'the Content-Length header does not match the body', 'body');
  if (code.startsWith('FST_ERR_CTP') || (err instanceof SyntaxError && typeof e.statusCode === 'number' && e.statusCode === 400)) {
    return wrap(400, 'INPUT_INVALID', 'the request body is not valid JSON', 'body');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return wrap(e.statusCode, 'INPUT_INVALID', 'the request could not be understood');
  }
  return wrap(500, 'INTERNAL', `internal error; the service log has the details under request id ${requestId}`, undefined, {}, true);
}

/** Connecting failed below PostgreSQL's protocol (refused, no route, unknown host), also as an AggregateError of attempts. */
function isNetworkFailure(err: unknown): boolean {
  const codes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && codes.has(code)) return true;
  if (err instanceof AggregateError) return err.errors.some((inner) => isNetworkFailure(inner));
  return false;
}

/**
 * The answer to a request Node's HTTP parser refused before fastify saw it (bytes that are not
 * HTTP, a header section too large, a request that took too long): the same body shape as every
 * other error, with a request id of its own, and nothing of what was sent echoed back.
 */
export function clientErrorResponse(err: { code?: unknown }, requestId: string): { status: number; body: ErrorBody } {
  const code = typeof err.code === 'string' ? err.code : '';
  const [status, apiCode, message] =
    code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', 'the request was not received completely in time']
      : code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', 'the request headers are larger than this server accepts']
        : [400, 'INPUT_INVALID', 'the request is not valid HTTP (a malformed request line, URL or header)'];
  return { status, body: { error: { code: apiCode, message, request_id: requestId } } };
}
