import type { AlertsConfig, Config } from '../config/config.js';
import type { Pool, PoolClient } from '../db/pool.js';
import { withTransaction } from '../db/pool.js';
import { ArchiverError, isArchiverError, throwIfAborted } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { recordAudit } from '../audit/audit-log.js';
import type { Clock } from '../util/clock.js';
import { CHAT_MESSAGE_MAX_CHARS, sendChatMessage } from '../zoom/chat-messages.js';
import type { ZoomClient } from '../zoom/client.js';
import { currentWatermark, evaluateIncidents, evaluateNotices, type Incident, type IncidentKind, type NoticeKind, type NoticeWatermark } from './alert-rules.js';

/**
 * One alert pass (the service's `alerts` job, every 5 minutes by default): evaluate what is wrong
 * and what happened (alert-rules.ts), reconcile it with what was already announced
 * (archive.alerts), and post what is new to Zoom Team Chat.
 *
 * - **Once per incident**: an incident is announced when it opens, never again while it stays open
 *   (a job failing every run for a day is one message), except one reminder every
 *   ALERT_REMIND_HOURS (0: never); when it no longer holds, one "resolved" message. An incident that
 *   opened and resolved before it could be announced is never announced.
 * - **Once per notice**: each export, listing-miss pass and published head is posted once.
 * - **Grouped**: incidents of one kind that open (or resolve) in the same pass share one message.
 * - **Rate-limited**: at most ALERT_MAX_PER_HOUR messages in any hour (the MEDIUM budget is the
 *   reports'); what does not fit waits for the next pass, openings first, then resolutions, notices,
 *   reminders.
 * - State lives in the database, so a restart or another replica never repeats a message. Every
 *   message posted is also an `alert.sent` audit event (kind, keys, Zoom's message id).
 */

export interface AlertPassDeps {
  pool: Pool;
  zoom: ZoomClient;
  config: Readonly<Pick<Config, 'sync' | 'legalHold' | 'alerts' | 'zoom'>>;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal | undefined;
}

export interface AlertPassSummary {
  incidentsOpen: number;
  opened: string[];
  resolved: string[];
  notices: number;
  messagesSent: number;
  /** Messages that wait for the rate limit (next pass). */
  deferred: number;
  /** Why sending stopped, when it did (the rest waits for the next pass). */
  failure: { code: string; message: string } | null;
}

const MARKER = 'system:alerts';
const HOUR_MS = 3_600_000;

const TITLES: Record<IncidentKind | NoticeKind, string> = {
  'horizon-risk': 'Horizon risk',
  'job-failing': 'Job failing',
  'legal-hold-failed': 'Legal-hold files failed',
  'legal-hold-unready': 'Legal-hold files not ready',
  'sync-cost': 'Sync cost',
  'audit-chain': 'Audit chain',
  'export-complete': 'Export finished',
  'listing-miss': 'Listing miss',
  'chain-head': 'Daily audit chain head',
};

interface AlertRow {
  key: string;
  kind: string;
  state: 'firing' | 'resolved' | 'pending' | 'sent';
  message: string;
  facts: Record<string, unknown> | null;
  notified_at: Date | null;
  reminded_at: Date | null;
  resolved_notified_at: Date | null;
}

interface MarkerFacts {
  watermark: NoticeWatermark;
  /** Times (ms) of the messages posted in the last hour. */
  sends: number[];
}

interface Outgoing {
  role: 'open' | 'resolve' | 'notice' | 'remind';
  kind: string;
  keys: string[];
  text: string;
}

export function alertsConfigured(config: Readonly<AlertsConfig>): boolean {
  return config.zoomUserId !== undefined && (config.toChannel !== undefined || config.toContact !== undefined);
}

