import { userInfo } from 'node:os';
import type { Queryable } from '../db/pool.js';

/**
 * The append-only audit log (archive.audit_log, public view audit_log): who did what, when, with
 * the state before and after. Written in the same transaction as the change it records whenever
 * the change is local, so the two cannot disagree.
 */
export interface AuditEntry {
  /** `cli:<os user>`, `api:<token name>`, `system:<job>`, or `zoom` for a change noticed in Zoom. */
  actor: string;
  /** Dotted: `legal_hold.matter.create`, `export.create`, `api.messages.read`, … */
  action: string;
  subjectType?: string;
  subjectId?: string;
  before?: unknown;
  after?: unknown;
  details?: unknown;
}

export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO archive.audit_log (actor, action, subject_type, subject_id, before, after, details)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb)`,
    [
      entry.actor,
      entry.action,
      entry.subjectType ?? null,
      entry.subjectId ?? null,
      entry.before === undefined ? null : JSON.stringify(entry.before),
      entry.after === undefined ? null : JSON.stringify(entry.after),
      entry.details === undefined ? null : JSON.stringify(entry.details),
    ],
  );
}

/** The actor for commands run from a shell: the operating-system user. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}
