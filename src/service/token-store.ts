import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/audit-log.js';
import { runDrizzle, withTransaction, type Pool, type Queryable } from '../db/pool.js';
import { apiTokens } from '../db/schema.js';
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

/** A token as listed: everything but its hash. */
export type TokenRecord = Omit<typeof apiTokens.$inferSelect, 'tokenSha256'>;

const RECORD = { id: apiTokens.id, name: apiTokens.name, role: apiTokens.role, createdAt: apiTokens.createdAt, revokedAt: apiTokens.revokedAt, lastUsedAt: apiTokens.lastUsedAt };

export async function createToken(pool: Pool, input: { name: string; role: Role }, actor: string): Promise<{ token: string; record: TokenRecord }> {
  const name = validateTokenName(input.name);
  const role = validateRole(input.role);
  const token = generateToken();
  return withTransaction(pool, async (client) => {
    const [row] = await runDrizzle(client, (orm) =>
      orm
        .insert(apiTokens)
        .values({ name, tokenSha256: hashToken(token), role })
        .onConflictDoNothing({ target: apiTokens.name })
        .returning(RECORD),
    );
    if (!row) throw new InputError(`a token named ${JSON.stringify(name)} already exists (names of revoked tokens stay reserved so the audit log stays unambiguous); choose another name`, 'name');
    await recordAudit(client, { actor, action: 'api.token.create', subjectType: 'api_token', subjectId: name, after: { name, role } });
    return { token, record: row };
  });
}

export async function listTokens(db: Queryable): Promise<TokenRecord[]> {
  return runDrizzle(db, (orm) => orm.select(RECORD).from(apiTokens).orderBy(asc(apiTokens.name)));
}

export async function revokeToken(pool: Pool, nameInput: string, actor: string): Promise<TokenRecord> {
  const name = validateTokenName(nameInput);
  return withTransaction(pool, async (client) => {
    const [row] = await runDrizzle(client, (orm) =>
      orm
        .update(apiTokens)
        .set({ revokedAt: sql`now()` })
        .where(and(eq(apiTokens.name, name), isNull(apiTokens.revokedAt)))
        .returning(RECORD),
    );
    if (!row) {
      const [existing] = await runDrizzle(client, (orm) => orm.select({ revokedAt: apiTokens.revokedAt }).from(apiTokens).where(eq(apiTokens.name, name)));
      const revokedAt = existing?.revokedAt;
      throw new InputError(revokedAt ? `token ${JSON.stringify(name)} was already revoked on ${revokedAt.toISOString()}` : `no token named ${JSON.stringify(name)}; \`token list\` shows them`, 'name');
    }
    await recordAudit(client, { actor, action: 'api.token.revoke', subjectType: 'api_token', subjectId: name, before: { revoked: false }, after: { revoked: true, role: row.role } });
    return row;
  });
}

/** The active token with this hash, if any. */
export async function findActiveToken(db: Queryable, tokenSha256: Buffer): Promise<{ id: number; name: string; role: Role } | undefined> {
  const [row] = await runDrizzle(db, (orm) =>
    orm
      .select({ id: apiTokens.id, name: apiTokens.name, role: apiTokens.role })
      .from(apiTokens)
      .where(and(eq(apiTokens.tokenSha256, tokenSha256), isNull(apiTokens.revokedAt))),
  );
  return row;
}

/** Sets last_used_at unless it was set within the last minute (by any replica). */
export async function touchToken(db: Queryable, id: number): Promise<void> {
  await runDrizzle(db, (orm) =>
    orm
      .update(apiTokens)
      .set({ lastUsedAt: sql`now()` })
      .where(and(eq(apiTokens.id, id), or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, sql`now() - interval '1 minute'`)))),
  );
}
