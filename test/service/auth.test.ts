import type { FastifyRequest } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSilentLogger } from '../../src/logging/logger.js';
import { createAuthenticator, type Authenticator } from '../../src/service/auth.js';
import { ApiError } from '../../src/service/http-errors.js';
import {
  createToken,
  findActiveToken,
  generateToken,
  hashToken,
  listTokens,
  looksLikeToken,
  revokeToken,
  roleAllows,
  touchToken,
  validateRole,
  validateTokenName,
  type Role,
} from '../../src/service/token-store.js';
import { InputError } from '../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// Bearer-token authentication and the token store, in-process against a real database (the HTTP
// suites drive a `serve` child process; these pin each rule of auth.ts and token-store.ts).

let db: TestDatabase;
let auth: Authenticator;
const tokens: Record<Role, string> = { reader: '', exporter: '', admin: '' };

beforeAll(async () => {
  db = await createTestDatabase();
  auth = createAuthenticator({ pool: db.pool, logger: createSilentLogger() });
  for (const role of ['reader', 'exporter', 'admin'] as const) tokens[role] = (await createToken(db.pool, { name: `auth-${role}`, role }, 'test')).token;
}, 60_000);

afterAll(async () => {
  await db?.close();
});

afterEach(() => {
  vi.useRealTimers();
});

function request(authorization?: string): FastifyRequest {
  return { headers: authorization === undefined ? {} : { authorization }, apiToken: null } as unknown as FastifyRequest;
}

