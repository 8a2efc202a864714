import { Command, Option } from 'commander';
import { cliActor } from '../../audit/audit-log.js';
import { formatHead, loadChainHead, parseHeadArgument, publishChainHead, readHeadFile, type PublishedHead } from '../../audit/head.js';
import { countQueuedVersions, parseWindowArgument, sealPendingWindows, verifyArchive, type ArchiveVerification } from '../../audit/seals.js';
import { verifyAuditChain, type ChainVerification } from '../../audit/verify-chain.js';
import { InputError } from '../../errors.js';
import { formatBytes } from '../../export/text.js';
import { applyRetention, planRetention, policyFrom, retentionIsOff, type RetentionPlan } from '../../retention/retention.js';
import { systemClock } from '../../util/clock.js';
import type { CommandContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { runCommand as run } from '../run-command.js';

/**
 * The archive's proofs and its lifecycle, from the command line (README, "Tamper evidence" and
 * "Retention"):
 *
 * - `audit verify` recomputes the audit log's hash chain and checks it against published heads;
 *   `audit head [--publish]` shows (and publishes) the chain head;
 * - `archive verify [--window M]` checks every version against its window's seal; `archive seal`
 *   seals what is waiting now instead of at the end of the next pass;
 * - `retention plan` shows what the retention policy would dispose of (changing nothing);
 *   `retention apply --yes [--plan ID]` disposes of exactly that.
 *
 * Verification exits 0 when everything matches and 1 when anything does not.
 */

const n = (value: number) => Math.round(value).toLocaleString('en-US');
const collect = (value: string, previous: string[]) => [...previous, value];

export function registerProofCommands(program: Command): void {
  const audit = program.command('audit').description('the audit log\'s hash chain: verify it, show and publish its head (README, "Tamper evidence")');
  audit
    .command('verify')
    .description('recompute the hash chain of the audit log and name the first row where it breaks (changed, moved, removed, inserted); also checks every head in AUDIT_HEAD_FILE and given with --head')
    .addOption(new Option('--head <position:hash>', 'a head published earlier (status, the daily Zoom message); repeat for several').argParser(collect).default([]))
    .option('--heads-file <file>', 'a file of published heads (JSON lines, as AUDIT_HEAD_FILE writes them)')
    .option('--json', 'print the result as JSON')
    .action((opts: { head: string[]; headsFile?: string; json?: boolean }) => run((ctx) => auditVerifyCommand(ctx, opts)));
  audit
    .command('head')
    .description('print the chain head (position and hash); --publish also appends it to AUDIT_HEAD_FILE and records the publication in the chain')
    .option('--publish', 'publish the head now')
    .option('--json', 'print as JSON')
    .action((opts: { publish?: boolean; json?: boolean }) => run((ctx) => auditHeadCommand(ctx, opts)));

  const archive = program.command('archive').description('window seals: verify the archive against them, or seal what is waiting');
  archive
    .command('verify')
    .description('check every archived version against its window\'s seal and name each version added, changed or removed since; versions disposed of by retention are reported as such')
    .option('--window <yyyy-mm>', 'only this window')
    .option('--json', 'print the result as JSON')
    .action((opts: { window?: string; json?: boolean }) => run((ctx) => archiveVerifyCommand(ctx, opts)));
  archive
    .command('seal')
    .description('seal now what is waiting (versions that arrived for sealed windows, complete windows never sealed); sync passes do this at their end')
    .action(() => run((ctx) => archiveSealCommand(ctx)));

  const retention = program.command('retention').description('dispose of messages past their retention period, never held ones (off unless RETENTION_DAYS or RETENTION_DAYS_BY_TYPE is set)');
  retention
    .command('plan')
    .description('show what the retention policy would dispose of today (counts, oldest, newest, bytes) and what legal holds keep; changes nothing')
    .option('--json', 'print the plan as JSON')
    .action((opts: { json?: boolean }) => run((ctx) => retentionPlanCommand(ctx, opts)));
  retention
    .command('apply')
    .description('dispose of what the plan lists, through the audited disposal path; with --plan, only if the archive still matches that plan')
    .option('--plan <id>', 'the plan id `retention plan` printed: nothing is disposed of unless the plan is still exactly that')
    .option('--yes', 'really dispose of it (required)')
    .option('--json', 'print the outcome as JSON')
    .action((opts: { plan?: string; yes?: boolean; json?: boolean }) => run((ctx) => retentionApplyCommand(ctx, opts)));
}

export async function auditVerifyCommand(ctx: CommandContext, options: { head: string[]; headsFile?: string; json?: boolean }): Promise<ExitCode> {
  const heads: PublishedHead[] = options.head.map(parseHeadArgument);
  if (ctx.config.audit.headFile) heads.push(...(await readHeadFile(ctx.config.audit.headFile)));
  if (options.headsFile) heads.push(...(await readHeadFile(options.headsFile)));
  const database = await ctx.openDatabase({ poolSize: 2 });
  const result = await verifyAuditChain(database.pool, { heads, signal: ctx.signal });
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : formatChainVerification(result));
  return result.ok ? EXIT.OK : EXIT.FAILURE;
}

