import { recordAudit } from '../audit/audit-log.js';
import type { IsoDate } from '../domain/types.js';
import { withTransaction, type Pool, type PoolClient, type Queryable } from '../db/pool.js';
import type { ZoomMatter, ZoomMatterUser } from '../zoom/legal-hold.js';
import { ZOOM_ACTOR } from './deps.js';

/**
 * The local mirror of Zoom's matters (archive.legal_hold_matters and legal_hold_custodians). Every
 * change is written together with its audit entry in one transaction, so the mirror and the audit
 * log cannot disagree. Rows are never deleted (a trigger forbids it): a matter only changes state.
 */

export type MatterState = 'active' | 'deleted_in_zoom' | 'deleted_here';

export interface CustodianRecord {
  identifier: string;
  email: string | null;
  userId: string | null;
}

export interface MatterRecord {
  matterId: string;
  matterName: string;
  state: MatterState;
  startDate: IsoDate | null;
  endDate: IsoDate | null;
  creationDate: IsoDate | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
  createdHereAt: Date | null;
  deletedAt: Date | null;
  updatedAt: Date;
  custodians: CustodianRecord[];
}

interface MatterRow {
  matter_id: string;
  matter_name: string;
  state: MatterState;
  start_date: string | null;
  end_date: string | null;
  creation_date: string | null;
  first_seen_at: Date;
  last_seen_at: Date;
  created_here_at: Date | null;
  deleted_at: Date | null;
  updated_at: Date;
  custodians: Array<{ identifier: string; email: string | null; user_id: string | null }> | null;
}

const SELECT_MATTERS = `
  SELECT m.matter_id, m.matter_name, m.state, m.start_date, m.end_date, m.creation_date, m.first_seen_at, m.last_seen_at,
         m.created_here_at, m.deleted_at, m.updated_at,
         (SELECT json_agg(json_build_object('identifier', c.identifier, 'email', c.email, 'user_id', c.user_id) ORDER BY c.identifier)
            FROM archive.legal_hold_custodians c WHERE c.matter_id = m.matter_id) AS custodians
  FROM archive.legal_hold_matters m`;

function toRecord(row: MatterRow): MatterRecord {
  return {
    matterId: row.matter_id,
    matterName: row.matter_name,
    state: row.state,
    startDate: row.start_date,
    endDate: row.end_date,
    creationDate: row.creation_date,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    createdHereAt: row.created_here_at,
    deletedAt: row.deleted_at,
    updatedAt: row.updated_at,
    custodians: (row.custodians ?? []).map((c) => ({ identifier: c.identifier, email: c.email, userId: c.user_id })),
  };
}

/** What the audit log records of a matter: its identity and terms, not its bookkeeping. */
export function auditView(m: Pick<MatterRecord, 'matterId' | 'matterName' | 'state' | 'startDate' | 'endDate' | 'creationDate' | 'custodians'>): Record<string, unknown> {
  return {
    matterId: m.matterId,
    name: m.matterName,
    state: m.state,
    startDate: m.startDate,
    endDate: m.endDate,
    creationDate: m.creationDate,
    custodians: m.custodians.map((c) => c.identifier),
  };
}

export async function loadMatter(db: Queryable, matterId: string, options: { forUpdate?: boolean } = {}): Promise<MatterRecord | undefined> {
  if (options.forUpdate) await db.query('SELECT 1 FROM archive.legal_hold_matters WHERE matter_id = $1 FOR UPDATE', [matterId]);
  const res = await db.query<MatterRow>(`${SELECT_MATTERS} WHERE m.matter_id = $1`, [matterId]);
  const row = res.rows[0];
  return row ? toRecord(row) : undefined;
}

export async function loadMatters(db: Queryable, options: { states?: readonly MatterState[]; matterId?: string } = {}): Promise<MatterRecord[]> {
  const res = await db.query<MatterRow>(
    `${SELECT_MATTERS}
     WHERE ($1::text[] IS NULL OR m.state = ANY($1::text[])) AND ($2::text IS NULL OR m.matter_id = $2)
     ORDER BY m.first_seen_at, m.matter_id`,
    [options.states ? [...options.states] : null, options.matterId ?? null],
  );
  return res.rows.map(toRecord);
}

/** Matters whose name is exactly `name` (names are not unique in Zoom). */
export async function findMattersByName(db: Queryable, name: string): Promise<MatterRecord[]> {
  const res = await db.query<MatterRow>(`${SELECT_MATTERS} WHERE m.matter_name = $1 ORDER BY m.first_seen_at`, [name]);
  return res.rows.map(toRecord);
}

