import type { RateLabel } from '../domain/zoom-endpoints.js';

/**
 * What a simulated response is, before it is written: the leaf every simulator module can import
 * (route table, rate limits, OAuth, faults, zips) without importing each other.
 */

export type { RateLabel };

/** A body too large to hold in memory (a legal-hold zip), streamed chunk by chunk. */
export interface StreamedBody {
  length: number;
  chunks(): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Send without Content-Length (chunked), as a server that does not know the size would. */
  chunked?: boolean;
}

/** A response before it is written, so faults can mangle it (truncate, pad, cut mid-body). */
export interface SimResponse {
  status: number;
  /** Text is sent as UTF-8; bytes (a legal-hold zip) as they are. */
  body: string | Uint8Array;
  /** A body too large to hold in memory (a legal-hold zip); when set, `body` is ignored. */
  stream?: StreamedBody;
  contentType?: string;
  headers?: Record<string, string>;
  /** Send the full Content-Length, half the body, then close the connection (a cut transfer). */
  resetMidBody?: boolean;
}

export function jsonResponse(status: number, body: unknown, headers?: Record<string, string>): SimResponse {
  return { status, body: JSON.stringify(body), ...(headers ? { headers } : {}) };
}

/** Zoom's error shape: `{code, message}`, with `errors` for field validation. */
export function zoomError(status: number, code: number, message: string, errors?: Array<{ field: string; message: string }>): SimResponse {
  return jsonResponse(status, errors && errors.length > 0 ? { code, message, errors } : { code, message });
}
