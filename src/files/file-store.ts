import type { Pool } from '../db/pool.js';
import type { Queryable } from '../db/pool.js';

/**
 * The capture stage's writes (migration 0009): references from archived versions, the capture state
 * of each Zoom file, and the append-only content rows. Reads for people and the API are in
 * src/read-model/chat-files.ts.
 */

export type FileState = 'pending' | 'stored' | 'failed' | 'gone' | 'too_large' | 'skipped';
export const FILE_STATES: readonly FileState[] = ['pending', 'stored', 'failed', 'gone', 'too_large', 'skipped'];

/** A file due for capture, as the stage sees it. */
export interface DueFile {
  fileId: string;
  fileName: string | null;
  declaredBytes: number | null;
  downloadUrl: string | null;
  zoomLength: number | null;
  zoomDigest: string | null;
  attempts: number;
  state: FileState;
}

/** Versions read per statement when referencing: bounded work per statement however large the backlog. */
const REFERENCE_BATCH_VERSIONS = 20_000;

export interface ReferenceSummary {
  versionsScanned: number;
  referencesAdded: number;
  filesAdded: number;
}

/**
 * Records a reference for every `files[]` entry of every archived version not referenced yet
 * (deleted messages included), and a `pending` row for every file id seen for the first time.
 * Versions are found through the partial index on versions that have files, probing file_refs by
 * version: the cost is one index probe per version with files, not a scan of the archive. An entry
 * without a usable `file_id` is kept as a reference with none (shown as `skipped`).
 */
export async function referenceNewVersions(pool: Pool): Promise<ReferenceSummary> {
  const summary: ReferenceSummary = { versionsScanned: 0, referencesAdded: 0, filesAdded: 0 };
  let afterId = 0;
  for (;;) {
    const res = await pool.query<{ versions: string; refs: string; files: string; last_id: string | null }>(
      `WITH versions AS (
         SELECT v.id, v.session_id, v.message_id, v.kind, v.files
         FROM archive.message_versions v
         WHERE v.files IS NOT NULL AND v.id > $1
           AND NOT EXISTS (SELECT 1 FROM archive.file_refs r WHERE r.version_id = v.id)
         ORDER BY v.id
         LIMIT $2
       ), entries AS (
         SELECT v.id AS version_id, e.ord::int AS ordinal, v.session_id, v.message_id, v.kind,
                CASE WHEN jsonb_typeof(e.f -> 'file_id') = 'string' AND e.f ->> 'file_id' <> '' THEN e.f ->> 'file_id' END AS file_id,
                CASE WHEN jsonb_typeof(e.f -> 'file_name') = 'string' THEN e.f ->> 'file_name' END AS file_name,
                CASE WHEN (e.f ->> 'file_size') ~ '^[0-9]{1,18}$' THEN (e.f ->> 'file_size')::bigint END AS declared_bytes,
                CASE WHEN jsonb_typeof(e.f -> 'download_url') = 'string' THEN e.f ->> 'download_url' END AS download_url
         FROM versions v
         CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(v.files) = 'array' THEN v.files ELSE '[]'::jsonb END) WITH ORDINALITY AS e(f, ord)
       ), refs AS (
         INSERT INTO archive.file_refs (version_id, ordinal, session_id, message_id, kind, file_id, file_name, declared_bytes)
         SELECT version_id, ordinal, session_id, message_id, kind, file_id, file_name, declared_bytes FROM entries
         ON CONFLICT DO NOTHING
         RETURNING 1
       ), newest AS (
         SELECT DISTINCT ON (file_id) file_id, file_name, declared_bytes, download_url
         FROM entries WHERE file_id IS NOT NULL
         ORDER BY file_id, version_id DESC, ordinal
       ), files AS (
         INSERT INTO archive.files AS f (file_id, file_name, declared_bytes, download_url)
         SELECT file_id, file_name, declared_bytes, download_url FROM newest
         ON CONFLICT (file_id) DO UPDATE
           SET download_url = coalesce(f.download_url, excluded.download_url),
               file_name = coalesce(f.file_name, excluded.file_name),
               declared_bytes = coalesce(f.declared_bytes, excluded.declared_bytes)
         RETURNING (xmax = 0) AS inserted
       )
       SELECT (SELECT count(*) FROM versions) AS versions,
              (SELECT count(*) FROM refs) AS refs,
              (SELECT count(*) FROM files WHERE inserted) AS files,
              (SELECT max(id) FROM versions)::text AS last_id`,
      [afterId, REFERENCE_BATCH_VERSIONS],
    );
    const row = res.rows[0];
    const versions = Number(row?.versions ?? 0);
    summary.versionsScanned += versions;
    summary.referencesAdded += Number(row?.refs ?? 0);
    summary.filesAdded += Number(row?.files ?? 0);
    if (versions < REFERENCE_BATCH_VERSIONS || row?.last_id == null) return summary;
    afterId = Number(row.last_id);
  }
}

