import { z } from 'zod';
import { JOB_NAMES } from './jobs.js';

/**
 * The shapes of what the HTTP API answers, in zod: each route declares its responses with these
 * (`schema.response`), fastify serialises every answer through them (so nothing leaves that is not
 * described here), and /openapi.json documents them (openapi-document.ts). A shape with an `id` is
 * one component of the document, referenced wherever it is used. Request shapes (query, path,
 * body) sit with their routes.
 *
 * Times are Date objects in the handlers and ISO 8601 UTC with milliseconds on the wire; a few
 * sections that are built as text (the status report, version pages) are strings already.
 */

const dateTime = () => z.date().meta({ format: 'date-time' });
const isoText = (description?: string) => z.string().meta({ format: 'date-time', ...(description ? { description } : {}) });
const isoDay = () => z.string().meta({ format: 'date', description: 'A UTC day, yyyy-mm-dd.' });

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().meta({
        description:
          'Stable: INPUT_INVALID, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, GONE, PAYLOAD_TOO_LARGE, URI_TOO_LONG, UNSUPPORTED_MEDIA_TYPE, RANGE_NOT_SATISFIABLE, TOO_MANY_EXPORTS, QUERY_TIMEOUT, SERVICE_UNAVAILABLE, INTERNAL, ZOOM_*…',
      }),
      message: z.string().meta({ description: 'For the person reading it: never a stack trace, SQL or an internal path.' }),
      parameter: z.string().optional().meta({ description: 'The parameter or field at fault.' }),
      request_id: z.string().meta({ description: 'Also in the X-Request-Id header and the service log.' }),
    }),
  })
  .meta({ id: 'Error', description: 'Every error answer has this shape.' });

/** One version as the API returns it (columns of the chat_message_versions view). */
export const Version = z
  .object({
    version_id: z.number().int(),
    session_id: z.string(),
    message_id: z.string(),
    kind: z.enum(['original', 'edited', 'deleted']),
    sent_at: isoText('Send time of the message; null when Zoom sent none.').nullable(),
    action_at: isoText('Time of this version: the edit or deletion, or the send time.'),
    sender: z.string().nullable().meta({ description: 'Empty for senders outside the account.' }),
    sender_member_id: z.string().nullable(),
    sender_display_name: z.string().nullable(),
    receiver: z.string().nullable(),
    body: z.string().nullable(),
    reply_main_message_id: z.string().nullable(),
    files: z.unknown().meta({ description: 'The files the message listed, as Zoom sent them (JSON).' }),
    content_sha256: z.string().meta({ description: 'SHA-256 of the version\'s canonical JSON, hex.' }),
    archived_at: isoText(),
    raw: z.unknown().optional().meta({ description: 'The item exactly as Zoom sent it; only with include_raw=true.' }),
  })
  .meta({ id: 'Version', description: 'One archived version of a message.' });

const nextCursor = z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page.' });

/** A page of items with its cursor. */
export function pageOf<Item extends z.ZodType>(item: Item) {
  return z.object({ items: z.array(item), next_cursor: nextCursor });
}

export const Session = z
  .object({
    session_id: z.string(),
    type: z.string().nullable().meta({ description: 'Group or 1:1.' }),
    name: z.string().nullable(),
    channel_id: z.string().nullable(),
    member_emails: z.array(z.string()).nullable().meta({ description: 'Members of a 1:1 chat (Zoom lists no members for group chats).' }),
    status: z.string().nullable(),
    has_external_member: z.boolean().nullable(),
    last_message_sent_at: dateTime().nullable(),
    first_archived_at: dateTime(),
    last_archived_at: dateTime(),
  })
  .meta({ id: 'Session' });

export const SessionDetail = Session.extend({
  versions: z.number().int(),
  messages: z.number().int(),
  first_sent_at: dateTime().nullable(),
  last_sent_at: dateTime().nullable(),
}).meta({ id: 'SessionDetail' });

const JOB_OUTCOMES = ['running', 'succeeded', 'failed', 'skipped', 'aborted'] as const;

export const JobRun = z
  .object({
    job_run_id: z.number().int(),
    job: z.string(),
    instance: z.string(),
    started_at: dateTime(),
    finished_at: dateTime().nullable(),
    outcome: z.enum(JOB_OUTCOMES),
    figures: z.record(z.string(), z.unknown()).nullable().meta({ description: 'Counts and identifiers of the run (never message content).' }),
    error: z.string().nullable(),
  })
  .meta({ id: 'JobRun' });

