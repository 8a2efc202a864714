/**
 * One export from request to committed bundle: lock, snapshot, the selection loop feeding every
 * format writer, legal-hold files, manifest with the archive proof, zip, verify, record. Over 400
 * lines because it is the bookkeeping of a single transaction snapshot; the formats, zip writing and
 * selection SQL live in their own modules (format-writer.ts, zip-writer.ts, read-model/export-selection.ts).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { tryAdvisoryLock } from '../db/advisory-lock.js';
import type { Pool, PoolClient } from '../db/pool.js';
import { AbortError, InputError, InternalError, throwIfAborted } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { countSelection, loadCrossDayThreads, loadMatterCustodianEmails, loadSessionInfos, VersionCursor } from '../read-model/export-selection.js';
import { systemClock, type Clock } from '../util/clock.js';
import { VERSION } from '../version.js';
import { defaultBundlePath, recordedPath, spoolPathFor, tmpPathFor } from './bundle-paths.js';
import { BundleEntryBook } from './bundle-entries.js';
import { BundleWriter } from './bundle-writer.js';
import { ExportError, isDiskFull, isExportError } from './errors.js';
import { completeExportRecord, createExportRecord, failExportRecord, updateExportProgress } from './export-store.js';
import { summariseFilter } from './filter-summary.js';
import { formatDefinitions, neededLookups } from './formats.js';
import type { ExportSession, FormatWriter, LookupName, SelectionLookups } from './format-writer.js';
import { createHeapGuard } from './heap-guard.js';
import { loadLegalHoldFiles, type LegalHoldFileToExport } from './legal-hold-files.js';
import { isCompressed, loadExportAttachments, type ExportAttachment } from './attachments.js';
import { resolveInDataDir } from '../files/content-store.js';
import { MANIFEST_FORMAT, MANIFEST_FORMAT_VERSION, MANIFEST_PATH, renderManifest, type AttachmentNote, type BundleManifest } from './manifest.js';
import { describeMessage } from './message-history.js';
import { loadPeople, PeopleDirectory } from './people.js';
import { checkExportRequest } from './request.js';
import { loadArchiveProof } from '../audit/export-proof.js';
import { buildSelectionWhere } from '../read-model/export-selection.js';
import { sessionTitle } from './session-title.js';
import { Spool } from './spool.js';
import { exportLockName, sweepStaleExports } from './stale-exports.js';
import { safePathSegment } from './text.js';
import type { ExportCounts, ExportFilter, ExportPhase, ExportProgress, ExportRecord, ExportRequest, SessionInfo, VersionRow } from './types.js';

/**
 * One export, start to finish: validate, record it (row + audit), read the selection once from a
 * server-side cursor in a REPEATABLE READ snapshot (src/read-model/export-selection.ts), hand every
 * version and message to the format writers (format-writer.ts; writers/), pack the spooled entries
 * and the matter's legal-hold zips, write the manifest last, fsync, give the bundle its name,
 * record the result. On any failure or abort the .tmp file and the spool are removed and the row is
 * marked failed: nothing that looks complete is left behind.
 *
 * This file is the loop and the bookkeeping (the row, progress, phases, the snapshot); what goes in
 * an entry is the writers' business, which entry goes where is bundle-entries.ts's.
 *
 * Memory stays flat whatever the export's size: versions are fetched a batch at a time (smaller
 * batches when rows are large), every writer streams with backpressure, an HTML page is written as
 * its session's rows arrive, and an RSMF file holds at most one session-day (≤ 10,000 events).
 */

export interface ExportDeps {
  /** Holds two connections for the export's life (its liveness lock, its snapshot) and briefly a third (progress): size it ≥ 3. */
  pool: Pool;
  config: Pick<Config, 'dataDir'>;
  logger: Logger;
  clock?: Clock;
  signal?: AbortSignal;
}

export interface RunExportOptions {
  /** Called once the export's row exists (it is `running`), before any work on the bundle. */
  onStarted?: (record: ExportRecord) => void;
  /** Called after every batch and phase change. */
  onProgress?: (progress: ExportProgress) => void;
  /** How often `exports.progress` is written while running; default 3 s. */
  progressIntervalMs?: number;
}

const MAX_FETCH_ROWS = 1000;
const MIN_FETCH_ROWS = 20;
/** Aim for batches of about this much row data, so a run of 20k-character bodies cannot balloon memory. */
const TARGET_BATCH_BYTES = 1024 * 1024;

