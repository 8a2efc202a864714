import type { IsoDate } from '../domain/types.js';
import { isIsoDate } from '../util/dates.js';
import type { SimLegalHold, SimLegalHoldFile, SimMatter, SimMatterSeed } from './legal-hold-state.js';
import { PAGE_TOKEN_INVALID_MESSAGE } from './page-tokens.js';
import { VALIDATION_FAILED, type FieldError } from './report-params.js';
import { jsonResponse, zoomError, type RouteContext, type RouteDefinition, type RouteModule, type RouteRequest, type SimResponse } from './route-table.js';
import { LEGAL_HOLD_ENDPOINTS } from '../domain/zoom-endpoints.js';

/**
 * The six legal-hold operations of Team Chat's API, as the OpenAPI document describes them:
 *
 * | route | label | answers |
 * |---|---|---|
 * | `GET /chat/legalhold/matters` | RESOURCE-INTENSIVE | `{legal_hold_matters, next_page_token, page_size}`, page_size ≤ 100 (default 30) |
 * | `POST /chat/legalhold/matters` | RESOURCE-INTENSIVE | 201 `{matter_id}` |
 * | `PATCH /chat/legalhold/matters/{matterId}` | LIGHT | 204 (rename only) |
 * | `DELETE /chat/legalhold/matters/{matterId}` | LIGHT | 204 |
 * | `GET /chat/legalhold/matters/{matterId}/files?identifier=` | LIGHT | `{data, next_page_token, page_size}`, page_size 1–20 (default 5) |
 * | `GET /chat/legalhold/matters/{matterId}/files/download?file_key=` | LIGHT | `application/zip` stream |
 *
 * Errors: validation → 400 / 300 "Validation Failed." with `errors[{field, message}]`; unknown user →
 * 404 / 1001 "User does not exist: <id>"; unknown matter → 404 / 1001 "Legal hold matter does not
 * exist."; no permission (option or handle) → 403 / 403. Guesses where the spec is silent: a file that
 * is not ready → 400 / 300; an unknown file key → 404 / 1001 "File does not exist."; a user who is no
 * custodian of the matter → an empty list.
 */

export { LEGAL_HOLD_ENDPOINTS };

const READ_CLASSIC = ['chat_history_legal_hold:read:admin', 'chat_history_legal_hold:write:admin'];
const WRITE_CLASSIC = ['chat_history_legal_hold:write:admin'];
const MATTER_NAME_MAX_CHARS = 128;
const MAX_IDENTIFIERS = 20;
const MATTER_NOT_FOUND = 'Legal hold matter does not exist.';

/**
 * One legal-hold route as the table below gives it: one granular scope, and a 403 with `denied`
 * (Zoom's wording for the download differs) while the account has no legal-hold permission.
 */
interface LegalHoldRoute extends Omit<RouteDefinition, 'scopes' | 'handle'> {
  classic: readonly string[];
  granular: string;
  denied?: string;
  handle: (request: RouteRequest) => SimResponse;
}

export const legalHoldRoutes: RouteModule = (context) => {
  const routes: LegalHoldRoute[] = [
    { method: 'GET', pattern: '/chat/legalhold/matters', endpoint: LEGAL_HOLD_ENDPOINTS.listMatters, rateLabel: 'resource-intensive', classic: READ_CLASSIC, granular: 'team_chat:read:list_legal_hold_matters:admin', handle: (request) => listMatters(context, request) },
    { method: 'POST', pattern: '/chat/legalhold/matters', endpoint: LEGAL_HOLD_ENDPOINTS.addMatter, rateLabel: 'resource-intensive', classic: WRITE_CLASSIC, granular: 'team_chat:write:legal_hold_matter:admin', handle: (request) => addMatter(context.legalHold, request) },
    { method: 'PATCH', pattern: '/chat/legalhold/matters/{matterId}', endpoint: LEGAL_HOLD_ENDPOINTS.updateMatter, rateLabel: 'light', classic: WRITE_CLASSIC, granular: 'team_chat:update:legal_hold_matter:admin', handle: (request) => updateMatter(context.legalHold, request) },
    { method: 'DELETE', pattern: '/chat/legalhold/matters/{matterId}', endpoint: LEGAL_HOLD_ENDPOINTS.deleteMatter, rateLabel: 'light', classic: WRITE_CLASSIC, granular: 'team_chat:delete:legal_hold_matter:admin', handle: (request) => deleteMatter(context.legalHold, request) },
    { method: 'GET', pattern: '/chat/legalhold/matters/{matterId}/files', endpoint: LEGAL_HOLD_ENDPOINTS.listFiles, rateLabel: 'light', classic: READ_CLASSIC, granular: 'team_chat:read:list_legal_hold_matter_files:admin', handle: (request) => listFiles(context, request) },
    { method: 'GET', pattern: '/chat/legalhold/matters/{matterId}/files/download', endpoint: LEGAL_HOLD_ENDPOINTS.downloadFile, rateLabel: 'light', classic: READ_CLASSIC, granular: 'team_chat:read:legal_hold_matter_file:admin', denied: 'No permission to download legal hold files', handle: (request) => downloadFile(context.legalHold, request) },
  ];
  return routes.map(({ classic, granular, denied = 'No permission to access legal hold', handle, ...route }) => ({
    ...route,
    scopes: { classic, granular: [granular] },
    handle: (request) => (context.legalHold.permission ? handle(request) : zoomError(403, 403, denied)),
  }));
};

