import type { FormatDefinition, TextEntry } from '../format-writer.js';
import { bodyStateOf } from '../message-history.js';
import type { PeopleDirectory } from '../people.js';
import { reactionsOf, type Reaction } from '../reactions.js';
import type { VersionRow, VersionFile } from '../types.js';

/**
 * messages.csv: one row per selected version for spreadsheet review.
 *
 * - RFC 4180: CRLF line ends; a field containing `"`, `,`, CR or LF is quoted with its quotes doubled.
 * - UTF-8 with a byte-order mark, so Excel opens it as UTF-8 instead of the local code page.
 * - Formula neutralisation (OWASP "CSV injection"): a cell starting with `=`, `+`, `-`, `@`, TAB or
 *   CR gets a leading `'`, so a spreadsheet shows it as text and never evaluates it. The exact text
 *   is in messages.jsonl (`raw`).
 * - Columns are only ever added at the end, so a spreadsheet or script built on the first ones keeps
 *   working.
 */

export const CSV_COLUMNS = [
  'version_id',
  'session_id',
  'session_name',
  'message_id',
  'kind',
  'sent_at',
  'action_at',
  'sender',
  'sender_display_name',
  'receiver',
  'body',
  'reply_main_message_id',
  'file_names',
  'content_sha256',
  'sender_member_id',
  'sender_outside_account',
  'body_state',
  'reactions',
] as const;

export const CSV_BOM = '\uFEFF';

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function neutraliseFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

export function formatCsvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = neutraliseFormula(String(value));
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function formatCsvHeader(): string {
  return `${CSV_BOM}${CSV_COLUMNS.join(',')}\r\n`;
}

function fileNames(files: unknown): string {
  if (!Array.isArray(files)) return '';
  return (files as VersionFile[]).map((f) => (typeof f.file_name === 'string' ? f.file_name : '')).join('; ');
}

/**
 * The reactions of one version for people: `👍 ×2: Ada Okafor [member id], [member id]; :lgtm: ×1: …`.
 * Each reactor is Zoom's member id in brackets, after their name when someone of that id wrote in the
 * export.
 */
export function formatReactions(reactions: readonly Reaction[], people: PeopleDirectory): string {
  return reactions
    .map((r) => {
      const reactors = r.memberIds.map((id) => {
        const name = people.nameOf(id);
        return name ? `${name} [${id}]` : `[${id}]`;
      });
      return `${r.custom ? `:${r.shown}:` : r.shown}${r.count === null ? '' : ` ×${r.count}`}${reactors.length > 0 ? `: ${reactors.join(', ')}` : ''}`;
    })
    .join('; ');
}

export function formatCsvRow(row: VersionRow, sessionName: string | null, people: PeopleDirectory): string {
  return (
    [
      row.version_id,
      row.session_id,
      sessionName,
      row.message_id,
      row.kind,
      row.sent_at,
      row.action_at,
      row.sender,
      row.sender_display_name,
      row.receiver,
      row.body,
      row.reply_main_message_id,
      fileNames(row.files),
      row.content_sha256,
      row.sender_member_id,
      row.sender?.trim() ? 'no' : 'yes',
      bodyStateOf(row),
      formatReactions(reactionsOf(row), people),
    ]
      .map(formatCsvCell)
      .join(',') + '\r\n'
  );
}

/** messages.csv streams straight into the zip when JSONL is not exported, and through the spool when it is. */
export const csvFormat: FormatDefinition = {
  format: 'csv',
  needs: ['people'],
  create(context, entries) {
    const people = context.lookups.people;
    let file: TextEntry | undefined;
    return {
      async begin() {
        file = entries.openText('messages.csv', { streamIntoZip: true });
        await file.write(formatCsvHeader());
      },
      addVersion: (row, session) => file?.write(formatCsvRow(row, session.name, people)),
      async finish() {
        await file?.end();
      },
    };
  },
};
