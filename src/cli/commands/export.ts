import { Command, Option } from 'commander';
import { cliActor } from '../../audit/audit-log.js';
import type { Pool } from '../../db/pool.js';
import { AbortError, InputError } from '../../errors.js';
import {
  findExportsByPrefix,
  getExport,
  listExportAudit,
  listExports,
  parseExportRequest,
  resolveRecordedPath,
  runExport,
  summariseFilter,
  verifyBundle,
  EXPORT_FORMATS,
  isExportError,
  type ExportProgress,
  type ExportRecord,
  type ExportRequestInput,
  type BundleVerification,
} from '../../export/index.js';
import { formatBytes } from '../../export/text.js';
import { bundleProofOk, checkBundleProof, formatBundleProof } from '../../audit/export-proof.js';
import type { Logger } from '../../logging/logger.js';
import { stderrTerminal } from '../../logging/terminal.js';
import type { CommandContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../format-table.js';
import { runCommand as run } from '../run-command.js';

/**
 * `export` and its subcommands. `export` has four subcommands: `create` (the default, so
 * `export --matter M1` is `export create --matter M1`), `verify <bundle.zip>`, `list` and
 * `show <id>`. Commander tries the subcommand names first and hands anything else (flags) to
 * `create`, so `export verify x.zip` and `export --session verify` cannot be confused.
 * `verify` never opens the database: a bundle is checkable anywhere.
 */

interface CreateOptions {
  matter?: string;
  custodian?: string[];
  session?: string[];
  from?: string;
  to?: string;
  query?: string;
  formats?: string;
  out?: string;
  requestedBy?: string;
  json?: boolean;
}

const TERMINAL_REFRESH_MS = 250;
const LOG_INTERVAL_MS = 10_000;
const n = (value: number) => value.toLocaleString('en-US');

function progressBar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

export function formatExportProgressLine(p: ExportProgress): string {
  const seconds = Math.max(0.001, p.elapsedMs / 1000);
  const fraction = p.versionsTotal === 0 ? (p.phase === 'messages' ? 0 : 1) : p.versionsWritten / p.versionsTotal;
  const rate = p.contentBytes / 1024 / 1024 / seconds;
  return (
    `export ${p.phase.padEnd(10)} ▕${progressBar(fraction)}▏ ${Math.floor(fraction * 100)}% · ${n(p.versionsWritten)}/${n(p.versionsTotal)} versions · ` +
    `${formatBytes(p.contentBytes)} written (${formatBytes(p.bundleBytes)} zipped) · ${rate.toFixed(1)} MB/s · ${seconds.toFixed(0)} s`
  );
}

/** A live status line on a terminal; a structured progress log every 10 s otherwise. */
function startExportProgressDisplay(logger: Logger): { update(p: ExportProgress): void; stop(): void } {
  let latest: ExportProgress | undefined;
  const render = () => latest && stderrTerminal.setStatus(formatExportProgressLine(latest));
  const timer = stderrTerminal.isTTY
    ? setInterval(render, TERMINAL_REFRESH_MS)
    : setInterval(() => latest && logger.info({ job: 'export', ...latest }, 'export progress'), LOG_INTERVAL_MS);
  timer.unref();
  return {
    update(p) {
      latest = p;
    },
    stop() {
      clearInterval(timer);
      if (stderrTerminal.isTTY) {
        render();
        stderrTerminal.finishStatus();
      }
    },
  };
}

function formatCounts(record: ExportRecord): string {
  const c = record.counts;
  if (!c) return '';
  return `${n(c.sessions)} sessions · ${n(c.messages)} messages · ${n(c.versions)} versions (${n(c.edits)} edits, ${n(c.deletions)} deletions) · ${n(c.files)} files referenced`;
}

export function formatExportRecord(record: ExportRecord, dataDir: string): string {
  const lines = [`Export ${record.exportId}: ${record.state}`];
  const add = (label: string, value: string | null | undefined) => {
    if (value) lines.push(`  ${label.padEnd(12)} ${value}`);
  };
  add('selection', summariseFilter(record.filter));
  add('formats', record.formats.join(', '));
  add('requested by', record.requestedBy);
  add('requested at', record.requestedAt.toISOString());
  add('finished at', record.finishedAt?.toISOString());
  add('bundle', record.path ? resolveRecordedPath(dataDir, record.path) : null);
  add('bytes', record.bytes === null ? null : `${n(record.bytes)} (${formatBytes(record.bytes)})`);
  add('sha256', record.sha256);
  add('counts', formatCounts(record));
  add('error', record.error);
  if (record.state === 'running' && record.progress) add('progress', JSON.stringify(record.progress));
  if (record.state === 'complete' && record.path) add('verify', `zoom-chat-archiver export verify ${resolveRecordedPath(dataDir, record.path)} --sha256 ${record.sha256}`);
  return lines.join('\n');
}

export async function exportCreateCommand(ctx: CommandContext, options: CreateOptions): Promise<ExitCode> {
  const input: ExportRequestInput = {
    matter: options.matter,
    custodians: options.custodian,
    sessions: options.session,
    from: options.from,
    to: options.to,
    query: options.query,
    formats: options.formats,
    out: options.out,
    requestedBy: options.requestedBy,
  };
  // Validated before the database is even opened: a typo costs nothing.
  const request = parseExportRequest(input);
  const database = await ctx.openDatabase({ poolSize: 4 });
  const display = startExportProgressDisplay(ctx.logger);
  let record: ExportRecord;
  try {
    record = await runExport({ pool: database.pool, config: ctx.config, logger: ctx.logger, signal: ctx.signal }, request, cliActor(), { onProgress: (p) => display.update(p) });
  } catch (err) {
    display.stop();
    if (err instanceof AbortError) {
      process.stderr.write(`zoom-chat-archiver: ${err.message}\n`);
      return EXIT.INTERRUPTED;
    }
    if (isExportError(err)) {
      process.stderr.write(`zoom-chat-archiver: ${err.code}: ${err.message}\n`);
      return EXIT.FAILURE;
    }
    throw err;
  }
  display.stop();
  process.stdout.write(options.json ? `${JSON.stringify(record)}\n` : `${formatExportRecord(record, ctx.config.dataDir)}\n`);
  return EXIT.OK;
}

export function formatVerification(v: BundleVerification): string {
  if (v.ok) {
    return [
      `OK: ${v.bundlePath}`,
      `  bundle ${v.bundleId ?? '?'} · ${n(v.entriesChecked)} entries match manifest.json (size, SHA-256, CRC-32)`,
      `  bundle sha256 ${v.bundleSha256} (${n(v.bundleBytes)} bytes): compare with the one the archive recorded (export show <id>)`,
    ].join('\n');
  }
  return [`FAILED: ${v.bundlePath}`, `  ${v.problem?.message ?? 'unknown problem'}`, `  bundle sha256 ${v.bundleSha256} (${n(v.bundleBytes)} bytes)`].join('\n');
}

export async function exportVerifyCommand(ctx: CommandContext, bundle: string, options: { sha256?: string; json?: boolean; archive?: boolean }): Promise<ExitCode> {
  if (options.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(options.sha256)) throw new InputError('--sha256 must be 64 hexadecimal characters (the bundle SHA-256 shown by export show)', 'sha256');
  let verification: BundleVerification;
  try {
    verification = await verifyBundle(bundle, { ...(options.sha256 ? { expectedSha256: options.sha256 } : {}), signal: ctx.signal });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') throw new InputError(`cannot read ${bundle} (${code})`, 'bundle');
    throw err;
  }
  // The archive proof (src/audit/export-proof.ts): against messages.jsonl, and with --archive against the database.
  const proof = verification.ok && verification.manifest ? await checkBundleProof(bundle, verification.manifest, options.archive ? { pool: (await ctx.openDatabase({ poolSize: 2 })).pool } : {}) : undefined;
  if (options.json) {
    const { manifest: _manifest, ...summary } = verification;
    process.stdout.write(`${JSON.stringify({ ...summary, ...(proof ? { archive_proof: proof } : {}) })}\n`);
  } else {
    process.stdout.write(`${formatVerification(verification)}\n${proof ? formatBundleProof(proof) : ''}`);
  }
  return verification.ok && (proof === undefined || bundleProofOk(proof)) ? EXIT.OK : EXIT.FAILURE;
}

export async function exportListCommand(ctx: CommandContext, options: { limit: string; json?: boolean }): Promise<ExitCode> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new InputError('--limit must be a whole number from 1 to 10000', 'limit');
  const database = await ctx.openDatabase({ poolSize: 2 });
  const records = await listExports(database.pool, { limit });
  if (options.json) {
    for (const r of records) process.stdout.write(`${JSON.stringify(r)}\n`);
    return EXIT.OK;
  }
  const rows = records.map((r) => ({
    export_id: r.exportId,
    state: r.state,
    requested_at: r.requestedAt,
    requested_by: r.requestedBy,
    selection: summariseFilter(r.filter),
    versions: r.counts?.versions ?? (r.progress?.['versions'] as number | undefined) ?? null,
    size: r.bytes === null ? null : formatBytes(r.bytes),
    bundle: r.state === 'complete' ? r.path : r.error,
  }));
  process.stdout.write(`${formatTable(['export_id', 'state', 'requested_at', 'requested_by', 'selection', 'versions', 'size', 'bundle'], rows, 48)}\n(${rows.length} export${rows.length === 1 ? '' : 's'})\n`);
  return EXIT.OK;
}

