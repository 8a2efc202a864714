/**
 * `legal-hold` commands: list, show, create, rename, delete, sync, files, download, verify. Over 400
 * lines because it is nine small commands and their option declarations; the work is in src/legal-hold.
 */
import { Command, Option } from 'commander';
import { cliActor } from '../../audit/audit-log.js';
import { requireZoomCredentials, type Config } from '../../config/config.js';
import type { Pool } from '../../db/pool.js';
import { InputError, isArchiverError } from '../../errors.js';
import {
  actorOf,
  createMatter,
  deleteMatter,
  downloadReadyFiles,
  loadFiles,
  loadMatters,
  passHasFailures,
  refreshFiles,
  renameMatter,
  resolveMatter,
  runLegalHoldPass,
  syncMatters,
  verifyStoredFiles,
  type DownloadSummary,
  type FileRecord,
  type FileRefreshSummary,
  type LegalHoldDeps,
  type LocalLegalHoldDeps,
  type MatterRecord,
  type VerifyReport,
} from '../../legal-hold/index.js';
import { validateCreateMatterInput, validateMatterName, validateMatterRef } from '../../legal-hold/validate.js';
import { systemClock } from '../../util/clock.js';
import { ZoomClient } from '../../zoom/client.js';
import type { CommandContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../format-table.js';
import { runCommand as run } from '../run-command.js';
import { formatBytes } from '../../util/bytes.js';

/**
 * `zoom-chat-archiver legal-hold …`: manage Zoom's legal-hold matters from here and keep every zip
 * Zoom prepares for them. Every change is made in Zoom first, then recorded in the local mirror and
 * the audit log (actor `cli:<os user>`). Exit codes: 0 done; 1 something failed (a download, a
 * verification, Zoom refused); 2 bad input or unknown matter, before any change; 130 interrupted.
 */

export function registerLegalHoldCommands(program: Command): void {
  const legalHold = program
    .command('legal-hold')
    .description("manage Zoom legal-hold matters and keep their zip files, verified (see README, \"Legal hold\")");

  legalHold
    .command('list')
    .description('refresh the matters from Zoom, then list every matter known here, deleted ones included')
    .option('--offline', 'do not ask Zoom; show the local mirror as it is')
    .option('--json', 'print as JSON')
    .action((opts: { offline?: boolean; json?: boolean }) => run((ctx) => listCommand(ctx, opts)));

  legalHold
    .command('show')
    .description("show one matter: its terms, custodians, files and audit trail")
    .argument('<matter>', 'matter id or exact name')
    .option('--json', 'print as JSON')
    .action((matter: string, opts: { json?: boolean }) => run((ctx) => showCommand(ctx, matter, opts)));

  legalHold
    .command('create')
    .description('create a matter in Zoom holding 1–20 custodians, and record it here')
    .requiredOption('--name <name>', 'matter name (1–128 characters)')
    .addOption(new Option('--custodian <email-or-user-id>', 'a user to hold; repeat for each (1–20)').argParser(collect).default([]))
    .option('--from <yyyy-mm-dd>', "first day held (default: the day Zoom creates the matter)")
    .option('--to <yyyy-mm-dd>', 'last day held (default: open-ended)')
    .option('--json', 'print the matter as JSON')
    .action((opts: { name: string; custodian: string[]; from?: string; to?: string; json?: boolean }) => run((ctx) => createCommand(ctx, opts)));

  legalHold
    .command('rename')
    .description('rename a matter in Zoom and here (the only change Zoom allows to a matter)')
    .argument('<matter>', 'matter id or exact name')
    .argument('<name>', 'new name (1–128 characters)')
    .action((matter: string, name: string) => run((ctx) => renameCommand(ctx, matter, name)));

  legalHold
    .command('delete')
    .description('delete a matter in Zoom; here it stays, marked deleted_here, with its stored files')
    .argument('<matter>', 'matter id or exact name')
    .option('--yes', 'confirm the deletion (required)')
    .option('--force', 'delete even though some of its files are not stored here yet (they are then lost)')
    .action((matter: string, opts: { yes?: boolean; force?: boolean }) => run((ctx) => deleteCommand(ctx, matter, opts)));

  legalHold
    .command('sync')
    .description("refresh the matters from Zoom, list every active matter's files, download what is ready")
    .option('--no-download', 'list matters and files only')
    .option('--json', 'print the summary as JSON')
    .action((opts: { download: boolean; json?: boolean }) => run((ctx) => syncCommand(ctx, opts)));

  legalHold
    .command('files')
    .description("show a matter's zip files and what became of each")
    .argument('<matter>', 'matter id or exact name')
    .option('--refresh', 'ask Zoom for the list of files first')
    .option('--json', 'print as JSON')
    .action((matter: string, opts: { refresh?: boolean; json?: boolean }) => run((ctx) => filesCommand(ctx, matter, opts)));

  legalHold
    .command('download')
    .description('list the files of one matter (or all active ones) and download every ready file not stored yet')
    .argument('[matter]', 'matter id or exact name (default: every active matter)')
    .option('--json', 'print the summary as JSON')
    .action((matter: string | undefined, opts: { json?: boolean }) => run((ctx) => downloadCommand(ctx, matter, opts)));

  legalHold
    .command('verify')
    .description('re-hash every stored zip (of one matter, or all) against the database; exit 1 on any mismatch or missing file')
    .argument('[matter]', 'matter id or exact name (default: every matter)')
    .option('--json', 'print the report as JSON')
    .action((matter: string | undefined, opts: { json?: boolean }) => run((ctx) => verifyCommand(ctx, matter, opts)));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

// ---------------------------------------------------------------------------------------------
// Wiring

/**
 * What one command uses, opened on first need and once: the database (migrated), then the Zoom
 * client. Credentials are checked before the database is opened when Zoom will be needed.
 */
class Session {
  private poolPromise: Promise<Pool> | undefined;
  private zoom: ZoomClient | undefined;

  constructor(private readonly ctx: CommandContext) {}

  pool(): Promise<Pool> {
    // One connection per download holds its file's lock; a few more serve queries.
    this.poolPromise ??= this.ctx.openDatabase({ poolSize: this.ctx.config.legalHold.downloadConcurrency + 4 }).then((db) => db.pool);
    return this.poolPromise;
  }

  async local(): Promise<LocalLegalHoldDeps> {
    const { ctx } = this;
    return { pool: await this.pool(), config: ctx.config, logger: ctx.logger, clock: systemClock, signal: ctx.signal, actor: cliActor() };
  }

  async withZoom(): Promise<LegalHoldDeps> {
    const credentials = requireZoomCredentials(this.ctx.config);
    const local = await this.local();
    this.zoom ??= new ZoomClient({ config: this.ctx.config.zoom, credentials, clock: systemClock, logger: this.ctx.logger });
    return { ...local, zoom: this.zoom };
  }

  /** Zoom when credentials are configured, else the local mirror only. */
  async zoomIfConfigured(): Promise<LocalLegalHoldDeps & { zoom?: ZoomClient }> {
    return hasCredentials(this.ctx.config) ? this.withZoom() : this.local();
  }

  async close(): Promise<void> {
    await this.zoom?.close();
  }
}

async function inSession<T>(ctx: CommandContext, work: (session: Session) => Promise<T>): Promise<T> {
  const session = new Session(ctx);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

function hasCredentials(config: Readonly<Config>): boolean {
  return Boolean(config.zoom.accountId && config.zoom.clientId && config.zoom.clientSecret);
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

// ---------------------------------------------------------------------------------------------
// Formatting

const STATE_MARK: Readonly<Record<string, string>> = { active: 'active', deleted_in_zoom: 'DELETED IN ZOOM (still held)', deleted_here: 'deleted here (released)' };

function formatSize(bytes: number | null): string {
  return bytes === null ? '' : formatBytes(bytes);
}

function dateRange(from: string | null, to: string | null): string {
  return `${from ?? '(creation day)'} … ${to ?? 'open-ended'}`;
}

function matterRows(matters: readonly MatterRecord[], files: readonly FileRecord[]): Array<Record<string, unknown>> {
  return matters.map((m) => {
    const own = files.filter((f) => f.matterId === m.matterId);
    return {
      matter: m.matterId,
      name: m.matterName,
      state: STATE_MARK[m.state] ?? m.state,
      dates: dateRange(m.startDate, m.endDate),
      custodians: m.custodians.length,
      files: `${own.filter((f) => f.state === 'stored').length}/${own.length} stored`,
      last_seen: m.lastSeenAt.toISOString().slice(0, 19).replace('T', ' '),
    };
  });
}

function fileRows(files: readonly FileRecord[]): Array<Record<string, unknown>> {
  return files.map((f) => ({
    custodian: f.custodian,
    file_key: f.fileKey,
    dates: `${f.fileStartDate ?? '?'} … ${f.fileEndDate ?? '?'}`,
    state: f.state,
    size: formatSize(f.storedBytes ?? f.announcedBytes),
    entries: f.zipEntries ?? f.fileCount ?? '',
    attempts: f.attempts,
    detail: f.state === 'stored' ? `sha256 ${f.sha256?.slice(0, 16) ?? ''}… ${f.storedPath ?? ''}` : (f.lastError ?? ''),
  }));
}

function formatRefresh(files: FileRefreshSummary): string[] {
  const lines = [`files: ${files.filesListed} listed for ${files.custodians} custodian(s) of ${files.matters} active matter(s); ${files.added} new, ${files.becameReady} became ready`];
  for (const f of files.failures) lines.push(`  !! listing ${f.matterId} / ${f.custodian} failed: ${f.error}`);
  if (files.malformed > 0) lines.push(`  !! ${files.malformed} file item(s) from Zoom had no usable file_key (see the log)`);
  for (const u of files.unready) lines.push(`  !! not ready for ${u.waitingHours} h: ${u.matterName} (${u.matterId}) / ${u.custodian} / ${u.fileKey}`);
  return lines;
}

function formatDownloads(d: DownloadSummary): string[] {
  const lines = [
    `downloads: ${d.stored.length} stored (${formatBytes(d.bytes)}), ${d.failed.length} failed, ${d.skipped} skipped (another process had them) of ${d.candidates} in ${(d.durationMs / 1000).toFixed(1)} s`,
  ];
  for (const s of d.stored) {
    const seconds = Math.max(s.transferMs, 1) / 1000;
    lines.push(`  stored ${s.storedPath}: ${formatBytes(s.bytes)}, ${s.zipEntries} entries, sha256 ${s.sha256}, ${(s.bytes / 1024 / 1024 / seconds).toFixed(1)} MiB/s`);
    for (const w of s.warnings) lines.push(`    warning: ${w}`);
  }
  for (const f of d.failed) lines.push(`  !! failed ${f.matterId} / ${f.custodian} / ${f.fileKey} after ${f.attempts} attempt(s): ${f.error}`);
  if (d.sweptTempFiles > 0) lines.push(`  removed ${d.sweptTempFiles} temporary file(s) an interrupted run had left`);
  if (d.stoppedBy) lines.push(`  !! the run stopped early: ${d.stoppedBy.code}: ${d.stoppedBy.message}`);
  return lines;
}

function downloadExit(d: DownloadSummary): ExitCode {
  if (d.stoppedBy?.code === 'ABORTED') return EXIT.INTERRUPTED;
  return d.failed.length > 0 || d.stoppedBy !== null ? EXIT.FAILURE : EXIT.OK;
}

// ---------------------------------------------------------------------------------------------
// Commands

export async function listCommand(ctx: CommandContext, options: { offline?: boolean; json?: boolean }): Promise<ExitCode> {
  return inSession(ctx, async (session) => {
    let refreshError: string | null = null;
    if (!options.offline) {
      const deps = await session.withZoom();
      try {
        await syncMatters(deps);
      } catch (err) {
        if (!isArchiverError(err) || err.code === 'ABORTED' || err.code === 'DATABASE_UNAVAILABLE') throw err;
        refreshError = `${err.code}: ${err.message}`;
      }
    }
    const pool = await session.pool();
    const matters = await loadMatters(pool);
    const files = await loadFiles(pool);
    if (options.json) {
      printJson({ refreshError, matters: matters.map((m) => ({ ...m, files: summariseStates(files.filter((f) => f.matterId === m.matterId)) })) });
    } else {
      if (refreshError) print(`!! could not refresh from Zoom, showing the local mirror: ${refreshError}`);
      print(matters.length === 0 ? 'no legal-hold matters known (create one with `legal-hold create`)' : formatTable(['matter', 'name', 'state', 'dates', 'custodians', 'files', 'last_seen'], matterRows(matters, files)));
    }
    return refreshError === null ? EXIT.OK : EXIT.FAILURE;
  });
}

function summariseStates(files: readonly FileRecord[]): Record<string, number> {
  const counts: Record<string, number> = { pending: 0, ready: 0, downloading: 0, stored: 0, failed: 0 };
  for (const f of files) counts[f.state] = (counts[f.state] ?? 0) + 1;
  return counts;
}

export async function showCommand(ctx: CommandContext, ref: string, options: { json?: boolean }): Promise<ExitCode> {
  validateMatterRef(ref);
  return inSession(ctx, async (session) => {
    const deps = await session.zoomIfConfigured();
    const matter = await resolveMatter(deps, ref);
    const files = await loadFiles(deps.pool, { matterId: matter.matterId });
    const audit = await deps.pool.query<{ at: Date; actor: string; action: string; subject_id: string }>(
      `SELECT at, actor, action, subject_id FROM public.audit_log
       WHERE (subject_type = 'legal_hold_matter' AND subject_id = $1) OR (subject_type = 'legal_hold_file' AND subject_id LIKE $2)
       ORDER BY audit_id`,
      [matter.matterId, `${matter.matterId.replace(/[\\%_]/g, '\\$&')}/%`],
    );
    if (options.json) {
      printJson({ matter, files, audit: audit.rows });
      return EXIT.OK;
    }
    const lines = [
      `matter     ${matter.matterId}`,
      `name       ${matter.matterName}`,
      `state      ${STATE_MARK[matter.state] ?? matter.state}${matter.deletedAt ? ` since ${matter.deletedAt.toISOString()}` : ''}`,
      `holds      ${dateRange(matter.startDate, matter.endDate)} (created in Zoom ${matter.creationDate ?? 'on a day Zoom has not confirmed yet'})`,
      `custodians ${matter.custodians.map((c) => (c.userId && c.email ? `${c.email} (${c.userId})` : c.identifier)).join(', ')}`,
      `seen       first ${matter.firstSeenAt.toISOString()}, last ${matter.lastSeenAt.toISOString()}${matter.createdHereAt ? `; created through this project ${matter.createdHereAt.toISOString()}` : ''}`,
      `files      ${Object.entries(summariseStates(files)).map(([s, n]) => `${n} ${s}`).join(', ')}`,
      '',
      files.length === 0 ? '(no files listed yet: `legal-hold download` lists and downloads them)' : formatTable(['custodian', 'file_key', 'dates', 'state', 'size', 'entries', 'attempts', 'detail'], fileRows(files), 48),
      '',
      'audit trail:',
      ...audit.rows.map((a) => `  ${a.at.toISOString()}  ${a.actor.padEnd(16)} ${a.action}${a.subject_id === matter.matterId ? '' : `  ${a.subject_id.slice(matter.matterId.length + 1)}`}`),
    ];
    print(lines.join('\n'));
    return EXIT.OK;
  });
}

export async function createCommand(ctx: CommandContext, options: { name: string; custodian: string[]; from?: string; to?: string; json?: boolean }): Promise<ExitCode> {
  // Validated before credentials, database or Zoom are touched.
  const input = validateCreateMatterInput({ name: options.name, custodians: options.custodian, from: options.from, to: options.to });
  const matter = await inSession(ctx, async (session) => {
    const deps = await session.withZoom();
    return createMatter(deps, input, actorOf(deps));
  });
  if (options.json) printJson(matter);
  else {
    print(`created matter ${matter.matterId} "${matter.matterName}" holding ${matter.custodians.map((c) => c.identifier).join(', ')} (${dateRange(matter.startDate, matter.endDate)})`);
    print('Zoom prepares the zip files over time: `legal-hold sync` (or the service) downloads them as they become ready.');
  }
  return EXIT.OK;
}

export async function renameCommand(ctx: CommandContext, ref: string, name: string): Promise<ExitCode> {
  validateMatterRef(ref);
  const newName = validateMatterName(name);
  const result = await inSession(ctx, async (session) => {
    const deps = await session.withZoom();
    return renameMatter(deps, { matter: ref, name: newName }, actorOf(deps));
  });
  print(result.changed ? `renamed matter ${result.matter.matterId} to "${result.matter.matterName}"` : `matter ${result.matter.matterId} is already named "${newName}"; nothing changed`);
  return EXIT.OK;
}

export async function deleteCommand(ctx: CommandContext, ref: string, options: { yes?: boolean; force?: boolean }): Promise<ExitCode> {
  validateMatterRef(ref);
  if (!options.yes) throw new InputError(`deleting a matter releases its hold in Zoom; add --yes to confirm (legal-hold delete ${JSON.stringify(ref)} --yes)`, 'yes');
  const matter = await inSession(ctx, async (session) => {
    const deps = await session.withZoom();
    return deleteMatter(deps, { matter: ref, force: options.force === true }, actorOf(deps));
  });
  print(`deleted matter ${matter.matterId} "${matter.matterName}" in Zoom; kept here as deleted_here with its stored files`);
  return EXIT.OK;
}

export async function syncCommand(ctx: CommandContext, options: { download: boolean; json?: boolean }): Promise<ExitCode> {
  const summary = await inSession(ctx, async (session) => runLegalHoldPass(await session.withZoom(), { download: options.download }));
  if (options.json) printJson(summary);
  else {
    const m = summary.matters;
    const lines = [
      `matters: ${m.listed} in Zoom; ${m.discovered.length} discovered, ${m.changed.length} changed in Zoom, ${m.reappeared.length} reappeared, ${m.deletedInZoom.length} deleted in Zoom (still held here)`,
    ];
    if (!m.absenceChecked) lines.push(`  !! ${m.malformed.length} matter item(s) from Zoom had no usable id; no matter was marked deleted this time`);
    lines.push(...formatRefresh(summary.files));
    if (summary.downloads) lines.push(...formatDownloads(summary.downloads));
    print(lines.join('\n'));
  }
  if (ctx.signal.aborted || summary.downloads?.stoppedBy?.code === 'ABORTED') return EXIT.INTERRUPTED;
  return passHasFailures(summary) ? EXIT.FAILURE : EXIT.OK;
}

export async function filesCommand(ctx: CommandContext, ref: string, options: { refresh?: boolean; json?: boolean }): Promise<ExitCode> {
  validateMatterRef(ref);
  return inSession(ctx, async (session) => {
    const deps = options.refresh ? await session.withZoom() : await session.zoomIfConfigured();
    const matter = await resolveMatter(deps, ref);
    const refresh: FileRefreshSummary | null = options.refresh ? await refreshFiles(await session.withZoom(), matter.matterId) : null;
    const files = await loadFiles(deps.pool, { matterId: matter.matterId });
    if (options.json) {
      printJson({ matter: { matterId: matter.matterId, name: matter.matterName, state: matter.state }, refresh, files });
    } else {
      print(`matter ${matter.matterId} "${matter.matterName}" (${STATE_MARK[matter.state] ?? matter.state})`);
      if (refresh) print(formatRefresh(refresh).join('\n'));
      print(files.length === 0 ? 'no files listed yet (`legal-hold files --refresh` asks Zoom)' : formatTable(['custodian', 'file_key', 'dates', 'state', 'size', 'entries', 'attempts', 'detail'], fileRows(files), 56));
    }
    return refresh !== null && refresh.failures.length > 0 ? EXIT.FAILURE : EXIT.OK;
  });
}

export async function downloadCommand(ctx: CommandContext, ref: string | undefined, options: { json?: boolean }): Promise<ExitCode> {
  if (ref !== undefined) validateMatterRef(ref);
  const result = await inSession(ctx, async (session) => {
    const deps = await session.withZoom();
    let matter: MatterRecord | undefined;
    if (ref !== undefined) {
      matter = await resolveMatter(deps, ref);
    } else if ((await loadMatters(deps.pool)).length === 0) {
      // Nothing mirrored yet: one listing of matters first, or there is nothing to download.
      await syncMatters(deps);
    }
    const refresh = await refreshFiles(deps, matter?.matterId);
    const downloads = await downloadReadyFiles(deps, matter?.matterId);
    return { matter, refresh, downloads };
  });
  const notes: string[] = [];
  if (result.matter && result.matter.state !== 'active') {
    notes.push(`matter ${result.matter.matterId} is ${STATE_MARK[result.matter.state] ?? result.matter.state}: Zoom no longer serves its files; what is stored here stays (see \`legal-hold files\`)`);
  }
  if (options.json) printJson({ refresh: result.refresh, downloads: result.downloads, notes });
  else print([...notes, ...formatRefresh(result.refresh), ...formatDownloads(result.downloads)].join('\n'));
  if (ctx.signal.aborted) return EXIT.INTERRUPTED;
  const code = downloadExit(result.downloads);
  return code === EXIT.OK && result.refresh.failures.length > 0 ? EXIT.FAILURE : code;
}

export async function verifyCommand(ctx: CommandContext, ref: string | undefined, options: { json?: boolean }): Promise<ExitCode> {
  if (ref !== undefined) validateMatterRef(ref);
  const report: VerifyReport = await inSession(ctx, async (session) => {
    const deps = await session.zoomIfConfigured();
    const matterId = ref === undefined ? undefined : (await resolveMatter(deps, ref)).matterId;
    return verifyStoredFiles(deps, matterId);
  });
  if (options.json) printJson(report);
  else {
    const lines = [`verified ${report.checked} stored file(s), ${formatBytes(report.bytes)} re-hashed in ${(report.durationMs / 1000).toFixed(1)} s: ${report.ok} intact, ${report.problems.length} with problems`];
    for (const p of report.problems) lines.push(`  !! ${p.problem}: ${p.matterId} / ${p.custodian} / ${p.fileKey}: ${p.message}`);
    print(lines.join('\n'));
  }
  if (ctx.signal.aborted) return EXIT.INTERRUPTED;
  return report.problems.length > 0 ? EXIT.FAILURE : EXIT.OK;
}
