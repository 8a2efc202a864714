import { describe, expect, it } from 'vitest';
import { gatherStatus, type StatusReport } from '../../src/read-model/status-report.js';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock, systemClock } from '../../src/util/clock.js';
import { startSyncHarness } from '../helpers/sync-harness.js';
import { parsePrometheusText, sampleValue } from './prometheus-text.js';
import { createTestToken, getJson, loadRuns, sharedServiceProcess, waitFor } from './service-process.js';

// Every HTTP endpoint of a real `serve` process over a real archive (synced from the simulator):
// authentication and roles, parameter validation, cursor paging, search, transcript order, the
// audit trail of content reads, /metrics (parsed), /readyz, /openapi.json.

interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
interface Version {
  version_id: number;
  session_id: string;
  message_id: string;
  kind: string;
  sent_at: string | null;
  action_at: string;
  sender: string | null;
  body: string | null;
}
interface ErrorBody {
  error: { code: string; message: string; parameter?: string; request_id: string };
}

const fixture = sharedServiceProcess({
  harness: () => {
    const clock = new ManualClock(new Date());
    return startSyncHarness({ dataset: generateDataset({ seed: 41, now: clock.now(), sessions: 16, totalMessages: 1600 }), clock });
  },
  tokens: { prefix: 'api', roles: { reader: 'reader', exporter: 'exporter', admin: 'admin', revoked: 'admin' } },
  prepare: async ({ harness }) => {
    const summary = await harness.sync();
    expect(summary.outcome).toBe('complete');
    await harness.db.pool.query(`UPDATE archive.api_tokens SET revoked_at = now() WHERE name = 'api-revoked'`);
  },
  env: { API_MAX_PAGE_SIZE: '50', HTTP_MAX_BODY_BYTES: '2048' },
  args: ['--no-jobs'],
});
const { tokens, url } = fixture;
const get = <T>(path: string, token?: string, init?: RequestInit) => getJson<T>(url(path), token, init);

/** Follows next_cursor to the end. */
async function pageAll<T>(path: string, token: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const sep = path.includes('?') ? '&' : '?';
    const res: { status: number; body: Page<T> } = await get<Page<T>>(`${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`, token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    items.push(...res.body.items);
    cursor = res.body.next_cursor;
    if (cursor === null) return items;
  }
  throw new Error('paging did not end');
}

function expectCleanError(body: ErrorBody, code: string, parameter?: string): void {
  expect(body.error.code).toBe(code);
  if (parameter !== undefined) expect(body.error.parameter).toBe(parameter);
  expect(body.error.request_id).toMatch(/^[0-9a-f-]{36}$/);
  // Nothing internal leaks: no SQL, no stack frames, no file paths, no database URL.
  expect(body.error.message).not.toMatch(/SELECT|FROM archive|\bat .+\(.*:\d+:\d+\)|\/work\/|node_modules|postgres:\/\//i);
}

describe('probes and documents', () => {
  it('/healthz answers without a token', async () => {
    const res = await get<{ status: string; version: string }>('/healthz');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
  });

  it('/readyz (can serve) and /readyz/strict (and the archive is healthy) pass on a healthy, complete archive', async () => {
    const res = await get<{ status: string; strict: boolean; failing: string[]; checks: Record<string, { ok: boolean; detail: string }> }>('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ready', strict: false, failing: [] });
    expect(Object.keys(res.body.checks)).toEqual(['database', 'migrations']);
    const strict = await get<{ status: string; strict: boolean; failing: string[]; checks: Record<string, { ok: boolean; detail: string }> }>('/readyz/strict');
    expect(strict.status).toBe(200);
    expect(strict.body).toMatchObject({ status: 'ready', strict: true, failing: [] });
    expect(Object.keys(strict.body.checks)).toEqual(['database', 'migrations', 'last_sync', 'horizon']);
    expect(strict.body.checks['last_sync']?.detail).toMatch(/finished complete/);
  });

  it('/openapi.json is OpenAPI 3.1 and documents the routes the server answers', async () => {
    const res = await get<{ openapi: string; paths: Record<string, Record<string, unknown>> }>('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    for (const path of ['/healthz', '/readyz', '/metrics', '/v1/sessions', '/v1/sessions/{sessionId}/transcript', '/v1/messages/search', '/v1/exports/{exportId}/bundle', '/v1/legal-hold/matters']) {
      expect(res.body.paths[path], path).toBeDefined();
    }
  });

  it('answers an unknown route with a JSON 404', async () => {
    const res = await get<ErrorBody>('/v1/nope', tokens.reader);
    expect(res.status).toBe(404);
    expectCleanError(res.body, 'NOT_FOUND');
  });
});

