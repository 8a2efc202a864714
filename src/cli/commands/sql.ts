import { postgreSplitterOptions, splitQuery } from 'dbgate-query-splitter';
import type pg from 'pg';
import { InputError } from '../../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../context.js';
import { formatTable } from '../format-table.js';

/**
 * Runs SQL against the archive in one READ ONLY transaction and prints the rows: the quickest way
 * to look at the read model, embedded database included.
 *
 * - The query comes as the argument, or from standard input when the argument is `-` or left out
 *   (`zoom-chat-archiver sql < report.sql`).
 * - Several statements run one after another in the same transaction, each result printed in turn.
 *   They are split with dbgate-query-splitter (quotes, dollar quotes, comments) and each is sent on
 *   its own with the extended protocol, which refuses more than one command per message: a
 *   statement the splitter got wrong fails, it never smuggles a second command through.
 * - Writing is impossible: the transaction is read only, and after each statement the command
 *   checks it is still inside that same transaction and still read only — a statement that ended
 *   it (COMMIT, ROLLBACK) or made it writable (SET TRANSACTION READ WRITE) stops the run before
 *   anything else executes.
 * - NULL is shown as `(null)` in tables, so it is told apart from an empty string (`--json` gives
 *   null and "").
 */

export const NULL_TEXT = '(null)';

export async function readQueryText(argument: string | undefined, stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (argument !== undefined && argument !== '-') return argument;
  if (stdin.isTTY) throw new InputError('give the SQL as an argument, e.g. zoom-chat-archiver sql "select * from sync_windows", or on standard input (zoom-chat-archiver sql < query.sql)', 'query');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin as AsyncIterable<Buffer | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export function splitStatements(text: string): string[] {
  return splitQuery(text, postgreSplitterOptions)
    .map((s) => (typeof s === 'string' ? s : s.text).trim())
    .filter((s) => s !== '' && !/^(--[^\n]*\n?|\/\*[\s\S]*?\*\/|\s)*$/.test(s));
}

export async function sqlCommand(ctx: CommandContext, queryArgument: string | undefined, options: { json?: boolean }): Promise<ExitCode> {
  const text = await readQueryText(queryArgument);
  const statements = splitStatements(text);
  if (statements.length === 0) throw new InputError('give the SQL to run, e.g. zoom-chat-archiver sql "select * from sync_windows"', 'query');
  const database = await ctx.openDatabase({ poolSize: 1 });
  const client = await database.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN TRANSACTION READ ONLY');
    const started = await client.query<{ at: string }>(`SELECT now()::text AS at`);
    const transactionStart = started.rows[0]?.at;
    for (const [index, statement] of statements.entries()) {
      let result: pg.QueryResult<unknown[]>;
      try {
        result = await client.query<unknown[]>({ text: statement, rowMode: 'array', queryMode: 'extended' } as pg.QueryArrayConfig);
      } catch (err) {
        throw new InputError(`query failed${statements.length > 1 ? ` (statement ${index + 1} of ${statements.length})` : ''}: ${(err as Error).message}`, 'query');
      }
      await requireSameReadOnlyTransaction(client, transactionStart, index, statements.length);
      printResult(result, options, statements.length > 1);
    }
    await client.query('ROLLBACK');
    return EXIT.OK;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
      broken = rollbackErr as Error;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}

async function requireSameReadOnlyTransaction(client: pg.PoolClient, transactionStart: string | undefined, index: number, total: number): Promise<void> {
  const res = await client.query<{ read_only: string; at: string }>(`SELECT current_setting('transaction_read_only') AS read_only, now()::text AS at`);
  const row = res.rows[0];
  if (row?.read_only !== 'on' || row.at !== transactionStart) {
    throw new InputError(
      `statement ${index + 1} of ${total} ended or changed the read-only transaction (COMMIT, ROLLBACK, SET TRANSACTION …); \`sql\` only reads, so nothing after it was run`,
      'query',
    );
  }
}

function printResult(result: pg.QueryResult<unknown[]>, options: { json?: boolean }, several: boolean): void {
  const columns = (result.fields ?? []).map((f) => f.name);
  if (options.json) {
    // Objects keyed by column name (a repeated name keeps its last value, as JSON would anyway).
    for (const row of result.rows) process.stdout.write(`${JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, row[i] ?? null])))}\n`);
    return;
  }
  if (columns.length === 0) {
    process.stdout.write(`${result.command ?? 'OK'}${several ? '\n' : ''}\n`);
    return;
  }
  const count = result.rows.length;
  process.stdout.write(`${formatTable(columns, result.rows, 60, NULL_TEXT)}\n(${count} row${count === 1 ? '' : 's'})\n${several ? '\n' : ''}`);
}