/** The email part of an identifier the user typed, so the matter holds by email before Zoom confirms. */
function custodianFromIdentifier(identifier: string): CustodianRecord {
  return identifier.includes('@') ? { identifier, email: identifier, userId: null } : { identifier, email: null, userId: identifier };
}

async function insertCustodians(db: Queryable, matterId: string, custodians: readonly CustodianRecord[], now: Date): Promise<void> {
  if (custodians.length === 0) return;
  await db.query(
    `INSERT INTO archive.legal_hold_custodians (matter_id, identifier, email, user_id, first_seen_at)
     SELECT $1, i.identifier, i.email, i.user_id, $5
     FROM unnest($2::text[], $3::text[], $4::text[]) AS i(identifier, email, user_id)
     ON CONFLICT (matter_id, identifier) DO NOTHING`,
    [matterId, custodians.map((c) => c.identifier), custodians.map((c) => c.email), custodians.map((c) => c.userId), now],
  );
}

export interface CreatedMatter {
  matterId: string;
  name: string;
  identifiers: readonly string[];
  startDate: IsoDate | null;
  endDate: IsoDate | null;
}

/** A matter Zoom just created at our request: mirrored as active, with its custodians, and audited. */
export async function recordCreatedMatter(pool: Pool, matter: CreatedMatter, actor: string, now: Date, details: Record<string, unknown>): Promise<MatterRecord> {
  return withTransaction(pool, async (client) => {
    const inserted = await client.query(
      `INSERT INTO archive.legal_hold_matters (matter_id, matter_name, start_date, end_date, creation_date, state, first_seen_at, last_seen_at, created_here_at, updated_at)
       VALUES ($1, $2, $3, $4, NULL, 'active', $5, $5, $5, $5)
       ON CONFLICT (matter_id) DO NOTHING`,
      [matter.matterId, matter.name, matter.startDate, matter.endDate, now],
    );
    if (inserted.rowCount === 0) {
      // A concurrent listing saw it first: it is ours all the same.
      await client.query('UPDATE archive.legal_hold_matters SET created_here_at = coalesce(created_here_at, $2), updated_at = $2 WHERE matter_id = $1', [matter.matterId, now]);
    }
    await insertCustodians(client, matter.matterId, matter.identifiers.map(custodianFromIdentifier), now);
    const record = await loadMatter(client, matter.matterId);
    if (!record) throw new Error(`matter ${matter.matterId} vanished inside its own transaction`);
    await recordAudit(client, { actor, action: 'legal_hold.matter.create', subjectType: 'legal_hold_matter', subjectId: matter.matterId, after: auditView(record), details });
    return record;
  });
}

export async function recordRenamedMatter(pool: Pool, matterId: string, name: string, actor: string, now: Date, details: Record<string, unknown>): Promise<MatterRecord> {
  return withTransaction(pool, async (client) => {
    const before = await requireMatter(client, matterId);
    await client.query('UPDATE archive.legal_hold_matters SET matter_name = $2, updated_at = $3 WHERE matter_id = $1', [matterId, name, now]);
    const after = await requireMatter(client, matterId);
    await recordAudit(client, { actor, action: 'legal_hold.matter.rename', subjectType: 'legal_hold_matter', subjectId: matterId, before: auditView(before), after: auditView(after), details });
    return after;
  });
}

/** Deleted through this project: the row stays, its state says the hold was released here. */
export async function recordDeletedHere(pool: Pool, matterId: string, actor: string, now: Date, details: Record<string, unknown>): Promise<MatterRecord> {
  return withTransaction(pool, async (client) => {
    const before = await requireMatter(client, matterId);
    await client.query(`UPDATE archive.legal_hold_matters SET state = 'deleted_here', deleted_at = $2, updated_at = $2 WHERE matter_id = $1`, [matterId, now]);
    const after = await requireMatter(client, matterId);
    await recordAudit(client, { actor, action: 'legal_hold.matter.delete', subjectType: 'legal_hold_matter', subjectId: matterId, before: auditView(before), after: auditView(after), details });
    return after;
  });
}