describe('authentication and roles', () => {
  it('401 without a token, with a malformed one, an unknown one and a revoked one, each with WWW-Authenticate', async () => {
    const none = await get<ErrorBody>('/v1/sessions');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="zoom-chat-archiver"');
    expectCleanError(none.body, 'UNAUTHORIZED');

    const malformed = await get<ErrorBody>('/v1/sessions', undefined, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(malformed.status).toBe(401);
    expect(malformed.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_request"/);

    const unknown = await get<ErrorBody>('/v1/sessions', `zca_${'A'.repeat(43)}`);
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);

    const revoked = await get<ErrorBody>('/v1/sessions', tokens.revoked);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toMatch(/unknown or revoked/);
    // The token never appears in an answer or a log line.
    expect(JSON.stringify(revoked.body)).not.toContain(tokens.revoked);
    expect(fixture.service.logs.map((l) => JSON.stringify(l)).join('\n')).not.toContain(tokens.revoked.slice(4));
  });

  it('403 when the role is too small: reader cannot export, exporter cannot change legal holds', async () => {
    const readerExport = await get<ErrorBody>('/v1/exports', tokens.reader);
    expect(readerExport.status).toBe(403);
    expect(readerExport.body.error.message).toMatch(/role exporter or higher; token "api-reader" has role reader/);
    expect(readerExport.headers.get('www-authenticate')).toMatch(/insufficient_scope/);

    const exporterMatter = await get<ErrorBody>('/v1/legal-hold/matters', tokens.exporter, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', custodians: ['a@example.com'] }),
    });
    expect(exporterMatter.status).toBe(403);
    expectCleanError(exporterMatter.body, 'FORBIDDEN');

    // Larger roles include the smaller ones.
    expect((await get('/v1/sessions?limit=1', tokens.admin)).status).toBe(200);
    expect((await get('/v1/exports', tokens.admin)).status).toBe(200);
  });

  it('stops accepting a revoked token within the 5-second cache', async () => {
    const token = await createTestToken(fixture.harness.db, 'api-soon-revoked', 'reader');
    expect((await get('/v1/sessions?limit=1', token)).status).toBe(200);
    await fixture.harness.db.pool.query(`UPDATE archive.api_tokens SET revoked_at = now() WHERE name = 'api-soon-revoked'`);
    const refused = await waitFor(async () => {
      const r = await get<ErrorBody>('/v1/sessions?limit=1', token);
      return r.status === 401 ? r : undefined;
    }, 7_000, 'the revoked token to be refused', 250);
    expect(refused.body.error.code).toBe('UNAUTHORIZED');
  });

  it('records when a token was last used', async () => {
    await get('/v1/sessions?limit=1', tokens.reader);
    const res = await fixture.harness.db.pool.query<{ last_used_at: Date | null }>(`SELECT last_used_at FROM public.api_tokens WHERE name = 'api-reader'`);
    expect(res.rows[0]?.last_used_at).toBeInstanceOf(Date);
  });
});

