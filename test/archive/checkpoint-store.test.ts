import { beforeEach, describe, expect, it } from 'vitest';
import {
  completeSettledWindows,
  completeSweep,
  countDueUnits,
  ensureUnits,
  ensureUnitsForAllSessions,
  ensureUnitsForNewSessions,
  ensureWindows,
  expireWindows,
  finishedReadAssignments,
  iterateDueUnits,
  loadRoundProgress,
  loadWindows,
  loadWindowTotals,
  recordListing,
  recordUnitFailure,
  requestFullResweep,
  type DueUnit,
  type SweepRoundSelection,
} from '../../src/archive/checkpoint-store.js';
import type { Queryable } from '../../src/db/pool.js';
import { useTestDatabase } from '../helpers/database.js';

// Windows and units (checkpoint-store.ts) against the real schema: fixtures are written with plain
// SQL, results read back with SQL. Every test starts from empty windows, units and sessions.

const db = useTestDatabase();

const JAN = '2026-01-01';
const FEB = '2026-02-01';
const MAR = '2026-03-01';
const APR = '2026-04-01';
const MAY = '2026-05-01';
const JUN = '2026-06-01';
const JUL = '2026-07-01';
const AUG = '2026-08-01';
const SEP = '2026-09-01';
const OCT = '2026-10-01';
const NOV = '2026-11-01';

const t = (iso: string) => new Date(iso);

