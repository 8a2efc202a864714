import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { tryAdvisoryLock } from '../db/advisory-lock.js';
import type { Pool, PoolClient } from '../db/pool.js';
import { AbortError, InputError, throwIfAborted } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { systemClock, type Clock } from '../util/clock.js';
import { VERSION } from '../version.js';
import { defaultBundlePath, recordedPath, spoolPathFor, tmpPathFor } from './bundle-paths.js';
import { BundleWriter, type BundleEntryStream } from './bundle-writer.js';
import { ExportError, isDiskFull, isExportError } from './errors.js';
import { completeExportRecord, createExportRecord, failExportRecord, updateExportProgress } from './export-store.js';
import { summariseFilter } from './filter-summary.js';
import { loadLegalHoldFiles, loadMatterCustodianEmails, type LegalHoldFileToExport } from './legal-hold-files.js';
import { MANIFEST_FORMAT, MANIFEST_FORMAT_VERSION, MANIFEST_PATH, renderManifest, type BundleManifest, type ManifestEntry } from './manifest.js';
import { describeMessage } from './message-history.js';
import { loadPeople, PeopleDirectory } from './people.js';
import { sessionTitle } from './session-title.js';
import { createHeapGuard } from './heap-guard.js';
import { checkExportRequest } from './request.js';
import { loadArchiveProof } from '../audit/export-proof.js';
import { buildCountQuery, buildCrossDayThreadQuery, buildSelectionWhere, buildVersionQuery, rowToCounts } from './selection.js';
import { Spool, type SpooledEntry, type SpoolFile } from './spool.js';
import { exportLockName, sweepStaleExports } from './stale-exports.js';
import { safePathSegment } from './text.js';
import type { ExportCounts, ExportPhase, ExportProgress, ExportRecord, ExportRequest, SessionInfo, VersionRow } from './types.js';
import { formatCsvHeader, formatCsvRow } from './writers/csv.js';
import { renderIndexFooter, renderIndexHeader, renderIndexRow, SessionTranscript, type TranscriptContext } from './writers/html.js';
import { formatJsonlLine } from './writers/jsonl.js';
import { RsmfSessionWriter, type RsmfContext } from './writers/rsmf.js';