/** A due file's row as archive.files holds it (bigint columns as text). */
interface DueFileRow {
  file_id: string;
  file_name: string | null;
  declared_bytes: string | null;
  download_url: string | null;
  zoom_length: string | null;
  zoom_digest: string | null;
  attempts: number;
  state: FileState;
}

/**
 * Files due for capture in file-id order after `afterFileId`: pending ones, and failed ones whose
 * backoff has passed and that have attempts left.
 */
export async function loadDueFiles(db: Queryable, options: { now: Date; maxAttempts: number; afterFileId: string; limit: number; fileIds?: readonly string[] }): Promise<DueFile[]> {
  const res = await db.query<DueFileRow>(
    `SELECT file_id, file_name, declared_bytes, download_url, zoom_length, zoom_digest, attempts, state
     FROM archive.files
     WHERE state IN ('pending', 'failed') AND attempts < $2 AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
       AND file_id > $3 AND ($5::text[] IS NULL OR file_id = ANY($5))
     ORDER BY file_id
     LIMIT $4`,
    [options.now, options.maxAttempts, options.afterFileId, options.limit, options.fileIds ?? null],
  );
  return res.rows.map(toDueFile);
}

export async function loadDueFile(db: Queryable, fileId: string, now: Date, maxAttempts: number): Promise<DueFile | undefined> {
  const rows = await loadDueFiles(db, { now, maxAttempts, afterFileId: '', limit: 1, fileIds: [fileId] });
  return rows[0];
}

function toDueFile(r: DueFileRow): DueFile {
  return {
    fileId: r.file_id,
    fileName: r.file_name,
    declaredBytes: r.declared_bytes === null ? null : Number(r.declared_bytes),
    downloadUrl: r.download_url,
    zoomLength: r.zoom_length === null ? null : Number(r.zoom_length),
    zoomDigest: r.zoom_digest,
    attempts: r.attempts,
    state: r.state,
  };
}

/** What "Get file info" said in this attempt, written with the file's outcome (one statement, one commit). */
export interface FreshInfo {
  downloadUrl: string | null;
  length: number | null;
  digest: string | null;
  at: Date;
}

/** SET clauses for a FreshInfo in parameters $p … $p+3 (all null: nothing was asked, the row keeps what it had). */
function infoSet(p: number): string {
  const asked = `$${p + 3}::timestamptz IS NOT NULL`;
  return `download_url = coalesce($${p}::text, download_url),
          zoom_length = CASE WHEN ${asked} THEN $${p + 1}::bigint ELSE zoom_length END,
          zoom_digest = CASE WHEN ${asked} THEN $${p + 2}::text ELSE zoom_digest END,
          info_fetched_at = coalesce($${p + 3}::timestamptz, info_fetched_at)`;
}

function infoValues(info: FreshInfo | undefined): unknown[] {
  return [info?.downloadUrl ?? null, info?.length ?? null, info?.digest ?? null, info?.at ?? null];
}

/** What "Get file info" said: a fresh URL, Zoom's length and digest. */
export async function recordFileInfo(db: Queryable, fileId: string, info: { downloadUrl: string | null; length: number | null; digest: string | null }, at: Date): Promise<void> {
  await db.query(
    `UPDATE archive.files SET download_url = coalesce($2, download_url), zoom_length = $3, zoom_digest = $4, info_fetched_at = $5 WHERE file_id = $1`,
    [fileId, info.downloadUrl, info.length, info.digest, at],
  );
}

