import type { Queryable } from '../db/pool.js';

/**
 * Files shared in chat, read through the `chat_files` view (migration 0009; README, "The SQL read
 * model"): one row per file entry of an archived version, with its capture state and content.
 */

export interface ChatFileRow {
  sessionId: string;
  messageId: string;
  versionId: number;
  versionKind: string;
  actionAt: Date;
  ordinal: number;
  fileId: string | null;
  fileName: string | null;
  fileSize: number | null;
  state: string;
  attempts: number;
  lastError: string | null;
  firstMissingAt: Date | null;
  zoomDigest: string | null;
  sha256: string | null;
  storedBytes: number | null;
  storedPath: string | null;
  storedAt: Date | null;
  digestMismatch: boolean;
  sizeMismatch: boolean;
}

export interface ChatFileFilter {
  sessionId?: string;
  messageId?: string;
  state?: string;
  /** Keyset: rows after this (version id, ordinal). */
  after?: { versionId: number; ordinal: number };
  limit: number;
}

const COLUMNS = `session_id, message_id, version_id, version_kind, action_at, ordinal, file_id, file_name, file_size, state, attempts,
  last_error, first_missing_at, zoom_digest, sha256, stored_bytes, stored_path, stored_at, digest_mismatch, size_mismatch`;

interface Row {
  session_id: string;
  message_id: string;
  version_id: string;
  version_kind: string;
  action_at: Date;
  ordinal: number;
  file_id: string | null;
  file_name: string | null;
  file_size: string | null;
  state: string;
  attempts: number;
  last_error: string | null;
  first_missing_at: Date | null;
  zoom_digest: string | null;
  sha256: string | null;
  stored_bytes: string | null;
  stored_path: string | null;
  stored_at: Date | null;
  digest_mismatch: boolean;
  size_mismatch: boolean;
}

function toRow(r: Row): ChatFileRow {
  return {
    sessionId: r.session_id,
    messageId: r.message_id,
    versionId: Number(r.version_id),
    versionKind: r.version_kind,
    actionAt: r.action_at,
    ordinal: r.ordinal,
    fileId: r.file_id,
    fileName: r.file_name,
    fileSize: r.file_size === null ? null : Number(r.file_size),
    state: r.state,
    attempts: r.attempts,
    lastError: r.last_error,
    firstMissingAt: r.first_missing_at,
    zoomDigest: r.zoom_digest,
    sha256: r.sha256,
    storedBytes: r.stored_bytes === null ? null : Number(r.stored_bytes),
    storedPath: r.stored_path,
    storedAt: r.stored_at,
    digestMismatch: r.digest_mismatch,
    sizeMismatch: r.size_mismatch,
  };
}

/** File references in (version id, ordinal) order, filtered by session, message and state. */
export async function listChatFiles(db: Queryable, filter: ChatFileFilter): Promise<ChatFileRow[]> {
  const res = await db.query<Row>(
    `SELECT ${COLUMNS} FROM public.chat_files
     WHERE ($1::text IS NULL OR session_id = $1) AND ($2::text IS NULL OR message_id = $2) AND ($3::text IS NULL OR state = $3)
       AND ($4::bigint IS NULL OR (version_id, ordinal) > ($4::bigint, $5::int))
     ORDER BY version_id, ordinal
     LIMIT $6`,
    [filter.sessionId ?? null, filter.messageId ?? null, filter.state ?? null, filter.after?.versionId ?? null, filter.after?.ordinal ?? 0, filter.limit],
  );
  return res.rows.map(toRow);
}

/** Every file reference of these messages of one session (a transcript page's), in version order. */
export async function listMessageFiles(db: Queryable, sessionId: string, messageIds: readonly string[]): Promise<ChatFileRow[]> {
  if (messageIds.length === 0) return [];
  const res = await db.query<Row>(
    `SELECT ${COLUMNS} FROM public.chat_files WHERE session_id = $1 AND message_id = ANY($2::text[]) ORDER BY version_id, ordinal`,
    [sessionId, messageIds],
  );
  return res.rows.map(toRow);
}

/** Distinct files (by file id) per capture state, and the bytes in the content store. */
export interface FileFigures {
  byState: Record<string, number>;
  storedBytes: number;
  storedContents: number;
  digestMismatches: number;
  /** References not yet given a file row (the capture stage has not run since they were archived). */
}

export async function loadFileFigures(db: Queryable): Promise<FileFigures> {
  const res = await db.query<{ state: string; n: number; mismatches: number }>(
    `SELECT state, count(*)::int AS n, count(*) FILTER (WHERE digest_mismatch)::int AS mismatches FROM archive.files GROUP BY state`,
  );
  const contents = await db.query<{ n: number; bytes: string }>(`SELECT count(*)::int AS n, coalesce(sum(bytes), 0)::text AS bytes FROM archive.file_contents`);
  const byState: Record<string, number> = { pending: 0, stored: 0, failed: 0, gone: 0, too_large: 0, skipped: 0 };
  let digestMismatches = 0;
  for (const r of res.rows) {
    byState[r.state] = r.n;
    digestMismatches += r.mismatches;
  }
  return { byState, storedBytes: Number(contents.rows[0]?.bytes ?? 0), storedContents: contents.rows[0]?.n ?? 0, digestMismatches };
}

/** A stored content by SHA-256 (for downloads and exports), or undefined. */
export async function findStoredContent(db: Queryable, sha256: string): Promise<{ sha256: string; bytes: number; storedPath: string; fileNames: string[] } | undefined> {
  const res = await db.query<{ sha256: string; bytes: string; stored_path: string; names: string[] | null }>(
    `SELECT c.sha256, c.bytes, c.stored_path,
            (SELECT array_agg(DISTINCT f.file_name ORDER BY f.file_name) FROM archive.files f WHERE f.sha256 = c.sha256 AND f.file_name IS NOT NULL) AS names
     FROM archive.file_contents c WHERE c.sha256 = $1`,
    [sha256],
  );
  const r = res.rows[0];
  return r === undefined ? undefined : { sha256: r.sha256, bytes: Number(r.bytes), storedPath: r.stored_path, fileNames: r.names ?? [] };
}
