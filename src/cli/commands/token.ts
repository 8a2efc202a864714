import { Command, Option } from 'commander';
import { cliActor } from '../../audit/audit-log.js';
import { createToken, listTokens, revokeToken, ROLES, validateRole, validateTokenName, type Role } from '../../service/token-store.js';
import type { CommandContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../format-table.js';
import { runCommand as run } from '../run-command.js';

/**
 * `zoom-chat-archiver token …`: API tokens for the HTTP API. `create` prints the token once (only
 * its SHA-256 is stored); `revoke` ends it at once on every replica. Each change is audited with the
 * operating-system user as actor.
 */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage bearer tokens for the HTTP API (roles: reader, exporter, admin)');

  token
    .command('create')
    .description('create a token and print it once (store it now: only its hash is kept)')
    .requiredOption('--name <name>', 'who or what uses it, e.g. counsel-jane or grafana (shown in the audit log as api:<name>)')
    .addOption(new Option('--role <role>', 'reader: queries; exporter: + exports; admin: + legal-hold changes').choices([...ROLES]).makeOptionMandatory())
    .option('--json', 'print as JSON')
    .action((opts: { name: string; role: string; json?: boolean }) => run((ctx) => createTokenCommand(ctx, opts)));

  token
    .command('list')
    .description('list tokens (never the tokens themselves): name, role, created, last used, revoked')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) => run((ctx) => listTokensCommand(ctx, opts)));

  token
    .command('revoke')
    .description('revoke a token: requests with it get 401 from then on')
    .argument('<name>', 'the token name')
    .action((name: string) => run((ctx) => revokeTokenCommand(ctx, name)));
}

async function createTokenCommand(ctx: CommandContext, opts: { name: string; role: string; json?: boolean }): Promise<ExitCode> {
  // Checked before the database is opened: a typo costs nothing.
  const name = validateTokenName(opts.name);
  const role: Role = validateRole(opts.role);
  const database = await ctx.openDatabase({ poolSize: 2 });
  const { token, record } = await createToken(database.pool, { name, role }, cliActor());
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ name: record.name, role: record.role, created_at: record.createdAt, token })}\n`);
  } else {
    process.stdout.write(`Token "${record.name}" (role ${record.role}) created. It is shown only this once; store it now:\n\n${token}\n\nUse it as: Authorization: Bearer <token>\n`);
  }
  return EXIT.OK;
}

async function listTokensCommand(ctx: CommandContext, opts: { json?: boolean }): Promise<ExitCode> {
  const database = await ctx.openDatabase({ poolSize: 2 });
  const tokens = await listTokens(database.pool);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(tokens.map((t) => ({ name: t.name, role: t.role, created_at: t.createdAt, last_used_at: t.lastUsedAt, revoked_at: t.revokedAt })))}\n`);
    return EXIT.OK;
  }
  if (tokens.length === 0) {
    process.stdout.write('No API tokens yet; create one with `zoom-chat-archiver token create --name <name> --role reader`.\n');
    return EXIT.OK;
  }
  const iso = (d: Date | null) => (d ? d.toISOString().slice(0, 19).replace('T', ' ') : '');
  const rows = tokens.map((t) => ({ name: t.name, role: t.role, created: iso(t.createdAt), last_used: iso(t.lastUsedAt), revoked: iso(t.revokedAt) }));
  process.stdout.write(`${formatTable(['name', 'role', 'created', 'last_used', 'revoked'], rows)}\n`);
  return EXIT.OK;
}

async function revokeTokenCommand(ctx: CommandContext, name: string): Promise<ExitCode> {
  const valid = validateTokenName(name);
  const database = await ctx.openDatabase({ poolSize: 2 });
  const record = await revokeToken(database.pool, valid, cliActor());
  process.stdout.write(`Token "${record.name}" revoked; requests with it are refused from now on.\n`);
  return EXIT.OK;
}
