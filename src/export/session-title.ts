import type { SessionInfo } from './types.js';

/**
 * The one name a session goes by in every format of a bundle (`session_name` in JSONL and CSV, the
 * transcript's title, the RSMF conversation): Zoom's name; for a 1:1 chat, which Zoom leaves
 * unnamed, `1:1 chat: <member> & <member>`; for a session the archive knows no name for,
 * `Session <id>`.
 */
export function sessionTitle(session: SessionInfo | undefined, sessionId: string): string {
  if (session?.name) return session.name;
  if (session?.type === '1:1' && session.member_emails?.length) return `1:1 chat: ${session.member_emails.join(' & ')}`;
  return `Session ${sessionId}`;
}
