import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CHAT_FILE_ENDPOINTS } from '../domain/zoom-endpoints.js';
import { sleep, type Clock } from '../util/clock.js';
import { MessageFlag, type SimDataset } from './dataset.js';
import { FILE_URL_TTL_MS, checkFileToken, signFileToken } from './file-tokens.js';
import { messageFiles } from './message-content.js';
import { authorise, type AccessTokenStore } from './oauth.js';
import { jsonResponse, zoomError, type RouteDefinition, type RouteModule, type RouteScopes, type SimResponse, type StreamedBody } from './route-table.js';

/**
 * Files shared in chat: "Get file info" (`GET /chat/files/{fileId}`, LIGHT, as the OpenAPI
 * reference describes it) and the content itself at `/file/download/{fileId}?filename=…&jwt=…`,
 * the shape of the `download_url`s in reports.
 *
 * - Content is deterministic and never held in memory: a 64 KiB block derived from the file's
 *   content key, repeated to the file's size. Two file ids share content when the handle says so
 *   (`sameContent`), as the same attachment shared twice does.
 * - Report URLs are signed at the message's send time and expire 24 hours later on the
 *   simulator's clock; "Get file info" hands out a fresh one. An expired or foreign URL answers 401
 *   `{code: 401, message: "The download link has expired."}` (a guess: Zoom does not document it).
 * - A deleted file answers 404 `{code: 404, message: "Resource not found."}` to both routes.
 * - `requireBearer`: the download also wants the API's bearer token (undocumented either way at
 *   Zoom; off by default: the signed URL is enough).
 * - Per-file quirks from the handle: a wrong `digest`, a Content-Length shorter than the body
 *   (the client then reads a short file that looks complete), a body cut short (the connection
 *   closes mid-body), a slow body. Generic faults (5xx, resets, slow answers) come from the fault
 *   injector, matched on the endpoint `chat.files.download` or `chat.files.get`.
 */

export { CHAT_FILE_ENDPOINTS };

const BLOCK_BYTES = 64 * 1024;
const CLASSIC: readonly string[] = ['chat:read', 'chat_message:read:admin'];
const GRANULAR: readonly string[] = ['team_chat:read:file', 'team_chat:read:file:admin'];
const SCOPES: RouteScopes = { classic: CLASSIC, granular: GRANULAR };
const NOT_FOUND = 'Resource not found.';
export const EXPIRED_LINK_MESSAGE = 'The download link has expired.';

export type SimFileQuirk =
  /** "Get file info" reports a digest that is not the content's. */
  | { kind: 'wrong-digest' }
  /** The download declares (and sends) `missingBytes` fewer bytes than the file has. */
  | { kind: 'short-content-length'; missingBytes?: number }
  /** The download declares the full length, sends half, and closes the connection. */
  | { kind: 'truncate' }
  /** The body trickles: `delayMs` before every 64 KiB. */
  | { kind: 'slow'; delayMs: number }
  /** The download answers 302 to the same signed URL on a "CDN" path (as a CDN in front of it would). */
  | { kind: 'redirect' };

export interface SimFilesOptions {
  /** The download wants the API bearer token besides the signed URL (default false). */
  requireBearer?: boolean;
}

export interface SimFileInfo {
  fileId: string;
  fileName: string;
  /** Bytes served (the report's `file_size` unless the handle changed it). */
  size: number;
  createdMs: number;
}

interface Quirk {
  quirk: SimFileQuirk;
  remaining: number;
}

/** The account's shared files, and the handle tests use to change them behind the archiver's back. */
export class SimFiles {
  requireBearer: boolean;
  private index: Map<string, SimFileInfo> | null = null;
  private readonly deleted = new Set<string>();
  private readonly contentOf = new Map<string, string>();
  private readonly sizes = new Map<string, number>();
  private readonly quirks = new Map<string, Quirk[]>();
  private readonly digests = new Map<string, string>();
  private readonly blocks = new Map<string, Buffer>();
  /** Downloads answered with content, per file id. */
  readonly downloads = new Map<string, number>();

  constructor(
    private readonly dataset: SimDataset,
    readonly clock: Clock,
    options: SimFilesOptions = {},
  ) {
    this.requireBearer = options.requireBearer ?? false;
  }

  /** Every file the dataset's messages share (each once), in message order. */
  all(): SimFileInfo[] {
    return [...this.files().values()].map((f) => this.info(f.fileId) as SimFileInfo);
  }

