import { Command } from 'commander';
import { requireZoomCredentials } from '../../config/config.js';
import { InputError } from '../../errors.js';
import { FILE_STATES, captureFiles, resetFailedFiles, verifyStoredFiles, type CaptureSummary } from '../../files/index.js';
import { listChatFiles, loadFileFigures } from '../../read-model/chat-files.js';
import { formatBytes } from '../../util/bytes.js';
import { systemClock } from '../../util/clock.js';
import type { CommandContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../format-table.js';
import { runCommand as run } from '../run-command.js';

/**
 * `zoom-chat-archiver files …`: the attachments shared in chat (README, "Files shared in chat").
 * Exit codes: 0 done; 1 a file failed, the stage stopped (disk full) or `verify` found a problem;
 * 2 bad input; 130 interrupted.
 */

export function registerFilesCommands(program: Command): void {
  const files = program.command('files').description('capture, list and verify the files shared in chat (README, "Files shared in chat")');

  files
    .command('sync')
    .description('reference the files of every archived version not seen yet, then download each file not stored yet into ARCHIVE_DATA_DIR/files/')
    .option('--retry-failed', 'give failed files a fresh budget of attempts first')
    .option('--retry-gone', 'with --retry-failed: also files Zoom said were gone')
    .option('--retry-too-large', 'with --retry-failed: also files over the size limit (after raising FILES_MAX_BYTES)')
    .option('--file <fileId...>', 'only these files')
    .option('--json', 'print the summary as JSON')
    .action((opts: { retryFailed?: boolean; retryGone?: boolean; retryTooLarge?: boolean; file?: string[]; json?: boolean }) => run((ctx) => syncCommand(ctx, opts)));

  files
    .command('list')
    .description('list file references (chat_files) by session, message or state, and the counts by state')
    .option('--session <sessionId>', 'one session')
    .option('--message <messageId>', 'one message')
    .option('--state <state>', `one state (${FILE_STATES.join(', ')})`)
    .option('--limit <n>', 'at most this many rows', '200')
    .option('--json', 'print as JSON')
    .action((opts: { session?: string; message?: string; state?: string; limit: string; json?: boolean }) => run((ctx) => listCommand(ctx, opts)));

  files
    .command('verify')
    .description('re-hash every stored file against the database; exit 1 on any missing or changed file')
    .option('--json', 'print the report as JSON')
    .action((opts: { json?: boolean }) => run((ctx) => verifyCommand(ctx, opts)));
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function formatCaptureSummary(s: CaptureSummary): string[] {
  const lines = [
    `referenced: ${s.referenced.referencesAdded} new file reference(s) in ${s.referenced.versionsScanned} version(s), ${s.referenced.filesAdded} new file(s)`,
    `captured: ${s.stored} stored (${s.deduplicated} already in the store), ${formatBytes(s.bytes)}; ${s.failed} failed, ${s.gone} gone, ${s.tooLarge} too large, ${s.skipped} skipped (another process had them) of ${s.candidates} due, in ${(s.durationMs / 1000).toFixed(1)} s`,
    `calls: ${s.infoCalls} Get file info, ${s.downloads} download(s)${s.bearerToken ? ' (with the bearer token: the signed URL alone was refused)' : ''}`,
  ];
  if (s.digestMismatches > 0) lines.push(`  !! ${s.digestMismatches} file(s) differ from Zoom's digest: recorded, content kept (files list --state stored --json shows digest_mismatch)`);
  if (s.sweptTempFiles > 0) lines.push(`  removed ${s.sweptTempFiles} temporary file(s) an interrupted run had left`);
  if (s.stoppedBy) lines.push(`  !! the stage stopped early: ${s.stoppedBy.message}`);
  if (s.budgetReached) lines.push('  stopped starting downloads after FILES_RUN_MINUTES; run it again, or with FILES_RUN_MINUTES=0, for the files left');
  return lines;
}

async function syncCommand(ctx: CommandContext, opts: { retryFailed?: boolean; retryGone?: boolean; retryTooLarge?: boolean; file?: string[]; json?: boolean }): Promise<ExitCode> {
  requireZoomCredentials(ctx.config);
  // Each download holds its file's lock on one connection and records on another.
  const db = await ctx.openDatabase({ poolSize: 2 * ctx.config.files.concurrency + 4 });
  if (opts.retryFailed) {
    const reset = await resetFailedFiles(db.pool, { includeGone: opts.retryGone === true, includeTooLarge: opts.retryTooLarge === true });
    if (!opts.json) print(`${reset} failed${opts.retryGone ? ', gone' : ''}${opts.retryTooLarge ? ', too large' : ''} file(s) given a fresh budget of attempts`);
  }
  const summary = await captureFiles(
    { pool: db.pool, zoom: ctx.zoom(), config: ctx.config, logger: ctx.logger, clock: systemClock, signal: ctx.signal },
    opts.file ? { fileIds: opts.file } : {},
  );
  if (opts.json) print(JSON.stringify(summary, null, 2));
  else print(formatCaptureSummary(summary).join('\n'));
  if (summary.stoppedBy?.code === 'ABORTED' || ctx.signal.aborted) return EXIT.INTERRUPTED;
  return summary.failed > 0 || summary.stoppedBy !== null ? EXIT.FAILURE : EXIT.OK;
}

async function listCommand(ctx: CommandContext, opts: { session?: string; message?: string; state?: string; limit: string; json?: boolean }): Promise<ExitCode> {
  if (opts.state !== undefined && !(FILE_STATES as readonly string[]).includes(opts.state)) throw new InputError(`--state must be one of ${FILE_STATES.join(', ')}`, 'state');
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new InputError('--limit must be a whole number from 1 to 100000', 'limit');
  const db = await ctx.openDatabase();
  const rows = await listChatFiles(db.pool, {
    limit,
    ...(opts.session ? { sessionId: opts.session } : {}),
    ...(opts.message ? { messageId: opts.message } : {}),
    ...(opts.state ? { state: opts.state } : {}),
  });
  const figures = await loadFileFigures(db.pool);
  if (opts.json) {
    print(JSON.stringify({ figures, rows }, null, 2));
    return EXIT.OK;
  }
  const counts = Object.entries(figures.byState)
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');
  print(`files: ${counts}; ${figures.storedContents} distinct content(s), ${formatBytes(figures.storedBytes)} stored${figures.digestMismatches > 0 ? `; ${figures.digestMismatches} differ from Zoom's digest` : ''}`);
  if (rows.length > 0) {
    print(
      formatTable(
        ['session', 'message', 'kind', 'file_id', 'name', 'size', 'state', 'detail'],
        rows.map((r) => ({
          session: r.sessionId.slice(0, 12),
          message: r.messageId,
          kind: r.versionKind,
          file_id: r.fileId ?? '',
          name: r.fileName ?? '',
          size: r.storedBytes ?? r.fileSize ?? '',
          state: r.state + (r.digestMismatch ? ' (digest mismatch)' : ''),
          detail: r.state === 'stored' ? (r.storedPath ?? '') : r.state === 'gone' ? `missing since ${r.firstMissingAt?.toISOString() ?? '?'}` : (r.lastError ?? ''),
        })),
        48,
      ),
    );
  }
  return EXIT.OK;
}

async function verifyCommand(ctx: CommandContext, opts: { json?: boolean }): Promise<ExitCode> {
  const db = await ctx.openDatabase();
  const report = await verifyStoredFiles(db.pool, ctx.config.dataDir, { signal: ctx.signal });
  if (opts.json) print(JSON.stringify(report, null, 2));
  else {
    const lines = [`verified ${report.checked} stored file(s), ${formatBytes(report.bytes)} re-hashed in ${(report.durationMs / 1000).toFixed(1)} s: ${report.ok} intact, ${report.problems.length} with problems`];
    for (const p of report.problems) lines.push(`  !! ${p.problem}: ${p.storedPath}: ${p.detail}`);
    print(lines.join('\n'));
  }
  if (ctx.signal.aborted) return EXIT.INTERRUPTED;
  return report.problems.length > 0 ? EXIT.FAILURE : EXIT.OK;
}