export async function runExport(deps: ExportDeps, request: ExportRequest, actor: string, options: RunExportOptions = {}): Promise<ExportRecord> {
  const clock = deps.clock ?? systemClock;
  throwIfAborted(deps.signal);
  await checkExportRequest(deps.pool, request);

  const dataDir = deps.config.dataDir;
  await sweepStaleExports({ pool: deps.pool, dataDir, logger: deps.logger, clock }).catch((err: unknown) =>
    deps.logger.warn({ err, job: 'export' }, 'could not sweep stale exports; continuing with this one'),
  );

  const exportId = randomUUID();
  const createdAt = clock.now();
  const finalPath = request.outPath ?? defaultBundlePath(dataDir, exportId, createdAt);
  if (request.outPath === undefined) await mkdir(path.dirname(finalPath), { recursive: true });
  if (existsSync(finalPath)) throw new InputError(`${finalPath} already exists: an export never overwrites a file`, 'out');

  // Taken before the row exists, so no other process can ever see this export running without its lock.
  const lock = await tryAdvisoryLock(deps.pool, exportLockName(exportId));
  if (!lock) throw new InternalError(`could not take the lock of new export ${exportId}`);
  const log = deps.logger.child({ job: 'export', exportId });
  try {
    const requestedBy = request.requestedBy ?? actor;
    const started = await createExportRecord(deps.pool, { exportId, requestedBy, requestedAt: createdAt, filter: request.filter, formats: request.formats, path: recordedPath(dataDir, finalPath) }, actor);
    options.onStarted?.(started);
    log.info({ filter: request.filter.kind, formats: request.formats, path: finalPath }, 'export started');
    const job = new ExportJob({ deps, clock, log, request, exportId, createdAt, requestedBy, finalPath, options });
    try {
      const result = await job.run();
      const record = await completeExportRecord(
        deps.pool,
        exportId,
        { counts: result.counts, bytes: result.bytes, sha256: result.sha256, path: recordedPath(dataDir, finalPath), finishedAt: clock.now(), progress: job.progressRow('done') },
        actor,
      );
      log.info({ counts: result.counts, bytes: result.bytes, sha256: result.sha256, durationMs: clock.now().getTime() - createdAt.getTime() }, 'export complete');
      return record;
    } catch (err) {
      const reason = describeFailure(err, finalPath);
      log.error({ err, reason }, 'export failed; partial files removed, row marked failed');
      await failExportRecord(deps.pool, exportId, reason, actor, clock.now()).catch((markErr: unknown) =>
        log.error({ err: markErr }, 'could not mark the export failed; the next export will (its lock is released)'),
      );
      if (err instanceof AbortError || deps.signal?.aborted) throw new AbortError(`export ${exportId} stopped before it finished; nothing was kept`, { cause: err });
      const code = isDiskFull(err) ? 'EXPORT_DISK_FULL' : isExportError(err) ? err.code : 'EXPORT_FAILED';
      throw new ExportError(code, `export ${exportId} failed: ${reason}`, { cause: err, exportId });
    }
  } finally {
    await lock.release();
  }
}

function describeFailure(err: unknown, finalPath: string): string {
  if (isDiskFull(err)) return `the disk is full (ENOSPC) while writing ${path.dirname(finalPath)}: free some space and run the export again`;
  if (err instanceof AbortError) return 'stopped by a signal before it finished';
  if (err instanceof Error) return err.message;
  return String(err);
}

interface JobSettings {
  deps: ExportDeps;
  clock: Clock;
  log: Logger;
  request: ExportRequest;
  exportId: string;
  createdAt: Date;
  requestedBy: string;
  finalPath: string;
  options: RunExportOptions;
}

interface BundleOutcome {
  counts: ExportCounts;
  bytes: number;
  sha256: string;
}

/** Loads, in the export's snapshot, the lookups its formats declared; the others stay empty. */
async function loadLookups(
  client: PoolClient,
  filter: ExportFilter,
  needed: ReadonlySet<LookupName>,
  attachments: ReadonlyMap<string, ExportAttachment>,
): Promise<SelectionLookups> {
  let custodians: string[] = [];
  if (needed.has('custodians')) custodians = filter.kind === 'custodians' ? filter.custodians : filter.kind === 'matter' ? await loadMatterCustodianEmails(client, filter.matterId) : [];
  return {
    // Always loaded: the export packs the stored ones and lists every one in the manifest.
    attachments,
    // Who is who, from every record of the selection: names people who only react or receive in a file.
    people: needed.has('people') ? await loadPeople(client, filter) : new PeopleDirectory(),
    crossDayThreads: needed.has('crossDayThreads') ? await loadCrossDayThreads(client, filter) : new Map(),
    custodians: new Set(custodians),
  };
}