/** Zoom no longer has the matter (it answered "does not exist", or a complete listing lacks it). */
export async function recordDeletedInZoom(db: PoolClient | Pool, matterId: string, now: Date, details: Record<string, unknown>): Promise<MatterRecord | undefined> {
  const work = async (client: PoolClient) => {
    const before = await loadMatter(client, matterId, { forUpdate: true });
    if (!before || before.state !== 'active') return undefined;
    await client.query(`UPDATE archive.legal_hold_matters SET state = 'deleted_in_zoom', deleted_at = $2, updated_at = $2 WHERE matter_id = $1`, [matterId, now]);
    const after = await requireMatter(client, matterId);
    await recordAudit(client, { actor: ZOOM_ACTOR, action: 'legal_hold.matter.deleted_in_zoom', subjectType: 'legal_hold_matter', subjectId: matterId, before: auditView(before), after: auditView(after), details });
    return after;
  };
  return 'release' in db ? work(db) : withTransaction(db, work);
}

async function requireMatter(db: Queryable, matterId: string): Promise<MatterRecord> {
  const matter = await loadMatter(db, matterId, { forUpdate: true });
  if (!matter) throw new Error(`legal-hold matter ${matterId} is not in the local mirror`);
  return matter;
}

export type ListingOutcome = 'discovered' | 'changed' | 'reappeared' | 'unchanged';

function sameIdentity(c: CustodianRecord, user: ZoomMatterUser): boolean {
  const email = user.email?.toLowerCase();
  if (email !== undefined && (c.identifier.toLowerCase() === email || c.email?.toLowerCase() === email)) return true;
  return user.userId !== null && (c.identifier === user.userId || c.userId === user.userId);
}

/**
 * Applies one matter from a Zoom listing to the mirror, in the caller's transaction: inserts a
 * matter seen for the first time, brings back one that had gone, and records what Zoom changed
 * (a rename in Zoom's portal, say). A value we did not know yet (a start date Zoom filled in for a
 * matter created here) is learnt silently; a value Zoom changed is audited with before and after.
 */
export async function applyListedMatter(client: PoolClient, zoom: ZoomMatter, now: Date, listingStartedAt: Date): Promise<ListingOutcome> {
  const before = await loadMatter(client, zoom.matterId, { forUpdate: true });
  if (!before) {
    await client.query(
      `INSERT INTO archive.legal_hold_matters (matter_id, matter_name, start_date, end_date, creation_date, state, first_seen_at, last_seen_at, raw, updated_at)
       VALUES ($1, $2, $3, $4, $5, 'active', $6, $6, $7::jsonb, $6)`,
      [zoom.matterId, zoom.matterName, zoom.startDate, zoom.endDate, zoom.creationDate, now, zoom.rawJson],
    );
    await insertCustodians(client, zoom.matterId, zoom.users.map(listedCustodian), now);
    const after = await requireMatter(client, zoom.matterId);
    await recordAudit(client, { actor: ZOOM_ACTOR, action: 'legal_hold.matter.discovered', subjectType: 'legal_hold_matter', subjectId: zoom.matterId, after: auditView(after) });
    return 'discovered';
  }

  // Deleted after this listing began: Zoom's list may still show it for a moment. Not a comeback.
  if (before.state !== 'active' && before.deletedAt !== null && before.deletedAt >= listingStartedAt) return 'unchanged';

  // Custodians: fill in what Zoom tells us about the ones we have, add the ones we did not know.
  const added: CustodianRecord[] = [];
  for (const user of zoom.users) {
    const known = before.custodians.find((c) => sameIdentity(c, user));
    if (!known) {
      added.push(listedCustodian(user));
      continue;
    }
    if ((user.email !== null && known.email !== user.email) || (user.userId !== null && known.userId !== user.userId)) {
      await client.query(
        'UPDATE archive.legal_hold_custodians SET email = coalesce($3, email), user_id = coalesce($4, user_id) WHERE matter_id = $1 AND identifier = $2',
        [zoom.matterId, known.identifier, user.email, user.userId],
      );
    }
  }
  await insertCustodians(client, zoom.matterId, added, now);

  const learnt = (local: string | null, remote: string | null) => (remote === null ? local : remote);
  await client.query(
    `UPDATE archive.legal_hold_matters
     SET matter_name = CASE WHEN $2 = '' THEN matter_name ELSE $2 END,
         start_date = $3, end_date = $4, creation_date = $5, raw = $6::jsonb, last_seen_at = $7, updated_at = $7,
         state = 'active',
         deleted_at = CASE WHEN state = 'active' THEN deleted_at ELSE NULL END
     WHERE matter_id = $1`,
    [
      zoom.matterId,
      zoom.matterName,
      learnt(before.startDate, zoom.startDate),
      // An end date Zoom no longer lists means the matter is open-ended now; only a value Zoom sends is kept.
      zoom.endDate,
      learnt(before.creationDate, zoom.creationDate),
      zoom.rawJson,
      now,
    ],
  );
  const after = await requireMatter(client, zoom.matterId);
  const changed =
    (zoom.matterName !== '' && before.matterName !== after.matterName) ||
    (before.startDate !== null && before.startDate !== after.startDate) ||
    before.endDate !== after.endDate ||
    (before.creationDate !== null && before.creationDate !== after.creationDate) ||
    added.length > 0 ||
    // A listing without users tells nothing about custodians; one with users must name all of ours.
    (zoom.users.length > 0 && before.custodians.some((c) => !zoom.users.some((u) => sameIdentity(c, u))));
  if (before.state !== 'active') {
    await recordAudit(client, {
      actor: ZOOM_ACTOR,
      action: 'legal_hold.matter.reappeared_in_zoom',
      subjectType: 'legal_hold_matter',
      subjectId: zoom.matterId,
      before: auditView(before),
      after: auditView(after),
    });
    return 'reappeared';
  }
  if (changed) {
    await recordAudit(client, { actor: ZOOM_ACTOR, action: 'legal_hold.matter.changed_in_zoom', subjectType: 'legal_hold_matter', subjectId: zoom.matterId, before: auditView(before), after: auditView(after) });
    return 'changed';
  }
  return 'unchanged';
}

