import type { Pool } from '../../src/db/pool.js';
import type { ZoomMatter } from '../../src/zoom/legal-hold.js';

/** Fixtures and readers for the matter-store tests: matters written straight into the tables, rows read back by SQL. */

export const T0 = new Date('2026-11-21T15:00:00.000Z');
export const LATER = new Date('2026-11-21T16:00:00.000Z');

export interface MatterFixture {
  name?: string;
  state?: 'active' | 'deleted_in_zoom' | 'deleted_here';
  startDate?: string | null;
  endDate?: string | null;
  creationDate?: string | null;
  lastSeenAt?: Date;
  createdHereAt?: Date | null;
  deletedAt?: Date | null;
  raw?: string | null;
  custodians?: Array<[identifier: string, email: string | null, userId: string | null]>;
}

/** A matter as an earlier listing or command left it, written straight into the tables. */
export async function insertMatter(pool: Pool, matterId: string, f: MatterFixture = {}): Promise<void> {
  await pool.query(
    `INSERT INTO archive.legal_hold_matters (matter_id, matter_name, start_date, end_date, creation_date, state, first_seen_at, last_seen_at, created_here_at, deleted_at, raw, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $7)`,
    [matterId, f.name ?? 'Matter', f.startDate ?? null, f.endDate ?? null, f.creationDate ?? null, f.state ?? 'active', T0, f.lastSeenAt ?? T0, f.createdHereAt ?? null, f.deletedAt ?? null, f.raw ?? null],
  );
  for (const [identifier, email, userId] of f.custodians ?? []) {
    await pool.query('INSERT INTO archive.legal_hold_custodians (matter_id, identifier, email, user_id, first_seen_at) VALUES ($1, $2, $3, $4, $5)', [matterId, identifier, email, userId, T0]);
  }
}

export async function matterRow(pool: Pool, matterId: string): Promise<Record<string, unknown> | undefined> {
  const res = await pool.query('SELECT * FROM archive.legal_hold_matters WHERE matter_id = $1', [matterId]);
  return res.rows[0] as Record<string, unknown> | undefined;
}

export async function custodianRows(pool: Pool, matterId: string): Promise<Array<[string, string | null, string | null]>> {
  const res = await pool.query<{ identifier: string; email: string | null; user_id: string | null }>(
    'SELECT identifier, email, user_id FROM archive.legal_hold_custodians WHERE matter_id = $1 ORDER BY identifier',
    [matterId],
  );
  return res.rows.map((r) => [r.identifier, r.email, r.user_id]);
}

export async function auditOf(pool: Pool, matterId: string): Promise<Array<{ actor: string; action: string; subject_type: string | null; before: unknown; after: unknown; details: unknown }>> {
  const res = await pool.query('SELECT actor, action, subject_type, before, after, details FROM public.audit_log WHERE subject_id = $1 ORDER BY audit_id', [matterId]);
  return res.rows as Array<{ actor: string; action: string; subject_type: string | null; before: unknown; after: unknown; details: unknown }>;
}

export function listed(matterId: string, over: Partial<ZoomMatter> = {}): ZoomMatter {
  return { matterId, matterName: 'Matter', startDate: null, endDate: null, creationDate: null, users: [], rawJson: JSON.stringify({ matter_id: matterId }), ...over };
}

/**
 * Runs `act` while another transaction holds the matter's row lock (it ran `change` and has not
 * committed), commits that change once `act` is waiting for the lock, and returns what `act` gives.
 * Whatever `act` read before it waited is what the test then sees.
 */
export async function whileRowLocked<T>(pool: Pool, matterId: string, change: string, act: () => Promise<T>): Promise<T> {
  const holder = await pool.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(change, [matterId]);
    const acting = act();
    acting.catch(() => undefined);
    for (let i = 0; ; i++) {
      const waiting = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
      if ((waiting.rows[0] as { n: number }).n > 0) break;
      if (i > 200) throw new Error('the action never waited for the row lock');
      await new Promise((r) => setTimeout(r, 10));
    }
    await holder.query('COMMIT');
    return await acting;
  } finally {
    holder.release();
  }
}