/**
 * One export, start to finish: validate, record it (row + audit), read the selection once from a
 * server-side cursor in a REPEATABLE READ snapshot, stream every entry into the zip, write the
 * manifest last, fsync, rename, record the result. On any failure or abort the .tmp file and the
 * spool are removed and the row is marked failed: nothing that looks complete is left behind.
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
const CURSOR = 'export_versions';

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
  if (!lock) throw new Error(`could not take the lock of new export ${exportId}`);
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

/** Per session: main message id → its last reply's send time, for threads answered on a later UTC day. */
async function loadCrossDayThreads(client: PoolClient, filter: ExportRequest['filter']): Promise<Map<string, Map<string, string>>> {
  const query = buildCrossDayThreadQuery(filter);
  const res = await client.query<{ session_id: string; main_message_id: string; last_reply_at: string }>(query.text, query.values);
  const threads = new Map<string, Map<string, string>>();
  for (const r of res.rows) {
    let session = threads.get(r.session_id);
    if (!session) threads.set(r.session_id, (session = new Map()));
    session.set(r.main_message_id, r.last_reply_at);
  }
  return threads;
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

/** A text entry being written: straight into the zip, or into the spool. */
type TextSink = BundleEntryStream | SpoolFile;

interface OpenSession {
  id: string;
  info: SessionInfo | undefined;
  name: string | null;
  transcript?: SessionTranscript;
  htmlFile?: SpoolFile;
  rsmf?: RsmfSessionWriter;
}

class ExportJob {
  private readonly s: JobSettings;
  private phase: ExportPhase = 'preparing';
  private versionsWritten = 0;
  private versionsTotal = 0;
  private contentBytesDone = 0;
  private bundle: BundleWriter | undefined;
  private spool: Spool | undefined;
  private lastProgressWriteMs = 0;
  private progressWrite: Promise<void> = Promise.resolve();
  private readonly heap = createHeapGuard();

  // Writers of the pass. They take one line (or one message) at a time: DeflatingWriter encodes it straight into its buffer.
  private jsonl: TextSink | undefined;
  private csv: TextSink | undefined;
  private indexFile: SpoolFile | undefined;
  private session: OpenSession | undefined;
  private group: VersionRow[] = [];
  private readonly sessionInfos = new Map<string, SessionInfo>();
  private readonly spooledCsv: SpooledEntry[] = [];
  private readonly spooledTranscripts: SpooledEntry[] = [];
  private readonly spooledRsmf: SpooledEntry[] = [];
  private readonly manifestEntries: ManifestEntry[] = [];
  private transcriptContext!: TranscriptContext;
  private rsmfContext!: RsmfContext;
  private people = new PeopleDirectory();

  constructor(settings: JobSettings) {
    this.s = settings;
  }

  private has(format: ExportRequest['formats'][number]): boolean {
    return this.s.request.formats.includes(format);
  }

  async run(): Promise<BundleOutcome> {
    const { deps, exportId, finalPath } = this.s;
    const client = await deps.pool.connect();
    let inTransaction = false;
    try {
      this.bundle = await BundleWriter.open(tmpPathFor(finalPath, exportId), finalPath, this.s.createdAt);
      this.spool = await Spool.create(spoolPathFor(finalPath, exportId));

      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      inTransaction = true;
      const countQuery = buildCountQuery(this.s.request.filter);
      const counts = rowToCounts((await client.query(countQuery.text, countQuery.values)).rows[0] as Record<string, unknown> | undefined);
      this.versionsTotal = counts.versions;
      const filter = this.s.request.filter;
      // Which state of the archive the bundle comes from: the chain head and the seals, in this snapshot.
      const archiveProof = await loadArchiveProof(client, buildSelectionWhere(filter));
      const legalHold = filter.kind === 'matter' ? await loadLegalHoldFiles(client, filter.matterId, deps.config.dataDir) : [];
      const custodians = filter.kind === 'custodians' ? filter.custodians : filter.kind === 'matter' ? await loadMatterCustodianEmails(client, filter.matterId) : [];
      this.transcriptContext = { bundleId: exportId, createdAt: this.s.createdAt.toISOString(), filterSummary: summariseFilter(filter) };
      // Who is who, from every record of the selection: names people who only react or receive in a file.
      if (this.has('csv') || this.has('html') || this.has('rsmf')) this.people = await loadPeople(client, filter);
      this.rsmfContext = {
        bundleId: exportId,
        generator: `zoom-chat-archiver/${VERSION}`,
        custodians: new Set(custodians),
        people: this.people,
        crossDayThreads: this.has('rsmf') ? await loadCrossDayThreads(client, filter) : new Map(),
      };
      this.s.log.info({ versionsTotal: counts.versions, sessions: counts.sessions, legalHoldFiles: legalHold.length }, 'selection counted; writing the bundle');

      this.phase = 'messages';
      this.report(true);
      await this.openWriters();
      const streamed = await this.readVersions(client);
      await client.query('COMMIT');
      inTransaction = false;
      if (streamed !== counts.versions) throw new Error(`read ${streamed} versions but the snapshot counted ${counts.versions}`);
      await this.closeWriters(counts);

      this.phase = 'packing';
      this.report(true);
      await this.packSpooledEntries();

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
        archive_proof: archiveProof,
        entries: this.manifestEntries,
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

  private async openWriters(): Promise<void> {
    const bundle = this.bundle as BundleWriter;
    const spool = this.spool as Spool;
    // The first of jsonl/csv streams straight into the zip; everything else goes through the spool.
    if (this.has('jsonl')) this.jsonl = bundle.openEntry('messages.jsonl');
    if (this.has('csv')) this.csv = this.jsonl ? spool.createFile('messages.csv') : bundle.openEntry('messages.csv');
    await this.csv?.write(formatCsvHeader());
    if (this.has('html')) {
      this.indexFile = spool.createFile('index.html');
      await this.indexFile.write(renderIndexHeader(this.transcriptContext, this.s.request.formats));
    }
  }

  private async readVersions(client: PoolClient): Promise<number> {
    const query = buildVersionQuery(this.s.request.filter);
    await client.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${query.text}`, query.values);
    let fetchRows = MAX_FETCH_ROWS;
    let streamed = 0;
    // The next batch is asked for before this one is written, so PostgreSQL works while we do.
    const fetch = (rows: number) => {
      const next = client.query<VersionRow>(`FETCH ${rows} FROM ${CURSOR}`);
      next.catch(() => undefined); // awaited below; never an unhandled rejection if we stop first
      return next;
    };
    let pending = fetch(fetchRows);
    while (true) {
      throwIfAborted(this.s.deps.signal);
      const rows = (await pending).rows;
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
        } else if (row.message_id !== this.group[0]?.message_id) {
          await this.closeMessage();
        }
        this.group.push(row);
        const name = this.session?.name ?? null;
        if (this.jsonl) {
          const wait = this.jsonl.write(formatJsonlLine(row, name));
          if (wait) await wait;
        }
        if (this.csv) {
          const wait = this.csv.write(formatCsvRow(row, name, this.people));
          if (wait) await wait;
        }
      }
      streamed += rows.length;
      this.versionsWritten = streamed;
      this.heap.check();
      this.report();
    }
    await client.query(`CLOSE ${CURSOR}`);
    await this.closeMessage();
    await this.closeSession();
    return streamed;
  }

  /** Session metadata for the sessions a batch starts, in one query per batch (same snapshot). */
  private async loadSessionInfos(client: PoolClient, rows: readonly VersionRow[]): Promise<void> {
    const wanted = [...new Set(rows.map((r) => r.session_id))].filter((id) => id !== this.session?.id && !this.sessionInfos.has(id));
    if (wanted.length === 0) return;
    const res = await client.query<SessionInfo>(
      `SELECT session_id, name, type, channel_id, member_emails, status, has_external_member FROM public.chat_sessions WHERE session_id = ANY($1::text[])`,
      [wanted],
    );
    for (const info of res.rows) this.sessionInfos.set(info.session_id, info);
  }

  private async openSession(sessionId: string): Promise<void> {
    const info = this.sessionInfos.get(sessionId);
    this.sessionInfos.delete(sessionId);
    // The same name in every format: a 1:1 chat, unnamed in Zoom, is "1:1 chat: a & b" in CSV and JSONL too.
    const session: OpenSession = { id: sessionId, info, name: sessionTitle(info, sessionId) };
    const safeId = safePathSegment(sessionId);
    if (this.has('html')) {
      session.transcript = new SessionTranscript(sessionId, info, this.transcriptContext, this.people);
      session.htmlFile = (this.spool as Spool).createFile(`transcripts/${safeId}.html`);
      await session.htmlFile.write(session.transcript.renderHeader());
    }
    if (this.has('rsmf')) session.rsmf = new RsmfSessionWriter(sessionId, info, safeId, this.rsmfContext);
    this.session = session;
  }

  private async closeMessage(): Promise<void> {
    const session = this.session;
    if (this.group.length === 0 || !session) return;
    const history = describeMessage(this.group, session.info);
    this.group = [];
    if (session.transcript && session.htmlFile) {
      const wait = session.htmlFile.write(session.transcript.renderMessage(history));
      if (wait) await wait;
    }
    if (session.rsmf) for (const file of await session.rsmf.add(history)) await this.spoolRsmf(file.path, file.content);
  }

  private async closeSession(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    if (session.transcript && session.htmlFile) {
      await session.htmlFile.write(session.transcript.renderFooter());
      const entry = await session.htmlFile.end();
      this.spooledTranscripts.push(entry);
      this.contentBytesDone += entry.bytes;
      await this.indexFile?.write(
        renderIndexRow({ href: entry.entryName, title: session.transcript.title, sessionId: session.id, type: session.info?.type ?? null, stats: session.transcript.stats }),
      );
    }
    if (session.rsmf) {
      const file = await session.rsmf.flush();
      if (file) await this.spoolRsmf(file.path, file.content);
    }
  }

  private async spoolRsmf(entryName: string, content: Buffer): Promise<void> {
    const file = (this.spool as Spool).createFile(entryName);
    await file.write(content);
    const entry = await file.end();
    this.spooledRsmf.push(entry);
    this.contentBytesDone += entry.bytes;
  }

  private async closeWriters(counts: ExportCounts): Promise<void> {
    if (this.jsonl) {
      const digest = await this.jsonl.end();
      this.manifestEntries.push({ path: 'messages.jsonl', bytes: digest.bytes, sha256: digest.sha256 });
      this.contentBytesDone += digest.bytes;
      this.jsonl = undefined;
    }
    if (this.csv) {
      const digest = await this.csv.end();
      if ('entryName' in digest) this.spooledCsv.push(digest as SpooledEntry);
      else this.manifestEntries.push({ path: 'messages.csv', bytes: digest.bytes, sha256: digest.sha256 });
      this.contentBytesDone += digest.bytes;
      this.csv = undefined;
    }
    if (this.indexFile) {
      await this.indexFile.write(renderIndexFooter(counts));
      const entry = await this.indexFile.end();
      this.spooledTranscripts.unshift(entry);
      this.contentBytesDone += entry.bytes;
      this.indexFile = undefined;
    }
  }

  // --- after the pass ------------------------------------------------------------------------

  /** Copies the spooled (already deflated) entries into the zip, checking each is what was written. */
  private async packSpooledEntries(): Promise<void> {
    const bundle = this.bundle as BundleWriter;
    for (const entry of [...this.spooledCsv, ...this.spooledTranscripts, ...this.spooledRsmf]) {
      throwIfAborted(this.s.deps.signal);
      await bundle.appendDeflatedFile(entry.entryName, entry.filePath, entry);
      this.manifestEntries.push({ path: entry.entryName, bytes: entry.bytes, sha256: entry.sha256 });
      this.heap.check();
      this.report();
    }
  }

  private async packLegalHoldFiles(files: readonly LegalHoldFileToExport[]): Promise<BundleManifest['legal_hold_files']> {
    const bundle = this.bundle as BundleWriter;
    const notes: BundleManifest['legal_hold_files'] = [];
    for (const file of files) {
      throwIfAborted(this.s.deps.signal);
      const digest = await bundle.appendFile(file.entryPath, file.absolutePath, { store: true });
      if (digest.sha256 !== file.sha256 || digest.bytes !== file.bytes) {
        throw new ExportError(
          'EXPORT_LEGAL_HOLD_FILE_INVALID',
          `legal-hold file ${file.custodian}/${file.fileKey} at ${file.absolutePath} does not match what was stored: SHA-256 ${digest.sha256} (${digest.bytes} bytes) on disk, ${file.sha256} recorded`,
        );
      }
      this.manifestEntries.push({ path: file.entryPath, bytes: digest.bytes, sha256: digest.sha256 });
      notes.push({ path: file.entryPath, custodian: file.custodian, file_key: file.fileKey, file_start_date: file.fileStartDate, file_end_date: file.fileEndDate });
      this.contentBytesDone += digest.bytes;
      this.report();
    }
    return notes;
  }

  // --- progress ------------------------------------------------------------------------------

  private snapshot(): ExportProgress {
    const inFlight = (this.jsonl?.bytesWritten ?? 0) + (this.csv?.bytesWritten ?? 0) + (this.indexFile?.bytesWritten ?? 0) + (this.session?.htmlFile?.bytesWritten ?? 0);
    return {
      phase: this.phase,
      versionsWritten: this.versionsWritten,
      versionsTotal: this.versionsTotal,
      contentBytes: this.contentBytesDone + inFlight,
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