const CHECK_NAMES = ['database', 'migrations', 'last_sync', 'horizon'] as const;

export const Readiness = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    strict: z.boolean().meta({ description: 'true for /readyz/strict (archive health judged too).' }),
    shutting_down: z.literal(true).optional(),
    failing: z.array(z.enum(CHECK_NAMES)),
    checks: z.partialRecord(z.enum(CHECK_NAMES), z.object({ ok: z.boolean().nullable().meta({ description: 'null: not checked.' }), detail: z.string() })),
  })
  .meta({ id: 'Readiness' });

export const Health = z.object({ status: z.literal('ok'), version: z.string(), started_at: dateTime(), uptime_seconds: z.number().int() });

const custodian = z.object({ identifier: z.string(), email: z.string().nullable(), user_id: z.string().nullable() });

const legalHoldFile = z.object({
  custodian: z.string(),
  file_key: z.string(),
  state: z.enum(['pending', 'ready', 'downloading', 'stored', 'failed']),
  file_start_date: isoDay().nullable(),
  file_end_date: isoDay().nullable(),
  file_count: z.number().int().nullable(),
  announced_bytes: z.number().int().nullable(),
  stored_bytes: z.number().int().nullable(),
  sha256: z.string().nullable(),
  zip_entries: z.number().int().nullable(),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  first_seen_at: dateTime(),
  ready_at: dateTime().nullable(),
  stored_at: dateTime().nullable(),
});

export const Matter = z
  .object({
    matter_id: z.string(),
    name: z.string(),
    state: z.enum(['active', 'deleted_in_zoom', 'deleted_here']),
    start_date: isoDay().nullable(),
    end_date: isoDay().nullable(),
    creation_date: isoDay().nullable(),
    custodians: z.array(custodian),
    first_seen_at: dateTime(),
    last_seen_at: dateTime(),
    created_here_at: dateTime().nullable(),
    deleted_at: dateTime().nullable(),
    updated_at: dateTime(),
  })
  .meta({ id: 'Matter', description: 'A legal-hold matter as mirrored here.' });

export const MatterWithFiles = Matter.extend({ files: z.array(legalHoldFile) }).meta({ id: 'MatterWithFiles', description: 'A matter with each of its zip files.' });

export const MatterWithFileCounts = Matter.extend({
  files: z.record(z.string(), z.number().int()).meta({ description: 'Zip files by state (pending, ready, downloading, stored, failed); a state with none is absent.' }),
}).meta({ id: 'MatterWithFileCounts' });

export const Export = z
  .object({
    export_id: z.string().meta({ format: 'uuid' }),
    state: z.enum(['running', 'complete', 'failed']),
    requested_by: z.string(),
    requested_at: dateTime(),
    selection: z.string().meta({ description: 'The filter in words.' }),
    filter: z.unknown().meta({ type: 'object', description: 'What was asked for: kind (matter, custodians, sessions) and its terms.' }),
    formats: z.array(z.enum(['jsonl', 'csv', 'html', 'rsmf'])),
    progress: z.unknown().meta({ type: ['object', 'null'], description: 'Phase and figures while running.' }),
    // A bag of figures the export engine may add to: what it holds is passed on whole.
    counts: z
      .looseObject({ sessions: z.number().int(), messages: z.number().int(), versions: z.number().int(), edits: z.number().int(), deletions: z.number().int(), files: z.number().int() })
      .nullable(),
    bytes: z.number().int().nullable(),
    sha256: z.string().nullable().meta({ description: 'SHA-256 of the bundle file, hex.' }),
    error: z.string().nullable(),
    finished_at: dateTime().nullable(),
    updated_at: dateTime(),
    download_url: z.string().nullable(),
  })
  .meta({ id: 'Export' });

const syncPass = z.object({
  run_id: z.number().int(),
  mode: z.string(),
  outcome: z.string(),
  started_at: isoText(),
  finished_at: isoText().nullable(),
  age_seconds: z.number().int().meta({ description: 'Seconds since it finished (since it started, while running).' }),
  error: z.string().nullable(),
});

