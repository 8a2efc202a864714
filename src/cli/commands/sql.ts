import { InputError } from '../../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../context.js';
import { formatTable } from '../format-table.js';

/**
 * Runs one query against the archive in a READ ONLY transaction and prints the rows: the quickest
 * way to look at the read model, embedded database included.
 */
export async function sqlCommand(ctx: CommandContext, query: string, options: { json?: boolean }): Promise<ExitCode> {
  if (query.trim() === '') throw new InputError('give the SQL to run, e.g. zoom-chat-archiver sql "select * from sync_windows"');
  const database = await ctx.openDatabase({ poolSize: 1 });
  const client = await database.pool.connect();
  try {
    await client.query('BEGIN TRANSACTION READ ONLY');
    const result = await client.query({ text: query, rowMode: 'array' });
    await client.query('ROLLBACK');
    const columns = result.fields.map((f) => f.name);
    const rows = (result.rows as unknown[][]).map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
    if (options.json) {
      for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
    } else {
      process.stdout.write(`${formatTable(columns, rows)}\n(${rows.length} row${rows.length === 1 ? '' : 's'})\n`);
    }
    return EXIT.OK;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new InputError(`query failed: ${(err as Error).message}`);
  } finally {
    client.release();
  }
}