export async function runAlertPass(deps: AlertPassDeps): Promise<AlertPassSummary> {
  const { pool, clock, config } = deps;
  if (!alertsConfigured(config.alerts)) throw new ArchiverError('CONFIG_INVALID', 'alerts are not configured: set ALERT_ZOOM_USER_ID and ALERT_ZOOM_CHANNEL (or ALERT_ZOOM_CONTACT)');
  const now = clock.now();
  const marker = await loadMarker(pool, now);
  const incidents = await evaluateIncidents(pool, { config, clock });
  const notices = await evaluateNotices(pool, marker.watermark);
  const { opened, resolved } = await reconcile(pool, incidents, notices.map((x) => ({ key: x.key, kind: x.kind, message: x.text, facts: x.facts })), now);

  const rows = (await pool.query<AlertRow>(`SELECT key, kind, state, message, facts, notified_at, reminded_at, resolved_notified_at FROM archive.alerts WHERE key <> $1 ORDER BY first_seen_at, key`, [MARKER])).rows;
  const outgoing = planMessages(rows, config.alerts, now);
  // Sends "in the future" (the clock went back) do not count: the limit follows this clock.
  const sentInLastHour = marker.sends.filter((t) => t > now.getTime() - HOUR_MS && t <= now.getTime());
  let budget = Math.max(0, config.alerts.maxPerHour - sentInLastHour.length);
  let sent = 0;
  let failure: AlertPassSummary['failure'] = null;
  for (const message of outgoing) {
    if (budget === 0) break;
    throwIfAborted(deps.signal);
    let messageId: string;
    try {
      messageId = (await sendChatMessage(deps.zoom, { userId: config.alerts.zoomUserId as string, toChannel: config.alerts.toChannel, toContact: config.alerts.toContact, message: message.text }, deps.signal ? { signal: deps.signal } : {})).messageId;
    } catch (err) {
      if (isArchiverError(err) && err.code === 'ABORTED') throw err;
      failure = { code: isArchiverError(err) ? err.code : 'ALERT_SEND_FAILED', message: err instanceof Error ? err.message : String(err) };
      deps.logger.error({ err, kind: message.kind, keys: message.keys }, 'could not post an alert to Zoom Team Chat; it waits for the next pass');
      break;
    }
    budget--;
    sent++;
    sentInLastHour.push(now.getTime());
    await recordSent(pool, message, messageId, now, config.alerts, sentInLastHour);
    deps.logger.info({ kind: message.kind, role: message.role, keys: message.keys, zoomMessageId: messageId }, 'alert posted to Zoom Team Chat');
  }
  const open = rows.filter((r) => r.state === 'firing').length;
  return { incidentsOpen: open, opened, resolved, notices: notices.length, messagesSent: sent, deferred: outgoing.length - sent, failure };
}

async function loadMarker(pool: Pool, now: Date): Promise<MarkerFacts> {
  const existing = (await pool.query<{ facts: MarkerFacts }>('SELECT facts FROM archive.alerts WHERE key = $1', [MARKER])).rows[0];
  if (existing) return existing.facts;
  const facts: MarkerFacts = { watermark: await currentWatermark(pool), sends: [] };
  await pool.query(
    `INSERT INTO archive.alerts (key, kind, state, first_seen_at, last_seen_at, message, facts) VALUES ($1, 'system', 'sent', $2, $2, 'alerts enabled', $3)
     ON CONFLICT (key) DO NOTHING`,
    [MARKER, now, JSON.stringify(facts)],
  );
  return ((await pool.query<{ facts: MarkerFacts }>('SELECT facts FROM archive.alerts WHERE key = $1', [MARKER])).rows[0] as { facts: MarkerFacts }).facts;
}

async function reconcile(pool: Pool, incidents: Incident[], notices: Array<{ key: string; kind: string; message: string; facts: Record<string, unknown> }>, now: Date): Promise<{ opened: string[]; resolved: string[] }> {
  return withTransaction(pool, async (client: PoolClient) => {
    const opened: string[] = [];
    for (const i of incidents) {
      const res = await client.query<{ opened: boolean }>(
        `INSERT INTO archive.alerts AS a (key, kind, state, first_seen_at, last_seen_at, message, facts) VALUES ($1, $2, 'firing', $3, $3, $4, $5)
         ON CONFLICT (key) DO UPDATE SET
           last_seen_at = $3, message = $4, facts = $5,
           state = 'firing',
           first_seen_at = CASE WHEN a.state = 'resolved' THEN $3 ELSE a.first_seen_at END,
           resolved_at = NULL,
           notified_at = CASE WHEN a.state = 'resolved' THEN NULL ELSE a.notified_at END,
           reminded_at = CASE WHEN a.state = 'resolved' THEN NULL ELSE a.reminded_at END,
           resolved_notified_at = CASE WHEN a.state = 'resolved' THEN NULL ELSE a.resolved_notified_at END,
           notifications = CASE WHEN a.state = 'resolved' THEN 0 ELSE a.notifications END
         RETURNING (xmax = 0 OR first_seen_at = $3) AS opened`,
        [i.key, i.kind, now, i.text, JSON.stringify(i.facts)],
      );
      if (res.rows[0]?.opened) opened.push(i.key);
    }
    const resolved = await client.query<{ key: string }>(
      `UPDATE archive.alerts SET state = 'resolved', resolved_at = $2 WHERE state = 'firing' AND NOT (key = ANY($1::text[])) RETURNING key`,
      [incidents.map((i) => i.key), now],
    );
    for (const x of notices) {
      await client.query(
        `INSERT INTO archive.alerts (key, kind, state, first_seen_at, last_seen_at, message, facts) VALUES ($1, $2, 'pending', $3, $3, $4, $5) ON CONFLICT (key) DO NOTHING`,
        [x.key, x.kind, now, x.message, JSON.stringify(x.facts)],
      );
    }
    return { opened, resolved: resolved.rows.map((r) => r.key) };
  });
}

