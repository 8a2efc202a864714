import { and, asc, count, eq, getTableColumns, inArray, ne, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/audit-log.js';
import { assertFences, type Fence } from '../db/advisory-lock.js';
import { runDrizzle, withTransaction, type Pool, type Queryable } from '../db/pool.js';
import { legalHoldFiles, legalHoldMatters } from '../db/schema.js';
import type { ZoomLegalHoldFile } from '../zoom/legal-hold.js';
import type { MatterState } from './matter-store.js';
import { ZOOM_ACTOR } from './deps.js';
import type { FileIdentity } from './storage-paths.js';
import { InternalError } from '../errors.js';

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

export type FileState = (typeof legalHoldFiles.$inferSelect)['state'];

/** A file's row without Zoom's latest item (`raw`) and the row's own `updated_at`. */
export type FileRecord = Omit<typeof legalHoldFiles.$inferSelect, 'raw' | 'updatedAt'>;

const f = legalHoldFiles;
const { raw: _raw, updatedAt: _updatedAt, ...FILE } = getTableColumns(f);

const byKey = (file: FileIdentity) => and(eq(f.matterId, file.matterId), eq(f.custodian, file.custodian), eq(f.fileKey, file.fileKey));

export interface FileQuery {
  matterId?: string | undefined;
  states?: readonly FileState[] | undefined;
  /** Only files of matters in these states. */
  matterStates?: readonly MatterState[] | undefined;
}

export async function loadFiles(db: Queryable, query: FileQuery = {}): Promise<FileRecord[]> {
  const m = legalHoldMatters;
  return runDrizzle(db, (orm) =>
    orm
      .select(FILE)
      .from(f)
      .innerJoin(m, eq(m.matterId, f.matterId))
      .where(
        and(
          query.matterId === undefined ? undefined : eq(f.matterId, query.matterId),
          query.states ? inArray(f.state, [...query.states]) : undefined,
          query.matterStates ? inArray(m.state, [...query.matterStates]) : undefined,
        ),
      )
      .orderBy(asc(f.matterId), asc(f.custodian), sql`${f.fileStartDate} NULLS FIRST`, asc(f.fileKey)),
  );
}

export async function loadFile(db: Queryable, file: FileIdentity): Promise<FileRecord | undefined> {
  const [row] = await runDrizzle(db, (orm) => orm.select(FILE).from(f).where(byKey(file)));
  return row;
}

/** Files of a matter that are not stored here (yet): what deleting the matter would give up. */
export async function countUnstoredFiles(db: Queryable, matterId: string): Promise<number> {
  const [row] = await runDrizzle(db, (orm) =>
    orm
      .select({ n: count() })
      .from(f)
      .where(and(eq(f.matterId, matterId), ne(f.state, 'stored'))),
  );
  return row?.n ?? 0;
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
    const before = await runDrizzle(client, (orm) =>
      orm
        .select({ fileKey: f.fileKey, state: f.state })
        .from(f)
        .where(and(eq(f.matterId, matterId), eq(f.custodian, custodian), inArray(f.fileKey, keys)))
        .for('update'),
    );
    const previous = new Map(before.map((r) => [r.fileKey, r.state]));
    // One set-based upsert for the page; the state only moves forward (SQL: drizzle cannot alias
    // the target row in ON CONFLICT DO UPDATE).
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
    const [row] = await runDrizzle(client, (orm) =>
      orm
        .update(f)
        .set({ state: 'downloading', updatedAt: now })
        .where(and(byKey(file), inArray(f.state, ['ready', 'failed', 'downloading'])))
        .returning(FILE),
    );
    return row;
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
    const [row] = await runDrizzle(client, (orm) =>
      orm
        .update(f)
        .set({
          state: 'stored',
          storedPath: copy.storedPath,
          storedBytes: copy.bytes,
          sha256: copy.sha256,
          zipEntries: copy.zipEntries,
          storedAt: copy.storedAt,
          attempts: sql`${f.attempts} + 1`,
          lastError: null,
          lastErrorAt: null,
          updatedAt: copy.storedAt,
        })
        .where(and(byKey(file), eq(f.state, 'downloading')))
        .returning(FILE),
    );
    if (!row) throw new InternalError(`legal-hold file ${fileSubject(file)} was not in state downloading when its copy was recorded`);
    await recordAudit(client, {
      actor,
      action: 'legal_hold.file.stored',
      subjectType: 'legal_hold_file',
      subjectId: fileSubject(file),
      after: { storedPath: copy.storedPath, bytes: copy.bytes, sha256: copy.sha256, zipEntries: copy.zipEntries, storedAt: copy.storedAt.toISOString() },
      details,
    });
    return row;
  });
}

/** One failed attempt: counted, its error kept; the file stays claimed for the next attempt. */
export async function recordAttemptFailure(pool: Pool, file: FileIdentity, error: string, now: Date, fences: readonly Fence[] = []): Promise<void> {
  await withTransaction(pool, async (client) => {
    await assertFences(client, fences);
    await runDrizzle(client, (orm) =>
      orm
        .update(f)
        .set({ attempts: sql`${f.attempts} + 1`, lastError: error, lastErrorAt: now, updatedAt: now })
        .where(and(byKey(file), eq(f.state, 'downloading'))),
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
    const [row] = await runDrizzle(client, (orm) =>
      orm
        .update(f)
        .set({ state, updatedAt: now })
        .where(and(byKey(file), eq(f.state, 'downloading')))
        .returning({ attempts: f.attempts, lastError: f.lastError }),
    );
    if (row && state === 'failed') {
      await recordAudit(client, {
        actor,
        action: 'legal_hold.file.download_failed',
        subjectType: 'legal_hold_file',
        subjectId: fileSubject(file),
        before: { state: 'downloading' },
        after: { state: 'failed', attempts: row.attempts, lastError: row.lastError },
        details,
      });
    }
  });
}
