import { and, asc, eq, getTableColumns, inArray, isNull, lt, notInArray, or, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/audit-log.js';
import type { IsoDate } from '../domain/types.js';
import { runDrizzle, withTransaction, type Db, type Pool, type PoolClient, type Queryable } from '../db/pool.js';
import { legalHoldCustodians, legalHoldMatters } from '../db/schema.js';
import type { ZoomMatter, ZoomMatterUser } from '../zoom/legal-hold.js';
import { ZOOM_ACTOR } from './deps.js';
import { InternalError } from '../errors.js';

/**
 * The local mirror of Zoom's matters (archive.legal_hold_matters and legal_hold_custodians). Every
 * change is written together with its audit entry in one transaction, so the mirror and the audit
 * log cannot disagree. Rows are never deleted (a trigger forbids it): a matter only changes state.
 */

export type MatterState = (typeof legalHoldMatters.$inferSelect)['state'];

export type CustodianRecord = Pick<typeof legalHoldCustodians.$inferSelect, 'identifier' | 'email' | 'userId'>;

/** A matter as the mirror holds it (the latest listing item, `raw`, left out) with its custodians. */
export type MatterRecord = Omit<typeof legalHoldMatters.$inferSelect, 'raw'> & { custodians: CustodianRecord[] };

const { raw: _raw, ...matterColumns } = getTableColumns(legalHoldMatters);

const m = legalHoldMatters;

/**
 * Every column but `raw`, and the custodians in identifier order (one subquery, no second round
 * trip). The subquery is plain SQL on purpose: drizzle prints a single-table select's columns
 * unqualified, which inside it would compare the custodian's matter_id with itself.
 */
const MATTER = {
  ...matterColumns,
  custodians: sql<CustodianRecord[]>`coalesce((
    SELECT json_agg(json_build_object('identifier', lc.identifier, 'email', lc.email, 'userId', lc.user_id) ORDER BY lc.identifier)
    FROM archive.legal_hold_custodians lc WHERE lc.matter_id = legal_hold_matters.matter_id), '[]'::json)`,
};

const selectMatters = (orm: Db) => orm.select(MATTER).from(m);

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
  if (options.forUpdate) await runDrizzle(db, (orm) => orm.select({ one: sql`1` }).from(m).where(eq(m.matterId, matterId)).for('update'));
  const [row] = await runDrizzle(db, (orm) => selectMatters(orm).where(eq(m.matterId, matterId)));
  return row;
}

export async function loadMatters(db: Queryable, options: { states?: readonly MatterState[]; matterId?: string } = {}): Promise<MatterRecord[]> {
  const where = and(options.states ? inArray(m.state, [...options.states]) : undefined, options.matterId === undefined ? undefined : eq(m.matterId, options.matterId));
  return runDrizzle(db, (orm) => selectMatters(orm).where(where).orderBy(asc(m.firstSeenAt), asc(m.matterId)));
}

/** Matters whose name is exactly `name` (names are not unique in Zoom). */
export async function findMattersByName(db: Queryable, name: string): Promise<MatterRecord[]> {
  return runDrizzle(db, (orm) => selectMatters(orm).where(eq(m.matterName, name)).orderBy(asc(m.firstSeenAt)));
}

/** Zoom's item exactly as received (JSON text): cast by PostgreSQL, never re-serialised here. */
const rawJsonb = (json: string) => sql`${json}::jsonb`;

/** The email part of an identifier the user typed, so the matter holds by email before Zoom confirms. */
function custodianFromIdentifier(identifier: string): CustodianRecord {
  return identifier.includes('@') ? { identifier, email: identifier, userId: null } : { identifier, email: null, userId: identifier };
}

