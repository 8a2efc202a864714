import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS_FOLDER } from '../../src/db/migrate.js';

/**
 * Copies migrations/ into `dir` (an empty directory) to change or to migrate part of the way: `keep`
 * drops the journal entries (and their files) after the first `keep`; all are kept by default.
 */
export function copyMigrationsInto(dir: string, keep = Infinity): string {
  cpSync(MIGRATIONS_FOLDER, dir, { recursive: true });
  const journalPath = path.join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: Array<{ tag: string }> };
  for (const entry of journal.entries.slice(keep)) rmSync(path.join(dir, `${entry.tag}.sql`));
  journal.entries = journal.entries.slice(0, keep);
  writeFileSync(journalPath, JSON.stringify(journal, null, 2));
  return dir;
}
