import { createHash, randomBytes } from 'node:crypto';
import { recordAudit } from '../audit/audit-log.js';
import { withTransaction, type Pool, type Queryable } from '../db/pool.js';
import { InputError } from '../errors.js';

/**
 * API tokens (archive.api_tokens). A token is `zca_` followed by 32 random bytes in base64url; only
 * its SHA-256 is stored, so the database never holds anything that opens the API. The token is
 * shown once, when it is created. A token is revoked, never deleted, and its name is never reused,
 * so `api:<name>` in the audit log always means one token.
 */

export const ROLES = ['reader', 'exporter', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** reader < exporter < admin: each role may do everything the smaller ones may. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

export const TOKEN_PREFIX = 'zca_';
const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^zca_[A-Za-z0-9_-]{43}$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(TOKEN_BYTES).toString('base64url')}`;
}

/** True when the string has the shape of one of our tokens (checked before any lookup). */
export function looksLikeToken(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function validateTokenName(value: unknown): string {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value.trim())) {
    throw new InputError('a token name is 1–64 characters: letters, digits, ".", "_", "@" and "-", starting with a letter or digit (e.g. "counsel-jane" or "grafana")', 'name');
  }
  return value.trim();
}

export function validateRole(value: unknown): Role {
  if (typeof value === 'string' && (ROLES as readonly string[]).includes(value)) return value as Role;
  throw new InputError(`role must be one of ${ROLES.join(', ')} (reader: queries; exporter: + exports; admin: + legal-hold changes)`, 'role');
}

export interface TokenRecord {
  id: number;
  name: string;
  role: Role;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

interface TokenRow {
  id: number;
  name: string;
  role: Role;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const toRecord = (r: TokenRow): TokenRecord => ({ id: r.id, name: r.name, role: r.role, createdAt: r.created_at, revokedAt: r.revoked_at, lastUsedAt: r.last_used_at });

export async function createToken(pool: Pool, input: { name: string; role: Role }, actor: string): Promise<{ token: string; record: TokenRecord }> {
  const name = validateTokenName(input.name);
  const role = validateRole(input.role);
  const token = generateToken();
  return withTransaction(pool, async (client) => {
    const res = await client.query<TokenRow>(
      `INSERT INTO archive.api_tokens (name, token_sha256, role) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO NOTHING
       RETURNING id, name, role, created_at, revoked_at, last_used_at`,
      [name, hashToken(token), role],
    );
    const row = res.rows[0];
    if (!row) throw new InputError(`a token named ${JSON.stringify(name)} already exists (names of revoked tokens stay reserved so the audit log stays unambiguous); choose another name`, 'name');
    await recordAudit(client, { actor, action: 'api.token.create', subjectType: 'api_token', subjectId: name, after: { name, role } });
    return { token, record: toRecord(row) };
  });
}

export async function listTokens(db: Queryable): Promise<TokenRecord[]> {
  const res = await db.query<TokenRow>(`SELECT id, name, role, created_at, revoked_at, last_used_at FROM archive.api_tokens ORDER BY name`);
  return res.rows.map(toRecord);
}

export async function revokeToken(pool: Pool, nameInput: string, actor: string): Promise<TokenRecord> {
  const name = validateTokenName(nameInput);
  return withTransaction(pool, async (client) => {
    const res = await client.query<TokenRow>(
      `UPDATE archive.api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL
       RETURNING id, name, role, created_at, revoked_at, last_used_at`,
      [name],
    );
    const row = res.rows[0];
    if (!row) {
      const exists = await client.query<{ revoked_at: Date | null }>(`SELECT revoked_at FROM archive.api_tokens WHERE name = $1`, [name]);
      const revokedAt = exists.rows[0]?.revoked_at;
      throw new InputError(revokedAt ? `token ${JSON.stringify(name)} was already revoked on ${revokedAt.toISOString()}` : `no token named ${JSON.stringify(name)}; \`token list\` shows them`, 'name');
    }
    await recordAudit(client, { actor, action: 'api.token.revoke', subjectType: 'api_token', subjectId: name, before: { revoked: false }, after: { revoked: true, role: row.role } });
    return toRecord(row);
  });
}

/** The active token with this hash, if any. */
export async function findActiveToken(db: Queryable, tokenSha256: Buffer): Promise<{ id: number; name: string; role: Role } | undefined> {
  const res = await db.query<{ id: number; name: string; role: Role }>(`SELECT id, name, role FROM archive.api_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL`, [tokenSha256]);
  return res.rows[0];
}

/** Sets last_used_at unless it was set within the last minute (by any replica). */
export async function touchToken(db: Queryable, id: number): Promise<void> {
  await db.query(`UPDATE archive.api_tokens SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, [id]);
}
