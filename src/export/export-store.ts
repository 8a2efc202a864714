import { and, desc, eq, like } from 'drizzle-orm';
import { recordAudit } from '../audit/audit-log.js';
import { runDrizzle, withTransaction, type Pool, type Queryable } from '../db/pool.js';
import { exports } from '../db/schema.js';
import type { ExportCounts, ExportFilter, ExportFormat, ExportRecord, ExportState } from './types.js';
import { InternalError } from '../errors.js';

/**
 * The `archive.exports` rows and their audit entries. Every state change of an export is written
 * in one transaction with its audit entry (`export.create`, `export.complete`, `export.fail`), so
 * the two cannot disagree.
 */

/** The JSON columns hold what this module wrote: the filter, formats and counts as typed here. */
const toRecord = (row: typeof exports.$inferSelect): ExportRecord => row as ExportRecord;

const isRunning = (exportId: string) => and(eq(exports.exportId, exportId), eq(exports.state, 'running'));

export interface NewExport {
  exportId: string;
  requestedBy: string;
  requestedAt: Date;
  filter: ExportFilter;
  formats: readonly ExportFormat[];
  /** Where the bundle will be (relative to ARCHIVE_DATA_DIR, or absolute). */
  path: string;
}

export async function createExportRecord(pool: Pool, entry: NewExport, actor: string): Promise<ExportRecord> {
  return withTransaction(pool, async (client) => {
    const [row] = await runDrizzle(client, (orm) =>
      orm
        .insert(exports)
        .values({
          exportId: entry.exportId,
          requestedBy: entry.requestedBy,
          requestedAt: entry.requestedAt,
          filter: entry.filter,
          formats: [...entry.formats],
          state: 'running',
          progress: { phase: 'preparing' },
          path: entry.path,
        })
        .returning(),
    );
    await recordAudit(client, {
      actor,
      action: 'export.create',
      subjectType: 'export',
      subjectId: entry.exportId,
      after: { state: 'running', requestedBy: entry.requestedBy, filter: entry.filter, formats: entry.formats, path: entry.path },
    });
    if (!row) throw new InternalError(`export ${entry.exportId} insert returned no row`);
    return toRecord(row);
  });
}

export async function updateExportProgress(db: Queryable, exportId: string, progress: Record<string, unknown>): Promise<void> {
  await runDrizzle(db, (orm) => orm.update(exports).set({ progress }).where(isRunning(exportId)));
}

export interface CompletedExport {
  counts: ExportCounts;
  bytes: number;
  sha256: string;
  path: string;
  finishedAt: Date;
  progress: Record<string, unknown>;
}

export async function completeExportRecord(pool: Pool, exportId: string, result: CompletedExport, actor: string): Promise<ExportRecord> {
  const { counts, bytes, sha256, path } = result;
  const record = await finishRunningExport(pool, exportId, actor, {
    action: 'export.complete',
    set: { state: 'complete', counts, bytes, sha256, path, finishedAt: result.finishedAt, progress: result.progress, error: null },
    after: { state: 'complete', counts, bytes, sha256, path },
  });
  if (!record) throw new InternalError(`export ${exportId} is no longer running (was it marked failed by another process?)`);
  return record;
}

/** Marks a running export failed (idempotent: a row no longer running is left alone). */
export async function failExportRecord(pool: Pool, exportId: string, error: string, actor: string, finishedAt: Date): Promise<ExportRecord | undefined> {
  return finishRunningExport(pool, exportId, actor, { action: 'export.fail', set: { state: 'failed', error, finishedAt }, after: { state: 'failed', error } });
}

/**
 * Moves an export out of `running` and writes the audit entry of that change, in one transaction;
 * undefined (and nothing written) when the export was no longer running.
 */
async function finishRunningExport(
  pool: Pool,
  exportId: string,
  actor: string,
  change: { action: string; set: Partial<typeof exports.$inferInsert>; after: Record<string, unknown> },
): Promise<ExportRecord | undefined> {
  return withTransaction(pool, async (client) => {
    const [row] = await runDrizzle(client, (orm) => orm.update(exports).set(change.set).where(isRunning(exportId)).returning());
    if (!row) return undefined;
    await recordAudit(client, { actor, action: change.action, subjectType: 'export', subjectId: exportId, before: { state: 'running' }, after: change.after });
    return toRecord(row);
  });
}

export async function getExport(db: Queryable, exportId: string): Promise<ExportRecord | undefined> {
  const [row] = await runDrizzle(db, (orm) => orm.select().from(exports).where(eq(exports.exportId, exportId)));
  return row ? toRecord(row) : undefined;
}

/** Exports whose id starts with `prefix` (ids are UUIDs; people type the first few characters). */
export async function findExportsByPrefix(db: Queryable, prefix: string, limit = 5): Promise<ExportRecord[]> {
  const pattern = `${prefix.replace(/[%_\\]/g, (c) => `\\${c}`)}%`;
  const rows = await runDrizzle(db, (orm) => orm.select().from(exports).where(like(exports.exportId, pattern)).orderBy(desc(exports.requestedAt)).limit(limit));
  return rows.map(toRecord);
}

export async function listExports(db: Queryable, options: { limit?: number; state?: ExportState } = {}): Promise<ExportRecord[]> {
  const rows = await runDrizzle(db, (orm) =>
    orm
      .select()
      .from(exports)
      .where(options.state === undefined ? undefined : eq(exports.state, options.state))
      .orderBy(desc(exports.requestedAt), exports.exportId)
      .limit(options.limit ?? 50),
  );
  return rows.map(toRecord);
}

export async function listRunningExports(db: Queryable): Promise<ExportRecord[]> {
  return listExports(db, { state: 'running', limit: 10_000 });
}

export interface ExportAuditEntry {
  at: Date;
  actor: string;
  action: string;
  details: unknown;
}

export async function listExportAudit(db: Queryable, exportId: string): Promise<ExportAuditEntry[]> {
  const res = await db.query<{ at: Date; actor: string; action: string; after: unknown }>(
    `SELECT at, actor, action, after FROM public.audit_log WHERE subject_type = 'export' AND subject_id = $1 ORDER BY at, audit_id`,
    [exportId],
  );
  return res.rows.map((r) => ({ at: r.at, actor: r.actor, action: r.action, details: r.after }));
}