/** The month's last day, for a month given by its first day. */
function endOf(monthStart: string): string {
  const [y, m] = monthStart.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

async function insert(table: 'sync_windows' | 'sync_units' | 'sessions', cols: Record<string, unknown>): Promise<void> {
  const keys = Object.keys(cols);
  await db.pool.query(`INSERT INTO archive.${table} (${keys.join(', ')}) VALUES (${keys.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(cols));
}
const addWindow = (monthStart: string, cols: Record<string, unknown> = {}) => insert('sync_windows', { month_start: monthStart, month_end: endOf(monthStart), ...cols });
const addUnit = (monthStart: string, sessionId: string, cols: Record<string, unknown> = {}) => insert('sync_units', { month_start: monthStart, session_id: sessionId, ...cols });
const addSession = (sessionId: string, cols: Record<string, unknown> = {}) => insert('sessions', { session_id: sessionId, raw: '{}', ...cols });

async function windowRow(monthStart: string) {
  return (await db.pool.query(`SELECT * FROM archive.sync_windows WHERE month_start = $1`, [monthStart])).rows[0];
}
async function unitRow(monthStart: string, sessionId: string) {
  return (await db.pool.query(`SELECT * FROM archive.sync_units WHERE month_start = $1 AND session_id = $2`, [monthStart, sessionId])).rows[0];
}
/** Every unit as `month/session`, in key order. */
async function unitKeys(): Promise<string[]> {
  const res = await db.pool.query<{ k: string }>(`SELECT month_start::text || '/' || session_id AS k FROM archive.sync_units ORDER BY month_start, session_id`);
  return res.rows.map((r) => r.k);
}

/** A value set by the database's now() during this test (same host clock; a second's slack). */
function expectSetNow(value: unknown, since: number): void {
  expect(value).toBeInstanceOf(Date);
  const ms = (value as Date).getTime();
  expect(ms).toBeGreaterThanOrEqual(since - 1000);
  expect(ms).toBeLessThanOrEqual(Date.now() + 1000);
}

beforeEach(async () => {
  await db.pool.query(`TRUNCATE archive.sync_units, archive.sync_windows, archive.sessions`);
});

describe('windows', () => {
  it('ensureWindows adds missing months and never overwrites an existing one', async () => {
    await ensureWindows(db.pool, [
      { monthStart: JAN, monthEnd: '2026-01-31' },
      { monthStart: FEB, monthEnd: '2026-02-28' },
    ]);
    await db.pool.query(`UPDATE archive.sync_windows SET listed_through = '2026-01-15' WHERE month_start = $1`, [JAN]);
    await ensureWindows(db.pool, [
      { monthStart: JAN, monthEnd: '2026-01-20' },
      { monthStart: MAR, monthEnd: '2026-03-31' },
    ]);
    const rows = await db.pool.query(`SELECT month_start, month_end, listed_through, completed_at, expired_at FROM archive.sync_windows ORDER BY month_start`);
    expect(rows.rows).toEqual([
      { month_start: JAN, month_end: '2026-01-31', listed_through: '2026-01-15', completed_at: null, expired_at: null },
      { month_start: FEB, month_end: '2026-02-28', listed_through: null, completed_at: null, expired_at: null },
      { month_start: MAR, month_end: '2026-03-31', listed_through: null, completed_at: null, expired_at: null },
    ]);
    await ensureWindows(db.pool, []);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM archive.sync_windows`)).rows[0].n).toBe(3);
  });

  it('expireWindows marks months that ended before the horizon start, once, and says which were complete', async () => {
    const earlier = t('2026-03-01T00:00:00.000Z');
    await addWindow(JAN, { completed_at: t('2026-02-10T00:00:00.000Z') });
    await addWindow(FEB);
    await addWindow(MAR, { expired_at: earlier, completed_at: t('2026-04-10T00:00:00.000Z') });
    await addWindow(APR); // ends on the horizon's first day: still inside
    await addWindow(MAY);
    const since = Date.now();
    const expired = await expireWindows(db.pool, '2026-04-30');
    expect(expired.sort((a, b) => a.monthStart.localeCompare(b.monthStart))).toEqual([
      { monthStart: JAN, complete: true },
      { monthStart: FEB, complete: false },
    ]);
    expectSetNow((await windowRow(JAN)).expired_at, since);
    expectSetNow((await windowRow(FEB)).expired_at, since);
    expect((await windowRow(MAR)).expired_at).toEqual(earlier);
    expect((await windowRow(APR)).expired_at).toBeNull();
    expect((await windowRow(MAY)).expired_at).toBeNull();
    expect(await expireWindows(db.pool, '2026-04-30')).toEqual([]);
  });

  it('loadWindows returns the asked months only, every field mapped', async () => {
    const listedAt = t('2026-02-03T04:05:06.789Z');
    const completedAt = t('2026-02-04T00:00:00.000Z');
    const expiredAt = t('2026-08-01T00:00:00.000Z');
    const ensuredAt = t('2026-02-02T00:00:00.000Z');
    await addWindow(JAN, { listed_through: '2026-01-31', listed_at: listedAt, completed_at: completedAt, expired_at: expiredAt, units_ensured_at: ensuredAt, sessions_listed: 4 });
    await addWindow(FEB);
    await addWindow(MAR);
    const windows = await loadWindows(db.pool, [JAN, FEB, APR]);
    expect([...windows.keys()].sort()).toEqual([JAN, FEB]);
    expect(windows.get(JAN)).toEqual({ monthStart: JAN, monthEnd: '2026-01-31', listedThrough: '2026-01-31', listedAt, completedAt, expiredAt, unitsEnsuredAt: ensuredAt });
    expect(windows.get(FEB)).toEqual({ monthStart: FEB, monthEnd: '2026-02-28', listedThrough: null, listedAt: null, completedAt: null, expiredAt: null, unitsEnsuredAt: null });
    expect((await loadWindows(db.pool, [])).size).toBe(0);
  });

  it('recordListing sets how far and when the month was listed, keeping the greatest session count', async () => {
    await addWindow(JAN, { sessions_listed: 5 });
    await addWindow(FEB, { sessions_listed: 1 });
    const listedAt = t('2026-01-20T10:00:00.000Z');
    await recordListing(db.pool, { monthStart: JAN, listedThrough: '2026-01-19', listedAt, sessionsListed: 3 });
    expect(await windowRow(JAN)).toMatchObject({ listed_through: '2026-01-19', listed_at: listedAt, sessions_listed: 5 });
    const later = t('2026-02-02T10:00:00.000Z');
    await recordListing(db.pool, { monthStart: JAN, listedThrough: '2026-01-31', listedAt: later, sessionsListed: 8 });
    expect(await windowRow(JAN)).toMatchObject({ listed_through: '2026-01-31', listed_at: later, sessions_listed: 8 });
    expect(await windowRow(FEB)).toMatchObject({ listed_through: null, listed_at: null, sessions_listed: 1 });
  });
});

