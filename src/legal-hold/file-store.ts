import { recordAudit } from '../audit/audit-log.js';
import type { IsoDate } from '../domain/types.js';
import { assertFences, type Fence } from '../db/advisory-lock.js';
import { withTransaction, type Pool, type Queryable } from '../db/pool.js';
import type { ZoomLegalHoldFile } from '../zoom/legal-hold.js';
import { ZOOM_ACTOR } from './deps.js';
import type { FileIdentity } from './storage-paths.js';

/**
 * archive.legal_hold_files: every zip Zoom prepared for a matter and custodian, and what became of
 * our copy. States: `pending` (Zoom is preparing it) → `ready` → `downloading` → `stored`, or
 * `failed` (tried again on later runs). A stored row never changes again (a trigger guarantees it)
 * and no row is ever deleted.
 *
 * Every state write takes the fences of the locks it is made under (the legal-hold job's, the
 * file's own) and checks them in its transaction: a pass or a download whose lock was lost and
 * taken over fails with LOCK_SUPERSEDED instead of writing over the new holder's state.
 */

export type FileState = 'pending' | 'ready' | 'downloading' | 'stored' | 'failed';

export interface FileRecord extends FileIdentity {
  fileStartDate: IsoDate | null;
  fileEndDate: IsoDate | null;
  fileCount: number | null;
  announcedBytes: number | null;
  state: FileState;
  attempts: number;
  lastError: string | null;
  lastErrorAt: Date | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
  readyAt: Date | null;
  storedPath: string | null;
  storedBytes: number | null;
  sha256: string | null;
  zipEntries: number | null;
  storedAt: Date | null;
}

interface FileRow {
  matter_id: string;
  custodian: string;
  file_key: string;
  file_start_date: string | null;
  file_end_date: string | null;
  file_count: number | null;
  announced_bytes: number | null;
  state: FileState;
  attempts: number;
  last_error: string | null;
  last_error_at: Date | null;
  first_seen_at: Date;
  last_seen_at: Date;
  ready_at: Date | null;
  stored_path: string | null;
  stored_bytes: number | null;
  sha256: string | null;
  zip_entries: number | null;
  stored_at: Date | null;
}

const FILE_COLUMNS = `matter_id, custodian, file_key, file_start_date, file_end_date, file_count, announced_bytes, state, attempts, last_error,
  last_error_at, first_seen_at, last_seen_at, ready_at, stored_path, stored_bytes, sha256, zip_entries, stored_at`;

function toRecord(row: FileRow): FileRecord {
  return {
    matterId: row.matter_id,
    custodian: row.custodian,
    fileKey: row.file_key,
    fileStartDate: row.file_start_date,
    fileEndDate: row.file_end_date,
    fileCount: row.file_count,
    announcedBytes: row.announced_bytes,
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    lastErrorAt: row.last_error_at,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    readyAt: row.ready_at,
    storedPath: row.stored_path,
    storedBytes: row.stored_bytes,
    sha256: row.sha256,
    zipEntries: row.zip_entries,
    storedAt: row.stored_at,
  };
}

const KEY_WHERE = 'matter_id = $1 AND custodian = $2 AND file_key = $3';
const keyParams = (f: FileIdentity) => [f.matterId, f.custodian, f.fileKey];

export interface FileQuery {
  matterId?: string | undefined;
  states?: readonly FileState[] | undefined;
  /** Only files of matters in these states. */
  matterStates?: readonly string[] | undefined;
}

export async function loadFiles(db: Queryable, query: FileQuery = {}): Promise<FileRecord[]> {
  const res = await db.query<FileRow>(
    `SELECT ${FILE_COLUMNS.split(',').map((c) => `f.${c.trim()}`).join(', ')}
     FROM archive.legal_hold_files f
     JOIN archive.legal_hold_matters m ON m.matter_id = f.matter_id
     WHERE ($1::text IS NULL OR f.matter_id = $1)
       AND ($2::text[] IS NULL OR f.state = ANY($2::text[]))
       AND ($3::text[] IS NULL OR m.state = ANY($3::text[]))
     ORDER BY f.matter_id, f.custodian, f.file_start_date NULLS FIRST, f.file_key`,
    [query.matterId ?? null, query.states ? [...query.states] : null, query.matterStates ? [...query.matterStates] : null],
  );
  return res.rows.map(toRecord);
}

export async function loadFile(db: Queryable, file: FileIdentity): Promise<FileRecord | undefined> {
  const res = await db.query<FileRow>(`SELECT ${FILE_COLUMNS} FROM archive.legal_hold_files WHERE ${KEY_WHERE}`, keyParams(file));
  const row = res.rows[0];
  return row ? toRecord(row) : undefined;
}

