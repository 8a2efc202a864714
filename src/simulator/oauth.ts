import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../util/clock.js';
import type { RouteScopes } from './route-table.js';
import { jsonResponse, zoomError, type SimResponse } from './sim-response.js';

/**
 * Server-to-Server OAuth as Zoom does it: `POST /oauth/token` with HTTP Basic client credentials and
 * a form-encoded body `grant_type=account_credentials&account_id=…`, answering a bearer token; and
 * the check every `/v2` call makes against that token (code 124 when missing, unknown, invalidated
 * or expired; 4711 when it lacks the endpoint's scopes).
 *
 * Guesses where Zoom is silent: `invalid_client` is answered with 401 (RFC 6749 §5.2 for clients
 * authenticating with the Authorization header), the other OAuth errors with 400. Parameters in the
 * query string instead of the body are not read, so that request fails with `unsupported_grant_type`,
 * which is what Zoom has been seen to answer.
 */

export interface SimCredentials {
  accountId: string;
  clientId: string;
  clientSecret: string;
}

/** The simulator's fixed, publicly known credentials: not secrets, they only open the simulator. */
export const SIM_CREDENTIALS: Readonly<SimCredentials> = Object.freeze({
  accountId: 'sim-account-0001',
  clientId: 'simClientId0001',
  clientSecret: 'simClientSecret0001',
});

export const EXPIRED_TOKEN_MESSAGE = 'Access token is expired.';
export const INVALID_TOKEN_MESSAGE = 'Invalid access token.';

interface IssuedToken {
  scopes: ReadonlySet<string>;
  expiresMs: number;
}

/** Remembered after expiry so a late caller hears "expired" rather than "invalid". */
const FORGET_EXPIRED_AFTER_MS = 24 * 3_600_000;

export class AccessTokenStore {
  private readonly tokens = new Map<string, IssuedToken>();
  issued = 0;

  constructor(
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
    private readonly invalidatePrevious: boolean,
  ) {}

  issue(scopes: readonly string[]): { token: string; expiresInSeconds: number } {
    const nowMs = this.clock.now().getTime();
    if (this.invalidatePrevious) {
      // Zoom has invalidated a client's older token when it issued a new one; model that strictly.
      this.tokens.clear();
    } else {
      for (const [t, info] of this.tokens) if (nowMs - info.expiresMs > FORGET_EXPIRED_AFTER_MS) this.tokens.delete(t);
    }
    // Zoom's tokens are JWTs; clients must treat them as opaque, so a random string is faithful enough.
    const token = `eyJzaW0iOjF9.${randomBytes(48).toString('base64url')}`;
    this.tokens.set(token, { scopes: new Set(scopes), expiresMs: nowMs + this.ttlSeconds * 1000 });
    this.issued++;
    return { token, expiresInSeconds: this.ttlSeconds };
  }

  /** Expire a token now (the `expire-oauth-token` fault). */
  expire(token: string): void {
    const info = this.tokens.get(token);
    if (info) info.expiresMs = Math.min(info.expiresMs, this.clock.now().getTime() - 1);
  }

  check(token: string): { ok: true; scopes: ReadonlySet<string> } | { ok: false; message: string } {
    const info = this.tokens.get(token);
    if (!info) return { ok: false, message: INVALID_TOKEN_MESSAGE };
    if (this.clock.now().getTime() >= info.expiresMs) return { ok: false, message: EXPIRED_TOKEN_MESSAGE };
    return { ok: true, scopes: info.scopes };
  }

  clear(): void {
    this.tokens.clear();
  }
}

export function bearerToken(headers: IncomingHttpHeaders): string | null {
  const value = headers.authorization;
  if (typeof value !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return m ? (m[1] ?? null) : null;
}

/** `null` when the call may proceed; otherwise the 401 to send. */
export function authorise(headers: IncomingHttpHeaders, store: AccessTokenStore, scopes: RouteScopes): SimResponse | null {
  const token = bearerToken(headers);
  if (token === null) return zoomError(401, 124, INVALID_TOKEN_MESSAGE);
  const check = store.check(token);
  if (!check.ok) return zoomError(401, 124, check.message);
  const allowed = [...scopes.classic, ...scopes.granular].some((s) => check.scopes.has(s));
  if (allowed) return null;
  return zoomError(401, 4711, `Invalid access token, does not contain scopes:[${scopes.granular.join(',')}].`);
}

function oauthError(status: number, error: string, reason: string): SimResponse {
  return jsonResponse(status, { reason, error });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function basicCredentials(headers: IncomingHttpHeaders): { clientId: string; clientSecret: string } | null {
  const value = headers.authorization;
  if (typeof value !== 'string') return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(value);
  if (!m) return null;
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) };
}

export interface TokenEndpointConfig {
  credentials: SimCredentials;
  grantedScopes: readonly string[];
  /** Where the API lives, echoed as `api_url` (Zoom answers its regional host, without `/v2`). */
  apiUrl: string;
}

export function handleTokenRequest(method: string, headers: IncomingHttpHeaders, body: Buffer, config: TokenEndpointConfig, store: AccessTokenStore): SimResponse {
  if (method !== 'POST') return { ...oauthError(405, 'invalid_request', 'Method not allowed'), headers: { Allow: 'POST' } };
  const client = basicCredentials(headers);
  if (!client || !sameSecret(client.clientId, config.credentials.clientId) || !sameSecret(client.clientSecret, config.credentials.clientSecret)) {
    return oauthError(401, 'invalid_client', 'Invalid client_id or client_secret');
  }
  const contentType = String(headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  const form = contentType === 'application/x-www-form-urlencoded' ? new URLSearchParams(body.toString('utf8')) : new URLSearchParams();
  const grantType = form.get('grant_type');
  if (grantType !== 'account_credentials') return oauthError(400, 'unsupported_grant_type', 'Unsupported grant type');
  const accountId = form.get('account_id');
  if (accountId === null || accountId === '') return oauthError(400, 'invalid_grant', 'Missing account_id');
  if (!sameSecret(accountId, config.credentials.accountId)) return oauthError(400, 'invalid_grant', 'Invalid account_id');
  const { token, expiresInSeconds } = store.issue(config.grantedScopes);
  return jsonResponse(200, {
    access_token: token,
    token_type: 'bearer',
    expires_in: expiresInSeconds,
    scope: config.grantedScopes.join(' '),
    api_url: config.apiUrl,
  });
}