describe('units for sessions', () => {
  it('ensureUnitsForNewSessions gives each new session a due unit in every given month, once', async () => {
    const at = t('2026-03-05T12:00:00.000Z');
    const requestedBefore = t('2026-03-01T00:00:00.000Z');
    const oldCreation = t('2026-01-01T00:00:00.000Z');
    const completed = t('2026-02-10T00:00:00.000Z');
    await addSession('a');
    await addSession('b');
    await addSession('c', { units_created_at: oldCreation });
    await addWindow(JAN, { completed_at: completed });
    await addWindow(FEB, { completed_at: completed });
    await addWindow(MAR);
    await addUnit(JAN, 'a', { resweep_requested_at: requestedBefore, completed_at: completed });

    expect(await ensureUnitsForNewSessions(db.pool, [JAN, MAR], at)).toBe(2);
    expect(await unitKeys()).toEqual([`${JAN}/a`, `${JAN}/b`, `${MAR}/a`, `${MAR}/b`]);
    // An existing unit keeps an earlier request (and its state); the new ones are due as of `at`.
    expect(await unitRow(JAN, 'a')).toMatchObject({ resweep_requested_at: requestedBefore, completed_at: completed });
    expect((await unitRow(JAN, 'b')).resweep_requested_at).toEqual(at);
    expect((await unitRow(MAR, 'a')).resweep_requested_at).toEqual(at);
    expect((await unitRow(MAR, 'b')).resweep_requested_at).toEqual(at);
    // A complete window that gained units is no longer complete; one not given is left alone.
    expect((await windowRow(JAN)).completed_at).toBeNull();
    expect((await windowRow(FEB)).completed_at).toEqual(completed);
    expect((await windowRow(MAR)).completed_at).toBeNull();
    const marks = await db.pool.query(`SELECT session_id, units_created_at FROM archive.sessions ORDER BY session_id`);
    expect(marks.rows).toEqual([
      { session_id: 'a', units_created_at: at },
      { session_id: 'b', units_created_at: at },
      { session_id: 'c', units_created_at: oldCreation },
    ]);

    // Nothing new: no units, no window reopened.
    await db.pool.query(`UPDATE archive.sync_windows SET completed_at = $1 WHERE month_start = $2`, [completed, JAN]);
    expect(await ensureUnitsForNewSessions(db.pool, [JAN, MAR], t('2026-03-06T00:00:00.000Z'))).toBe(0);
    expect(await unitKeys()).toHaveLength(4);
    expect((await windowRow(JAN)).completed_at).toEqual(completed);
    expect((await db.pool.query(`SELECT units_created_at FROM archive.sessions WHERE session_id = 'a'`)).rows[0].units_created_at).toEqual(at);
  });

  it('ensureUnitsForAllSessions gives every known session a unit in the month and records when', async () => {
    const completed = t('2026-02-10T00:00:00.000Z');
    const done = t('2026-02-09T00:00:00.000Z');
    await addSession('a');
    await addSession('b');
    await addSession('c');
    await addWindow(JAN, { completed_at: completed });
    await addWindow(FEB);
    await addUnit(JAN, 'a', { completed_at: done });

    const at = t('2026-02-15T00:00:00.000Z');
    expect(await ensureUnitsForAllSessions(db.pool, JAN, at)).toBe(2);
    expect(await unitKeys()).toEqual([`${JAN}/a`, `${JAN}/b`, `${JAN}/c`]);
    expect(await unitRow(JAN, 'a')).toMatchObject({ completed_at: done, resweep_requested_at: null });
    expect(await unitRow(JAN, 'b')).toMatchObject({ completed_at: null, resweep_requested_at: null, news_pending_since: null });
    expect(await windowRow(JAN)).toMatchObject({ units_ensured_at: at, completed_at: null });
    expect(await windowRow(FEB)).toMatchObject({ units_ensured_at: null, completed_at: null });

    // Nothing added: the time is still recorded, and completion is kept.
    await db.pool.query(`UPDATE archive.sync_windows SET completed_at = $1 WHERE month_start = $2`, [completed, JAN]);
    const again = t('2026-02-16T00:00:00.000Z');
    expect(await ensureUnitsForAllSessions(db.pool, JAN, again)).toBe(0);
    expect(await windowRow(JAN)).toMatchObject({ units_ensured_at: again, completed_at: completed });
    expect(await unitKeys()).toHaveLength(3);
  });

  it('ensureUnits gives every known session a unit in every given month, reopening the months that gained one', async () => {
    const completed = t('2026-04-10T00:00:00.000Z');
    await addSession('a');
    await addSession('b');
    await addWindow(JAN, { completed_at: completed });
    await addWindow(FEB, { completed_at: completed });
    await addWindow(MAR, { completed_at: completed });
    await addUnit(JAN, 'a');
    await addUnit(JAN, 'b');
    await addUnit(FEB, 'a', { resweep_requested_at: completed });

    expect(await ensureUnits(db.pool, [JAN, FEB])).toBe(1);
    expect(await unitKeys()).toEqual([`${JAN}/a`, `${JAN}/b`, `${FEB}/a`, `${FEB}/b`]);
    expect((await unitRow(FEB, 'b')).resweep_requested_at).toBeNull();
    expect((await unitRow(FEB, 'a')).resweep_requested_at).toEqual(completed);
    expect((await windowRow(JAN)).completed_at).toEqual(completed);
    expect((await windowRow(FEB)).completed_at).toBeNull();
    expect((await windowRow(MAR)).completed_at).toEqual(completed);
    expect(await ensureUnits(db.pool, [JAN, FEB])).toBe(0);
  });

  it('requestFullResweep asks for a resweep of every unit of the months not already asked', async () => {
    const earlier = t('2026-03-01T00:00:00.000Z');
    const at = t('2026-03-10T00:00:00.000Z');
    await addUnit(JAN, 'a');
    await addUnit(JAN, 'b', { resweep_requested_at: earlier });
    await addUnit(FEB, 'a');
    await addUnit(MAR, 'a');
    expect(await requestFullResweep(db.pool, [JAN, FEB], at)).toBe(2);
    expect((await unitRow(JAN, 'a')).resweep_requested_at).toEqual(at);
    expect((await unitRow(JAN, 'b')).resweep_requested_at).toEqual(earlier);
    expect((await unitRow(FEB, 'a')).resweep_requested_at).toEqual(at);
    expect((await unitRow(MAR, 'a')).resweep_requested_at).toBeNull();
    expect(await requestFullResweep(db.pool, [JAN, FEB], t('2026-03-11T00:00:00.000Z'))).toBe(0);
    expect((await unitRow(JAN, 'a')).resweep_requested_at).toEqual(at);
  });
});

