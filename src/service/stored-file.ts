import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { resolveInDataDir } from '../files/index.js';
import { findStoredContent } from '../read-model/chat-files.js';
import { auditRead, type ApiContext } from './api-context.js';
import { ApiError, notFound } from './http-errors.js';
import { decideRange } from './range-request.js';
import { errorResponse, type ResponseContract } from './route-contract.js';

/**
 * Files the archive hands out over HTTP — export bundles and captured chat files, to the API and the
 * review console — through one path: the file must be on disk at its recorded size before a byte
 * goes out, one byte range per request (If-Range with the `"sha256-<hex>"` ETag), the SHA-256 in
 * `X-Content-SHA256` and `Repr-Digest`, and every download written to the audit log (a HEAD hands
 * nothing out and is not). The caller has checked the role.
 */

export interface CheckedFile {
  absolutePath: string;
  /** Size and SHA-256 recorded when the file was written. */
  bytes: number;
  sha256: string;
  contentType: string;
  downloadName: string;
  /** The error message when the file is not on disk (what to do about it included). */
  missing: string;
  /** The error message when the file on disk differs from the record. */
  changed: string;
  /** Writes the audit row of one download; `range` is `all` or `bytes=a-b`. */
  audit(range: string): Promise<void>;
}

export async function sendCheckedFile(ctx: ApiContext, request: FastifyRequest, reply: FastifyReply, f: CheckedFile): Promise<FastifyReply> {
  const info = await stat(f.absolutePath).catch(() => undefined);
  if (!info?.isFile()) throw new ApiError(410, 'GONE', f.missing);
  if (info.size !== f.bytes) {
    ctx.logger.error({ sha256: f.sha256, recordedBytes: f.bytes, actualBytes: info.size }, 'file on disk does not match its recorded size; refusing to serve it');
    throw new ApiError(500, 'INTERNAL', f.changed);
  }
  const etag = `"sha256-${f.sha256}"`;
  const ifRange = request.headers['if-range'];
  const range = decideRange(request.headers.range, info.size, { header: Array.isArray(ifRange) ? ifRange[0] : ifRange, etag });
  if (range.kind === 'unsatisfiable') {
    throw new ApiError(416, 'RANGE_NOT_SATISFIABLE', `the requested range is outside the file (${info.size} bytes)`, 'Range', { 'Content-Range': `bytes */${info.size}`, 'Accept-Ranges': 'bytes' });
  }
  if (request.method !== 'HEAD') await f.audit(range.kind === 'partial' ? `bytes=${range.start}-${range.end}` : 'all');
  reply.header('Accept-Ranges', 'bytes');
  reply.header('ETag', etag);
  reply.header('X-Content-SHA256', f.sha256);
  reply.header('Repr-Digest', `sha-256=:${Buffer.from(f.sha256, 'hex').toString('base64')}:`);
  reply.header('Content-Type', f.contentType);
  reply.header('Content-Disposition', `attachment; filename="${f.downloadName.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(f.downloadName)}`);
  if (range.kind === 'partial') {
    reply.code(206);
    reply.header('Content-Range', `bytes ${range.start}-${range.end}/${info.size}`);
    reply.header('Content-Length', String(range.end - range.start + 1));
    return reply.send(createReadStream(f.absolutePath, { start: range.start, end: range.end }));
  }
  reply.header('Content-Length', String(info.size));
  return reply.send(createReadStream(f.absolutePath));
}

/**
 * The answers a route that sends a CheckedFile documents: the whole file (200), one range of it
 * (206) or a range outside it (416), with the headers sendCheckedFile sets. `what` names the file
 * in the descriptions ("bundle", "file").
 */
export function checkedFileResponses(mediaType: string, what: string) {
  const bytes = (description: string, extraHeaders: ResponseContract['headers'] = {}): ResponseContract => ({
    description,
    content: { [mediaType]: { schema: z.string().meta({ contentMediaType: mediaType }) } },
    headers: {
      'X-Content-SHA256': { type: 'string', description: `SHA-256 of the whole ${what}, lower-case hex.` },
      'Repr-Digest': { type: 'string', description: `RFC 9530 digest of the whole ${what} (sha-256).` },
      ETag: { type: 'string', description: '"sha256-<hex>": use it in If-Range.' },
      'Accept-Ranges': { type: 'string', enum: ['bytes'] },
      ...extraHeaders,
    },
  });
  return {
    200: bytes(`The whole ${what}.`),
    206: bytes('The requested range.', { 'Content-Range': { type: 'string', description: 'bytes <first>-<last>/<size>' } }),
    416: errorResponse(`The range is outside the ${what} (\`Content-Range: bytes */size\`).`),
  };
}

/** An export's complete bundle as a CheckedFile (without its audit row, which says who asked how). */
export function bundleFile(exportId: string, absolutePath: string, record: { sha256: string; bytes: number }): Omit<CheckedFile, 'audit'> {
  return {
    absolutePath,
    bytes: record.bytes,
    sha256: record.sha256,
    contentType: 'application/zip',
    downloadName: path.basename(absolutePath),
    missing: `the bundle of export ${exportId} is no longer on disk; start a new export`,
    changed: `the bundle of export ${exportId} on disk does not match what was recorded; an operator should run \`zoom-chat-archiver export verify\``,
  };
}

/** A captured file's content by its SHA-256 (`GET /v1/files/{sha256}/content`, `/ui/files/{sha256}`). */
export async function sendStoredFile(ctx: ApiContext, request: FastifyRequest, reply: FastifyReply, sha256: string, via?: 'console'): Promise<FastifyReply> {
  const content = await findStoredContent(ctx.pool, sha256);
  if (!content) throw notFound(`no stored file with SHA-256 ${sha256}`);
  return sendCheckedFile(ctx, request, reply, {
    absolutePath: resolveInDataDir(ctx.config.dataDir, content.storedPath),
    bytes: content.bytes,
    sha256,
    contentType: 'application/octet-stream',
    downloadName: content.fileNames[0] ?? sha256,
    missing: `the stored file ${content.storedPath} is missing from disk; an operator should run \`zoom-chat-archiver files verify\``,
    changed: `the stored file ${content.storedPath} does not match what was recorded; an operator should run \`zoom-chat-archiver files verify\``,
    audit: (range) =>
      auditRead(ctx.pool, request, { action: 'api.files.download', subjectType: 'file_content', subjectId: sha256, parameters: { range, bytes: content.bytes, ...(via ? { via } : {}) } }),
  });
}
