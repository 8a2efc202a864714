import { recordAudit } from '../audit/audit-log.js';
import { withTransaction, type Pool, type Queryable } from '../db/pool.js';
import type { ExportCounts, ExportFilter, ExportFormat, ExportRecord, ExportState } from './types.js';

/**
 * The `archive.exports` rows and their audit entries. Every state change of an export is written
 * in one transaction with its audit entry (`export.create`, `export.complete`, `export.fail`), so
 * the two cannot disagree.
 */

interface ExportRow {
  export_id: string;
  requested_by: string;
  requested_at: Date;
  filter: ExportFilter;
  formats: ExportFormat[];
  state: ExportState;
  progress: Record<string, unknown> | null;
  counts: ExportCounts | null;
  bytes: number | null;
  sha256: string | null;
  path: string | null;
  error: string | null;
  finished_at: Date | null;
  updated_at: Date;
}

const COLUMNS = 'export_id, requested_by, requested_at, filter, formats, state, progress, counts, bytes, sha256, path, error, finished_at, updated_at';

function toRecord(row: ExportRow): ExportRecord {
  return {
    exportId: row.export_id,
    requestedBy: row.requested_by,
    requestedAt: row.requested_at,
    filter: row.filter,
    formats: row.formats,
    state: row.state,
    progress: row.progress,
    counts: row.counts,
    bytes: row.bytes,
    sha256: row.sha256,
    path: row.path,
    error: row.error,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
  };
}

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
    const res = await client.query<ExportRow>(
      `INSERT INTO archive.exports (export_id, requested_by, requested_at, filter, formats, state, progress, path)
       VALUES ($1, $2, $3, $4::jsonb, $5::text[], 'running', '{"phase":"preparing"}'::jsonb, $6)
       RETURNING ${COLUMNS}`,
      [entry.exportId, entry.requestedBy, entry.requestedAt, JSON.stringify(entry.filter), entry.formats, entry.path],
    );
    await recordAudit(client, {
      actor,
      action: 'export.create',
      subjectType: 'export',
      subjectId: entry.exportId,
      after: { state: 'running', requestedBy: entry.requestedBy, filter: entry.filter, formats: entry.formats, path: entry.path },
    });
    return toRecord(res.rows[0] as ExportRow);
  });
}

export async function updateExportProgress(db: Queryable, exportId: string, progress: Record<string, unknown>): Promise<void> {
  await db.query(`UPDATE archive.exports SET progress = $2::jsonb WHERE export_id = $1 AND state = 'running'`, [exportId, JSON.stringify(progress)]);
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
  return withTransaction(pool, async (client) => {
    const res = await client.query<ExportRow>(
      `UPDATE archive.exports
       SET state = 'complete', counts = $2::jsonb, bytes = $3, sha256 = $4, path = $5, finished_at = $6, progress = $7::jsonb, error = NULL
       WHERE export_id = $1 AND state = 'running'
       RETURNING ${COLUMNS}`,
      [exportId, JSON.stringify(result.counts), result.bytes, result.sha256, result.path, result.finishedAt, JSON.stringify(result.progress)],
    );
    const row = res.rows[0];
    if (!row) throw new Error(`export ${exportId} is no longer running (was it marked failed by another process?)`);
    await recordAudit(client, {
      actor,
      action: 'export.complete',
      subjectType: 'export',
      subjectId: exportId,
      before: { state: 'running' },
      after: { state: 'complete', counts: result.counts, bytes: result.bytes, sha256: result.sha256, path: result.path },
    });
    return toRecord(row);
  });
}

/** Marks a running export failed (idempotent: a row no longer running is left alone). */
export async function failExportRecord(pool: Pool, exportId: string, error: string, actor: string, finishedAt: Date): Promise<ExportRecord | undefined> {
  return withTransaction(pool, async (client) => {
    const res = await client.query<ExportRow>(
      `UPDATE archive.exports SET state = 'failed', error = $2, finished_at = $3
       WHERE export_id = $1 AND state = 'running'
       RETURNING ${COLUMNS}`,
      [exportId, error, finishedAt],
    );
    const row = res.rows[0];
    if (!row) return undefined;
    await recordAudit(client, {
      actor,
      action: 'export.fail',
      subjectType: 'export',
      subjectId: exportId,
      before: { state: 'running' },
      after: { state: 'failed', error },
    });
    return toRecord(row);
  });
}

export async function getExport(db: Queryable, exportId: string): Promise<ExportRecord | undefined> {
  const res = await db.query<ExportRow>(`SELECT ${COLUMNS} FROM archive.exports WHERE export_id = $1`, [exportId]);
  return res.rows[0] ? toRecord(res.rows[0]) : undefined;
}

/** Exports whose id starts with `prefix` (ids are UUIDs; people type the first few characters). */
export async function findExportsByPrefix(db: Queryable, prefix: string, limit = 5): Promise<ExportRecord[]> {
  const res = await db.query<ExportRow>(
    `SELECT ${COLUMNS} FROM archive.exports WHERE export_id LIKE $1 || '%' ORDER BY requested_at DESC LIMIT $2`,
    [prefix.replace(/[%_\\]/g, (c) => `\\${c}`), limit],
  );
  return res.rows.map(toRecord);
}

export async function listExports(db: Queryable, options: { limit?: number; state?: ExportState } = {}): Promise<ExportRecord[]> {
  const res = await db.query<ExportRow>(
    `SELECT ${COLUMNS} FROM archive.exports WHERE ($2::text IS NULL OR state = $2) ORDER BY requested_at DESC, export_id LIMIT $1`,
    [options.limit ?? 50, options.state ?? null],
  );
  return res.rows.map(toRecord);
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