describe('due units', () => {
  const BEGAN = t('2026-02-10T00:00:00.000Z');
  const NEWS = t('2026-02-12T00:00:00.000Z');
  const REQUESTED = t('2026-02-11T00:00:00.000Z');

  /** A pool that counts the statements run through it. */
  function counting(): { db: Queryable; statements: () => number } {
    let n = 0;
    const query = (text: string, values?: unknown[]) => {
      n++;
      return db.pool.query(text, values);
    };
    return { db: { query } as unknown as Queryable, statements: () => n };
  }

  async function due(months: string[], rounds: SweepRoundSelection[], batchSize?: number, on: Queryable = db.pool): Promise<DueUnit[]> {
    const out: DueUnit[] = [];
    for await (const u of iterateDueUnits(on, months, rounds, batchSize)) out.push(u);
    return out;
  }
  const keys = (units: DueUnit[]) => units.map((u) => `${u.monthStart}/${u.sessionId}${u.inRound ? '+round' : ''}`);

  /**
   * January: a1 has news, a2 was read in full just before the round began, a3 right when it began
   * (done), a4 and a6 are plain, a5 is flagged for a resweep. February: b1 flagged, b2 plain. March
   * (never asked for): c1 has news.
   */
  async function fixture(): Promise<void> {
    await addUnit(JAN, 'a1', { news_pending_since: NEWS });
    await addUnit(JAN, 'a2', { full_swept_at: new Date(BEGAN.getTime() - 1) });
    await addUnit(JAN, 'a3', { full_swept_at: BEGAN });
    await addUnit(JAN, 'a4');
    await addUnit(JAN, 'a5', {
      resweep_requested_at: REQUESTED,
      covered_through: '2026-01-20',
      swept_at: t('2026-01-21T00:00:00.000Z'),
      completed_at: null,
      sweep_from: '2026-01-01',
      sweep_to: '2026-01-31',
      sweep_started_at: t('2026-02-13T00:00:00.000Z'),
      resume_token: 'tok-5',
      resume_token_at: t('2026-02-13T00:01:00.000Z'),
      failures: 2,
      full_swept_at: t('2026-01-05T00:00:00.000Z'),
    });
    await addUnit(JAN, 'a6');
    await addUnit(FEB, 'b1', { resweep_requested_at: REQUESTED });
    await addUnit(FEB, 'b2');
    await addUnit(MAR, 'c1', { news_pending_since: NEWS });
  }
  const ROUNDS: SweepRoundSelection[] = [
    { monthStart: JAN, beganAt: BEGAN, take: 3 },
    { monthStart: FEB, beganAt: BEGAN, take: 0 },
  ];
  const EXPECTED = [`${JAN}/a1+round`, `${JAN}/a2+round`, `${JAN}/a4+round`, `${JAN}/a5`, `${FEB}/b1`];

  it('yields the flagged units and each round’s share, once each, in key order, across batches', async () => {
    await fixture();
    for (const batchSize of [2, 3, undefined]) {
      expect(keys(await due([JAN, FEB], ROUNDS, batchSize)), `batch size ${batchSize}`).toEqual(EXPECTED);
    }
    expect(await countDueUnits(db.pool, [JAN, FEB], ROUNDS)).toBe(EXPECTED.length);
  });

  it('reads in batches of batchSize, one statement per batch, stopping at the first short batch', async () => {
    await fixture();
    // One statement finds the rounds' cutoffs; then 3 + 2 units.
    const by3 = counting();
    expect(keys(await due([JAN, FEB], ROUNDS, 3, by3.db))).toEqual(EXPECTED);
    expect(by3.statements()).toBe(3);
    // 2 + 2 + 1.
    const by2 = counting();
    expect(keys(await due([JAN, FEB], ROUNDS, 2, by2.db))).toEqual(EXPECTED);
    expect(by2.statements()).toBe(4);
    // Exactly two full batches: a third, empty one ends it. No round: no cutoff statement.
    const flagged = counting();
    expect(keys(await due([JAN, FEB, MAR], [], 2, flagged.db))).toEqual([`${JAN}/a1`, `${JAN}/a5`, `${FEB}/b1`, `${MAR}/c1`]);
    expect(flagged.statements()).toBe(3);
  });

  it('maps every column of a due unit', async () => {
    await fixture();
    const a5 = (await due([JAN], [])).find((u) => u.sessionId === 'a5');
    expect(a5).toEqual({
      monthStart: JAN,
      sessionId: 'a5',
      coveredThrough: '2026-01-20',
      sweptAt: t('2026-01-21T00:00:00.000Z'),
      completedAt: null,
      resweepRequestedAt: REQUESTED,
      sweepFrom: '2026-01-01',
      sweepTo: '2026-01-31',
      sweepStartedAt: t('2026-02-13T00:00:00.000Z'),
      resumeToken: 'tok-5',
      resumeTokenAt: t('2026-02-13T00:01:00.000Z'),
      failures: 2,
      fullSweptAt: t('2026-01-05T00:00:00.000Z'),
      newsPendingSince: null,
      inRound: false,
    });
  });

  it('a round that takes more than is left takes every unread unit; a round alone needs no month asked', async () => {
    await fixture();
    const all: SweepRoundSelection[] = [{ monthStart: JAN, beganAt: BEGAN, take: 10 }];
    const everything = [`${JAN}/a1+round`, `${JAN}/a2+round`, `${JAN}/a4+round`, `${JAN}/a5+round`, `${JAN}/a6+round`];
    expect(keys(await due([JAN], all, 2))).toEqual(everything);
    expect(await countDueUnits(db.pool, [JAN], all)).toBe(everything.length);

    const two: SweepRoundSelection[] = [{ monthStart: JAN, beganAt: BEGAN, take: 2 }];
    expect(keys(await due([], two, 2))).toEqual([`${JAN}/a1+round`, `${JAN}/a2+round`]);
    expect(await countDueUnits(db.pool, [], two)).toBe(2);
  });

  it('nothing due: no months, or a round taking nothing', async () => {
    await fixture();
    expect(await due([], [])).toEqual([]);
    expect(await countDueUnits(db.pool, [], [])).toBe(0);
    expect(await countDueUnits(db.pool, [APR], [{ monthStart: APR, beganAt: BEGAN, take: 5 }])).toBe(0);
    const zero: SweepRoundSelection[] = [{ monthStart: JAN, beganAt: BEGAN, take: 0 }];
    expect(await due([], zero)).toEqual([]);
    expect(await countDueUnits(db.pool, [], zero)).toBe(0);
    // Flagged units only, without the rounds' share.
    expect(keys(await due([JAN, FEB], [], 3))).toEqual([`${JAN}/a1`, `${JAN}/a5`, `${FEB}/b1`]);
    expect(await countDueUnits(db.pool, [JAN, FEB])).toBe(3);
  });

  it('the first batch starts before every key', async () => {
    await addUnit('0001-01-01', 'A', { resweep_requested_at: REQUESTED });
    expect(keys(await due(['0001-01-01'], []))).toEqual(['0001-01-01/A']);
  });

  it('loadRoundProgress counts each round’s units and those read in full since it began', async () => {
    await addUnit(JAN, 'a', { full_swept_at: BEGAN });
    await addUnit(JAN, 'b', { full_swept_at: new Date(BEGAN.getTime() - 1) });
    await addUnit(JAN, 'c');
    await addUnit(JAN, 'd', { full_swept_at: t('2026-03-01T00:00:00.000Z') });
    await addUnit(FEB, 'a', { full_swept_at: t('2026-03-01T00:00:00.000Z') });
    await addUnit(FEB, 'b');
    expect(
      await loadRoundProgress(db.pool, [
        { monthStart: JAN, beganAt: BEGAN },
        { monthStart: FEB, beganAt: t('2026-03-02T00:00:00.000Z') },
        { monthStart: MAR, beganAt: BEGAN },
      ]),
    ).toEqual([
      { monthStart: JAN, units: 4, done: 2 },
      { monthStart: FEB, units: 2, done: 0 },
      { monthStart: MAR, units: 0, done: 0 },
    ]);
    expect(await loadRoundProgress(db.pool, [])).toEqual([]);
  });
});

