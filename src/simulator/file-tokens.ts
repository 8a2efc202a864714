import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The `jwt` of a simulated file `download_url`: which file it opens and until when, signed with a
 * key only the simulator knows. Like Zoom's (see "Get file info"), a URL is good for 24 hours from
 * when it was issued; the simulator's clock decides whether it has expired.
 */

export const FILE_URL_TTL_MS = 24 * 60 * 60_000;
const KEY = 'zoom-sim-file-url-key';

function mac(payload: string): string {
  return createHmac('sha256', KEY).update(payload).digest('base64url');
}

export function signFileToken(fileId: string, expiresMs: number): string {
  const payload = Buffer.from(JSON.stringify({ fid: fileId, exp: Math.floor(expiresMs / 1000) })).toString('base64url');
  return `${payload}.${mac(payload)}`;
}

export type FileTokenCheck = { ok: true } | { ok: false; reason: 'missing' | 'invalid' | 'expired' | 'other-file' };

export function checkFileToken(token: string | null, fileId: string, nowMs: number): FileTokenCheck {
  if (token === null || token === '') return { ok: false, reason: 'missing' };
  const [payload, signature] = token.split('.');
  if (payload === undefined || signature === undefined) return { ok: false, reason: 'invalid' };
  const expected = Buffer.from(mac(payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'invalid' };
  let claims: { fid?: unknown; exp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (claims.fid !== fileId) return { ok: false, reason: 'other-file' };
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true };
}
