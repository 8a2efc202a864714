/**
 * One sync pass from start to end: horizon, listing, the read plan, reading units concurrently under
 * the fenced lock, settled-month rounds, horizon risk, the summary. Over 400 lines because the pass's
 * order of steps (and what each step may assume of the one before) is the thing to read in one place;
 * the steps themselves live in read-plan.ts, session-discovery.ts and archive-unit.ts.
 */
import {
  completeSettledWindows,
  ensureUnits,
  ensureUnitsForAllSessions,
  ensureUnitsForNewSessions,
  ensureWindows,
  expireWindows,
  countDueUnits,
  iterateDueUnits,
  loadRoundProgress,
  loadWindows,
  recordUnitFailure,
  requestFullResweep,
  type DueUnit,
  type WindowState,
} from '../archive/checkpoint-store.js';
import { closeAbandonedRuns, finishRun, startRun, type RunOutcome, type SyncMode } from '../archive/run-store.js';
import { fenceOf, tryAdvisoryLock, type HeldLock } from '../db/advisory-lock.js';
import { fencedWriter } from '../db/fenced-writer.js';
import type { Pool, Queryable } from '../db/pool.js';
import type { IsoDate } from '../domain/types.js';
import { AbortError, ArchiverError, hasCode } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../util/clock.js';
import { CallTally, type CallsByKind } from './call-accounting.js';
import { asTypedError, classifyFailure, describeFailure } from '../util/failure.js';
import { computeHorizon, type Horizon, type SyncWindow } from './horizon.js';
import { assessHorizonRisk, type WindowRisk } from './horizon-risk.js';
import { SyncProgress } from './progress.js';
import { needsListing, planRead, roundTake, sweepRounds, type PlannedRead, type ReadKind, type SweepRound } from './read-plan.js';
import type { ReportSource } from './report-source.js';
import { runConcurrently } from '../util/run-concurrently.js';
import { listWindowSessions } from './session-discovery.js';
import { recordSessionGone, archiveUnit, type SweepContext } from './archive-unit.js';

/**
 * One sync pass (the plan of what is read, and why, is in read-plan.ts):
 *   1. list sessions in every window that is not complete — after a first listing only the days
 *      since the previous one — marking the units a listing shows news for;
 *   2. give sessions seen for the first time a unit in every window (their backfill), and every
 *      known session a unit in a window whose settled-month (or interim) sweep is under way;
 *   3. read every due unit: backfills, units with news, and this pass's share of each sweep round,
 *      oldest window first;
 *   4. mark windows complete, expire those that left the horizon, and assess horizon risk.
 * A pass on an account where nothing happened costs the listing pages and nothing else. Every
 * page is stored atomically with its checkpoint, so a pass can stop anywhere and the next one
 * carries on without losing or duplicating anything.
 */

export interface SyncSettings {
  concurrency: number;
  settleHours: number;
  horizonMarginDays: number;
  horizonRiskDays: number;
  settledSweepDays: number;
  interimSweepDays: number;
}

export interface SyncDependencies {
  pool: Pool;
  reports: ReportSource;
  clock: Clock;
  logger: Logger;
  settings: SyncSettings;
  progress?: SyncProgress;
  /** Attributes this pass's Zoom calls to what they were for; wire `calls.observe` to the client. */
  calls?: CallTally;
  signal?: AbortSignal;
}

export interface SyncFailure {
  monthStart: IsoDate;
  sessionId?: string;
  error: string;
}

export interface RoundSummary {
  monthStart: IsoDate;
  kind: SweepRound['kind'];
  began: string;
  units: number;
  /** Read in full since the round began, before this pass. */
  doneBefore: number;
  /** Picked for this pass. */
  taken: number;
}