export function formatChainVerification(v: ChainVerification): string {
  const head = v.head ? `head ${formatHead(v.head)} (audit row ${v.head.auditId}, ${v.head.at})` : 'no chain';
  const lines: string[] = [];
  if (v.ok) {
    lines.push(`OK: the audit chain verifies: ${n(v.rowsChecked)} row(s) from the genesis row on${v.legacyRows > 0 ? `, and the ${n(v.legacyRows)} row(s) written before the chain match its digest` : ''}`);
    lines.push(`  ${head}`);
    lines.push(`  ${v.headsChecked} published head(s) checked${v.headsChecked === 0 ? ' (set AUDIT_HEAD_FILE or pass --head to check the chain against heads published outside the database)' : ''}`);
  } else {
    const f = v.findings[0]!;
    lines.push(`FAILED: ${f.message}`);
    for (const other of v.findings.slice(1)) lines.push(`  also: ${other.message}`);
    lines.push(`  ${n(v.rowsChecked)} chain row(s) read; ${head}`);
  }
  lines.push(`  ${(v.durationMs / 1000).toFixed(1)} s`);
  return `${lines.join('\n')}\n`;
}

export async function auditHeadCommand(ctx: CommandContext, options: { publish?: boolean; json?: boolean }): Promise<ExitCode> {
  const database = await ctx.openDatabase({ poolSize: 2 });
  if (options.publish) {
    const published = await publishChainHead({ db: database.pool, clock: systemClock, headFile: ctx.config.audit.headFile, actor: cliActor() });
    process.stdout.write(
      options.json
        ? `${JSON.stringify(published)}\n`
        : `published head ${formatHead(published.head)} (audit row ${published.head.auditId}, ${published.head.at})${published.file ? ` to ${published.file}` : ' (AUDIT_HEAD_FILE is not set: recorded in the chain only)'}; publication recorded as audit row ${published.auditId}\n`,
    );
    return EXIT.OK;
  }
  const head = await loadChainHead(database.pool);
  process.stdout.write(options.json ? `${JSON.stringify(head)}\n` : head ? `${formatHead(head)}  (audit row ${head.auditId}, ${head.at})\n` : 'no chain yet\n');
  return EXIT.OK;
}

export async function archiveVerifyCommand(ctx: CommandContext, options: { window?: string; json?: boolean }): Promise<ExitCode> {
  const window = options.window === undefined ? undefined : parseWindowArgument(options.window);
  const database = await ctx.openDatabase({ poolSize: 2 });
  const result = await verifyArchive(database.pool, { ...(window ? { window } : {}), signal: ctx.signal });
  const queued = await countQueuedVersions(database.pool);
  process.stdout.write(options.json ? `${JSON.stringify({ ...result, queued })}\n` : formatArchiveVerification(result));
  return result.ok ? EXIT.OK : EXIT.FAILURE;
}

export function formatArchiveVerification(v: ArchiveVerification): string {
  const lines: string[] = [];
  const disposed = v.windows.reduce((s, w) => s + w.disposed, 0);
  const queued = v.windows.reduce((s, w) => s + w.queued, 0);
  const rate = v.durationMs > 0 ? ` (${n((v.versionsChecked / v.durationMs) * 1000)} versions/s)` : '';
  if (v.ok) lines.push(`OK: ${n(v.versionsChecked)} version(s) in ${v.windows.length} sealed window(s) match their seals`);
  else {
    lines.push(`FAILED: ${v.findings[0]?.message ?? 'a window does not match its seal'}`);
    for (const f of v.findings.slice(1)) lines.push(`  also: ${f.message}`);
  }
  for (const w of v.windows) {
    const extra = [w.disposed > 0 ? `${n(w.disposed)} disposed of by retention` : '', w.queued > 0 ? `${n(w.queued)} arrived after the seal, queued for the next one` : ''].filter((s) => s !== '');
    lines.push(`  ${w.window.slice(0, 7)}  ${w.ok ? 'ok    ' : 'BROKEN'}  ${n(w.versions)} version(s), seal #${w.seal.seals} (audit row ${w.seal.auditId}, root ${w.seal.root.slice(0, 16)}…)${extra.length > 0 ? `; ${extra.join('; ')}` : ''}`);
  }
  if (disposed > 0) lines.push(`  ${n(disposed)} sealed version(s) are gone because retention disposed of them (retention.dispose in the audit log lists each)`);
  if (queued > 0) lines.push(`  ${n(queued)} version(s) wait for their window's next seal (the end of the next sync pass, or archive seal)`);
  for (const u of v.unsealed) lines.push(`  ${u.window.slice(0, 7)}  not sealed (window not complete yet): ${n(u.versions)} version(s) not checked`);
  lines.push(`  ${(v.durationMs / 1000).toFixed(1)} s${rate}`);
  return `${lines.join('\n')}\n`;
}

