import { userInfo } from 'node:os';
import { sql } from 'drizzle-orm';
import { runDrizzle, type Queryable } from '../db/pool.js';
import { auditLog } from '../db/schema.js';
import { InternalError } from '../errors.js';

/**
 * The append-only audit log (archive.audit_log, public view audit_log): who did what, when, with
 * the state before and after. Written in the same transaction as the change it records whenever
 * the change is local, so the two cannot disagree. Every row joins a hash chain as it is inserted
 * (a trigger; src/audit/chain.ts and verify-chain.ts), so a row changed, removed, inserted or moved
 * behind the application's back is found by `audit verify`.
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

/** Left out: SQL NULL. Anything given, null included, is stored as JSON (null as JSON `null`). */
const json = (value: unknown) => (value === undefined ? null : value === null ? sql`'null'::jsonb` : value);

/**
 * Appends one entry and returns its id. The chain columns are the database's to fill (the trigger
 * of 0008 computes them whatever a writer sends); see src/audit/chain.ts.
 */
export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<number> {
  const rows = await runDrizzle(db, (orm) =>
    orm
      .insert(auditLog)
      .values({
        actor: entry.actor,
        action: entry.action,
        subjectType: entry.subjectType ?? null,
        subjectId: entry.subjectId ?? null,
        before: json(entry.before),
        after: json(entry.after),
        details: json(entry.details),
      })
      .returning({ id: auditLog.id }),
  );
  const id = rows[0]?.id;
  if (id === undefined) throw new InternalError('audit_log insert returned no id');
  return id;
}

/** The actor for commands run from a shell: the operating-system user. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}
