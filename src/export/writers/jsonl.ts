import type { VersionRow } from '../types.js';

/**
 * messages.jsonl: one JSON object per selected version, in export order. `raw` is the item exactly
 * as Zoom sent it (as archived: U+0000 appears as the six characters `\u0000`, see README "Storage
 * invariants"); the other keys are the archive's own columns. Built by concatenation: `raw` is
 * already JSON text from the database and is never parsed and re-serialised.
 */

const str = JSON.stringify;

export function formatJsonlLine(row: VersionRow, sessionName: string | null): string {
  return (
    `{"version_id":${row.version_id},"session_id":${str(row.session_id)},"session_name":${str(sessionName)},` +
    `"message_id":${str(row.message_id)},"kind":${str(row.kind)},"sent_at":${str(row.sent_at)},"action_at":${str(row.action_at)},` +
    `"archived_at":${str(row.archived_at)},"content_sha256":${str(row.content_sha256)},"raw":${row.raw}}\n`
  );
}