describe('finished reads', () => {
  const START = t('2026-11-05T00:00:00.000Z');
  const BEFORE = t('2026-11-04T00:00:00.000Z');
  const AFTER = t('2026-11-06T00:00:00.000Z');
  const OLD = t('2026-10-20T00:00:00.000Z');
  const LISTED = t('2026-10-30T00:00:00.000Z');

  /** A unit in the middle of a sweep that failed before, with news and a resweep asked before START. */
  const busy = {
    covered_through: '2026-10-10',
    swept_at: OLD,
    sweeps: 2,
    outcome: null,
    completed_at: null,
    full_swept_at: null,
    resweep_requested_at: BEFORE,
    news_pending_since: BEFORE,
    listed_last_message_at: LISTED,
    swept_last_message_at: null,
    failures: 3,
    last_error: 'timeout',
    last_error_at: OLD,
    sweep_from: '2026-10-01',
    sweep_to: '2026-10-31',
    sweep_started_at: START,
    resume_token: 'tok',
    resume_token_at: OLD,
  };
  const cleared = { failures: 0, last_error: null, last_error_at: null, sweep_from: null, sweep_to: null, sweep_started_at: null, resume_token: null, resume_token_at: null };

  it('a complete full read completes the unit and clears what it satisfied', async () => {
    await addUnit(OCT, 'u', busy);
    await addUnit(OCT, 'other', busy);
    await addUnit(NOV, 'u', busy);
    const since = Date.now();
    await completeSweep(db.pool, { monthStart: OCT, sessionId: 'u', to: '2026-10-31', startedAt: START, complete: true, full: true, outcome: 'ok' });
    const u = await unitRow(OCT, 'u');
    expect(u).toMatchObject({
      ...cleared,
      covered_through: '2026-10-31',
      swept_at: START,
      sweeps: 3,
      outcome: 'ok',
      full_swept_at: START,
      resweep_requested_at: null,
      news_pending_since: null,
      swept_last_message_at: LISTED,
    });
    expectSetNow(u.completed_at, since);
    // Only that unit.
    expect(await unitRow(OCT, 'other')).toMatchObject(busy);
    expect(await unitRow(NOV, 'u')).toMatchObject(busy);
  });

  it('a partial read records how far it got and keeps what it did not satisfy', async () => {
    const fullBefore = t('2026-10-15T00:00:00.000Z');
    const sweptLast = t('2026-10-25T00:00:00.000Z');
    await addUnit(OCT, 'u', { ...busy, full_swept_at: fullBefore, news_pending_since: AFTER, swept_last_message_at: sweptLast });
    await completeSweep(db.pool, { monthStart: OCT, sessionId: 'u', to: '2026-10-20', startedAt: START, complete: false, full: false, outcome: 'not_found' });
    expect(await unitRow(OCT, 'u')).toMatchObject({
      ...cleared,
      covered_through: '2026-10-20',
      swept_at: START,
      sweeps: 3,
      outcome: 'not_found',
      completed_at: null,
      full_swept_at: fullBefore,
      resweep_requested_at: BEFORE,
      news_pending_since: AFTER,
      swept_last_message_at: sweptLast,
    });
  });

  it('a read keeps requests made after it started (not those made as it started), an earlier completion, and a later full read', async () => {
    const doneBefore = t('2026-11-01T00:00:00.000Z');
    const sweptLast = t('2026-10-31T00:00:00.000Z');
    await addUnit(OCT, 'u', {
      ...busy,
      completed_at: doneBefore,
      full_swept_at: AFTER,
      resweep_requested_at: AFTER,
      news_pending_since: START,
      swept_last_message_at: sweptLast,
    });
    await completeSweep(db.pool, { monthStart: OCT, sessionId: 'u', to: '2026-10-31', startedAt: START, complete: true, full: true, outcome: 'ok' });
    expect(await unitRow(OCT, 'u')).toMatchObject({
      ...cleared,
      completed_at: doneBefore,
      full_swept_at: AFTER,
      resweep_requested_at: AFTER,
      news_pending_since: null,
      swept_last_message_at: sweptLast,
    });
    // A request made the instant the read started is satisfied by it.
    await addUnit(OCT, 'w', { ...busy, resweep_requested_at: START });
    await completeSweep(db.pool, { monthStart: OCT, sessionId: 'w', to: '2026-10-31', startedAt: START, complete: true, full: true, outcome: 'ok' });
    expect((await unitRow(OCT, 'w')).resweep_requested_at).toBeNull();
  });

  it('a complete read that is not full completes the unit but leaves a resweep request', async () => {
    await addUnit(OCT, 'u', { ...busy, news_pending_since: null });
    const since = Date.now();
    await completeSweep(db.pool, { monthStart: OCT, sessionId: 'u', to: '2026-10-31', startedAt: START, complete: true, full: false, outcome: 'ok' });
    const u = await unitRow(OCT, 'u');
    expect(u).toMatchObject({ ...cleared, full_swept_at: null, resweep_requested_at: BEFORE, news_pending_since: null, swept_last_message_at: LISTED });
    expectSetNow(u.completed_at, since);
  });

  it('finishedReadAssignments change nothing unless `when` holds, and leave the sweep in progress to their caller', async () => {
    await addUnit(OCT, 'u', busy);
    const update = `UPDATE archive.sync_units SET ${finishedReadAssignments({ when: '$3::boolean', to: '$4', startedAt: '$5', complete: '$6', full: '$7', outcome: '$8' })}
      WHERE month_start = $1 AND session_id = $2`;
    const before = await unitRow(OCT, 'u');
    await db.pool.query(update, [OCT, 'u', false, '2026-10-31', START, true, true, 'ok']);
    expect(await unitRow(OCT, 'u')).toEqual(before);
    await db.pool.query(update, [OCT, 'u', true, '2026-10-31', START, true, true, 'ok']);
    expect(await unitRow(OCT, 'u')).toMatchObject({
      covered_through: '2026-10-31',
      sweeps: 3,
      failures: 0,
      last_error: null,
      resweep_requested_at: null,
      news_pending_since: null,
      sweep_from: '2026-10-01',
      resume_token: 'tok',
    });
  });

  it('recordUnitFailure counts a failure of that unit only, with its error and when', async () => {
    await addUnit(OCT, 'u', { failures: 1 });
    await addUnit(OCT, 'v', { failures: 1 });
    await addUnit(NOV, 'u');
    const since = Date.now();
    await recordUnitFailure(db.pool, { monthStart: OCT, sessionId: 'u' }, 'boom');
    const u = await unitRow(OCT, 'u');
    expect(u).toMatchObject({ failures: 2, last_error: 'boom' });
    expectSetNow(u.last_error_at, since);
    await recordUnitFailure(db.pool, { monthStart: OCT, sessionId: 'u' }, 'again');
    expect(await unitRow(OCT, 'u')).toMatchObject({ failures: 3, last_error: 'again' });
    expect(await unitRow(OCT, 'v')).toMatchObject({ failures: 1, last_error: null, last_error_at: null });
    expect(await unitRow(NOV, 'u')).toMatchObject({ failures: 0, last_error: null, last_error_at: null });
  });
});