  info(fileId: string): SimFileInfo | undefined {
    const base = this.files().get(fileId);
    if (!base) return undefined;
    return { ...base, size: this.sizes.get(fileId) ?? this.sizeOfContent(fileId, base.size) };
  }

  isDeleted(fileId: string): boolean {
    return this.deleted.has(fileId);
  }

  /** The file now answers 404 (deleted by its owner, or removed by Zoom's retention). */
  delete(fileId: string): void {
    this.requireKnown(fileId);
    this.deleted.add(fileId);
  }

  /** `fileId` now serves exactly the bytes of `asFileId` (the same attachment shared twice). */
  sameContent(fileId: string, asFileId: string): void {
    this.requireKnown(fileId);
    this.requireKnown(asFileId);
    this.contentOf.set(fileId, this.contentKey(asFileId));
    this.sizes.set(fileId, this.info(asFileId)?.size ?? 0);
  }

  /** Serve `bytes` bytes for this file (whatever the report declared). */
  setSize(fileId: string, bytes: number): void {
    this.requireKnown(fileId);
    this.sizes.set(fileId, bytes);
  }

  /** Applies `quirk` to the next `times` requests for this file (default: every one). */
  addQuirk(fileId: string, quirk: SimFileQuirk, times = Number.POSITIVE_INFINITY): void {
    this.requireKnown(fileId);
    const list = this.quirks.get(fileId) ?? [];
    list.push({ quirk, remaining: times });
    this.quirks.set(fileId, list);
  }

  /** Serve the file as it is again. */
  clearQuirks(fileId: string): void {
    this.quirks.delete(fileId);
  }

  /** SHA-256 (hex) of the bytes the file serves. */
  sha256(fileId: string): string {
    const key = this.contentKey(fileId);
    const size = this.info(fileId)?.size ?? 0;
    const cacheKey = `${key}\n${size}`;
    let digest = this.digests.get(cacheKey);
    if (digest === undefined) {
      const hash = createHash('sha256');
      for (const chunk of this.chunks(key, size)) hash.update(chunk);
      digest = hash.digest('hex');
      this.digests.set(cacheKey, digest);
    }
    return digest;
  }

  /** The bytes the file serves (tests compare what was stored; keep it to small files). */
  content(fileId: string): Buffer {
    const size = this.info(fileId)?.size ?? 0;
    return Buffer.concat([...this.chunks(this.contentKey(fileId), size)]);
  }

  /** A fresh signed URL on `baseUrl`, good for 24 hours from `nowMs`. */
  signedUrl(baseUrl: string, fileId: string, nowMs: number): string {
    const info = this.info(fileId);
    const name = encodeURIComponent(info?.fileName ?? 'file');
    return `${baseUrl}/file/download/${encodeURIComponent(fileId)}?filename=${name}&jwt=${signFileToken(fileId, nowMs + FILE_URL_TTL_MS)}`;
  }

  /** "Get file info". */
  handleInfo(fileId: string, baseUrl: string, nowMs: number): SimResponse {
    const info = this.info(fileId);
    if (!info || this.deleted.has(fileId) || info.createdMs > nowMs) return zoomError(404, 404, NOT_FOUND);
    const wrongDigest = this.takeQuirk(fileId, 'wrong-digest') !== undefined;
    const digest = wrongDigest ? createHash('sha256').update(`not ${fileId}`).digest('hex') : this.sha256(fileId);
    const dot = info.fileName.lastIndexOf('.');
    return jsonResponse(200, {
      file_id: fileId,
      file_name: info.fileName,
      OS_file_type: dot < 0 ? '' : info.fileName.slice(dot + 1),
      length: info.size,
      digest,
      created_time: info.createdMs,
      modified_time: info.createdMs,
      download_url: this.signedUrl(baseUrl, fileId, nowMs),
    });
  }

