import { afterAll, afterEach } from 'vitest';
import type { IsoDate } from '../../src/domain/types.js';
import { SIM_CREDENTIALS, startZoomSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { generateDataset, type DatasetOptions, type SimDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { addDays, endOfMonth, maxDate, minDate, startOfMonth } from '../../src/util/dates.js';
import { extractRawArrays } from '../../src/zoom/raw-json.js';

/** The instant every simulator test lives at, unless it says otherwise. */
export const NOW = new Date('2026-11-21T15:00:00.000Z');
export const TODAY: IsoDate = '2026-11-21';
/** addMonths(TODAY, -6): the first day the six-month rule allows. */
export const HORIZON_START: IsoDate = '2026-05-21';

const perTest: RunningSimulator[] = [];
const perFile: RunningSimulator[] = [];

/** Every simulator is closed after its test (or its file, when started with `perFile`), pass or fail. */
afterEach(async () => {
  await Promise.all(perTest.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await Promise.all(perFile.splice(0).map((s) => s.close()));
});

export function smallDataset(overrides: Partial<DatasetOptions> = {}): SimDataset {
  return generateDataset({ seed: 42, now: NOW, sessions: 24, totalMessages: 900, ...overrides });
}

export interface TestSim {
  sim: RunningSimulator;
  clock: ManualClock;
  dataset: SimDataset;
  token: string;
  /** GET a `/v2` path with the token; `query` values are sent as given. */
  get(path: string, query?: Record<string, string | number | boolean>, token?: string | null): Promise<TestResponse>;
  /** A fresh access token. */
  newToken(): Promise<string>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export async function requestToken(sim: RunningSimulator, init: { auth?: string | null; body?: string; query?: string; contentType?: string } = {}): Promise<Response> {
  const basic = Buffer.from(`${SIM_CREDENTIALS.clientId}:${SIM_CREDENTIALS.clientSecret}`).toString('base64');
  const headers: Record<string, string> = { 'content-type': init.contentType ?? 'application/x-www-form-urlencoded' };
  const auth = init.auth === undefined ? `Basic ${basic}` : init.auth;
  if (auth !== null) headers['authorization'] = auth;
  return fetch(`${sim.tokenUrl}${init.query ?? ''}`, {
    method: 'POST',
    headers,
    body: init.body ?? `grant_type=account_credentials&account_id=${SIM_CREDENTIALS.accountId}`,
  });
}

export async function startTestSim(options: Partial<SimulatorOptions> & { dataset?: SimDataset; now?: Date; perFile?: boolean } = {}): Promise<TestSim> {
  const { perFile: keepForFile, now, ...simOptions } = options;
  const clock = options.clock instanceof ManualClock ? options.clock : new ManualClock(now ?? NOW);
  const dataset = options.dataset ?? smallDataset();
  const sim = await startZoomSimulator({ ...simOptions, dataset, clock });
  (keepForFile ? perFile : perTest).push(sim);
  const newToken = async () => {
    const res = await requestToken(sim);
    if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const t: TestSim = {
    sim,
    clock,
    dataset,
    token: await newToken(),
    newToken,
    async get(path, query = {}, token) {
      const url = new URL(`${sim.apiBaseUrl}${path}`);
      for (const [k, v] of Object.entries(query)) url.searchParams.append(k, String(v));
      const bearer = token === undefined ? t.token : token;
      const res = await fetch(url, { headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` } });
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // Leave json empty: some tests read broken bodies on purpose.
      }
      return { status: res.status, headers: res.headers, text, json };
    },
  };
  return t;
}

/** Every calendar-month window of [horizonStart, today], clipped to it (what an archiver sweeps). */
export function horizonWindows(horizonStart: IsoDate, today: IsoDate): Array<{ from: IsoDate; to: IsoDate }> {
  const windows: Array<{ from: IsoDate; to: IsoDate }> = [];
  for (let month = startOfMonth(horizonStart); month <= today; month = addDays(endOfMonth(month), 1)) {
    windows.push({ from: maxDate(month, horizonStart), to: minDate(endOfMonth(month), today) });
  }
  return windows;
}

export const ALL_INCLUDED = {
  include_fields: 'edited_messages,deleted_messages',
  include_reactions: 'true',
  include_bot_message: 'true',
  include_custom_emoji_reactions: 'true',
} as const;

export interface PageItems {
  messages: string[];
  edited: string[];
  deleted: string[];
}

/** Every page of one session window; items as raw JSON text exactly as served. */
export async function fetchAllPages(t: TestSim, sessionId: string, query: Record<string, string | number>): Promise<{ pages: number; items: PageItems }> {
  const items: PageItems = { messages: [], edited: [], deleted: [] };
  let token = '';
  let pages = 0;
  do {
    const res = await t.get(`/report/chat/sessions/${sessionId}`, token ? { ...query, next_page_token: token } : query);
    if (res.status !== 200) throw new Error(`page ${pages + 1} of ${sessionId}: ${res.status} ${res.text}`);
    const raw = extractRawArrays(res.text, ['messages', 'edited_messages', 'deleted_messages']);
    items.messages.push(...(raw.get('messages') ?? []));
    items.edited.push(...(raw.get('edited_messages') ?? []));
    items.deleted.push(...(raw.get('deleted_messages') ?? []));
    token = String(res.json['next_page_token'] ?? '');
    pages++;
  } while (token !== '');
  return { pages, items };
}

/** Every session id a window lists, across all pages. */
export async function listAllSessions(t: TestSim, from: IsoDate, to: IsoDate, pageSize = 300): Promise<string[]> {
  const ids: string[] = [];
  let token = '';
  do {
    const res = await t.get('/report/chat/sessions', token ? { from, to, page_size: pageSize, next_page_token: token } : { from, to, page_size: pageSize });
    if (res.status !== 200) throw new Error(`sessions ${from}..${to}: ${res.status} ${res.text}`);
    for (const s of res.json['sessions'] as Array<{ id: string }>) ids.push(s.id);
    token = String(res.json['next_page_token'] ?? '');
  } while (token !== '');
  return ids;
}