class ExportJob {
  private readonly s: JobSettings;
  private phase: ExportPhase = 'preparing';
  private versionsWritten = 0;
  private versionsTotal = 0;
  private bundle: BundleWriter | undefined;
  private spool: Spool | undefined;
  private entries: BundleEntryBook | undefined;
  private lastProgressWriteMs = 0;
  private progressWrite: Promise<void> = Promise.resolve();
  private readonly heap = createHeapGuard();

  private writers: FormatWriter[] = [];
  /** The writers that take each version, and those that take each message (then versions are grouped). */
  private versionWriters: FormatWriter[] = [];
  private messageWriters: FormatWriter[] = [];
  private session: ExportSession | undefined;
  private group: VersionRow[] = [];
  private readonly sessionInfos = new Map<string, SessionInfo>();

  constructor(settings: JobSettings) {
    this.s = settings;
  }

  async run(): Promise<BundleOutcome> {
    const { deps, exportId, finalPath } = this.s;
    const client = await deps.pool.connect();
    let inTransaction = false;
    try {
      this.bundle = await BundleWriter.open(tmpPathFor(finalPath, exportId), finalPath, this.s.createdAt);
      this.spool = await Spool.create(spoolPathFor(finalPath, exportId));
      const entries = (this.entries = new BundleEntryBook(this.bundle, this.spool));

      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      inTransaction = true;
      const filter = this.s.request.filter;
      const counts = await countSelection(client, filter);
      this.versionsTotal = counts.versions;
      // Which state of the archive the bundle comes from: the chain head and the seals, in this snapshot.
      const archiveProof = await loadArchiveProof(client, buildSelectionWhere(filter));
      const legalHold = filter.kind === 'matter' ? await loadLegalHoldFiles(client, filter.matterId, deps.config.dataDir) : [];
      const attachments = await loadExportAttachments(client, filter);
      const definitions = formatDefinitions(this.s.request.formats);
      const context = {
        bundleId: exportId,
        createdAt: this.s.createdAt.toISOString(),
        filter,
        formats: this.s.request.formats,
        filterSummary: summariseFilter(filter),
        generator: `zoom-chat-archiver/${VERSION}`,
        lookups: await loadLookups(client, filter, neededLookups(definitions), attachments),
      };
      this.writers = definitions.map((d) => d.create(context, entries.forOwner(d.format)));
      this.versionWriters = this.writers.filter((w) => w.addVersion);
      this.messageWriters = this.writers.filter((w) => w.addMessage);
      this.s.log.info({ versionsTotal: counts.versions, sessions: counts.sessions, legalHoldFiles: legalHold.length }, 'selection counted; writing the bundle');

      this.phase = 'messages';
      this.report(true);
      for (const writer of this.writers) await writer.begin?.();
      const streamed = await this.readVersions(client);
      await client.query('COMMIT');
      inTransaction = false;
      if (streamed !== counts.versions) throw new InternalError(`read ${streamed} versions but the snapshot counted ${counts.versions}`);
      for (const writer of this.writers) await writer.finish(counts);

      this.phase = 'packing';
      this.report(true);
      await entries.packSpooled(
        () => throwIfAborted(deps.signal),
        () => {
          this.heap.check();
          this.report();
        },
      );
      for (const writer of this.writers) await writer.packFiles?.();

      this.phase = 'attachments';
      this.report(true);
      const attachmentNotes = await this.packAttachments(attachments);

      this.phase = 'legal-hold';
      this.report(true);
      const legalHoldNotes = await this.packLegalHoldFiles(legalHold);

      this.phase = 'finishing';
      this.report(true);
      const manifest: BundleManifest = {
        format: MANIFEST_FORMAT,
        format_version: MANIFEST_FORMAT_VERSION,
        bundle_id: exportId,
        tool: { name: 'zoom-chat-archiver', version: VERSION },
        created_at: this.s.createdAt.toISOString(),
        requested_by: this.s.requestedBy,
        filter,
        formats: this.s.request.formats,
        counts,
        time_zone: 'UTC',
        legal_hold_files: legalHoldNotes,
        attachments: attachmentNotes,
        archive_proof: archiveProof,
        entries: entries.manifest,
      };
      await this.bundle.appendBuffer(MANIFEST_PATH, renderManifest(manifest));
      const digest = await this.bundle.finish();
      throwIfAborted(deps.signal);
      await this.bundle.commit();
      this.phase = 'done';
      this.report(true);
      return { counts, bytes: digest.bytes, sha256: digest.sha256 };
    } catch (err) {
      await this.bundle?.abort().catch(() => undefined);
      throw err;
    } finally {
      if (inTransaction) await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      await this.spool?.remove().catch((err: unknown) => this.s.log.warn({ err }, 'could not remove the spool directory; the next export removes it'));
      await this.progressWrite;
      this.heap.stop();
    }
  }