function validationFailed(errors: FieldError[]): SimResponse {
  return zoomError(400, 300, VALIDATION_FAILED, errors);
}

/** `page_size` within 1..max, `defaultSize` when absent; an error otherwise. */
function readPageSize(query: URLSearchParams, max: number, defaultSize: number, errors: FieldError[]): number {
  const values = query.getAll('page_size');
  if (values.length === 0) return defaultSize;
  const value = values[0] ?? '';
  const n = values.length === 1 && /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    errors.push({ field: 'page_size', message: `Invalid field: page_size must be an integer between 1 and ${max}.` });
    return defaultSize;
  }
  return n;
}

/** Where a page starts: 0 without `next_page_token`, else its cursor's; null for a token that is unknown, expired or for other parameters. */
function startPosition(context: RouteContext, request: RouteRequest, endpoint: string, binding: string): number | null {
  const token = request.query.get('next_page_token') ?? '';
  if (token === '') return 0;
  const lookup = context.pageTokens.lookup(token, endpoint, binding);
  return lookup.ok ? lookup.cursor.position : null;
}

/** A page of a legal-hold list, as Zoom orders it: the items, then `next_page_token` and `page_size`. */
function listPage(arrayKey: string, items: string[], nextPageToken: string, pageSize: number): SimResponse {
  return { status: 200, body: `{${JSON.stringify(arrayKey)}:[${items.join(',')}],"next_page_token":${JSON.stringify(nextPageToken)},"page_size":${pageSize}}` };
}

function matterJson(legalHold: SimLegalHold, matter: SimMatter): string {
  const parts = [
    `"matter_id":${JSON.stringify(matter.matterId)}`,
    `"matter_name":${JSON.stringify(matter.name)}`,
    `"matter_start_date":${JSON.stringify(matter.startDate)}`,
  ];
  if (matter.endDate !== null) parts.push(`"matter_end_date":${JSON.stringify(matter.endDate)}`);
  parts.push(`"matter_creation_date":${JSON.stringify(matter.creationDate)}`);
  parts.push(`"matter_users":${JSON.stringify(matter.custodians.map((c) => ({ user_id: c.userId, email: c.email })))}`);
  if (legalHold.quirks.unknownFields) parts.push('"zm_sim_matter_extra":{"retention":"indefinite","flags":[1,2]}');
  return `{${parts.join(',')}}`;
}

function listMatters(context: RouteContext, request: RouteRequest): SimResponse {
  const errors: FieldError[] = [];
  const pageSize = readPageSize(request.query, 100, 30, errors);
  if (errors.length > 0) return validationFailed(errors);
  const binding = `page_size=${pageSize}`;
  // Keyset paging on the creation sequence: a matter deleted between two pages shifts nothing.
  const afterSeq = startPosition(context, request, LEGAL_HOLD_ENDPOINTS.listMatters, binding);
  if (afterSeq === null) return zoomError(400, 300, PAGE_TOKEN_INVALID_MESSAGE);
  const remaining = context.legalHold.liveMatters().filter((m) => m.seq > afterSeq);
  const page = remaining.slice(0, pageSize);
  const last = page.at(-1);
  const nextPageToken =
    remaining.length > pageSize && last
      ? context.pageTokens.issue(LEGAL_HOLD_ENDPOINTS.listMatters, binding, { position: last.seq, previous: -1, pageNumber: 0 })
      : '';
  const items = page.map((m) => matterJson(context.legalHold, m));
  return listPage('legal_hold_matters', items, nextPageToken, pageSize);
}