describe('parameter validation', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['/v1/sessions?limit=0', 'limit', /limit must be a whole number of rows from 1 to 50/],
    ['/v1/sessions?limit=51', 'limit', /1 to 50/],
    ['/v1/sessions?limit=ten', 'limit', /got "ten"/],
    ['/v1/sessions?colour=red', 'colour', /unknown parameter "colour"; accepted: type, name, member/],
    ['/v1/sessions?type=broadcast', 'type', /type must be Group or 1:1/],
    ['/v1/sessions?active_from=2026-13-01', 'active_from', /active_from must be a UTC day/],
    ['/v1/sessions?active_from=2026-06-02&active_to=2026-06-01', 'active_from', /active_from must be before active_to/],
    ['/v1/messages/search?from=2026-06-01', 'sender', /at least one of sender, receiver, session or q/],
    ['/v1/messages/search?sender=a@example.com&sender=b@example.com', 'sender', /given more than once/],
    ['/v1/messages/search?q=%22%22', 'q', /no searchable words/],
    ['/v1/messages/search?q=x%00y', 'q', /control characters/],
    ['/v1/messages/search?sender=a@example.com&cursor=not-a-cursor!', 'cursor', /cursor is not valid/],
    ['/v1/messages/search?sender=a@example.com&limit=2&include_raw=maybe', 'include_raw', /include_raw must be true or false/],
  ];
  for (const [path, parameter, message] of cases) {
    it(`400 for ${path}`, async () => {
      const res = await get<ErrorBody>(path, tokens.reader);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expectCleanError(res.body, 'INPUT_INVALID', parameter);
      expect(res.body.error.message).toMatch(message);
    });
  }

  it('refuses a cursor used with other filters, or on another endpoint', async () => {
    const sender = (await fixture.harness.db.pool.query<{ sender: string }>(`SELECT sender FROM archive.message_versions WHERE sender <> '' GROUP BY sender ORDER BY count(*) DESC LIMIT 1`)).rows[0]!.sender;
    const first = await get<Page<Version>>(`/v1/messages/search?sender=${encodeURIComponent(sender)}&limit=2`, tokens.reader);
    const cursor = first.body.next_cursor!;
    expect(cursor).toBeTruthy();
    const other = await get<ErrorBody>(`/v1/messages/search?sender=x@example.com&limit=2&cursor=${cursor}`, tokens.reader);
    expect(other.status).toBe(400);
    expect(other.body.error.message).toMatch(/issued for different filters/);
    const session = (await fixture.harness.db.pool.query<{ session_id: string }>('SELECT session_id FROM archive.sessions LIMIT 1')).rows[0]!.session_id;
    const elsewhere = await get<ErrorBody>(`/v1/sessions/${session}/transcript?cursor=${cursor}`, tokens.reader);
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error.message).toMatch(/another endpoint/);
  });

  it('refuses bodies that are not JSON, malformed, or too large, and unknown fields', async () => {
    const post = (body: string, contentType = 'application/json') =>
      get<ErrorBody>('/v1/exports', tokens.exporter, { method: 'POST', headers: { 'content-type': contentType }, body });
    const text = await post('sessions=1', 'text/plain');
    expect(text.status).toBe(415);
    expectCleanError(text.body, 'UNSUPPORTED_MEDIA_TYPE');
    const broken = await post('{"sessions": [');
    expect(broken.status).toBe(400);
    expectCleanError(broken.body, 'INPUT_INVALID', 'body');
    const huge = await post(JSON.stringify({ sessions: ['x'.repeat(4096)] }));
    expect(huge.status).toBe(413);
    expectCleanError(huge.body, 'PAYLOAD_TOO_LARGE');
    const unknownField = await post(JSON.stringify({ sessions: ['s'], out: '/etc/passwd' }));
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.message).toMatch(/unknown field "out"/);
  });
});