/** Attempts made in a run that did not store the file; `failed` until `nextAttemptAt`. */
export async function recordFailed(db: Queryable, fileId: string, attempts: number, error: string, at: Date, nextAttemptAt: Date, info?: FreshInfo): Promise<void> {
  await db.query(
    `UPDATE archive.files SET state = 'failed', attempts = attempts + $2, last_error = $3, last_attempt_at = $4, next_attempt_at = $5, ${infoSet(6)}
     WHERE file_id = $1 AND state <> 'stored'`,
    [fileId, attempts, error, at, nextAttemptAt, ...infoValues(info)],
  );
}

/** Zoom says the file does not exist (after a refresh): not retried; the first such answer is kept. */
export async function recordGone(db: Queryable, fileId: string, attempts: number, error: string, at: Date, info?: FreshInfo): Promise<void> {
  await db.query(
    `UPDATE archive.files SET state = 'gone', attempts = attempts + $2, last_error = $3, last_attempt_at = $4, next_attempt_at = NULL,
            first_missing_at = coalesce(first_missing_at, $4), ${infoSet(5)}
     WHERE file_id = $1 AND state <> 'stored'`,
    [fileId, attempts, error, at, ...infoValues(info)],
  );
}

export async function recordTooLarge(db: Queryable, fileId: string, attempts: number, error: string, at: Date, info?: FreshInfo): Promise<void> {
  await db.query(
    `UPDATE archive.files SET state = 'too_large', attempts = attempts + $2, last_error = $3, last_attempt_at = $4, next_attempt_at = NULL, ${infoSet(5)}
     WHERE file_id = $1 AND state <> 'stored'`,
    [fileId, attempts, error, at, ...infoValues(info)],
  );
}

export interface StoredContent {
  sha256: string;
  bytes: number;
  storedPath: string;
  digestMismatch: boolean;
  sizeMismatch: boolean;
  note: string | null;
}

/**
 * The content is in place and synced: its row (once per content; a second file with the same
 * bytes shares it) and the file's state, in one transaction. Returns false when the file was
 * stored meanwhile (its earlier content stays).
 */
export async function recordStored(pool: Pool, fileId: string, attempts: number, content: StoredContent, at: Date, info?: FreshInfo): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO archive.file_contents (sha256, bytes, stored_path, stored_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING`,
      [content.sha256, content.bytes, content.storedPath, at],
    );
    const res = await client.query(
      `UPDATE archive.files SET state = 'stored', sha256 = $2, stored_at = $3, attempts = attempts + $4, last_attempt_at = $3, next_attempt_at = NULL,
              digest_mismatch = $5, size_mismatch = $6, last_error = $7, ${infoSet(8)}
       WHERE file_id = $1 AND state <> 'stored'`,
      [fileId, content.sha256, at, attempts, content.digestMismatch, content.sizeMismatch, content.note, ...infoValues(info)],
    );
    await client.query('COMMIT');
    return (res.rowCount ?? 0) > 0;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** `files sync --retry-failed`: failed files (and, when asked, gone and too-large ones) get a fresh budget of attempts. */
export async function resetFailedFiles(db: Queryable, options: { includeGone: boolean; includeTooLarge?: boolean }): Promise<number> {
  const res = await db.query(
    `UPDATE archive.files SET state = 'pending', attempts = 0, next_attempt_at = NULL
     WHERE state = 'failed' OR ($1 AND state = 'gone') OR ($2 AND state = 'too_large')`,
    [options.includeGone, options.includeTooLarge === true],
  );
  return res.rowCount ?? 0;
}

/** Every stored content row, in hash order, for `files verify`. */
export async function* iterateStoredContents(pool: Pool, batch = 1000): AsyncGenerator<{ sha256: string; bytes: number; storedPath: string }> {
  let after = '';
  for (;;) {
    const res = await pool.query<{ sha256: string; bytes: string; stored_path: string }>(
      `SELECT sha256, bytes, stored_path FROM archive.file_contents WHERE sha256 > $1 ORDER BY sha256 LIMIT $2`,
      [after, batch],
    );
    for (const r of res.rows) yield { sha256: r.sha256, bytes: Number(r.bytes), storedPath: r.stored_path };
    if (res.rows.length < batch) return;
    after = res.rows[res.rows.length - 1]?.sha256 ?? after;
  }
}
