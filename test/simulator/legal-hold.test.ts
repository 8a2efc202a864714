import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32Combine, planZip, zipChunks } from '../../src/simulator/legal-hold-zip.js';
import type { SimLegalHoldOptions } from '../../src/simulator/legal-hold-state.js';
import { smallDataset, startTestSim, type TestSim } from './helpers.js';

// The six legal-hold operations of the simulator, over real HTTP, against the OpenAPI document's rules.

const MATTERS = '/chat/legalhold/matters';
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'zca-sim-lh-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
  bytes: Buffer;
}

async function call(t: TestSim, method: string, pathname: string, options: { body?: unknown; query?: Record<string, string | number>; token?: string } = {}): Promise<Reply> {
  const url = new URL(`${t.sim.apiBaseUrl}${pathname}`);
  for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.append(k, String(v));
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${options.token ?? t.token}`, ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Zip bodies and 204s are not JSON.
  }
  return { status: res.status, headers: res.headers, text, json, bytes };
}

async function simWith(legalHold: SimLegalHoldOptions = {}, extra: Parameters<typeof startTestSim>[0] = {}): Promise<TestSim & { emails: string[] }> {
  const t = await startTestSim({ ...extra, legalHold });
  return Object.assign(t, { emails: t.dataset.users.filter((u) => !u.external).map((u) => u.email) });
}

function zipEntries(buffer: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const names: string[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.once('end', () => resolve(names));
      zip.once('error', reject);
      zip.readEntry();
    });
  });
}

describe('matters: list, add, rename, delete', () => {
  it('adds a matter (201 {matter_id}), lists it with its users and dates, renames it (204) and deletes it (204)', async () => {
    const t = await simWith();
    const [a, b] = t.emails;
    const created = await call(t, 'POST', MATTERS, { body: { matter_name: 'Case 17', identifiers: [a, b!.toUpperCase()], start_date: '2026-01-01', end_date: '2026-06-30' } });
    expect(created.status).toBe(201);
    const matterId = String(created.json['matter_id']);
    expect(matterId).toMatch(/^[0-9a-f-]{36}$/);

    const listed = await call(t, 'GET', MATTERS);
    expect(listed.status).toBe(200);
    expect(listed.json['next_page_token']).toBe('');
    const matters = listed.json['legal_hold_matters'] as Array<Record<string, unknown>>;
    expect(matters).toHaveLength(1);
    const userA = t.dataset.users.find((u) => u.email === a)!;
    expect(matters[0]).toMatchObject({ matter_id: matterId, matter_name: 'Case 17', matter_start_date: '2026-01-01', matter_end_date: '2026-06-30', matter_creation_date: '2026-11-21' });
    expect(matters[0]!['matter_users']).toEqual([
      { user_id: userA.userId, email: a },
      { user_id: t.dataset.users.find((u) => u.email === b)!.userId, email: b },
    ]);

    expect((await call(t, 'PATCH', `${MATTERS}/${matterId}`, { body: { matter_name: 'Case 17 (renamed)' } })).status).toBe(204);
    expect(((await call(t, 'GET', MATTERS)).json['legal_hold_matters'] as Array<Record<string, unknown>>)[0]!['matter_name']).toBe('Case 17 (renamed)');
    expect((await call(t, 'DELETE', `${MATTERS}/${matterId}`)).status).toBe(204);
    expect((await call(t, 'GET', MATTERS)).json['legal_hold_matters']).toEqual([]);
    expect((await call(t, 'DELETE', `${MATTERS}/${matterId}`)).json).toEqual({ code: 1001, message: 'Legal hold matter does not exist.' });
    expect((await call(t, 'PATCH', `${MATTERS}/${matterId}`, { body: { matter_name: 'x' } })).status).toBe(404);
  });

  it('starts an open matter today when no dates are given, and omits matter_end_date', async () => {
    const t = await simWith();
    await call(t, 'POST', MATTERS, { body: { matter_name: 'Open', identifiers: [t.emails[0]] } });
    const matter = ((await call(t, 'GET', MATTERS)).json['legal_hold_matters'] as Array<Record<string, unknown>>)[0]!;
    expect(matter['matter_start_date']).toBe('2026-11-21');
    expect(matter).not.toHaveProperty('matter_end_date');
  });

  it('validates like the spec: name 1–128, identifiers 1–20 unique, yyyy-mm-dd dates, unknown users 404 / 1001', async () => {
    const t = await simWith();
    const ok = { matter_name: 'M', identifiers: [t.emails[0]] };
    const cases: Array<[unknown, number, number]> = [
      [{ ...ok, matter_name: '' }, 400, 300],
      [{ ...ok, matter_name: 'x'.repeat(129) }, 400, 300],
      [{ identifiers: ok.identifiers }, 400, 300],
      [{ ...ok, identifiers: [] }, 400, 300],
      [{ ...ok, identifiers: Array.from({ length: 21 }, (_, i) => `u${i}@example.com`) }, 400, 300],
      [{ ...ok, identifiers: [t.emails[0], t.emails[0]] }, 400, 300],
      [{ ...ok, start_date: '2026-02-30' }, 400, 300],
      [{ ...ok, start_date: '2026-03-01', end_date: '2026-02-01' }, 400, 300],
      [{ ...ok, identifiers: ['nobody@example.com'] }, 404, 1001],
    ];
    for (const [body, status, code] of cases) {
      const res = await call(t, 'POST', MATTERS, { body });
      expect({ body, status: res.status, code: res.json['code'] }).toEqual({ body, status, code });
    }
    expect((await call(t, 'POST', MATTERS, { body: { ...ok, matter_name: 'é'.repeat(128) } })).status).toBe(201);
    expect((await call(t, 'POST', MATTERS, { body: 'not json' })).status).toBe(400);
    expect(t.sim.legalHold.matters()).toHaveLength(1);
  });

  it('pages matters with page_size <= 100 and tokens bound to the query; deleting between pages skips nothing', async () => {
    const identifiers = [smallEmail()];
    const t = await simWith({ matters: Array.from({ length: 7 }, (_, i) => ({ name: `M${i}`, identifiers })) });
    expect((await call(t, 'GET', MATTERS, { query: { page_size: 101 } })).status).toBe(400);
    const first = await call(t, 'GET', MATTERS, { query: { page_size: 3 } });
    const names = (first.json['legal_hold_matters'] as Array<{ matter_name: string }>).map((m) => m.matter_name);
    expect(names).toEqual(['M0', 'M1', 'M2']);
    const token = String(first.json['next_page_token']);
    expect(token).not.toBe('');
    // Page tokens belong to their query.
    expect((await call(t, 'GET', MATTERS, { query: { page_size: 4, next_page_token: token } })).json['code']).toBe(300);
    t.sim.legalHold.deleteMatter(t.sim.legalHold.matters()[0]!.matterId);
    const rest: string[] = [];
    let next = token;
    while (next !== '') {
      const page = await call(t, 'GET', MATTERS, { query: { page_size: 3, next_page_token: next } });
      rest.push(...(page.json['legal_hold_matters'] as Array<{ matter_name: string }>).map((m) => m.matter_name));
      next = String(page.json['next_page_token']);
    }
    expect(rest).toEqual(['M3', 'M4', 'M5', 'M6']);
  });

  it('answers 403 / 403 without permission, and 401 / 4711 naming the granular scope without it', async () => {
    const t = await simWith({ permission: false, matters: [{ name: 'M', identifiers: [smallEmail()] }] });
    expect((await call(t, 'GET', MATTERS)).json).toEqual({ code: 403, message: 'No permission to access legal hold' });
    t.sim.legalHold.permission = true;
    expect((await call(t, 'GET', MATTERS)).status).toBe(200);

    const scoped = await simWith({}, { grantedScopes: ['chat_history_legal_hold:read:admin'] });
    expect((await call(scoped, 'GET', MATTERS)).status).toBe(200);
    const denied = await call(scoped, 'POST', MATTERS, { body: { matter_name: 'M', identifiers: [scoped.emails[0]] } });
    expect(denied.status).toBe(401);
    expect(denied.json).toEqual({ code: 4711, message: 'Invalid access token, does not contain scopes:[team_chat:write:legal_hold_matter:admin].' });
  });

  it('labels list and add RESOURCE-INTENSIVE (per-minute budget, daily cap) and the rest LIGHT', async () => {
    const t = await simWith({ matters: [{ name: 'M', identifiers: [smallEmail()], fileReadyAfterListings: 0 }] }, { rateLimits: { 'resource-intensive': 10 / 60, light: 1000 } });
    expect((await call(t, 'GET', MATTERS)).status).toBe(200);
    const limited = await call(t, 'GET', MATTERS);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-category')).toBe('Resource-intensive');
    expect((await call(t, 'POST', MATTERS, { body: { matter_name: 'N', identifiers: [t.emails[0]] } })).status).toBe(429);
    // LIGHT calls are not held back by the RESOURCE-INTENSIVE budget.
    const matterId = t.sim.legalHold.matters()[0]!.matterId;
    const files = await call(t, 'GET', `${MATTERS}/${matterId}/files`, { query: { identifier: smallEmail() } });
    expect(files.status).toBe(200);
    expect(files.headers.get('x-ratelimit-category')).toBe('Light');

    const daily = await simWith({}, { dailyLimit: 1 });
    expect((await call(daily, 'GET', MATTERS)).status).toBe(200);
    const capped = await call(daily, 'GET', MATTERS);
    expect(capped.status).toBe(429);
    expect(capped.headers.get('x-ratelimit-type')).toBe('Daily-limit');
    expect(capped.headers.get('retry-after')).toBe('2026-11-22T00:00:00Z');
  });
});

const FIRST_INTERNAL_EMAIL = smallDataset().users.find((u) => !u.external)!.email;

/** The first internal user of the default test dataset. */
function smallEmail(): string {
  return FIRST_INTERNAL_EMAIL;
}

describe('files: per custodian, ready after N listings, real zip bytes', () => {
  it('requires identifier (400), pages at most 20 a page, and makes files ready on the N-th listing', async () => {
    const t = await simWith({ matters: [{ name: 'M', identifiers: [smallEmail()], filesPerCustodian: 23, fileReadyAfterListings: 2, startDate: '2026-01-01', endDate: '2026-03-31' }] });
    const matterId = t.sim.legalHold.matters()[0]!.matterId;
    const filesPath = `${MATTERS}/${matterId}/files`;
    expect((await call(t, 'GET', filesPath)).json).toMatchObject({ code: 300, errors: [{ field: 'identifier' }] });
    expect((await call(t, 'GET', filesPath, { query: { identifier: smallEmail(), page_size: 21 } })).status).toBe(400);
    expect((await call(t, 'GET', filesPath, { query: { identifier: 'nobody@example.com' } })).json['code']).toBe(1001);
    expect((await call(t, 'GET', `${MATTERS}/nope/files`, { query: { identifier: smallEmail() } })).json).toEqual({ code: 1001, message: 'Legal hold matter does not exist.' });

    const walk = async () => {
      const items: Array<Record<string, unknown>> = [];
      let token = '';
      let pages = 0;
      do {
        const page = await call(t, 'GET', filesPath, { query: { identifier: smallEmail(), page_size: 20, ...(token ? { next_page_token: token } : {}) } });
        items.push(...(page.json['data'] as Array<Record<string, unknown>>));
        token = String(page.json['next_page_token']);
        pages++;
      } while (token !== '');
      return { items, pages };
    };
    const first = await walk();
    expect(first.pages).toBe(2);
    expect(first.items).toHaveLength(23);
    expect(first.items.every((f) => f['ready_for_download'] === false)).toBe(true);
    expect(new Set(first.items.map((f) => f['file_key'])).size).toBe(23);
    expect(String(first.items[0]!['file_key'])).toMatch(/^\+\/\+\//);
    expect(first.items[0]).toMatchObject({ file_count: 3, file_start_date: '2026-01-01' });
    expect(typeof first.items[0]!['total_file_size']).toBe('number');
    const second = await walk();
    expect(second.items.every((f) => f['ready_for_download'] === true)).toBe(true);
    // The default page size is 5.
    expect(((await call(t, 'GET', filesPath, { query: { identifier: smallEmail() } })).json['data'] as unknown[]).length).toBe(5);
  });

  it('serves a real zip: application/zip, Content-Disposition, exact Content-Length, passes yauzl and unzip -t', async () => {
    const t = await simWith({ matters: [{ name: 'M', identifiers: [smallEmail()], fileReadyAfterListings: 0, zipBytes: 300_000, entriesPerZip: 4, startDate: '2026-02-01', endDate: '2026-02-28' }] });
    const matter = t.sim.legalHold.matters()[0]!;
    const file = matter.files[0]!;
    const notReady = await simWith({ matters: [{ name: 'M', identifiers: [smallEmail()], fileReadyAfterListings: 5 }] });
    const pending = notReady.sim.legalHold.matters()[0]!;
    expect((await call(notReady, 'GET', `${MATTERS}/${pending.matterId}/files/download`, { query: { file_key: pending.files[0]!.fileKey } })).status).toBe(400);

    const res = await call(t, 'GET', `${MATTERS}/${matter.matterId}/files/download`, { query: { file_key: file.fileKey } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename=LEGAL_HOLD_files_messages_20260201_20260228.zip');
    expect(Number(res.headers.get('content-length'))).toBe(res.bytes.length);
    expect(res.bytes.length).toBe(file.zipBytes);
    expect(await zipEntries(res.bytes)).toHaveLength(4);
    const zipPath = path.join(scratch, 'served.zip');
    await writeFile(zipPath, res.bytes);
    const unzip = spawnSync('unzip', ['-t', zipPath], { encoding: 'utf8' });
    if (unzip.error === undefined) expect(unzip.stdout).toContain('No errors detected');
    expect(createHashHex(res.bytes)).toBe(t.sim.legalHold.sha256(matter.matterId, file.fileKey));
    // Downloads are byte-identical.
    const again = await call(t, 'GET', `${MATTERS}/${matter.matterId}/files/download`, { query: { file_key: file.fileKey } });
    expect(again.bytes.equals(res.bytes)).toBe(true);
    expect((await call(t, 'GET', `${MATTERS}/${matter.matterId}/files/download`, { query: { file_key: 'nope' } })).json).toEqual({ code: 1001, message: 'File does not exist.' });
    expect((await call(t, 'GET', `${MATTERS}/${matter.matterId}/files/download`)).status).toBe(400);
  });

  it('quirks: numbers as strings, unknown fields, announced size of the content, no Content-Length', async () => {
    const t = await simWith({
      matters: [{ name: 'M', identifiers: [smallEmail()], fileReadyAfterListings: 0, zipBytes: 5000 }],
      quirks: { numbersAsStrings: true, unknownFields: true, announcedSize: 'content', omitContentLength: true },
    });
    const matter = t.sim.legalHold.matters()[0]!;
    const item = ((await call(t, 'GET', `${MATTERS}/${matter.matterId}/files`, { query: { identifier: smallEmail() } })).json['data'] as Array<Record<string, unknown>>)[0]!;
    expect(item).toMatchObject({ file_count: '3', total_file_size: '5000', zm_sim_file_extra: { region: 'us', checksum: null } });
    expect(((await call(t, 'GET', MATTERS)).json['legal_hold_matters'] as Array<Record<string, unknown>>)[0]).toHaveProperty('zm_sim_matter_extra');
    const res = await call(t, 'GET', `${MATTERS}/${matter.matterId}/files/download`, { query: { file_key: matter.files[0]!.fileKey } });
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.bytes.length).toBe(matter.files[0]!.zipBytes);
  });

  it('faults act on the zip stream: reset-mid-body cuts it, invalid-json serves a short zip with a matching length, corruption breaks the central directory', async () => {
    const t = await simWith({ matters: [{ name: 'M', identifiers: [smallEmail()], fileReadyAfterListings: 0, zipBytes: 2_000_000 }] });
    const matter = t.sim.legalHold.matters()[0]!;
    const query = { file_key: matter.files[0]!.fileKey };
    const download = `${MATTERS}/${matter.matterId}/files/download`;
    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.download' }, fault: { kind: 'reset-mid-body' } });
    await expect(call(t, 'GET', download, { query })).rejects.toThrow();
    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.download' }, fault: { kind: 'invalid-json' } });
    const short = await call(t, 'GET', download, { query });
    expect(short.status).toBe(200);
    expect(short.bytes.length).toBe(Math.floor(matter.files[0]!.zipBytes / 2));
    await expect(zipEntries(short.bytes)).rejects.toThrow();
    for (const corruption of ['truncate', 'central-directory'] as const) {
      t.sim.legalHold.corruptFile(matter.matterId, query.file_key, corruption);
      const bad = await call(t, 'GET', download, { query });
      expect(Number(bad.headers.get('content-length'))).toBe(bad.bytes.length);
      await expect(zipEntries(bad.bytes)).rejects.toThrow();
    }
    t.sim.legalHold.corruptFile(matter.matterId, query.file_key, null);
    expect(await zipEntries((await call(t, 'GET', download, { query })).bytes)).toHaveLength(3);
    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.download' }, fault: { kind: 'status', status: 403, body: { code: 403, message: 'No permission to download legal hold files' } } });
    expect((await call(t, 'GET', download, { query })).json['code']).toBe(403);
  });
});

describe('zip generation', () => {
  it('combines CRC-32s exactly and lays out zips whose CRCs match their bytes', async () => {
    const a = Buffer.from('first part '.repeat(777));
    const b = Buffer.from('and the second, longer part '.repeat(3001));
    expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
    expect(crc32Combine(crc32(a), crc32(Buffer.alloc(0)), 0)).toBe(crc32(a));
    // Entries larger than the 1 MiB filler block exercise the repeat-by-doubling path; unzip -t checks every CRC.
    const plan = planZip({ prefix: 'crc', entryCount: 2, totalContentBytes: 5 * 1024 * 1024 + 12345 });
    const bytes = Buffer.concat([...zipChunks(plan)]);
    expect(bytes.length).toBe(plan.totalBytes);
    const zipPath = path.join(scratch, 'crc.zip');
    await writeFile(zipPath, bytes);
    const unzip = spawnSync('unzip', ['-t', zipPath], { encoding: 'utf8' });
    if (unzip.error === undefined) expect(unzip.stdout).toContain('No errors detected');
    for (const entry of plan.entries) {
      const start = entry.localHeaderOffset + 30 + Buffer.byteLength(entry.name);
      expect(crc32(bytes.subarray(start, start + entry.size))).toBe(entry.crc32);
    }
  });
});

describe('control routes and the programmatic handle', () => {
  it('deletes, adds and readies matters behind the client’s back, and toggles permission', async () => {
    const t = await simWith({ matters: [{ name: 'M', identifiers: [smallEmail()] }] });
    const base = t.sim.baseUrl;
    const listed = (await (await fetch(`${base}/__sim/legal-hold/matters`)).json()) as { matters: Array<{ matterId: string; files: Array<{ ready: boolean }> }> };
    expect(listed.matters).toHaveLength(1);
    expect(listed.matters[0]!.files[0]!.ready).toBe(false);
    expect((await (await fetch(`${base}/__sim/legal-hold/ready`, { method: 'POST' })).json()) as unknown).toEqual({ ready: 1 });
    const added = await fetch(`${base}/__sim/legal-hold/matters`, { method: 'POST', body: JSON.stringify({ name: 'Portal', identifiers: [smallEmail()] }) });
    expect(added.status).toBe(200);
    expect((await fetch(`${base}/__sim/legal-hold/matters/${listed.matters[0]!.matterId}`, { method: 'DELETE' })).status).toBe(200);
    expect(t.sim.legalHold.matters().map((m) => m.name)).toEqual(['Portal']);
    expect((await fetch(`${base}/__sim/legal-hold/permission`, { method: 'POST', body: JSON.stringify({ allowed: false }) })).status).toBe(200);
    expect((await call(t, 'GET', MATTERS)).status).toBe(403);
    expect((await fetch(`${base}/__sim/legal-hold/matters`, { method: 'POST', body: JSON.stringify({ name: 'X', identifiers: ['nobody@example.com'] }) })).status).toBe(400);
  });
});

function createHashHex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