/** Files of a matter that are not stored here (yet): what deleting the matter would give up. */
export async function countUnstoredFiles(db: Queryable, matterId: string): Promise<number> {
  const res = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM archive.legal_hold_files WHERE matter_id = $1 AND state <> 'stored'`, [matterId]);
  return res.rows[0]?.n ?? 0;
}

export interface ListedFilesOutcome {
  /** Seen for the first time. */
  added: FileIdentity[];
  /** Were pending, are ready now. */
  becameReady: FileIdentity[];
  seen: number;
}

/**
 * Records one page of a custodian's files as Zoom listed them, in one transaction with the audit
 * entries for what changed in Zoom (a new file, a file that became ready). Metadata follows Zoom;
 * the state only moves forward (pending → ready), so a stored, failed or downloading row is never
 * set back, and a file that disappears from Zoom's list keeps its row.
 */
export async function recordListedFiles(
  pool: Pool,
  matterId: string,
  custodian: string,
  files: readonly ZoomLegalHoldFile[],
  now: Date,
  fences: readonly Fence[] = [],
): Promise<ListedFilesOutcome> {
  // Zoom may repeat an item across pages; one statement must not touch a row twice.
  const unique = [...new Map(files.map((f) => [f.fileKey, f])).values()];
  if (unique.length === 0) return { added: [], becameReady: [], seen: 0 };
  return withTransaction(pool, async (client) => {
    await assertFences(client, fences);
    const keys = unique.map((f) => f.fileKey);
    const before = await client.query<{ file_key: string; state: FileState }>(
      `SELECT file_key, state FROM archive.legal_hold_files WHERE matter_id = $1 AND custodian = $2 AND file_key = ANY($3::text[]) FOR UPDATE`,
      [matterId, custodian, keys],
    );
    const previous = new Map(before.rows.map((r) => [r.file_key, r.state]));
    await client.query(
      `INSERT INTO archive.legal_hold_files AS f
         (matter_id, custodian, file_key, file_start_date, file_end_date, file_count, announced_bytes, state, first_seen_at, last_seen_at, ready_at, raw, updated_at)
       SELECT $1, $2, i.file_key, i.start_date, i.end_date, i.file_count, i.announced_bytes,
              CASE WHEN i.ready THEN 'ready' ELSE 'pending' END, $3, $3, CASE WHEN i.ready THEN $3::timestamptz END, i.raw::jsonb, $3
       FROM unnest($4::text[], $5::date[], $6::date[], $7::int[], $8::bigint[], $9::boolean[], $10::text[])
            AS i(file_key, start_date, end_date, file_count, announced_bytes, ready, raw)
       ON CONFLICT (matter_id, custodian, file_key) DO UPDATE SET
         file_start_date = coalesce(EXCLUDED.file_start_date, f.file_start_date),
         file_end_date = coalesce(EXCLUDED.file_end_date, f.file_end_date),
         file_count = coalesce(EXCLUDED.file_count, f.file_count),
         announced_bytes = coalesce(EXCLUDED.announced_bytes, f.announced_bytes),
         state = CASE WHEN f.state = 'pending' AND EXCLUDED.state = 'ready' THEN 'ready' ELSE f.state END,
         ready_at = CASE WHEN f.state = 'pending' AND EXCLUDED.state = 'ready' THEN $3 ELSE f.ready_at END,
         raw = EXCLUDED.raw,
         last_seen_at = $3,
         updated_at = $3`,
      [
        matterId,
        custodian,
        now,
        keys,
        unique.map((f) => f.fileStartDate),
        unique.map((f) => f.fileEndDate),
        // int4 column: a count beyond it is kept in raw only.
        unique.map((f) => (f.fileCount !== null && f.fileCount <= 2_147_483_647 ? f.fileCount : null)),
        unique.map((f) => f.totalFileSize),
        unique.map((f) => f.readyForDownload),
        unique.map((f) => f.rawJson),
      ],
    );
    const outcome: ListedFilesOutcome = { added: [], becameReady: [], seen: unique.length };
    for (const f of unique) {
      const identity = { matterId, custodian, fileKey: f.fileKey };
      const was = previous.get(f.fileKey);
      const listed = { fileStartDate: f.fileStartDate, fileEndDate: f.fileEndDate, fileCount: f.fileCount, announcedBytes: f.totalFileSize, readyForDownload: f.readyForDownload };
      if (was === undefined) {
        outcome.added.push(identity);
        await recordAudit(client, { actor: ZOOM_ACTOR, action: 'legal_hold.file.discovered', subjectType: 'legal_hold_file', subjectId: fileSubject(identity), after: { ...listed, state: f.readyForDownload ? 'ready' : 'pending' } });
      } else if (was === 'pending' && f.readyForDownload) {
        outcome.becameReady.push(identity);
        await recordAudit(client, { actor: ZOOM_ACTOR, action: 'legal_hold.file.ready', subjectType: 'legal_hold_file', subjectId: fileSubject(identity), before: { state: 'pending' }, after: { ...listed, state: 'ready' } });
      }
    }
    return outcome;
  });
}

/** The audit subject of a file: `<matter>/<custodian>/<file_key>` (ids as Zoom gave them). */
export function fileSubject(f: FileIdentity): string {
  return `${f.matterId}/${f.custodian}/${f.fileKey}`;
}

/**
 * Marks a file as being downloaded. Call it only while holding the file's advisory lock: the lock
 * is what keeps two processes apart (and dies with a crashed one); this state only tells readers.
 * Undefined when the file is stored already or not downloadable.
 */
export async function claimFile(pool: Pool, file: FileIdentity, now: Date, fences: readonly Fence[] = []): Promise<FileRecord | undefined> {
  return withTransaction(pool, async (client) => {
    await assertFences(client, fences);
    const res = await client.query<FileRow>(
      `UPDATE archive.legal_hold_files SET state = 'downloading', updated_at = $4
       WHERE ${KEY_WHERE} AND state IN ('ready', 'failed', 'downloading')
       RETURNING ${FILE_COLUMNS}`,
      [...keyParams(file), now],
    );
    const row = res.rows[0];
    return row ? toRecord(row) : undefined;
  });
}

export interface StoredCopy {
  storedPath: string;
  bytes: number;
  sha256: string;
  zipEntries: number;
  storedAt: Date;
}

export async function recordStored(pool: Pool, file: FileIdentity, copy: StoredCopy, actor: string, details: Record<string, unknown>, fences: readonly Fence[] = []): Promise<FileRecord> {
  return withTransaction(pool, async (client) => {
    await assertFences(client, fences);
    const res = await client.query<FileRow>(
      `UPDATE archive.legal_hold_files
       SET state = 'stored', stored_path = $4, stored_bytes = $5, sha256 = $6, zip_entries = $7, stored_at = $8,
           attempts = attempts + 1, last_error = NULL, last_error_at = NULL, updated_at = $8
       WHERE ${KEY_WHERE} AND state = 'downloading'
       RETURNING ${FILE_COLUMNS}`,
      [...keyParams(file), copy.storedPath, copy.bytes, copy.sha256, copy.zipEntries, copy.storedAt],
    );
    const row = res.rows[0];
    if (!row) throw new Error(`legal-hold file ${fileSubject(file)} was not in state downloading when its copy was recorded`);
    await recordAudit(client, {
      actor,
      action: 'legal_hold.file.stored',
      subjectType: 'legal_hold_file',
      subjectId: fileSubject(file),
      after: { storedPath: copy.storedPath, bytes: copy.bytes, sha256: copy.sha256, zipEntries: copy.zipEntries, storedAt: copy.storedAt.toISOString() },
      details,
    });
    return toRecord(row);
  });
}

/** One failed attempt: counted, its error kept; the file stays claimed for the next attempt. */
export async function recordAttemptFailure(pool: Pool, file: FileIdentity, error: string, now: Date, fences: readonly Fence[] = []): Promise<void> {
  await withTransaction(pool, async (client) => {
    await assertFences(client, fences);
    await client.query(
      `UPDATE archive.legal_hold_files SET attempts = attempts + 1, last_error = $4, last_error_at = $5, updated_at = $5
       WHERE ${KEY_WHERE} AND state = 'downloading'`,
      [...keyParams(file), error, now],
    );
  });
}

/**
 * Ends this run's claim without a stored copy: `failed` after the run gave up (audited; a later run
 * tries again), or back to `ready` when the run was interrupted before it could finish.
 */
export async function releaseFile(
  pool: Pool,
  file: FileIdentity,
  state: 'failed' | 'ready',
  actor: string,
  now: Date,
  details: Record<string, unknown>,
  fences: readonly Fence[] = [],
): Promise<void> {
  await withTransaction(pool, async (client) => {
    await assertFences(client, fences);
    const res = await client.query<{ attempts: number; last_error: string | null }>(
      `UPDATE archive.legal_hold_files SET state = $4, updated_at = $5 WHERE ${KEY_WHERE} AND state = 'downloading' RETURNING attempts, last_error`,
      [...keyParams(file), state, now],
    );
    const row = res.rows[0];
    if (row && state === 'failed') {
      await recordAudit(client, {
        actor,
        action: 'legal_hold.file.download_failed',
        subjectType: 'legal_hold_file',
        subjectId: fileSubject(file),
        before: { state: 'downloading' },
        after: { state: 'failed', attempts: row.attempts, lastError: row.last_error },
        details,
      });
    }
  });
}
