import type { Readable } from 'node:stream';

/**
 * Small helpers shared by the token provider and the API client for the raw HTTP exchange:
 * bounded body reads, strict UTF-8, header access and network-error classification.
 */

export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** First value of a response header (undici lower-cases names). */
export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export type BoundedBody = { kind: 'complete'; bytes: Buffer } | { kind: 'too-large'; declaredBytes: number | undefined };

/**
 * Reads a body fully unless it is bigger than `maxBytes`: a declared Content-Length over the limit is
 * refused before reading, and a body without one is cut off once it passes the limit. The stream is
 * destroyed in that case so the socket is not left holding unread data.
 */
export async function readBodyBounded(body: Readable, maxBytes: number, headers: ResponseHeaders): Promise<BoundedBody> {
  const declared = Number(headerValue(headers, 'content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    discard(body);
    return { kind: 'too-large', declaredBytes: declared };
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += buf.length;
    if (total > maxBytes) {
      discard(body);
      return { kind: 'too-large', declaredBytes: undefined };
    }
    chunks.push(buf);
  }
  return { kind: 'complete', bytes: Buffer.concat(chunks, total) };
}

/**
 * Drops an unread body and its connection. undici reports the destruction as an 'error' event,
 * which nobody else listens for once we have stopped reading.
 */
export function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

/**
 * Reads at most `maxBytes` of an error body for its `{code, message}`; anything longer (an HTML page
 * from a proxy, say) is cut. Errors while reading are swallowed: the status alone still classifies
 * the response.
 */
export async function readErrorBodyText(body: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(buf);
      total += buf.length;
      if (total >= maxBytes) {
        discard(body);
        break;
      }
    }
  } catch {
    // The status line already arrived; a truncated error body only costs us Zoom's code.
  }
  return Buffer.concat(chunks, total).subarray(0, maxBytes).toString('utf8');
}

/** Strict UTF-8: throws a TypeError on any invalid byte sequence instead of inserting U+FFFD. */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

/** The first `code` string found on an error or along its cause chain (undici, net, dns). */
export function networkErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Failures that happen before a connection exists, so the request cannot have reached the server.
 * Only these make it safe to send a non-idempotent request again.
 */
const NOTHING_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Failures that say the host cannot be reached at all — its name does not resolve, or it refuses
 * or cannot be routed to — rather than that one request went wrong. Retrying them for a minute per
 * call helps nobody: they are reported at once as ZOOM_UNREACHABLE, naming the URL and the cause.
 */
const UNREACHABLE_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'host name could not be resolved (DNS temporarily unavailable)',
  EAI_NONAME: 'host name not found (DNS)',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'network unreachable',
};

/** Why the host cannot be reached (`connection refused (ECONNREFUSED)`), or undefined for other failures. */
export function unreachableCause(err: unknown): string | undefined {
  const code = networkErrorCode(err);
  if (code !== undefined && code in UNREACHABLE_CODES) return `${UNREACHABLE_CODES[code]} (${code})`;
  // Node tries IPv4 and IPv6 addresses in turn and reports an AggregateError of the attempts.
  if (err instanceof AggregateError || (err as { errors?: unknown } | null)?.errors instanceof Array) {
    const causes = ((err as { errors: unknown[] }).errors ?? []).map(unreachableCause);
    if (causes.length > 0 && causes.every((c) => c !== undefined)) return causes[0];
  }
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== err ? unreachableCause(cause) : undefined;
}

export function provesNothingWasSent(err: unknown): boolean {
  const code = networkErrorCode(err);
  return code !== undefined && NOTHING_SENT_CODES.has(code);
}

/** A Zoom error body `{code, message}`; either part may be missing. */
export interface ZoomErrorBody {
  code: number | undefined;
  message: string | undefined;
}

export function parseZoomErrorBody(text: string): ZoomErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { code: undefined, message: undefined };
  }
  if (typeof parsed !== 'object' || parsed === null) return { code: undefined, message: undefined };
  const record = parsed as Record<string, unknown>;
  const rawCode = record['code'];
  const code =
    typeof rawCode === 'number' && Number.isInteger(rawCode)
      ? rawCode
      : typeof rawCode === 'string' && /^\d+$/.test(rawCode)
        ? Number(rawCode)
        : undefined;
  const message = typeof record['message'] === 'string' ? record['message'] : undefined;
  return { code, message };
}