/** The sync cost plan (src/sync/cost-plan.ts, toCostPlanReport): report calls a day unless named otherwise. */
const syncCost = z.object({
  known_sessions: z.number().int(),
  budget_per_day: z.number(),
  last_day: z.object({ hours: z.number(), calls_by_kind: z.record(z.string(), z.number()), total: z.number() }),
  projected: z.object({
    listing: z.number(),
    activity: z.number(),
    backfill: z.number(),
    settled_average: z.number(),
    settled_peak: z.number(),
    interim_average: z.number(),
    interim_peak: z.number(),
    recurring_average: z.number(),
    recurring_peak: z.number(),
    peak_share_of_budget: z.number(),
  }),
  growth: z.object({ new_sessions_per_day: z.number(), days_until_over_budget: z.number().nullable() }),
  backfill: z.object({ units_pending: z.number(), hours_at_budget: z.number() }),
  warnings: z.array(z.string()),
});

/** GET /v1/status: the status report (src/read-model/status-report.ts) without the exact totals, and the jobs. */
export const Status = z
  .object({
    last_sync: z.object({
      last_finished: syncPass.nullable(),
      last_complete: syncPass.nullable(),
      running: syncPass.pick({ run_id: true, mode: true, started_at: true, age_seconds: true }).nullable(),
    }),
    failing_units: z.object({
      count: z.number().int(),
      items: z.array(z.object({ window: isoDay(), session_id: z.string(), failures: z.number().int(), last_error: z.string().nullable(), last_error_at: isoText().nullable() })),
    }),
    legal_hold: z.object({
      matters: z.record(z.string(), z.number().int()).meta({ description: 'Matters by state.' }),
      files: z.object({ pending: z.number().int(), ready: z.number().int(), downloading: z.number().int(), stored: z.number().int(), failed: z.number().int() }),
      not_stored: z.array(
        z.object({
          matter_id: z.string(),
          matter_name: z.string(),
          custodian: z.string(),
          file_key: z.string(),
          state: z.string(),
          attempts: z.number().int(),
          last_error: z.string().nullable(),
          unready_hours: z.number().nullable(),
        }),
      ),
    }),
    files: z
      .object({
        by_state: z.record(z.string(), z.number().int()).meta({ description: 'Distinct files shared in chat by capture state (pending, stored, failed, gone, too_large, skipped).' }),
        stored_bytes: z.number(),
        digest_mismatches: z.number().int(),
        not_stored: z.array(
          z.object({ file_id: z.string(), file_name: z.string().nullable(), state: z.string(), attempts: z.number().int(), last_error: z.string().nullable(), first_missing_at: isoText().nullable() }),
        ),
      })
      .meta({ description: 'Files shared in chat (view chat_files): pending, failed and gone ones are listed here.' }),
    exports: z.object({
      running: z.array(z.object({ export_id: z.string(), requested_by: z.string(), requested_at: isoText(), age_seconds: z.number().int(), progress: z.unknown() })),
      failed_last_7_days: z.number().int(),
    }),
    locks: z.array(z.object({ name: z.string(), fence: z.string(), holder: z.string(), acquired_at: isoText() })),
    horizon: z.object({
      today: isoDay(),
      start: isoDay(),
      risk_days: z.number().int(),
      at_risk: z.array(z.object({ window: isoDay(), days_until_expiry: z.number().int(), leaves_horizon_on: isoDay() })),
      oldest_incomplete_days_until_expiry: z.number().int().nullable(),
    }),
    windows: z.array(
      z.object({
        month_start: isoDay(),
        range_from: isoDay(),
        range_to: isoDay(),
        status: z.enum(['complete', 'open', 'incomplete', 'expired']),
        sessions_listed: z.number().int(),
        units: z.number().int(),
        units_complete: z.number().int(),
        units_failing: z.number().int(),
        versions_archived: z.string().meta({ description: 'A decimal count, as text.' }),
        listed_at: dateTime().nullable(),
        last_swept_at: dateTime().nullable(),
        completed_at: dateTime().nullable(),
        days_until_expiry: z.number().int().nullable(),
      }),
    ),
    sync_cost: syncCost.nullable(),
    jobs: z.array(
      z.object({
        job: z.enum(JOB_NAMES),
        description: z.string(),
        schedule: z.string(),
        timezone: z.literal('UTC'),
        next_run_here: dateTime().nullable(),
        running_here: z.boolean(),
        last_run: z
          .object({
            job_run_id: z.number().int(),
            instance: z.string(),
            started_at: dateTime(),
            finished_at: dateTime().nullable(),
            outcome: z.enum(JOB_OUTCOMES),
            error: z.string().nullable(),
            figures: z.record(z.string(), z.unknown()).nullable(),
          })
          .nullable(),
      }),
    ),
  })
  .meta({ id: 'Status' });
