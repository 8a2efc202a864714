import type { IsoDate, VersionKind } from '../domain/types.js';
import { addMonths, utcToday } from '../util/dates.js';
import { MessageFlag, type SimDataset, type SimSession } from './dataset.js';
import { messageId } from './message-content.js';
import {
  currentState,
  editActionMs,
  editsAsOf,
  isDeletedAsOf,
  isMalformed,
  modificationsByActionTime,
  sentRange,
  textVersionAtDeletion,
  windowMs,
  type Modification,
  type WindowMs,
} from './report-selection.js';
import { ALL_INCLUDES, serialiseMessage } from './serialise.js';

/**
 * What a complete archive must hold: every distinct message version the simulator serves when every
 * window of the horizon is swept for every discoverable session with `query_all_modifications=true`,
 * `include_fields=edited_messages,deleted_messages` and all three include flags `true`.
 *
 * - `original`: each message sent in the horizon and not deleted, in its state as of the sweep.
 * - `edited`:   each edit made inside the horizon, including edits of messages sent before it.
 * - `deleted`:  each deletion made inside the horizon.
 *
 * A session is discoverable when some horizon window lists it: it sent a message inside the horizon
 * (equivalently, its latest send is inside it; true of both listing modes). Sessions whose messages
 * all predate the horizon are invisible to a fresh archiver even if edited today; pass
 * `knownSessionIds` for those an archiver remembers from earlier runs.
 *
 * The JSON comes from `serialise.ts`, the code the server uses, so it matches the served bytes.
 */

export interface GroundTruthOptions {
  /** The sweep's UTC day (default: the dataset's `now` day). */
  today?: IsoDate;
  /** First day of the horizon (default: six months before `today`, as Zoom allows). */
  horizonStart?: IsoDate;
  /**
   * The sweep's instant: events after it are not there yet (default: the end of `today`). It may
   * be later than `today` (a past range read now): sends and changes still count only inside the
   * range, but messages show their state as of this instant.
   */
  asOfMs?: number;
  /** Sessions the archiver knows from earlier runs, queried even when no window lists them. */
  knownSessionIds?: Iterable<string>;
}

export interface ExpectedVersion {
  sessionId: string;
  messageId: string;
  kind: VersionKind;
  actionMs: number;
  /** Exactly the JSON text of the item as served. */
  json: string;
}

export interface ExpectedMalformedItem {
  sessionId: string;
  reason: 'missing-id' | 'bad-timestamp';
  json: string;
}

interface ResolvedSweep {
  window: WindowMs;
  asOfMs: number;
  sessions: SimSession[];
}

function resolveSweep(ds: SimDataset, options: GroundTruthOptions): ResolvedSweep {
  const today = options.today ?? utcToday(new Date(ds.nowMs));
  const horizonStart = options.horizonStart ?? addMonths(today, -6);
  const window = windowMs(horizonStart, today);
  const asOfMs = options.asOfMs ?? window.toMs;
  const known = new Set(options.knownSessionIds ?? []);
  const sessions = ds.sessions.filter((s) => {
    if (known.has(s.id)) return true;
    const [start, end] = sentRange(ds, s, window, asOfMs);
    return end > start;
  });
  return { window, asOfMs, sessions };
}

export function* iterateExpectedVersions(ds: SimDataset, options: GroundTruthOptions = {}): Generator<ExpectedVersion> {
  const { window, asOfMs, sessions } = resolveSweep(ds, options);
  for (const session of sessions) {
    const [start, end] = sentRange(ds, session, window, asOfMs);
    for (let m = start; m < end; m++) {
      if (isDeletedAsOf(ds, m, asOfMs) || isMalformed(ds, m)) continue;
      const state = currentState(ds, m, asOfMs);
      yield {
        sessionId: session.id,
        messageId: messageId(ds, m),
        kind: 'original',
        actionMs: state.actionMs,
        json: serialiseMessage(ds, m, 'original', state.textVersion, state.actionMs, ALL_INCLUDES),
      };
    }
    for (const mod of modificationsByActionTime(ds, session, window, asOfMs, { edited: true, deleted: true })) yield modificationVersion(ds, session, mod, true);
  }
}