/** What a resolved incident's message says, from its key and facts (never message content). */
function resolutionText(row: AlertRow): string {
  const subject = row.key.slice(row.key.indexOf(':') + 1);
  switch (row.kind) {
    case 'horizon-risk':
      return `window ${subject.slice(0, 7)} is no longer at horizon risk`;
    case 'job-failing':
      return `job ${subject} succeeded again`;
    case 'legal-hold-failed':
      return `legal-hold matter ${subject} has no failed zip file left`;
    case 'legal-hold-unready':
      return `legal-hold matter ${subject} has no zip file waiting too long for Zoom`;
    case 'sync-cost':
      return 'the sync cost plan is within the rate budget again';
    case 'audit-chain':
      return 'the audit chain verifies again';
    default:
      return `${row.key} resolved`;
  }
}

/**
 * Fits lines into one message of at most 1,024 characters (Zoom's limit), saying how many were left
 * out; a single line too long is cut.
 */
export function composeMessage(heading: string, lines: readonly string[]): string {
  const cut = (text: string) => (text.length <= CHAT_MESSAGE_MAX_CHARS ? text : `${text.slice(0, CHAT_MESSAGE_MAX_CHARS - 1)}…`);
  if (lines.length === 1) return cut(`${heading}\n- ${lines[0]}`);
  const more = (k: number) => `… and ${k} more (zoom-chat-archiver status)`;
  const out = [heading];
  for (let i = 0; i < lines.length; i++) {
    const rest = lines.length - i - 1;
    const candidate = [...out, `- ${lines[i]}`, ...(rest > 0 ? [more(rest)] : [])].join('\n');
    if (candidate.length > CHAT_MESSAGE_MAX_CHARS) {
      out.push(more(lines.length - i));
      break;
    }
    out.push(`- ${lines[i]}`);
  }
  return cut(out.join('\n'));
}

function planMessages(rows: AlertRow[], config: Readonly<AlertsConfig>, now: Date): Outgoing[] {
  const byKind = (selected: AlertRow[]) => {
    const groups = new Map<string, AlertRow[]>();
    for (const r of selected) groups.set(r.kind, [...(groups.get(r.kind) ?? []), r]);
    return groups;
  };
  const title = (kind: string) => TITLES[kind as IncidentKind] ?? kind;
  const out: Outgoing[] = [];
  for (const [kind, group] of byKind(rows.filter((r) => r.state === 'firing' && r.notified_at === null))) {
    out.push({ role: 'open', kind, keys: group.map((r) => r.key), text: composeMessage(`ALERT zoom-chat-archiver: ${title(kind)}`, group.map((r) => r.message)) });
  }
  for (const [kind, group] of byKind(rows.filter((r) => r.state === 'resolved' && r.notified_at !== null && r.resolved_notified_at === null))) {
    out.push({ role: 'resolve', kind, keys: group.map((r) => r.key), text: composeMessage(`RESOLVED zoom-chat-archiver: ${title(kind)}`, group.map(resolutionText)) });
  }
  for (const r of rows.filter((x) => x.state === 'pending')) {
    out.push({ role: 'notice', kind: r.kind, keys: [r.key], text: composeMessage(`zoom-chat-archiver: ${title(r.kind)}`, [r.message]) });
  }
  if (config.remindHours > 0) {
    const due = now.getTime() - config.remindHours * HOUR_MS;
    const stale = rows.filter((r) => r.state === 'firing' && r.notified_at !== null && (r.reminded_at ?? r.notified_at).getTime() <= due);
    for (const [kind, group] of byKind(stale)) {
      out.push({ role: 'remind', kind, keys: group.map((r) => r.key), text: composeMessage(`STILL OPEN zoom-chat-archiver: ${title(kind)}`, group.map((r) => r.message)) });
    }
  }
  return out;
}

async function recordSent(pool: Pool, message: Outgoing, messageId: string, now: Date, config: Readonly<AlertsConfig>, sends: number[]): Promise<void> {
  await withTransaction(pool, async (client) => {
    const column = { open: 'notified_at', resolve: 'resolved_notified_at', notice: 'notified_at', remind: 'reminded_at' }[message.role];
    await client.query(
      `UPDATE archive.alerts SET ${column} = $2, notifications = notifications + 1${message.role === 'notice' ? ", state = 'sent'" : ''} WHERE key = ANY($1::text[])`,
      [message.keys, now],
    );
    await client.query(`UPDATE archive.alerts SET facts = jsonb_set(facts, '{sends}', $2::jsonb) WHERE key = $1`, [MARKER, JSON.stringify(sends.filter((t) => t > now.getTime() - HOUR_MS))]);
    await recordAudit(client, {
      actor: 'system:alerts',
      action: 'alert.sent',
      subjectType: 'alert',
      subjectId: message.keys[0] ?? message.kind,
      details: { kind: message.kind, role: message.role, keys: message.keys, zoom_message_id: messageId, to_channel: config.toChannel ?? null, to_contact: config.toContact ?? null, text: message.text },
    });
  });
}