describe('archive queries', () => {
  it('pages through sessions with cursors, every session exactly once, newest activity first', async () => {
    const all = await pageAll<{ session_id: string; last_message_sent_at: string | null }>('/v1/sessions?limit=3', tokens.reader);
    const expected = await fixture.harness.db.pool.query<{ session_id: string }>(
      `SELECT session_id FROM archive.sessions ORDER BY coalesce(last_message_sent_at, '-infinity') DESC, session_id DESC`,
    );
    expect(all.map((s) => s.session_id)).toEqual(expected.rows.map((r) => r.session_id));

    const groups = await pageAll<{ type: string }>('/v1/sessions?type=group&limit=4', tokens.reader);
    const groupCount = (await fixture.harness.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM archive.sessions WHERE type = 'Group'`)).rows[0]!.n;
    expect(groups.length).toBe(groupCount);
    expect(groups.every((s) => s.type === 'Group')).toBe(true);
  });

  it('filters sessions by member and by activity in a time range', async () => {
    const row = (await fixture.harness.db.pool.query<{ sender: string }>(`SELECT sender FROM archive.message_versions WHERE sender <> '' LIMIT 1`)).rows[0]!;
    const member = await pageAll<{ session_id: string }>(`/v1/sessions?member=${encodeURIComponent(row.sender.toUpperCase())}&limit=5`, tokens.reader);
    const expected = await fixture.harness.db.pool.query<{ session_id: string }>(
      `SELECT DISTINCT s.session_id FROM archive.sessions s WHERE EXISTS (SELECT 1 FROM unnest(s.member_emails) e WHERE lower(e) = lower($1))
         OR s.session_id IN (SELECT session_id FROM archive.message_versions WHERE lower(sender) = lower($1) OR lower(receiver) = lower($1))`,
      [row.sender],
    );
    expect(member.map((s) => s.session_id).sort()).toEqual(expected.rows.map((r) => r.session_id).sort());
    expect(member.length).toBeGreaterThan(0);

    const day = (await fixture.harness.db.pool.query<{ day: string }>(`SELECT to_char(max(sent_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM archive.message_versions`)).rows[0]!.day;
    const active = await pageAll<{ session_id: string }>(`/v1/sessions?active_from=${day}&active_to=${day}`, tokens.reader);
    const activeExpected = await fixture.harness.db.pool.query<{ session_id: string }>(
      `SELECT DISTINCT session_id FROM archive.message_versions WHERE sent_at >= $1::date AND sent_at < $1::date + 1`,
      [day],
    );
    expect(active.map((s) => s.session_id).sort()).toEqual(activeExpected.rows.map((r) => r.session_id).sort());
  });

  it('returns a session with its counts, and 404 for an unknown one', async () => {
    const busiest = (await fixture.harness.db.pool.query<{ session_id: string; n: number }>(`SELECT session_id, count(*)::int AS n FROM archive.message_versions GROUP BY 1 ORDER BY 2 DESC LIMIT 1`)).rows[0]!;
    const res = await get<{ session_id: string; versions: number }>(`/v1/sessions/${busiest.session_id}`, tokens.reader);
    expect(res.status).toBe(200);
    expect(res.body.versions).toBe(busiest.n);
    const missing = await get<ErrorBody>('/v1/sessions/no-such-session', tokens.reader);
    expect(missing.status).toBe(404);
  });

  it('pages a transcript in order (sent_at, message_id, action_at, version id), every version exactly once, and audits each read', async () => {
    const busiest = (await fixture.harness.db.pool.query<{ session_id: string }>(`SELECT session_id FROM archive.message_versions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`)).rows[0]!;
    const auditBefore = (await fixture.harness.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.audit_log WHERE action = 'api.sessions.transcript'`)).rows[0]!.n;
    const versions = await pageAll<Version>(`/v1/sessions/${busiest.session_id}/transcript?limit=7`, tokens.reader);
    const expected = await fixture.harness.db.pool.query<{ version_id: number }>(
      `SELECT id AS version_id FROM archive.message_versions WHERE session_id = $1 ORDER BY sent_at NULLS LAST, message_id, action_at, id`,
      [busiest.session_id],
    );
    expect(versions.map((v) => v.version_id)).toEqual(expected.rows.map((r) => r.version_id));
    expect(versions.length).toBeGreaterThan(14);
    expect(versions.every((v) => v.session_id === busiest.session_id)).toBe(true);

    const pages = Math.ceil(versions.length / 7);
    const audit = await fixture.harness.db.pool.query<{ actor: string; subject_type: string; subject_id: string; details: { parameters: Record<string, unknown>; returned: number; request_id: string } }>(
      `SELECT actor, subject_type, subject_id, details FROM public.audit_log WHERE action = 'api.sessions.transcript' ORDER BY audit_id`,
    );
    const mine = audit.rows.slice(auditBefore);
    expect(mine.length).toBe(pages);
    expect(mine.every((a) => a.actor === 'api:api-reader' && a.subject_type === 'session' && a.subject_id === busiest.session_id)).toBe(true);
    expect(mine.reduce((sum, a) => sum + a.details.returned, 0)).toBe(versions.length);
    // Parameters are recorded; what was returned is not.
    expect(mine[0]!.details.parameters).toMatchObject({ limit: 7, cursor: null });
    const someBody = versions.find((v) => (v.body ?? '').length > 12)!.body!;
    expect(JSON.stringify(mine)).not.toContain(someBody);
  });

  it('searches by sender (case-insensitive) and date range, paging every match exactly once, and audits it', async () => {
    const pick = (await fixture.harness.db.pool.query<{ sender: string; from: string; to: string }>(
      `SELECT sender, to_char(min(sent_at) AT TIME ZONE 'UTC' + interval '20 days', 'YYYY-MM-DD') AS from, to_char(max(sent_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS to
       FROM archive.message_versions WHERE sender <> '' GROUP BY sender ORDER BY count(*) DESC LIMIT 1`,
    )).rows[0]!;
    const path = `/v1/messages/search?sender=${encodeURIComponent(pick.sender.toUpperCase())}&from=${pick.from}&to=${pick.to}&limit=5`;
    const found = await pageAll<Version>(path, tokens.reader);
    const expected = await fixture.harness.db.pool.query<{ id: number }>(
      `SELECT id FROM archive.message_versions WHERE lower(sender) = lower($1) AND sent_at >= $2::date AND sent_at < $3::date + 1 ORDER BY sent_at, id`,
      [pick.sender, pick.from, pick.to],
    );
    expect(found.map((v) => v.version_id)).toEqual(expected.rows.map((r) => r.id));
    expect(found.length).toBeGreaterThan(5);
    const audit = await fixture.harness.db.pool.query<{ actor: string; details: { parameters: Record<string, unknown> } }>(
      `SELECT actor, details FROM public.audit_log WHERE action = 'api.messages.search' ORDER BY audit_id DESC LIMIT 1`,
    );
    expect(audit.rows[0]?.actor).toBe('api:api-reader');
    expect(audit.rows[0]?.details.parameters).toMatchObject({ sender: pick.sender.toUpperCase(), limit: 5 });
  });

  it('searches full text (websearch syntax) and combines it with other filters', async () => {
    const word = (await fixture.harness.db.pool.query<{ word: string }>(
      `SELECT word FROM archive.message_versions, regexp_split_to_table(lower(body), '[^a-z]+') AS word WHERE length(word) >= 6 GROUP BY word ORDER BY count(*) DESC LIMIT 1`,
    )).rows[0]!.word;
    const found = await pageAll<Version>(`/v1/messages/search?q=${encodeURIComponent(word)}&limit=40`, tokens.reader);
    const expected = await fixture.harness.db.pool.query<{ id: number }>(
      `SELECT id FROM archive.message_versions WHERE chat_body_tsvector(body) @@ websearch_to_tsquery('simple', $1) ORDER BY sent_at NULLS LAST, id`,
      [word],
    );
    expect(found.map((v) => v.version_id)).toEqual(expected.rows.map((r) => r.id));
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((v) => (v.body ?? '').toLowerCase().includes(word))).toBe(true);

    const session = found[0]!.session_id;
    const narrowed = await pageAll<Version>(`/v1/messages/search?q=${encodeURIComponent(`"${word}"`)}&session=${session}`, tokens.reader);
    expect(narrowed.length).toBe(found.filter((v) => v.session_id === session).length);
    const excluded = await pageAll<Version>(`/v1/messages/search?q=${encodeURIComponent(`${word} -${word}`)}`, tokens.reader);
    expect(excluded).toEqual([]);
  });

  it('pages versions without a send time after all the others, exactly once, in transcripts and searches', async () => {
    // Zoom may send an edit or deletion without `timestamp`: such versions have no sent_at.
    await fixture.harness.db.pool.query(
      `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, sender, body, raw, content_sha256)
       SELECT 'nul-session', 'm' || (g % 4), CASE WHEN g < 5 THEN 'original' ELSE 'edited' END,
              timestamptz '2026-07-01T00:00:00Z' + g * interval '1 minute', CASE WHEN g < 5 THEN timestamptz '2026-07-01T00:00:00Z' + (g % 2) * interval '1 hour' END,
              'Nul@Example.com', 'nul body ' || g, jsonb_build_object('id', 'm' || g), sha256(convert_to('nul' || g, 'UTF8'))
       FROM generate_series(0, 8) AS g`,
    );
    const expected = await fixture.harness.db.pool.query<{ id: number }>(
      `SELECT id FROM archive.message_versions WHERE session_id = 'nul-session' ORDER BY sent_at NULLS LAST, message_id, action_at, id`,
    );
    const transcript = await pageAll<Version>('/v1/sessions/nul-session/transcript?limit=2', tokens.reader);
    expect(transcript.map((v) => v.version_id)).toEqual(expected.rows.map((r) => r.id));
    expect(transcript.slice(-4).every((v) => v.sent_at === null)).toBe(true);

    const bySender = await pageAll<Version>('/v1/messages/search?sender=nul@example.com&limit=3', tokens.reader);
    const expectedBySender = await fixture.harness.db.pool.query<{ id: number }>(
      `SELECT id FROM archive.message_versions WHERE session_id = 'nul-session' ORDER BY sent_at NULLS LAST, id`,
    );
    expect(bySender.map((v) => v.version_id)).toEqual(expectedBySender.rows.map((r) => r.id));
    // A time range cannot hold a version without a send time.
    const ranged = await pageAll<Version>('/v1/messages/search?sender=nul@example.com&from=2026-07-01&to=2026-07-01&limit=3', tokens.reader);
    expect(ranged.length).toBe(5);
  });

  it('returns the raw JSON only when asked', async () => {
    const session = (await fixture.harness.db.pool.query<{ session_id: string }>('SELECT session_id FROM archive.message_versions LIMIT 1')).rows[0]!.session_id;
    const plain = await get<Page<Record<string, unknown>>>(`/v1/sessions/${session}/transcript?limit=1`, tokens.reader);
    expect(plain.body.items[0]).not.toHaveProperty('raw');
    const raw = await get<Page<Record<string, unknown>>>(`/v1/sessions/${session}/transcript?limit=1&include_raw=true`, tokens.reader);
    expect(raw.body.items[0]?.['raw']).toHaveProperty('id');
  });
});