/**
 * True when applying `zoom` would change more than `last_seen_at` and `raw`: the common case of a
 * listing that repeats what the mirror holds is then one set-based update (`touchListedMatters`).
 */
export function listingChangesMatter(local: MatterRecord, zoom: ZoomMatter): boolean {
  if (local.state !== 'active') return true;
  if (zoom.matterName !== '' && zoom.matterName !== local.matterName) return true;
  if (zoom.startDate !== null && zoom.startDate !== local.startDate) return true;
  if (zoom.endDate !== local.endDate) return true;
  if (zoom.creationDate !== null && zoom.creationDate !== local.creationDate) return true;
  for (const user of zoom.users) {
    const known = local.custodians.find((c) => sameIdentity(c, user));
    if (!known) return true;
    if ((user.email !== null && known.email !== user.email) || (user.userId !== null && known.userId !== user.userId)) return true;
  }
  return false;
}

/** Matters a listing showed unchanged: seen now, latest item kept. One statement for all of them. */
export async function touchListedMatters(db: Queryable, matters: readonly ZoomMatter[], now: Date): Promise<void> {
  if (matters.length === 0) return;
  await db.query(
    `UPDATE archive.legal_hold_matters m
     SET last_seen_at = $3,
         updated_at = CASE WHEN m.raw IS DISTINCT FROM i.raw::jsonb THEN $3 ELSE m.updated_at END,
         raw = i.raw::jsonb
     FROM unnest($1::text[], $2::text[]) AS i(matter_id, raw)
     WHERE m.matter_id = i.matter_id AND m.state = 'active'`,
    [matters.map((m) => m.matterId), matters.map((m) => m.rawJson), now],
  );
}

function listedCustodian(user: ZoomMatterUser): CustodianRecord {
  return { identifier: user.email ?? user.userId ?? '', email: user.email, userId: user.userId };
}

/**
 * A matter created here is not called missing for this long after its creation: Zoom's list may
 * lag behind its own POST for a moment (a guess; Zoom does not say), and a false "deleted in Zoom"
 * would be audited.
 */
export const NEW_MATTER_GRACE_MS = 10 * 60_000;

/** Active matters Zoom's listing no longer shows and that were last seen before it started. */
export async function findVanishedMatters(db: Queryable, listedIds: readonly string[], listingStartedAt: Date): Promise<string[]> {
  const res = await db.query<{ matter_id: string }>(
    `SELECT matter_id FROM archive.legal_hold_matters
     WHERE state = 'active' AND last_seen_at < $2 AND NOT (matter_id = ANY($1::text[]))
       AND (created_here_at IS NULL OR created_here_at < $2::timestamptz - make_interval(secs => $3::double precision / 1000))
     ORDER BY matter_id`,
    [[...listedIds], listingStartedAt, NEW_MATTER_GRACE_MS],
  );
  return res.rows.map((r) => r.matter_id);
}