export async function archiveSealCommand(ctx: CommandContext): Promise<ExitCode> {
  const database = await ctx.openDatabase({ poolSize: 2 });
  const written = await sealPendingWindows(database.pool, 'archive seal', cliActor());
  process.stdout.write(`${written} seal(s) written\n`);
  return EXIT.OK;
}

export async function retentionPlanCommand(ctx: CommandContext, options: { json?: boolean }): Promise<ExitCode> {
  const policy = policyFrom(ctx.config.retention);
  const database = await ctx.openDatabase({ poolSize: 2 });
  const plan = await planRetention(database.pool, policy, systemClock);
  process.stdout.write(options.json ? `${JSON.stringify(plan)}\n` : formatRetentionPlan(plan, retentionIsOff(policy)));
  return EXIT.OK;
}

export function formatRetentionPlan(p: RetentionPlan, off: boolean): string {
  const lines: string[] = [];
  if (off) {
    lines.push('Retention is off: everything is kept (set RETENTION_DAYS or RETENTION_DAYS_BY_TYPE to dispose of old messages).');
    return `${lines.join('\n')}\n`;
  }
  const day = (iso: string | null) => (iso === null ? 'never' : iso.slice(0, 10));
  lines.push(`Retention plan ${p.planId} (as of ${p.asOf}; changes nothing)`);
  lines.push(`  policy: messages whose last version is older than ${p.policy.days === null ? '(no default: kept)' : `${p.policy.days} days (before ${day(p.cutoffs.default)})`}`);
  for (const [type, days] of Object.entries(p.policy.daysByType)) lines.push(`          ${type}: ${days === null ? 'kept forever' : `${days} days (before ${day(p.cutoffs.byType[type] ?? null)})`}`);
  const d = p.dispose;
  lines.push(`  to dispose of: ${n(d.messages)} message(s), ${n(d.versions)} version(s) in ${n(d.sessions)} session(s), ${formatBytes(d.bytes)}${d.oldest ? `; last versions from ${d.oldest} to ${d.newest}` : ''}`);
  for (const t of d.byType) lines.push(`    ${t.type}: ${n(t.messages)} message(s), ${n(t.versions)} version(s)`);
  lines.push(`  kept because a legal hold covers them: ${n(p.heldTotal.messages)} message(s), ${n(p.heldTotal.versions)} version(s)`);
  for (const m of p.held) lines.push(`    matter ${m.matterId} "${m.matterName}": ${n(m.messages)} message(s) — ${m.reason}`);
  if (d.versions > 0) lines.push(`  to dispose of exactly this: zoom-chat-archiver retention apply --plan ${p.planId} --yes`);
  return `${lines.join('\n')}\n`;
}

export async function retentionApplyCommand(ctx: CommandContext, options: { plan?: string; yes?: boolean; json?: boolean }): Promise<ExitCode> {
  if (options.yes !== true) throw new InputError('retention apply disposes of archived messages for good: add --yes (and --plan <id> from retention plan to dispose of exactly what it showed)', 'yes');
  const policy = policyFrom(ctx.config.retention);
  const database = await ctx.openDatabase({ poolSize: 2 });
  const outcome = await applyRetention(database.pool, policy, { clock: systemClock, actor: cliActor(), ...(options.plan ? { expectedPlanId: options.plan } : {}) });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(outcome)}\n`);
    return EXIT.OK;
  }
  const d = outcome.plan.dispose;
  process.stdout.write(
    outcome.auditId === null
      ? `nothing to dispose of (plan ${outcome.plan.planId})\n`
      : `disposed of ${n(d.messages)} message(s), ${n(d.versions)} version(s) in ${n(d.sessions)} session(s) (plan ${outcome.plan.planId}); recorded as audit row ${outcome.auditId} with every version's identity and hash (SHA-256 of the list ${outcome.disposedSha256}); ${n(outcome.plan.heldTotal.messages)} held message(s) kept\n`,
  );
  return EXIT.OK;
}
