import { CHAT_FILE_ENDPOINTS } from '../domain/zoom-endpoints.js';
import { ArchiverError, InputError } from '../errors.js';
import { parseResponseBody, type ZoomClient, type ZoomStreamResponse } from './client.js';

/**
 * Chat Files: "Get file info" (`GET /chat/files/{fileId}`, LIGHT, `team_chat:read:file:admin`) —
 * Zoom's `length` and `digest` (SHA-256) of a file and a fresh signed `download_url` — and the
 * download of a file's content at such a URL (see `ZoomClient.openUrl`: not an API call).
 */

export { CHAT_FILE_ENDPOINTS };

export interface ZoomFileInfo {
  fileId: string;
  fileName: string | null;
  /** Bytes, as Zoom states them; null when absent or unusable. */
  length: number | null;
  /** SHA-256 of the content, lower-case hex; null when absent or not a SHA-256. */
  digest: string | null;
  downloadUrl: string | null;
  createdTime: number | null;
  modifiedTime: number | null;
}

export async function getFileInfo(client: ZoomClient, fileId: string, options: { signal?: AbortSignal } = {}): Promise<ZoomFileInfo> {
  if (typeof fileId !== 'string' || fileId.trim() === '') throw new InputError('fileId must not be empty', 'fileId');
  const response = await client.request({
    endpoint: CHAT_FILE_ENDPOINTS.getInfo,
    label: 'light',
    method: 'GET',
    path: `/chat/files/${encodeURIComponent(fileId)}`,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return parseResponseBody(response, 'GET', CHAT_FILE_ENDPOINTS.getInfo, (text) => parseFileInfo(text, fileId));
}

export function parseFileInfo(text: string, fileId: string): ZoomFileInfo {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ArchiverError('ZOOM_INVALID_RESPONSE', 'the file info is not JSON', { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ArchiverError('ZOOM_INVALID_RESPONSE', 'the file info is not a JSON object');
  const o = value as Record<string, unknown>;
  const digest = typeof o['digest'] === 'string' && /^[0-9a-fA-F]{64}$/.test(o['digest']) ? o['digest'].toLowerCase() : null;
  return {
    fileId: typeof o['file_id'] === 'string' ? o['file_id'] : fileId,
    fileName: typeof o['file_name'] === 'string' ? o['file_name'] : null,
    length: wholeNumber(o['length']),
    digest,
    downloadUrl: typeof o['download_url'] === 'string' && /^https?:\/\//i.test(o['download_url']) ? o['download_url'] : null,
    createdTime: wholeNumber(o['created_time']),
    modifiedTime: wholeNumber(o['modified_time']),
  };
}

function wholeNumber(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** GET a file's content at its signed URL, with or without the bearer token (README, "Zoom notes"). */
export function openSignedDownload(client: ZoomClient, url: string, options: { withToken: boolean; signal?: AbortSignal }): Promise<ZoomStreamResponse> {
  return client.openUrl(url, { endpoint: CHAT_FILE_ENDPOINTS.download, withToken: options.withToken, ...(options.signal ? { signal: options.signal } : {}) });
}