function parseJsonObject(body: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function checkMatterName(value: unknown, errors: FieldError[]): string | null {
  if (typeof value !== 'string') {
    errors.push({ field: 'matter_name', message: 'Parameter matter_name is required and must be a string.' });
    return null;
  }
  const length = [...value].length;
  if (length < 1 || length > MATTER_NAME_MAX_CHARS) {
    errors.push({ field: 'matter_name', message: `Invalid field: matter_name must be 1 to ${MATTER_NAME_MAX_CHARS} characters.` });
    return null;
  }
  return value;
}

function checkDate(body: Record<string, unknown>, field: string, errors: FieldError[]): IsoDate | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !isIsoDate(value)) {
    errors.push({ field, message: `Invalid field: ${field} must be a date in yyyy-mm-dd format.` });
    return undefined;
  }
  return value;
}

function addMatter(legalHold: SimLegalHold, request: RouteRequest): SimResponse {
  const body = parseJsonObject(request.body);
  if (body === null) return zoomError(400, 300, 'Request body must be a JSON object.');
  const errors: FieldError[] = [];
  const name = checkMatterName(body['matter_name'], errors);
  const identifiers = body['identifiers'];
  let list: string[] = [];
  if (!Array.isArray(identifiers) || identifiers.length < 1 || identifiers.length > MAX_IDENTIFIERS) {
    errors.push({ field: 'identifiers', message: `Invalid field: identifiers must list 1 to ${MAX_IDENTIFIERS} users.` });
  } else if (!identifiers.every((i): i is string => typeof i === 'string' && i.trim() !== '')) {
    errors.push({ field: 'identifiers', message: 'Invalid field: every identifier must be a user id or an email.' });
  } else if (new Set(identifiers).size !== identifiers.length) {
    errors.push({ field: 'identifiers', message: 'Invalid field: identifiers must be unique.' });
  } else {
    list = identifiers;
  }
  const startDate = checkDate(body, 'start_date', errors);
  const endDate = checkDate(body, 'end_date', errors);
  if (errors.length > 0 || name === null) return validationFailed(errors);
  if (startDate !== undefined && endDate !== undefined && startDate > endDate) return zoomError(400, 300, `The start_date (${startDate}) must not be later than the end_date (${endDate}).`);
  const unknown = list.find((i) => legalHold.findUser(i) === undefined);
  if (unknown !== undefined) return zoomError(404, 1001, `User does not exist: ${unknown}.`);
  const seed: SimMatterSeed = { name, identifiers: list, creationDate: request.today, ...(startDate ? { startDate } : {}), ...(endDate ? { endDate } : {}) };
  const matter = legalHold.addMatter(seed);
  return jsonResponse(201, { matter_id: matter.matterId });
}

function updateMatter(legalHold: SimLegalHold, request: RouteRequest): SimResponse {
  const matter = legalHold.getMatter(request.params['matterId'] ?? '');
  const body = parseJsonObject(request.body);
  if (body === null) return zoomError(400, 300, 'Request body must be a JSON object.');
  const errors: FieldError[] = [];
  const name = checkMatterName(body['matter_name'], errors);
  if (errors.length > 0 || name === null) return validationFailed(errors);
  if (!matter) return zoomError(404, 1001, MATTER_NOT_FOUND);
  matter.name = name;
  return { status: 204, body: '' };
}

function deleteMatter(legalHold: SimLegalHold, request: RouteRequest): SimResponse {
  if (!legalHold.deleteMatter(request.params['matterId'] ?? '')) return zoomError(404, 1001, MATTER_NOT_FOUND);
  return { status: 204, body: '' };
}

function fileJson(legalHold: SimLegalHold, file: SimLegalHoldFile): string {
  const asString = legalHold.quirks.numbersAsStrings === true;
  const number = (n: number) => (asString ? JSON.stringify(String(n)) : String(n));
  const parts = [
    `"file_key":${JSON.stringify(file.fileKey)}`,
    `"file_count":${number(file.entryCount)}`,
    `"file_start_date":${JSON.stringify(file.startDate)}`,
    `"file_end_date":${JSON.stringify(file.endDate)}`,
    `"ready_for_download":${legalHold.isReady(file)}`,
  ];
  const size = legalHold.announcedSize(file);
  if (size !== undefined) parts.push(`"total_file_size":${number(size)}`);
  if (legalHold.quirks.unknownFields) parts.push('"zm_sim_file_extra":{"region":"us","checksum":null}');
  return `{${parts.join(',')}}`;
}