async function resolveExport(pool: Pool, id: string): Promise<ExportRecord> {
  const exact = await getExport(pool, id);
  if (exact) return exact;
  if (id.length >= 4) {
    const matches = await findExportsByPrefix(pool, id.toLowerCase());
    if (matches.length === 1 && matches[0]) return matches[0];
    if (matches.length > 1) throw new InputError(`export id ${id} is ambiguous: ${matches.map((m) => m.exportId).join(', ')}`, 'id');
  }
  throw new InputError(`unknown export ${JSON.stringify(id)} (see export list)`, 'id');
}

export async function exportShowCommand(ctx: CommandContext, id: string, options: { json?: boolean }): Promise<ExitCode> {
  const database = await ctx.openDatabase({ poolSize: 2 });
  const record = await resolveExport(database.pool, id.trim());
  const audit = await listExportAudit(database.pool, record.exportId);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...record, audit })}\n`);
    return EXIT.OK;
  }
  const lines = [formatExportRecord(record, ctx.config.dataDir), '  audit log'];
  for (const a of audit) lines.push(`    ${a.at.toISOString()}  ${a.action.padEnd(15)}  ${a.actor}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.OK;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function registerExportCommands(program: Command): void {
  const exportCommand = program
    .command('export')
    .description('build a verifiable zip bundle of archived messages (JSONL, CSV, HTML transcripts, RSMF), verify one, or list past exports; `export --matter …` is `export create --matter …`');

  exportCommand
    .command('create', { isDefault: true })
    .description('export what one filter selects: --matter <id>, or --custodian <email>… --from --to, or --session <id>…')
    .option('--matter <id>', 'everything a legal-hold matter covers (with its stored legal-hold zips)')
    .option('--custodian <email...>', "custodians' sessions (sent, received or member); repeat or separate with commas; needs --from and --to", collect)
    .option('--session <id...>', 'these sessions; repeat or separate with commas', collect)
    .option('--from <yyyy-mm-dd>', 'first UTC day (inclusive) of messages sent')
    .option('--to <yyyy-mm-dd>', 'last UTC day (inclusive) of messages sent')
    .option('--query <text>', 'only messages whose text matches (web-search syntax: words, "phrases", -excluded, or)')
    .addOption(new Option('--formats <list>', `comma-separated subset of ${EXPORT_FORMATS.join(',')}`).default(EXPORT_FORMATS.join(',')))
    .option('--out <path.zip>', 'where to write the bundle (default: $ARCHIVE_DATA_DIR/exports/…); never overwrites')
    .option('--requested-by <name>', 'who asked for it (a person or a ticket); default the OS user')
    .option('--json', 'print the export record as JSON')
    .action((options: CreateOptions) => run((ctx) => exportCreateCommand(ctx, options)));

  exportCommand
    .command('verify')
    .description('check a bundle against its manifest (sizes, SHA-256, CRC-32) without the database; exit 0 only when everything matches')
    .argument('<bundle.zip>', 'the bundle to check')
    .option('--sha256 <hex>', 'also require the bundle file to have this SHA-256 (as recorded by the archive)')
    .option('--archive', "also check the bundle's archive proof (chain head, seals, every version) against the archive's database")
    .option('--json', 'print the result as JSON')
    .action((bundle: string, options: { sha256?: string; json?: boolean; archive?: boolean }) => run((ctx) => exportVerifyCommand(ctx, bundle, options)));

  exportCommand
    .command('list')
    .description('list past exports, newest first: who asked, when, what, and what became of it')
    .addOption(new Option('--limit <n>', 'how many').default('50'))
    .option('--json', 'print one JSON object per export')
    .action((options: { limit: string; json?: boolean }) => run((ctx) => exportListCommand(ctx, options)));

  exportCommand
    .command('show')
    .description('show one export (an id or a unique prefix of one) with its audit trail')
    .argument('<id>', 'export id')
    .option('--json', 'print as JSON')
    .action((id: string, options: { json?: boolean }) => run((ctx) => exportShowCommand(ctx, id, options)));
}