async function insertCustodians(db: Queryable, matterId: string, custodians: readonly CustodianRecord[], now: Date): Promise<void> {
  if (custodians.length === 0) return;
  await runDrizzle(db, (orm) =>
    orm
      .insert(legalHoldCustodians)
      .values(custodians.map((x) => ({ matterId, identifier: x.identifier, email: x.email, userId: x.userId, firstSeenAt: now })))
      .onConflictDoNothing(),
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
    const inserted = await runDrizzle(client, (orm) =>
      orm
        .insert(m)
        .values({
          matterId: matter.matterId,
          matterName: matter.name,
          startDate: matter.startDate,
          endDate: matter.endDate,
          creationDate: null,
          state: 'active',
          firstSeenAt: now,
          lastSeenAt: now,
          createdHereAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing(),
    );
    if (inserted.rowCount === 0) {
      // A concurrent listing saw it first: it is ours all the same.
      await runDrizzle(client, (orm) =>
        orm
          .update(m)
          .set({ createdHereAt: sql`coalesce(${m.createdHereAt}, ${now.toISOString()}::timestamptz)`, updatedAt: now })
          .where(eq(m.matterId, matter.matterId)),
      );
    }
    await insertCustodians(client, matter.matterId, matter.identifiers.map(custodianFromIdentifier), now);
    const record = await loadMatter(client, matter.matterId);
    if (!record) throw new InternalError(`matter ${matter.matterId} vanished inside its own transaction`);
    await recordAudit(client, { actor, action: 'legal_hold.matter.create', subjectType: 'legal_hold_matter', subjectId: matter.matterId, after: auditView(record), details });
    return record;
  });
}

export async function recordRenamedMatter(pool: Pool, matterId: string, name: string, actor: string, now: Date, details: Record<string, unknown>): Promise<MatterRecord> {
  return withTransaction(pool, async (client) => {
    const before = await requireMatter(client, matterId);
    await runDrizzle(client, (orm) => orm.update(m).set({ matterName: name, updatedAt: now }).where(eq(m.matterId, matterId)));
    const after = await requireMatter(client, matterId);
    await recordAudit(client, { actor, action: 'legal_hold.matter.rename', subjectType: 'legal_hold_matter', subjectId: matterId, before: auditView(before), after: auditView(after), details });
    return after;
  });
}

/** Deleted through this project: the row stays, its state says the hold was released here. */
export async function recordDeletedHere(pool: Pool, matterId: string, actor: string, now: Date, details: Record<string, unknown>): Promise<MatterRecord> {
  return withTransaction(pool, async (client) => {
    const before = await requireMatter(client, matterId);
    await runDrizzle(client, (orm) => orm.update(m).set({ state: 'deleted_here', deletedAt: now, updatedAt: now }).where(eq(m.matterId, matterId)));
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
    await runDrizzle(client, (orm) => orm.update(m).set({ state: 'deleted_in_zoom', deletedAt: now, updatedAt: now }).where(eq(m.matterId, matterId)));
    const after = await requireMatter(client, matterId);
    await recordAudit(client, { actor: ZOOM_ACTOR, action: 'legal_hold.matter.deleted_in_zoom', subjectType: 'legal_hold_matter', subjectId: matterId, before: auditView(before), after: auditView(after), details });
    return after;
  };
  return 'release' in db ? work(db) : withTransaction(db, work);
}

async function requireMatter(db: Queryable, matterId: string): Promise<MatterRecord> {
  const matter = await loadMatter(db, matterId, { forUpdate: true });
  if (!matter) throw new InternalError(`legal-hold matter ${matterId} is not in the local mirror`);
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
    await runDrizzle(client, (orm) =>
      orm
        .insert(m)
        .values({
          matterId: zoom.matterId,
          matterName: zoom.matterName,
          startDate: zoom.startDate,
          endDate: zoom.endDate,
          creationDate: zoom.creationDate,
          state: 'active',
          firstSeenAt: now,
          lastSeenAt: now,
          raw: rawJsonb(zoom.rawJson),
          updatedAt: now,
        }),
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
      await runDrizzle(client, (orm) =>
        orm
          .update(legalHoldCustodians)
          .set({ email: user.email ?? undefined, userId: user.userId ?? undefined })
          .where(and(eq(legalHoldCustodians.matterId, zoom.matterId), eq(legalHoldCustodians.identifier, known.identifier))),
      );
    }
  }
  await insertCustodians(client, zoom.matterId, added, now);

  const learnt = (local: string | null, remote: string | null) => (remote === null ? local : remote);
  await runDrizzle(client, (orm) =>
    orm
      .update(m)
      .set({
        // Zoom sometimes lists a matter without its name: the one we know stays.
        matterName: zoom.matterName === '' ? undefined : zoom.matterName,
        startDate: learnt(before.startDate, zoom.startDate),
        // An end date Zoom no longer lists means the matter is open-ended now; only a value Zoom sends is kept.
        endDate: zoom.endDate,
        creationDate: learnt(before.creationDate, zoom.creationDate),
        raw: rawJsonb(zoom.rawJson),
        lastSeenAt: now,
        updatedAt: now,
        state: 'active',
        // `before` was read FOR UPDATE: a matter coming back loses its deletion time.
        deletedAt: before.state === 'active' ? undefined : null,
      })
      .where(eq(m.matterId, zoom.matterId)),
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
  const rows = await runDrizzle(db, (orm) =>
    orm
      .select({ matterId: m.matterId })
      .from(m)
      .where(
        and(
          eq(m.state, 'active'),
          lt(m.lastSeenAt, listingStartedAt),
          notInArray(m.matterId, [...listedIds]),
          or(isNull(m.createdHereAt), lt(m.createdHereAt, new Date(listingStartedAt.getTime() - NEW_MATTER_GRACE_MS))),
        ),
      )
      .orderBy(asc(m.matterId)),
  );
  return rows.map((r) => r.matterId);
}