export interface SyncSummary {
  runId: number;
  mode: SyncMode;
  outcome: Exclude<RunOutcome, 'running'>;
  horizon: { start: IsoDate; today: IsoDate; windows: number };
  windowsComplete: IsoDate[];
  windowsOpen: IsoDate[];
  windowsIncomplete: IsoDate[];
  /** Months that left Zoom's horizon in this pass before they were complete: data lost. */
  windowsExpiredIncomplete: IsoDate[];
  listingFailures: SyncFailure[];
  unitFailures: SyncFailure[];
  unitsAttempted: number;
  unitsSucceeded: number;
  sessionsKnown: number;
  /** Sessions seen for the first time in this pass (each is read over every window). */
  sessionsNew: number;
  /** Listed (session, window) pairs with news to read. */
  sessionsWithNews: number;
  /** Unit reads attempted, by why they were due. */
  readsByKind: Record<ReadKind, number>;
  /** Report calls (HTTP attempts), by what they were for. */
  callsByKind: CallsByKind;
  rounds: RoundSummary[];
  /** Versions the settled-month (or interim) sweep found that no listing had shown news for. */
  listingMisses: number;
  versionsSeen: number;
  versionsAdded: number;
  malformedItems: number;
  apiCalls: number;
  atRisk: WindowRisk[];
  fatalError?: string;
  durationMs: number;
}

/**
 * One pass at a time per database: the pass holds the `sync` lock, stops when it loses it (its
 * connection died, a failover), and every write it makes checks the lock's fence, so a pass that
 * lost the lock to another can never overwrite what the new holder wrote.
 */
export async function runSync(deps: SyncDependencies, mode: SyncMode): Promise<SyncSummary> {
  const lock = await tryAdvisoryLock(deps.pool, 'sync');
  if (!lock) {
    throw new ArchiverError('SYNC_ALREADY_RUNNING', 'another sync pass is running against this database; this one did nothing (progress is shared, so nothing is lost)');
  }
  try {
    return await runLockedSync(deps, mode, lock);
  } finally {
    await lock.release();
  }
}

const emptyReads = (): Record<ReadKind, number> => ({ activity: 0, backfill: 0, settled: 0, interim: 0, resweep: 0 });

