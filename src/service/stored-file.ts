import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { resolveInDataDir } from '../files/index.js';
import { findStoredContent } from '../read-model/chat-files.js';
import { auditRead, type ApiContext } from './api-context.js';
import { ApiError, notFound } from './http-errors.js';
import { decideRange } from './range-request.js';

/**
 * A captured file's content by its SHA-256, for the API (`GET /v1/files/{sha256}/content`) and the
 * review console (`/ui/files/{sha256}`): checked against its recorded size before a byte goes out,
 * one byte range per request (If-Range with the ETag), every download written to the audit log.
 * The caller has checked the role (exporter).
 */
export async function sendStoredFile(ctx: ApiContext, request: FastifyRequest, reply: FastifyReply, sha256: string, via?: 'console'): Promise<FastifyReply> {
  const content = await findStoredContent(ctx.pool, sha256);
  if (!content) throw notFound(`no stored file with SHA-256 ${sha256}`);
  const file = resolveInDataDir(ctx.config.dataDir, content.storedPath);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new ApiError(410, 'GONE', `the stored file ${content.storedPath} is missing from disk; an operator should run \`zoom-chat-archiver files verify\``);
  if (info.size !== content.bytes) {
    ctx.logger.error({ sha256, recordedBytes: content.bytes, actualBytes: info.size }, 'stored file does not match its recorded size; refusing to serve it');
    throw new ApiError(500, 'INTERNAL', `the stored file ${content.storedPath} does not match what was recorded; an operator should run \`zoom-chat-archiver files verify\``);
  }
  const etag = `"sha256-${sha256}"`;
  const ifRange = request.headers['if-range'];
  const range = decideRange(request.headers.range, info.size, { header: Array.isArray(ifRange) ? ifRange[0] : ifRange, etag });
  if (range.kind === 'unsatisfiable') {
    throw new ApiError(416, 'RANGE_NOT_SATISFIABLE', `the requested range is outside the file (${info.size} bytes)`, 'Range', { 'Content-Range': `bytes */${info.size}`, 'Accept-Ranges': 'bytes' });
  }
  if (request.method !== 'HEAD') {
    await auditRead(ctx.pool, request, {
      action: 'api.files.download',
      subjectType: 'file_content',
      subjectId: sha256,
      parameters: { range: range.kind === 'partial' ? `bytes=${range.start}-${range.end}` : 'all', bytes: content.bytes, ...(via ? { via } : {}) },
    });
  }
  const name = (content.fileNames[0] ?? sha256).replace(/[^\x20-\x7e]|["\\]/g, '_');
  reply.header('Accept-Ranges', 'bytes');
  reply.header('ETag', etag);
  reply.header('X-Content-SHA256', sha256);
  reply.header('Repr-Digest', `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`);
  reply.header('Content-Type', 'application/octet-stream');
  reply.header('Content-Disposition', `attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(content.fileNames[0] ?? sha256)}`);
  if (range.kind === 'partial') {
    reply.code(206);
    reply.header('Content-Range', `bytes ${range.start}-${range.end}/${info.size}`);
    reply.header('Content-Length', String(range.end - range.start + 1));
    return reply.send(createReadStream(file, { start: range.start, end: range.end }));
  }
  reply.header('Content-Length', String(info.size));
  return reply.send(createReadStream(file));
}