export function expectedVersions(ds: SimDataset, options: GroundTruthOptions = {}): ExpectedVersion[] {
  return Array.from(iterateExpectedVersions(ds, options));
}

/** The deliberately malformed items the same sweep meets (only with the `malformedItems` quirk). */
export function expectedMalformedItems(ds: SimDataset, options: GroundTruthOptions = {}): ExpectedMalformedItem[] {
  const { window, asOfMs, sessions } = resolveSweep(ds, options);
  const out: ExpectedMalformedItem[] = [];
  for (const session of sessions) {
    const [start, end] = sentRange(ds, session, window, asOfMs);
    for (let m = start; m < end; m++) {
      if (!isMalformed(ds, m)) continue;
      const state = currentState(ds, m, asOfMs);
      out.push({
        sessionId: session.id,
        reason: ((ds.messages.flags[m] ?? 0) & MessageFlag.missingId) !== 0 ? 'missing-id' : 'bad-timestamp',
        json: serialiseMessage(ds, m, 'original', state.textVersion, state.actionMs, ALL_INCLUDES),
      });
    }
  }
  return out;
}

/**
 * Every version an archive that syncs over time may hold, as of `asOfMs`: every edit and deletion
 * that has happened, and every state `messages[]` has shown each message in (its text after 0..n
 * edits) — a window read before a later edit keeps that earlier state, and a message read before it
 * was deleted keeps its original. Nothing outside this set is a correct archive's; together with
 * `iterateExpectedVersions` over the windows an archive has completed, it pins down exactness for an
 * archive that was kept current day by day rather than filled by one sweep.
 *
 * `json: false` skips serialising (large datasets compare by key only).
 */
export function* iterateAdmissibleVersions(ds: SimDataset, options: { asOfMs: number; json?: boolean }): Generator<ExpectedVersion> {
  const withJson = options.json ?? true;
  const asOfMs = options.asOfMs;
  for (const session of ds.sessions) {
    const end = session.firstMessage + session.messageCount;
    for (let m = session.firstMessage; m < end; m++) {
      const sentMs = ds.messages.sentMs[m] ?? 0;
      if (sentMs > asOfMs || isMalformed(ds, m)) continue;
      const deletedMs = ds.messages.deletedMs[m] ?? 0;
      // States shown while the message was not deleted (a read at the deletion instant still sees it).
      const edits = editsAsOf(ds, m, deletedMs !== 0 && deletedMs <= asOfMs ? deletedMs - 1 : asOfMs);
      const id = messageId(ds, m);
      for (let k = 0; k <= edits; k++) {
        const actionMs = k === 0 ? sentMs : editActionMs(ds, m, k);
        yield { sessionId: session.id, messageId: id, kind: 'original', actionMs, json: withJson ? serialiseMessage(ds, m, 'original', k, actionMs, ALL_INCLUDES) : '' };
      }
    }
    const everything: WindowMs = { fromMs: Number.NEGATIVE_INFINITY, toMs: asOfMs };
    for (const mod of modificationsByActionTime(ds, session, everything, asOfMs, { edited: true, deleted: true })) yield modificationVersion(ds, session, mod, withJson);
  }
}

/** An edit or deletion as the version `edited_messages` / `deleted_messages` serve. */
function modificationVersion(ds: SimDataset, session: SimSession, mod: Modification, withJson: boolean): ExpectedVersion {
  const m = mod.messageIndex;
  const kind: VersionKind = mod.ordinal === 0 ? 'deleted' : 'edited';
  const textVersion = mod.ordinal === 0 ? textVersionAtDeletion(ds, m) : mod.ordinal;
  return {
    sessionId: session.id,
    messageId: messageId(ds, m),
    kind,
    actionMs: mod.actionMs,
    json: withJson ? serialiseMessage(ds, m, kind, textVersion, mod.actionMs, ALL_INCLUDES) : '',
  };
}