async function runLockedSync(deps: SyncDependencies, mode: SyncMode, lock: HeldLock): Promise<SyncSummary> {
  const { pool, clock, settings } = deps;
  const progress = deps.progress ?? new SyncProgress(() => clock.now().getTime());
  const calls = deps.calls ?? new CallTally();
  const fence = fenceOf(lock);
  const writer = fencedWriter(pool, [fence]);
  const abandoned = await closeAbandonedRuns(writer);
  const horizon = computeHorizon(clock.now(), { settleHours: settings.settleHours, marginDays: settings.horizonMarginDays });
  const runId = await startRun(writer, { mode, horizonStart: horizon.start, horizonEnd: horizon.today, startedAt: clock.now() });
  const logger = deps.logger.child({ job: 'sync', runId });
  if (abandoned > 0) logger.warn({ abandoned }, 'closed earlier sync runs whose process died mid-run; their stored progress is kept');
  logger.info({ mode, horizonStart: horizon.start, today: horizon.today, windows: horizon.windows.length }, 'sync pass starting');

  // Fatal failures (credentials, scopes, database gone, the lock lost) stop all lanes through this controller.
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(deps.signal?.reason);
  deps.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (deps.signal?.aborted) stop.abort(deps.signal.reason);
  let fatal: unknown;
  const failFatally = (err: unknown) => {
    if (fatal === undefined) fatal = asTypedError(err);
    stop.abort(fatal);
  };
  const onLockLost = () => {
    logger.error({ err: lock.lost.reason }, 'lost the sync lock: this pass stops now; what it stored is kept, and it writes nothing more');
    failFatally(lock.lost.reason);
  };
  lock.lost.addEventListener('abort', onLockLost, { once: true });
  if (lock.lost.aborted) onLockLost();

  const listingFailures: SyncFailure[] = [];
  const unitFailures: SyncFailure[] = [];
  const readsByKind = emptyReads();
  let rounds: RoundSummary[] = [];
  let unitsAttempted = 0;
  let unitsSucceeded = 0;
  let sessionsNew = 0;
  let sessionsWithNews = 0;
  let expiredIncomplete: IsoDate[] = [];
  const windowsByMonth = new Map(horizon.windows.map((w) => [w.monthStart, w]));
  const monthStarts = horizon.windows.map((w) => w.monthStart);
  let windowStates: Map<IsoDate, WindowState>;
  const totals = (outcome: Exclude<RunOutcome, 'running'>, error: string | null) => ({
    outcome,
    finishedAt: clock.now(),
    apiCalls: progress.apiCalls,
    calls: calls.byKind,
    reads: readsByKind,
    sessionsNew,
    listingMisses: progress.listingMisses,
    unitsAttempted,
    unitsFailed: unitFailures.length,
    versionsSeen: progress.versionsSeen,
    versionsAdded: progress.versionsAdded,
    error,
  });

  try {
    await ensureWindows(writer, horizon.windows);
    expiredIncomplete = await reportExpiredWindows(writer, horizon, logger);
    windowStates = await loadWindows(pool, monthStarts);

    // 1. Listing: the open month on every pass; a month that has ended once more after its end (its
    // last hours), then once after it settled (final: it may still reveal sessions, which get their
    // backfill; its news is left to the settled-month sweep, which reads every session there anyway).
    const toList = horizon.windows.filter((w) => mode === 'all' || needsListing(w, windowStates.get(w.monthStart)));
    progress.phase = 'listing';
    progress.windowsTotal = horizon.windows.length;
    const ctx: SweepContext = { pool, writer, fence, reports: deps.reports, clock, logger, progress, syncRunId: runId, settleHours: settings.settleHours, signal: stop.signal };
    await runConcurrently(
      toList,
      2,
      async (window) => {
        try {
          const listed = await calls.run('listing', () => listWindowSessions(ctx, window, windowStates.get(window.monthStart), { full: mode === 'all', flagNews: !window.settled }));
          sessionsWithNews += listed.withNews;
          logger.debug({ window: window.monthStart, from: window.from, to: window.to, ...listed }, 'window listed');
        } catch (err) {
          if (classifyFailure(err) === 'fatal') return failFatally(err);
          listingFailures.push({ monthStart: window.monthStart, error: describeFailure(err) });
          logger.error({ err: errForLog(err), window: window.monthStart }, 'listing sessions failed for this window; it stays incomplete and is retried next run');
        } finally {
          progress.windowsListed++;
        }
      },
      stop.signal,
    );
    if (fatal !== undefined) throw fatal;

    // 2. Units: new sessions everywhere; every known session in windows being swept.
    const now = clock.now();
    sessionsNew = await ensureUnitsForNewSessions(writer, monthStarts, now);
    if (mode === 'all') {
      await ensureUnits(writer, monthStarts);
      await requestFullResweep(writer, monthStarts, now);
    }
    windowStates = await loadWindows(pool, monthStarts);
    const underway = sweepRounds(horizon, windowStates, settings, now.getTime());
    for (const round of underway) {
      const ensuredAt = windowStates.get(round.monthStart)?.unitsEnsuredAt;
      if (!ensuredAt || ensuredAt.getTime() < round.beganAtMs) await ensureUnitsForAllSessions(writer, round.monthStart, now);
    }
    const roundProgress = new Map((await loadRoundProgress(pool, underway.map((r) => ({ monthStart: r.monthStart, beganAt: new Date(r.beganAtMs) })))).map((p) => [p.monthStart, p]));
    rounds = underway.map((r) => {
      const p = roundProgress.get(r.monthStart) ?? { units: 0, done: 0 };
      return { monthStart: r.monthStart, kind: r.kind, began: new Date(r.beganAtMs).toISOString(), units: p.units, doneBefore: p.done, taken: roundTake(r, p, now.getTime()) };
    });
    const selections = rounds.filter((r) => r.taken > 0).map((r) => ({ monthStart: r.monthStart, beganAt: new Date(r.began), take: r.taken }));
    progress.unitsTotal = await countDueUnits(pool, monthStarts, selections);
    progress.phase = 'sweeping';
    logger.info({ units: progress.unitsTotal, windowsListed: toList.length, sessionsNew, sessionsWithNews, rounds }, 'reading session windows');
    const due = iterateDueUnits(pool, monthStarts, selections);

    // 3. Reads.
    await runConcurrently(
      due,
      settings.concurrency,
      async (unit) => {
        const window = windowsByMonth.get(unit.monthStart);
        if (!window) return;
        const plan = planRead(unit, window, clock.now(), settings.settleHours);
        unitsAttempted++;
        readsByKind[plan.kind]++;
        try {
          await calls.run(plan.kind, () => readOrRecordGone(ctx, unit, window, plan, logger));
          unitsSucceeded++;
        } catch (err) {
          if (classifyFailure(err) === 'fatal') return failFatally(err);
          progress.unitsFailed++;
          const error = describeFailure(err);
          unitFailures.push({ monthStart: unit.monthStart, sessionId: unit.sessionId, error });
          logger.warn({ err: errForLog(err), sessionId: unit.sessionId, window: unit.monthStart, read: plan.kind }, 'session window failed; its stored pages are kept and it is retried next run');
          await recordUnitFailure(writer, unit, error).catch((recordErr: unknown) => failFatally(recordErr));
        } finally {
          progress.unitsDone++;
        }
      },
      stop.signal,
    );
    if (fatal !== undefined) throw fatal;
    if (deps.signal?.aborted) throw stoppedByCaller(deps.signal);

    // 4. Completion. Any window's listing may reveal sessions that need units in every other
    // window, so no window is declared complete in a pass where a listing failed.
    progress.phase = 'finishing';
    // The store completes only windows listed and given units after they settled (not the open month).
    if (listingFailures.length === 0) await completeSettledWindows(writer, horizon.windows);
    windowStates = await loadWindows(pool, monthStarts);
  } catch (err) {
    // A pass its caller stopped ends with one ABORTED error, whichever read was in flight then.
    const typed = deps.signal?.aborted ? stoppedByCaller(deps.signal) : asTypedError(fatal ?? err);
    await finishRun(writer, runId, totals(hasCode(typed, 'ABORTED') ? 'aborted' : 'failed', describeFailure(typed))).catch(() => undefined);
    progress.phase = 'done';
    deps.signal?.removeEventListener('abort', onOuterAbort);
    lock.lost.removeEventListener('abort', onLockLost);
    throw typed;
  }
  deps.signal?.removeEventListener('abort', onOuterAbort);
  lock.lost.removeEventListener('abort', onLockLost);

  const atRisk = assessHorizonRisk(horizon, windowStates, settings);
  for (const risk of atRisk) {
    logger.error(
      { window: risk.monthStart, from: risk.from, daysUntilExpiry: risk.daysUntilExpiry, leavesHorizonOn: risk.leavesHorizonOn },
      `HORIZON RISK: window ${risk.monthStart} is not complete and its oldest day leaves Zoom's six-month horizon in ${risk.daysUntilExpiry} day(s) (${risk.leavesHorizonOn}); after that its data is gone for good`,
    );
  }
  const complete: IsoDate[] = [];
  const open: IsoDate[] = [];
  const incomplete: IsoDate[] = [];
  for (const w of horizon.windows) {
    const state = windowStates.get(w.monthStart);
    if (state?.completedAt) complete.push(w.monthStart);
    else if (!w.settled) open.push(w.monthStart);
    else incomplete.push(w.monthStart);
  }
  progress.windowsComplete = complete.length;
  progress.phase = 'done';

  const everythingAttemptedSucceeded = listingFailures.length === 0 && unitFailures.length === 0;
  const outcome: SyncSummary['outcome'] = everythingAttemptedSucceeded ? 'complete' : 'incomplete';
  await finishRun(
    writer,
    runId,
    totals(outcome, everythingAttemptedSucceeded ? null : `${listingFailures.length} listing(s) and ${unitFailures.length} session window(s) failed`),
  );
  const sessionsKnown = Number((await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.sessions')).rows[0]?.n ?? 0);
  const summary: SyncSummary = {
    runId,
    mode,
    outcome,
    horizon: { start: horizon.start, today: horizon.today, windows: horizon.windows.length },
    windowsComplete: complete,
    windowsOpen: open,
    windowsIncomplete: incomplete,
    windowsExpiredIncomplete: expiredIncomplete,
    listingFailures,
    unitFailures,
    unitsAttempted,
    unitsSucceeded,
    sessionsKnown,
    sessionsNew,
    sessionsWithNews,
    readsByKind,
    callsByKind: { ...calls.byKind },
    rounds,
    listingMisses: progress.listingMisses,
    versionsSeen: progress.versionsSeen,
    versionsAdded: progress.versionsAdded,
    malformedItems: progress.malformedItems,
    apiCalls: progress.apiCalls,
    atRisk,
    durationMs: progress.elapsedMs(),
  };
  logger.info(
    {
      outcome,
      unitsAttempted,
      unitsFailed: unitFailures.length,
      listingFailures: listingFailures.length,
      sessionsNew,
      readsByKind,
      callsByKind: summary.callsByKind,
      listingMisses: summary.listingMisses,
      versionsSeen: summary.versionsSeen,
      versionsAdded: summary.versionsAdded,
      apiCalls: summary.apiCalls,
      windowsComplete: complete.length,
      windowsOpen: open.length,
      windowsIncomplete: incomplete.length,
      atRisk: atRisk.length,
      durationMs: summary.durationMs,
    },
    'sync pass finished',
  );
  return summary;
}

async function readOrRecordGone(ctx: SweepContext, unit: DueUnit, window: SyncWindow, plan: PlannedRead, logger: Logger): Promise<void> {
  try {
    const result = await archiveUnit(ctx, unit, window, plan);
    if (Object.keys(result.misses).length > 0) {
      logger.info(
        { sessionId: unit.sessionId, window: unit.monthStart, read: plan.kind, kinds: result.misses },
        'listing miss: this sweep found versions in a session no listing had shown news for (counted in zca_listing_misses_total and the sync_listing_misses view)',
      );
    }
  } catch (err) {
    if (!hasCode(err, 'ZOOM_NOT_FOUND')) throw err;
    logger.warn({ sessionId: unit.sessionId, window: unit.monthStart }, 'Zoom reports this session does not exist (404); nothing left to fetch for it in this window');
    await recordSessionGone(ctx, unit, window, plan);
  }
}

async function reportExpiredWindows(writer: Queryable, horizon: Horizon, logger: Logger): Promise<IsoDate[]> {
  const expired = await expireWindows(writer, horizon.start);
  const lost = expired.filter((w) => !w.complete).map((w) => w.monthStart);
  for (const monthStart of lost) {
    logger.error({ window: monthStart }, `window ${monthStart} left Zoom's six-month horizon before it was complete: what was not archived by now can no longer be fetched`);
  }
  return lost;
}

function stoppedByCaller(signal: AbortSignal): AbortError {
  return new AbortError('sync pass stopped before it finished', { cause: signal.reason });
}

function errForLog(err: unknown): unknown {
  if (err && typeof err === 'object' && 'toLog' in err && typeof (err as { toLog: unknown }).toLog === 'function') {
    return (err as { toLog(): unknown }).toLog();
  }
  return err;
}