  // --- the pass over the versions -------------------------------------------------------------

  private async readVersions(client: PoolClient): Promise<number> {
    const cursor = await VersionCursor.open(client, this.s.request.filter);
    let fetchRows = MAX_FETCH_ROWS;
    let streamed = 0;
    // The next batch is asked for before this one is written, so PostgreSQL works while we do.
    const fetch = (rows: number) => {
      const next = cursor.fetch(rows);
      next.catch(() => undefined); // awaited below; never an unhandled rejection if we stop first
      return next;
    };
    const groupMessages = this.messageWriters.length > 0;
    let pending = fetch(fetchRows);
    while (true) {
      throwIfAborted(this.s.deps.signal);
      const rows = await pending;
      if (rows.length === 0) break;
      let rowBytes = 0;
      for (const row of rows) rowBytes += row.raw.length + (row.body?.length ?? 0);
      const averageRowBytes = Math.max(1, rowBytes / rows.length);
      fetchRows = Math.max(MIN_FETCH_ROWS, Math.min(MAX_FETCH_ROWS, Math.floor(TARGET_BATCH_BYTES / averageRowBytes)));
      await this.loadSessionInfos(client, rows);
      pending = fetch(fetchRows);
      for (const row of rows) {
        if (row.session_id !== this.session?.id) {
          await this.closeMessage();
          await this.closeSession();
          await this.openSession(row.session_id);
        } else if (groupMessages && row.message_id !== this.group[0]?.message_id) {
          await this.closeMessage();
        }
        const session = this.session as ExportSession;
        if (groupMessages) this.group.push(row);
        for (const writer of this.versionWriters) {
          const wait = writer.addVersion?.(row, session);
          if (wait) await wait;
        }
      }
      streamed += rows.length;
      this.versionsWritten = streamed;
      this.heap.check();
      this.report();
    }
    await cursor.close();
    await this.closeMessage();
    await this.closeSession();
    return streamed;
  }

  /** Session metadata for the sessions a batch starts, in one query per batch (same snapshot). */
  private async loadSessionInfos(client: PoolClient, rows: readonly VersionRow[]): Promise<void> {
    const wanted = [...new Set(rows.map((r) => r.session_id))].filter((id) => id !== this.session?.id && !this.sessionInfos.has(id));
    if (wanted.length === 0) return;
    for (const info of await loadSessionInfos(client, wanted)) this.sessionInfos.set(info.session_id, info);
  }

  private async openSession(sessionId: string): Promise<void> {
    const info = this.sessionInfos.get(sessionId);
    this.sessionInfos.delete(sessionId);
    // The same name in every format: a 1:1 chat, unnamed in Zoom, is "1:1 chat: a & b" in CSV and JSONL too.
    const session: ExportSession = { id: sessionId, info, name: sessionTitle(info, sessionId), safeId: safePathSegment(sessionId) };
    this.session = session;
    for (const writer of this.writers) await writer.beginSession?.(session);
  }

  private async closeMessage(): Promise<void> {
    const session = this.session;
    if (this.group.length === 0 || !session) return;
    const history = describeMessage(this.group, session.info);
    this.group = [];
    for (const writer of this.messageWriters) await writer.addMessage?.(history, session);
  }

  private async closeSession(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    for (const writer of this.writers) await writer.endSession?.(session);
  }

  // --- after the pass ------------------------------------------------------------------------