describe('window completion and totals', () => {
  const SETTLED = t('2026-11-03T00:00:00.000Z');
  const AFTER = t('2026-11-04T00:00:00.000Z');
  const BEFORE = t('2026-11-02T00:00:00.000Z');
  const DONE = t('2026-11-04T12:00:00.000Z');

  /** A window that passes every guard (listed through its end and given units after settling). */
  async function ready(monthStart: string, cols: Record<string, unknown> = {}, units: Array<Date | null> = [DONE, DONE]): Promise<void> {
    await addWindow(monthStart, { listed_through: endOf(monthStart), listed_at: AFTER, units_ensured_at: AFTER, ...cols });
    for (const [i, completedAt] of units.entries()) await addUnit(monthStart, `s${i}`, { completed_at: completedAt });
  }

  it('completeSettledWindows completes only the given windows that pass every guard', async () => {
    const earlier = t('2026-10-01T00:00:00.000Z');
    await ready(JAN);
    await ready(FEB, { expired_at: AFTER });
    await ready(MAR, { listed_through: '2026-03-30' });
    await ready(APR, { listed_at: BEFORE });
    await ready(MAY, { units_ensured_at: BEFORE });
    await ready(JUN, {}, [DONE, null]);
    await ready(JUL, { completed_at: earlier });
    await ready(AUG, { listed_at: SETTLED, units_ensured_at: SETTLED });
    await ready(SEP);
    await ready(OCT, { listed_at: null });
    await ready(NOV, { units_ensured_at: null });
    const given = [JAN, FEB, MAR, APR, MAY, JUN, JUL, AUG, OCT, NOV].map((monthStart) => ({ monthStart, settledAtMs: SETTLED.getTime() }));
    const since = Date.now();
    const completed = await completeSettledWindows(db.pool, given);
    expect(completed.sort()).toEqual([JAN, AUG]);
    expectSetNow((await windowRow(JAN)).completed_at, since);
    expectSetNow((await windowRow(AUG)).completed_at, since);
    for (const m of [FEB, MAR, APR, MAY, JUN, SEP, OCT, NOV]) expect((await windowRow(m)).completed_at, m).toBeNull();
    expect((await windowRow(JUL)).completed_at).toEqual(earlier);
    expect(await completeSettledWindows(db.pool, given)).toEqual([]);
    expect(await completeSettledWindows(db.pool, [])).toEqual([]);
  });

  it('completeSettledWindows compares each window with its own settling time', async () => {
    await ready(JAN);
    await ready(FEB);
    const completed = await completeSettledWindows(db.pool, [
      { monthStart: JAN, settledAtMs: AFTER.getTime() + 1 },
      { monthStart: FEB, settledAtMs: AFTER.getTime() },
    ]);
    expect(completed).toEqual([FEB]);
  });

  it('loadWindowTotals sums units, complete and failing units, and versions archived per asked month', async () => {
    await addUnit(JAN, 'a', { completed_at: DONE, versions_added: 5 });
    await addUnit(JAN, 'b', { failures: 2, versions_added: 7 });
    await addUnit(JAN, 'c');
    await addUnit(FEB, 'a', { failures: 1 });
    await addUnit(MAR, 'a', { completed_at: DONE, versions_added: 9 });
    const totals = await loadWindowTotals(db.pool, [JAN, FEB, APR]);
    expect([...totals.entries()].sort(([a], [b]) => a.localeCompare(b))).toEqual([
      [JAN, { monthStart: JAN, units: 3, unitsComplete: 1, unitsFailing: 1, versionsArchived: 12 }],
      [FEB, { monthStart: FEB, units: 1, unitsComplete: 0, unitsFailing: 1, versionsArchived: 0 }],
    ]);
    expect((await loadWindowTotals(db.pool, [])).size).toBe(0);
  });
});