  /** The content at a signed URL. */
  handleDownload(fileId: string, query: URLSearchParams, headers: IncomingHttpHeaders, tokens: AccessTokenStore, nowMs: number): SimResponse {
    const info = this.info(fileId);
    if (!info || this.deleted.has(fileId) || info.createdMs > nowMs) return zoomError(404, 404, NOT_FOUND);
    const check = checkFileToken(query.get('jwt'), fileId, nowMs);
    if (!check.ok) return zoomError(401, 401, check.reason === 'expired' ? EXPIRED_LINK_MESSAGE : 'Invalid download link.');
    if (this.requireBearer) {
      const denied = authorise(headers, tokens, SCOPES);
      if (denied) return denied;
    }
    if (query.get('cdn') !== '1' && this.takeQuirk(fileId, 'redirect') !== undefined) {
      const target = new URLSearchParams(query);
      target.set('cdn', '1');
      return { status: 302, body: '', headers: { Location: `/file/download/${encodeURIComponent(fileId)}?${target.toString()}` } };
    }
    this.downloads.set(fileId, (this.downloads.get(fileId) ?? 0) + 1);
    const key = this.contentKey(fileId);
    let body: StreamedBody = { length: info.size, chunks: () => this.chunks(key, info.size) };
    const short = this.takeQuirk(fileId, 'short-content-length');
    if (short?.kind === 'short-content-length') {
      const length = Math.max(0, info.size - (short.missingBytes ?? Math.max(1, Math.floor(info.size / 10))));
      body = { length, chunks: () => this.chunks(key, length) };
    }
    const truncate = this.takeQuirk(fileId, 'truncate') !== undefined;
    const slow = this.takeQuirk(fileId, 'slow');
    if (slow?.kind === 'slow') {
      const inner = body;
      body = {
        ...inner,
        async *chunks() {
          for await (const chunk of inner.chunks()) {
            await sleep(slow.delayMs);
            yield chunk;
          }
        },
      };
    }
    return {
      status: 200,
      ...(truncate ? { resetMidBody: true } : {}),
      body: '',
      stream: body,
      contentType: 'application/octet-stream',
      headers: { 'Content-Disposition': `attachment; filename="${encodeURIComponent(info.fileName)}"` },
    };
  }

  private files(): Map<string, SimFileInfo> {
    if (this.index) return this.index;
    const ds = this.dataset;
    const index = new Map<string, SimFileInfo>();
    for (let m = 0; m < ds.messageCount; m++) {
      if (((ds.messages.flags[m] ?? 0) & MessageFlag.files) === 0) continue;
      for (const f of messageFiles(ds, m)) {
        if (!index.has(f.file_id)) index.set(f.file_id, { fileId: f.file_id, fileName: f.file_name, size: f.file_size, createdMs: ds.messages.sentMs[m] ?? 0 });
      }
    }
    this.index = index;
    return index;
  }

  private sizeOfContent(fileId: string, declared: number): number {
    const alias = this.contentOf.get(fileId);
    return alias === undefined ? declared : (this.sizes.get(fileId) ?? declared);
  }

  private contentKey(fileId: string): string {
    return this.contentOf.get(fileId) ?? fileId;
  }

  private requireKnown(fileId: string): void {
    if (!this.files().has(fileId)) throw new RangeError(`the dataset shares no file ${fileId}`);
  }

  private takeQuirk(fileId: string, kind: SimFileQuirk['kind']): SimFileQuirk | undefined {
    const list = this.quirks.get(fileId);
    const found = list?.find((q) => q.quirk.kind === kind && q.remaining > 0);
    if (!found) return undefined;
    found.remaining--;
    return found.quirk;
  }

  private block(key: string): Buffer {
    let block = this.blocks.get(key);
    if (block === undefined) {
      block = Buffer.alloc(BLOCK_BYTES);
      let seed = createHash('sha256').update(`zoom-sim file content\n${key}`).digest();
      for (let at = 0; at < BLOCK_BYTES; at += seed.length) {
        seed.copy(block, at);
        seed = createHash('sha256').update(seed).digest();
      }
      if (this.blocks.size > 256) this.blocks.clear();
      this.blocks.set(key, block);
    }
    return block;
  }

  private *chunks(key: string, size: number): Generator<Buffer> {
    const block = this.block(key);
    for (let left = size; left > 0; left -= BLOCK_BYTES) yield left >= BLOCK_BYTES ? block : block.subarray(0, left);
  }
}

/** "Get file info" as a `/v2` route; the download is served by the server outside `/v2` (see server.ts). */
export function fileRoutes(files: SimFiles, baseUrl: () => string): RouteModule {
  return (context) => {
    const route: RouteDefinition = {
      method: 'GET',
      pattern: '/chat/files/{fileId}',
      endpoint: CHAT_FILE_ENDPOINTS.getInfo,
      rateLabel: 'light',
      scopes: SCOPES,
      handle: (request) => files.handleInfo(request.params['fileId'] ?? '', baseUrl(), request.nowMs),
    };
    void context;
    return [route];
  };
}