  /**
   * Each stored attachment's content once (by SHA-256), checked against what was stored while it is
   * copied: a changed or missing file fails the export, never a bundle without it. Every file,
   * stored or not, gets a note in the manifest with its state.
   */
  private async packAttachments(attachments: ReadonlyMap<string, ExportAttachment>): Promise<AttachmentNote[]> {
    const entries = this.entries as BundleEntryBook;
    const packed = new Set<string>();
    const notes: AttachmentNote[] = [];
    for (const a of attachments.values()) {
      throwIfAborted(this.s.deps.signal);
      if (a.entryPath !== null && a.sha256 !== null && a.storedPath !== null && a.bytes !== null && !packed.has(a.entryPath)) {
        packed.add(a.entryPath);
        const absolutePath = resolveInDataDir(this.s.deps.config.dataDir, a.storedPath);
        const sha256 = a.sha256;
        await entries.addFile({
          path: a.entryPath,
          absolutePath,
          store: isCompressed(a.fileName),
          expected: { bytes: a.bytes, sha256 },
          mismatch: (actual) =>
            new ExportError(
              'EXPORT_FAILED',
              `stored file ${a.storedPath} (file ${a.fileId}) does not match what was stored: SHA-256 ${actual.sha256} (${actual.bytes} bytes) on disk, ${sha256} recorded; run \`files verify\``,
            ),
        }).catch((err: unknown) => {
          if (err instanceof ExportError) throw err;
          throw new ExportError('EXPORT_FAILED', `stored file ${a.storedPath} (file ${a.fileId}) cannot be read: ${(err as Error).message}; run \`files verify\``);
        });
        this.report();
      }
      notes.push({
        file_id: a.fileId,
        file_name: a.fileName,
        state: a.state,
        path: a.entryPath,
        sha256: a.sha256,
        bytes: a.bytes,
        zoom_digest: a.zoomDigest,
        digest_mismatch: a.digestMismatch,
        first_missing_at: a.firstMissingAt,
      });
    }
    return notes;
  }

  private async packLegalHoldFiles(files: readonly LegalHoldFileToExport[]): Promise<BundleManifest['legal_hold_files']> {
    const entries = this.entries as BundleEntryBook;
    const notes: BundleManifest['legal_hold_files'] = [];
    for (const file of files) {
      throwIfAborted(this.s.deps.signal);
      await entries.addFile({
        path: file.entryPath,
        absolutePath: file.absolutePath,
        store: true,
        expected: { bytes: file.bytes, sha256: file.sha256 },
        mismatch: (actual) =>
          new ExportError(
            'EXPORT_LEGAL_HOLD_FILE_INVALID',
            `legal-hold file ${file.custodian}/${file.fileKey} at ${file.absolutePath} does not match what was stored: SHA-256 ${actual.sha256} (${actual.bytes} bytes) on disk, ${file.sha256} recorded`,
          ),
      });
      notes.push({ path: file.entryPath, custodian: file.custodian, file_key: file.fileKey, file_start_date: file.fileStartDate, file_end_date: file.fileEndDate });
      this.report();
    }
    return notes;
  }

  // --- progress ------------------------------------------------------------------------------

  private snapshot(): ExportProgress {
    return {
      phase: this.phase,
      versionsWritten: this.versionsWritten,
      versionsTotal: this.versionsTotal,
      contentBytes: this.entries?.contentBytes ?? 0,
      bundleBytes: this.bundle?.bytesWritten ?? 0,
      elapsedMs: this.s.clock.now().getTime() - this.s.createdAt.getTime(),
    };
  }

  progressRow(phase?: ExportPhase): Record<string, unknown> {
    const p = this.snapshot();
    return { phase: phase ?? p.phase, versions: p.versionsWritten, versions_total: p.versionsTotal, content_bytes: p.contentBytes, bundle_bytes: p.bundleBytes, elapsed_ms: p.elapsedMs };
  }

  private loggedPhase: ExportPhase | undefined;

  private report(force = false): void {
    const progress = this.snapshot();
    if (progress.phase !== this.loggedPhase) {
      this.loggedPhase = progress.phase;
      this.s.log.info({ phase: progress.phase, elapsedMs: progress.elapsedMs, versions: progress.versionsWritten, contentBytes: progress.contentBytes }, 'export phase');
    }
    this.s.options.onProgress?.(progress);
    const nowMs = this.s.clock.now().getTime();
    const intervalMs = this.s.options.progressIntervalMs ?? 3000;
    if (!force && nowMs - this.lastProgressWriteMs < intervalMs) return;
    this.lastProgressWriteMs = nowMs;
    const row = this.progressRow();
    // One write in flight at a time; a slow database never holds the export back.
    this.progressWrite = this.progressWrite
      .then(() => updateExportProgress(this.s.deps.pool, this.s.exportId, row))
      .catch((err: unknown) => this.s.log.warn({ err }, 'could not record export progress'));
  }
}