async function refusal(role: Role, authorization?: string): Promise<ApiError> {
  const err: unknown = await auth.requireRole(role)(request(authorization)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

async function lastUsed(name: string): Promise<Date | null> {
  return (await db.pool.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM archive.api_tokens WHERE name = $1', [name])).rows[0]!.last_used_at;
}

describe('requireRole', () => {
  it('401 without an Authorization header, or with a blank one, naming only the realm', async () => {
    for (const header of [undefined, '', '   ']) {
      const err = await refusal('reader', header);
      expect(err.status).toBe(401);
      expect(err.code).toBe('UNAUTHORIZED');
      expect(err.message).toMatch(/needs an API token/);
      expect(err.headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="zoom-chat-archiver"' });
    }
  });

  it('401 invalid_request for a header that is not "Bearer <one of our tokens>"', async () => {
    const bad = [
      `Basic ${tokens.admin}`,
      `Bearer`,
      `Bearer ${tokens.admin} extra`,
      `xBearer ${tokens.admin}`,
      `Bearer zca_short`,
      `Bearer ${tokens.admin}x`,
      `Bearer ${tokens.admin.slice(4)}`,
    ];
    for (const header of bad) {
      const err = await refusal('reader', header);
      expect(err.status, header).toBe(401);
      expect(err.code).toBe('UNAUTHORIZED');
      expect(err.message).toMatch(/must be "Bearer <token>"/);
      expect(err.headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="zoom-chat-archiver", error="invalid_request"' });
    }
  });

  it('accepts the scheme in any case, several spaces before the token and white space after it', async () => {
    for (const header of [`bearer ${tokens.reader}`, `BEARER   ${tokens.reader}`, `Bearer ${tokens.reader}  `, `Bearer ${tokens.reader}\t`]) {
      const req = request(header);
      await auth.requireRole('reader')(req);
      expect(req.apiToken?.name, header).toBe('auth-reader');
    }
  });

  it('401 invalid_token for a well-formed token the archive never issued, or revoked', async () => {
    const unknown = await refusal('reader', `Bearer ${generateToken()}`);
    expect(unknown.status).toBe(401);
    expect(unknown.message).toMatch(/not valid \(unknown or revoked\)/);
    expect(unknown.headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="zoom-chat-archiver", error="invalid_token"' });

    const { token } = await createToken(db.pool, { name: 'auth-soon-revoked', role: 'admin' }, 'test');
    await auth.requireRole('admin')(request(`Bearer ${token}`));
    await revokeToken(db.pool, 'auth-soon-revoked', 'test');
    const revoked = await refusal('reader', `Bearer ${token}`);
    expect(revoked.status).toBe(401);
    expect(revoked.headers['WWW-Authenticate']).toMatch(/error="invalid_token"/);
  });

  it('lets a role through to routes of its level and below, and sets the request token with its audit actor', async () => {
    const levels: Role[] = ['reader', 'exporter', 'admin'];
    for (const [heldIndex, held] of levels.entries()) {
      for (const [neededIndex, needed] of levels.entries()) {
        const req = request(`Bearer ${tokens[held]}`);
        if (heldIndex >= neededIndex) {
          await auth.requireRole(needed)(req);
          expect(req.apiToken).toEqual({ id: expect.any(Number), name: `auth-${held}`, role: held, actor: `api:auth-${held}` });
        } else {
          const err = await refusal(needed, `Bearer ${tokens[held]}`);
          expect(err.status).toBe(403);
          expect(err.code).toBe('FORBIDDEN');
          expect(err.headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="zoom-chat-archiver", error="insufficient_scope"' });
          expect(req.apiToken).toBeNull();
        }
      }
    }
  });

  it('403 names the role needed ("or higher" unless it is admin) and the role held', async () => {
    expect((await refusal('exporter', `Bearer ${tokens.reader}`)).message).toBe('this needs a token with role exporter or higher; token "auth-reader" has role reader');
    expect((await refusal('admin', `Bearer ${tokens.exporter}`)).message).toBe('this needs a token with role admin; token "auth-exporter" has role exporter');
  });

  it('records last use at most once a minute per token and process', async () => {
    const { token } = await createToken(db.pool, { name: 'auth-touch', role: 'reader' }, 'test');
    expect(await lastUsed('auth-touch')).toBeNull();
    const start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: start });
    await auth.requireRole('reader')(request(`Bearer ${token}`));
    await vi.waitFor(async () => expect(await lastUsed('auth-touch')).not.toBeNull());
    // Within the minute the process does not write again, even when the row says otherwise.
    await db.pool.query(`UPDATE archive.api_tokens SET last_used_at = NULL WHERE name = 'auth-touch'`);
    vi.setSystemTime(start + 59_000);
    await auth.requireRole('reader')(request(`Bearer ${token}`));
    await new Promise((r) => setTimeout(r, 200));
    expect(await lastUsed('auth-touch')).toBeNull();
    // A minute later it does.
    vi.setSystemTime(start + 60_000);
    await auth.requireRole('reader')(request(`Bearer ${token}`));
    await vi.waitFor(async () => expect(await lastUsed('auth-touch')).not.toBeNull());
  });

  it('a failed write of the last use does not fail the request', async () => {
    const { token } = await createToken(db.pool, { name: 'auth-touch-fails', role: 'reader' }, 'test');
    const debug = vi.fn();
    const logger = { ...createSilentLogger(), debug } as unknown as ReturnType<typeof createSilentLogger>;
    const pool = {
      query: (...args: Parameters<typeof db.pool.query>) => {
        const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text;
        if (/^update/i.test(text)) return Promise.reject(new Error('read-only replica'));
        return (db.pool.query as (...a: unknown[]) => unknown)(...args);
      },
    } as unknown as typeof db.pool;
    const failing = createAuthenticator({ pool, logger });
    const req = request(`Bearer ${token}`);
    await failing.requireRole('reader')(req);
    expect(req.apiToken?.name).toBe('auth-touch-fails');
    await vi.waitFor(() => expect(debug).toHaveBeenCalledWith(expect.objectContaining({ tokenId: req.apiToken?.id }), 'could not record when the token was last used'));
  });
});

describe('token store', () => {
  it('roles are ordered reader < exporter < admin', () => {
    expect(roleAllows('reader', 'reader')).toBe(true);
    expect(roleAllows('reader', 'exporter')).toBe(false);
    expect(roleAllows('exporter', 'reader')).toBe(true);
    expect(roleAllows('exporter', 'admin')).toBe(false);
    expect(roleAllows('admin', 'exporter')).toBe(true);
  });

  it('generates zca_ + 43 base64url characters, different every time, and recognises only that shape', () => {
    const a = generateToken();
    expect(a).toMatch(/^zca_[A-Za-z0-9_-]{43}$/);
    expect(generateToken()).not.toBe(a);
    expect(looksLikeToken(a)).toBe(true);
    expect(looksLikeToken(`x${a}`)).toBe(false);
    expect(looksLikeToken(`${a}x`)).toBe(false);
    expect(looksLikeToken(a.slice(0, -1))).toBe(false);
    expect(looksLikeToken(`zca_${'+'.repeat(43)}`)).toBe(false);
    expect(looksLikeToken(`zcb_${a.slice(4)}`)).toBe(false);
  });

  it('hashes a token to its SHA-256', () => {
    expect(hashToken('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('validates names: 1–64 characters of letters, digits, . _ @ -, starting with a letter or digit, trimmed', () => {
    expect(validateTokenName('  counsel-jane ')).toBe('counsel-jane');
    expect(validateTokenName('a')).toBe('a');
    expect(validateTokenName(`a${'b'.repeat(63)}`)).toHaveLength(64);
    expect(validateTokenName('9.x_y@z-w')).toBe('9.x_y@z-w');
    for (const bad of ['', ' ', '-lead', '.lead', `a${'b'.repeat(64)}`, 'has space', 'semi;colon', 42, undefined, null]) {
      expect(() => validateTokenName(bad), String(bad)).toThrow(InputError);
    }
    expect(() => validateTokenName('-x')).toThrow(expect.objectContaining({ field: 'name', message: expect.stringMatching(/1–64 characters/) }));
  });

  it('validates roles', () => {
    for (const role of ['reader', 'exporter', 'admin']) expect(validateRole(role)).toBe(role);
    for (const bad of ['Admin', 'owner', '', 3, undefined]) expect(() => validateRole(bad)).toThrow(InputError);
    expect(() => validateRole('owner')).toThrow(expect.objectContaining({ field: 'role', message: expect.stringContaining('role must be one of reader, exporter, admin') }));
  });

  it('creates a token (stored only as its hash, audited), refuses a name twice, lists them by name without hashes', async () => {
    const { token, record } = await createToken(db.pool, { name: ' store-b ', role: 'exporter' }, 'cli:ops');
    expect(looksLikeToken(token)).toBe(true);
    expect(record).toEqual({ id: expect.any(Number), name: 'store-b', role: 'exporter', createdAt: expect.any(Date), revokedAt: null, lastUsedAt: null });
    const stored = await db.pool.query<{ token_sha256: Buffer }>(`SELECT token_sha256 FROM archive.api_tokens WHERE name = 'store-b'`);
    expect(stored.rows[0]!.token_sha256.equals(hashToken(token))).toBe(true);
    const audit = await db.pool.query(`SELECT actor, action, subject_type, subject_id, after FROM archive.audit_log WHERE subject_id = 'store-b'`);
    expect(audit.rows).toEqual([{ actor: 'cli:ops', action: 'api.token.create', subject_type: 'api_token', subject_id: 'store-b', after: { name: 'store-b', role: 'exporter' } }]);

    await expect(createToken(db.pool, { name: 'store-b', role: 'reader' }, 'cli:ops')).rejects.toThrow(expect.objectContaining({ field: 'name', message: expect.stringMatching(/a token named "store-b" already exists/) }));
    await expect(createToken(db.pool, { name: 'store-c', role: 'root' as Role }, 'cli:ops')).rejects.toThrow(InputError);
    await createToken(db.pool, { name: 'store-a', role: 'reader' }, 'cli:ops');

    const listed = await listTokens(db.pool);
    const names = listed.map((t) => t.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['store-a', 'store-b']));
    expect(names).not.toContain('store-c');
    expect(Object.keys(listed[0]!).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'role']);
  });

  it('revokes a token once (audited), then says when; an unknown name is refused', async () => {
    const { token } = await createToken(db.pool, { name: 'store-revoke', role: 'admin' }, 'test');
    expect(await findActiveToken(db.pool, hashToken(token))).toEqual({ id: expect.any(Number), name: 'store-revoke', role: 'admin' });
    const revoked = await revokeToken(db.pool, ' store-revoke ', 'cli:ops');
    expect(revoked.name).toBe('store-revoke');
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect(await findActiveToken(db.pool, hashToken(token))).toBeUndefined();
    const audit = await db.pool.query(`SELECT actor, subject_type, before, after FROM archive.audit_log WHERE action = 'api.token.revoke' AND subject_id = 'store-revoke'`);
    expect(audit.rows).toEqual([{ actor: 'cli:ops', subject_type: 'api_token', before: { revoked: false }, after: { revoked: true, role: 'admin' } }]);

    await expect(revokeToken(db.pool, 'store-revoke', 'cli:ops')).rejects.toThrow(`token "store-revoke" was already revoked on ${revoked.revokedAt!.toISOString()}`);
    await expect(revokeToken(db.pool, 'store-never', 'cli:ops')).rejects.toThrow(expect.objectContaining({ field: 'name', message: 'no token named "store-never"; `token list` shows them' }));
    await expect(revokeToken(db.pool, '-bad', 'cli:ops')).rejects.toThrow(InputError);
  });

  it('touchToken sets last use unless it was set within the last minute', async () => {
    const { record } = await createToken(db.pool, { name: 'store-touch', role: 'reader' }, 'test');
    await createToken(db.pool, { name: 'store-untouched', role: 'reader' }, 'test');
    await touchToken(db.pool, record.id);
    const first = await lastUsed('store-touch');
    expect(first).toBeInstanceOf(Date);
    await db.pool.query(`UPDATE archive.api_tokens SET last_used_at = now() - interval '30 seconds' WHERE name = 'store-touch'`);
    const recent = await lastUsed('store-touch');
    await touchToken(db.pool, record.id);
    expect(await lastUsed('store-touch')).toEqual(recent);
    await db.pool.query(`UPDATE archive.api_tokens SET last_used_at = now() - interval '2 minutes' WHERE name = 'store-touch'`);
    const old = await lastUsed('store-touch');
    await touchToken(db.pool, record.id);
    expect((await lastUsed('store-touch'))!.getTime()).toBeGreaterThan(old!.getTime());
    // Only that token.
    expect(await lastUsed('store-untouched')).toBeNull();
  });
});