function listFiles(context: RouteContext, request: RouteRequest): SimResponse {
  const legalHold = context.legalHold;
  const errors: FieldError[] = [];
  const identifiers = request.query.getAll('identifier');
  if (identifiers.length !== 1 || (identifiers[0] ?? '').trim() === '') errors.push({ field: 'identifier', message: 'Parameter identifier is required.' });
  const pageSize = readPageSize(request.query, 20, 5, errors);
  if (errors.length > 0) return validationFailed(errors);
  const identifier = identifiers[0] ?? '';
  const matter = legalHold.getMatter(request.params['matterId'] ?? '');
  if (!matter) return zoomError(404, 1001, MATTER_NOT_FOUND);
  const user = legalHold.findUser(identifier);
  if (!user) return zoomError(404, 1001, `User does not exist: ${identifier}.`);
  const files = matter.files.get(user.email.toLowerCase()) ?? [];
  const binding = `${matter.matterId}|${user.userId}|${pageSize}`;
  const position = startPosition(context, request, LEGAL_HOLD_ENDPOINTS.listFiles, binding);
  if (position === null) return zoomError(400, 300, PAGE_TOKEN_INVALID_MESSAGE);
  const page = files.slice(position, position + pageSize);
  // A listing that shows a file brings it one step closer to ready: Zoom prepares zips over time.
  for (const file of page) file.listings++;
  const next = position + page.length;
  const nextPageToken = next < files.length ? context.pageTokens.issue(LEGAL_HOLD_ENDPOINTS.listFiles, binding, { position: next, previous: -1, pageNumber: 0 }) : '';
  const items = page.map((f) => fileJson(legalHold, f));
  return listPage('data', items, nextPageToken, pageSize);
}

const compactDate = (d: IsoDate) => d.replaceAll('-', '');

function downloadFile(legalHold: SimLegalHold, request: RouteRequest): SimResponse {
  const keys = request.query.getAll('file_key');
  if (keys.length !== 1 || (keys[0] ?? '') === '') return validationFailed([{ field: 'file_key', message: 'Parameter file_key is required.' }]);
  const matter = legalHold.getMatter(request.params['matterId'] ?? '');
  if (!matter) return zoomError(404, 1001, MATTER_NOT_FOUND);
  const file = legalHold.findFile(matter.matterId, keys[0] ?? '');
  if (!file) return zoomError(404, 1001, 'File does not exist.');
  if (!legalHold.isReady(file)) return zoomError(400, 300, 'The file is not ready for download.');
  const body = legalHold.body(file);
  return {
    status: 200,
    body: '',
    stream: body,
    contentType: 'application/zip',
    headers: { 'Content-Disposition': `attachment; filename=LEGAL_HOLD_files_messages_${compactDate(file.startDate)}_${compactDate(file.endDate)}.zip` },
  };
}

// ---------------------------------------------------------------------------------------------
// `/__sim/legal-hold/…`: change the account behind the archiver's back from another process.

/**
 * - `GET    /__sim/legal-hold/matters`               → every matter, deleted ones included, with its files
 * - `POST   /__sim/legal-hold/matters`               → body a `SimMatterSeed`; creates it "in Zoom's portal"
 * - `DELETE /__sim/legal-hold/matters/{id}`          → deletes it "in Zoom's portal"
 * - `POST   /__sim/legal-hold/ready`                 → every file becomes ready
 * - `POST   /__sim/legal-hold/permission`            → body `{ "allowed": false }` answers 403 to every call
 */
export function handleLegalHoldControl(legalHold: SimLegalHold, method: string, path: string, body: Buffer): SimResponse {
  const route = path.replace(/\/+$/, '');
  const matterPath = /^\/__sim\/legal-hold\/matters\/([^/]+)$/.exec(route);
  if (method === 'DELETE' && matterPath) {
    const id = decodeURIComponent(matterPath[1] ?? '');
    return legalHold.deleteMatter(id) ? jsonResponse(200, { deleted: id }) : jsonResponse(404, { error: `no live matter ${id}` });
  }
  switch (`${method} ${route}`) {
    case 'GET /__sim/legal-hold/matters':
      return jsonResponse(200, { matters: legalHold.matters({ includeDeleted: true }) });
    case 'POST /__sim/legal-hold/matters': {
      const seed = parseJsonObject(body);
      if (!seed) return jsonResponse(400, { error: 'expected a matter seed object' });
      try {
        const matter = legalHold.addMatter(seed as unknown as SimMatterSeed);
        return jsonResponse(200, { matterId: matter.matterId });
      } catch (err) {
        return jsonResponse(400, { error: err instanceof Error ? err.message : String(err) });
      }
    }
    case 'POST /__sim/legal-hold/ready':
      return jsonResponse(200, { ready: legalHold.markAllReady() });
    case 'POST /__sim/legal-hold/permission': {
      const parsed = parseJsonObject(body);
      if (!parsed || typeof parsed['allowed'] !== 'boolean') return jsonResponse(400, { error: 'expected {"allowed": true|false}' });
      legalHold.permission = parsed['allowed'];
      return jsonResponse(200, { allowed: legalHold.permission });
    }
    default:
      return jsonResponse(404, { error: `no simulator control route ${method} ${route}` });
  }
}
