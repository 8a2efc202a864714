import type { FormatDefinition, TextEntry } from '../format-writer.js';
import { bodyStateOf } from '../message-history.js';
import type { VersionRow } from '../types.js';

/**
 * messages.jsonl: one JSON object per selected version, in export order. `raw` is the item exactly
 * as Zoom sent it (as archived: U+0000 appears as the six characters `\u0000`, see README "Storage
 * invariants"); the other keys are the archive's own columns. Built by concatenation: `raw` is
 * already JSON text from the database and is never parsed and re-serialised. `body_state` says what
 * the version's text is (message-history.ts): Zoom lists a message in its latest state, so an
 * `original` listed after an edit does not carry the text as first sent.
 */

const str = JSON.stringify;

export function formatJsonlLine(row: VersionRow, sessionName: string | null): string {
  return (
    `{"version_id":${row.version_id},"session_id":${str(row.session_id)},"session_name":${str(sessionName)},` +
    `"message_id":${str(row.message_id)},"kind":${str(row.kind)},"sent_at":${str(row.sent_at)},"action_at":${str(row.action_at)},` +
    `"archived_at":${str(row.archived_at)},"content_sha256":${str(row.content_sha256)},"body_state":"${bodyStateOf(row)}","raw":${row.raw}}\n`
  );
}

/** messages.jsonl streams straight into the zip: it is the first entry to ask. */
export const jsonlFormat: FormatDefinition = {
  format: 'jsonl',
  needs: [],
  create(_context, entries) {
    let file: TextEntry | undefined;
    return {
      async begin() {
        file = entries.openText('messages.jsonl', { streamIntoZip: true });
      },
      addVersion: (row, session) => file?.write(formatJsonlLine(row, session.name)),
      async finish() {
        await file?.end();
      },
    };
  },
};