describe('operations endpoints', () => {
  it('/metrics parses as Prometheus text and reports the archive as the database has it', async () => {
    const res = await get<string>('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusText(res.body);
    const expectTypes: Record<string, string> = {
      zca_sync_windows: 'gauge',
      zca_horizon_oldest_incomplete_window_days_until_expiry: 'gauge',
      zca_job_last_success_timestamp_seconds: 'gauge',
      zca_zoom_api_calls_total: 'counter',
      zca_zoom_rate_limited_total: 'counter',
      zca_archive_message_versions: 'gauge',
      zca_archive_messages: 'gauge',
      zca_legal_hold_files: 'gauge',
      zca_export_bytes: 'gauge',
      zca_job_duration_seconds: 'histogram',
      zca_http_request_duration_seconds: 'histogram',
      process_resident_memory_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(expectTypes)) expect(families.get(name)?.type, name).toBe(type);
    const db = fixture.harness.db.pool;
    const windows = await db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM public.sync_windows GROUP BY status`);
    for (const w of windows.rows) expect(sampleValue(families, 'zca_sync_windows', { status: w.status })).toBe(w.n);
    const counts = (await db.query<{ versions: number; messages: number }>(
      `SELECT count(*)::int AS versions, (SELECT count(*) FROM (SELECT DISTINCT session_id, message_id FROM archive.message_versions) m)::int AS messages FROM archive.message_versions`,
    )).rows[0]!;
    expect(sampleValue(families, 'zca_archive_message_versions')).toBe(counts.versions);
    expect(sampleValue(families, 'zca_archive_messages')).toBe(counts.messages);
    expect(sampleValue(families, 'zca_database_up')).toBe(1);
    expect(sampleValue(families, 'zca_legal_hold_files', { state: 'stored' })).toBe(0);
    // The sync cost plan and the listing calibration, from the archive whoever ran the passes.
    const calls = (await db.query<{ backfill: number; listing: number }>(`SELECT sum((calls->>'backfill')::int)::int AS backfill, sum((calls->>'listing')::int)::int AS listing FROM archive.sync_runs`)).rows[0]!;
    expect(calls.backfill).toBeGreaterThan(0);
    expect(sampleValue(families, 'zca_sync_calls_last_day', { kind: 'backfill' })).toBe(calls.backfill);
    expect(sampleValue(families, 'zca_sync_calls_last_day', { kind: 'listing' })).toBe(calls.listing);
    expect(sampleValue(families, 'zca_sync_daily_call_budget')).toBe(2000 * 86_400);
    expect(sampleValue(families, 'zca_sync_projected_daily_calls', { scenario: 'peak' })).toBeGreaterThan(0);
    expect(sampleValue(families, 'zca_sync_budget_warning')).toBe(0);
    expect(families.get('zca_listing_misses_total')?.type).toBe('counter');
    expect(sampleValue(families, 'zca_listing_misses_total', { kind: 'edited' })).toBe(0);
    const version = (await db.query<{ id: string; session_id: string; message_id: string; action_at: Date }>(`SELECT id, session_id, message_id, action_at FROM archive.message_versions WHERE kind = 'edited' LIMIT 1`)).rows[0]!;
    await db.query(
      `INSERT INTO archive.listing_misses (version_id, session_id, month_start, message_id, kind, action_at, read_kind) VALUES ($1, $2, date_trunc('month', $4::timestamptz)::date, $3, 'edited', $4, 'settled')`,
      [version.id, version.session_id, version.message_id, version.action_at],
    );
    const after = parsePrometheusText((await get<string>('/metrics')).body);
    expect(sampleValue(after, 'zca_listing_misses_total', { kind: 'edited' })).toBe(1);
    expect(sampleValue(after, 'zca_listing_misses_total', { kind: 'deleted' })).toBe(0);
    // Requests served so far are counted by route pattern, never by raw URL.
    expect(sampleValue(families, 'zca_http_requests_total', { route: '/v1/sessions/:sessionId/transcript', status: '200' })).toBeGreaterThan(0);
    expect(families.get('zca_http_requests_total')?.samples.some((s) => (s.labels['route'] ?? '').includes('?'))).toBe(false);
  });

  it('/v1/status and /v1/jobs/runs show windows and jobs', async () => {
    const status = await get<{
      windows: Array<{ month_start: string; status: string }>;
      jobs: Array<{ job: string; schedule: string }>;
      horizon: { at_risk: unknown[]; risk_days: number };
      last_sync: { last_finished: Record<string, unknown> | null };
      failing_units: unknown;
      legal_hold: unknown;
      exports: unknown;
      locks: unknown;
      sync_cost: { known_sessions: number; budget_per_day: number; last_day: { calls_by_kind: Record<string, number> }; projected: { recurring_peak: number }; warnings: string[] };
    }>('/v1/status', tokens.reader);
    expect(status.status).toBe(200);
    const known = (await fixture.harness.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.sessions')).rows[0]?.n;
    expect(status.body.sync_cost).toMatchObject({ known_sessions: known, budget_per_day: 2000 * 86_400, warnings: [] });
    expect(status.body.sync_cost.last_day.calls_by_kind['backfill']).toBeGreaterThan(0);
    expect(status.body.sync_cost.projected.recurring_peak).toBeGreaterThan(0);
    expect(status.body.windows.length).toBeGreaterThanOrEqual(7);
    expect(status.body.jobs.map((j) => j.job)).toEqual(['sync', 'deep-sync', 'legal-hold', 'horizon-check', 'audit', 'alerts', 'retention', 'files']);
    expect(status.body.horizon.at_risk).toEqual([]);
    // One report: the endpoint's horizon and windows are the ones `status` gathers, the windows under
    // the sync_windows view's column names.
    const report = JSON.parse(JSON.stringify(await gatherStatus({ db: fixture.harness.db.pool, clock: systemClock, sync: fixture.harness.config.sync, totals: false, mediumRatePerSecond: status.body.sync_cost.budget_per_day / 86_400 }))) as StatusReport;
    expect(status.body.horizon).toEqual(report.horizon);
    // Every section is the report's, whole: nothing the report holds is left out of the answer.
    const { age_seconds: _a1, ...lastFinished } = report.last_sync.last_finished ?? { age_seconds: 0 };
    expect(status.body.last_sync.last_finished).toMatchObject(lastFinished);
    for (const section of ['failing_units', 'legal_hold', 'exports', 'locks', 'sync_cost'] as const) expect(status.body[section], section).toEqual(report[section]);
    expect(status.body.horizon).toHaveProperty('risk_days', fixture.harness.config.sync.horizonRiskDays);
    // The report's windows, each as the view's row under the view's own column names.
    const viewRows = await fixture.harness.db.pool.query(
      `SELECT month_start, range_from, range_to, status, sessions_listed, units, units_complete, units_failing, versions_archived, listed_at, last_swept_at, completed_at, days_until_expiry
       FROM public.sync_windows WHERE month_start = ANY($1::date[]) ORDER BY month_start`,
      [report.windows.map((w) => w.window)],
    );
    expect(viewRows.rows).toHaveLength(report.windows.length);
    expect(status.body.windows).toEqual(JSON.parse(JSON.stringify(viewRows.rows)));
    const runs = await get<Page<unknown>>('/v1/jobs/runs?job=sync', tokens.reader);
    expect(runs.status).toBe(200);
    const bad = await get<ErrorBody>('/v1/jobs/runs?job=nope', tokens.reader);
    expect(bad.status).toBe(400);
    expect(bad.body.error.parameter).toBe('job');
  });

  it('runs a job on request (admin only), recorded with trigger "manual"', async () => {
    const denied = await get<ErrorBody>('/v1/jobs/horizon-check/run', tokens.exporter, { method: 'POST' });
    expect(denied.status).toBe(403);
    const started = await get<{ job: string; status: string }>('/v1/jobs/horizon-check/run', tokens.admin, { method: 'POST' });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ job: 'horizon-check', status: 'started' });
    const run = await waitFor(async () => (await loadRuns(fixture.harness.db, 'horizon-check')).find((r) => r.figures?.['trigger'] === 'manual' && r.outcome !== 'running'), 10_000, 'the manual run');
    expect(run.outcome).toBe('succeeded');
    expect((await get<ErrorBody>('/v1/jobs/backup/run', tokens.admin, { method: 'POST' })).status).toBe(400);
  });
});
