import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import { runDrizzle, type Queryable } from '../db/pool.js';
import { apiTokens, consoleSessions } from '../db/schema.js';
import type { Role } from '../service/token-store.js';

/**
 * Console sign-ins (archive.console_sessions). The cookie holds 32 random bytes; the table holds
 * only their SHA-256, so a copy of the database opens no session. Each lookup joins the API token
 * it was opened with: a revoked token ends its sessions at once, and a role changed with the token
 * is the role the next page sees. Signing out marks the row ended (server-side), and expired or
 * ended rows are swept on sign-in.
 */

export interface ConsoleSession {
  tokenId: number;
  tokenName: string;
  role: Role;
  csrfToken: string;
  expiresAt: Date;
}

const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

export function hashSessionId(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Opens a session for the token; returns the cookie value (shown once) and the session. */
export async function openConsoleSession(db: Queryable, token: { id: number; name: string; role: Role }, expiresAt: Date): Promise<{ cookie: string; session: ConsoleSession }> {
  const cookie = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  await runDrizzle(db, (orm) => orm.insert(consoleSessions).values({ sessionSha256: hashSessionId(cookie), tokenId: token.id, csrfToken, expiresAt }));
  return { cookie, session: { tokenId: token.id, tokenName: token.name, role: token.role, csrfToken, expiresAt } };
}

/** The live session behind a cookie value: not expired, not ended, its token not revoked. */
export async function findConsoleSession(db: Queryable, cookie: string, now: Date): Promise<ConsoleSession | undefined> {
  if (!COOKIE_VALUE.test(cookie)) return undefined;
  const [row] = await runDrizzle(db, (orm) =>
    orm
      .select({ tokenId: apiTokens.id, tokenName: apiTokens.name, role: apiTokens.role, csrfToken: consoleSessions.csrfToken, expiresAt: consoleSessions.expiresAt })
      .from(consoleSessions)
      .innerJoin(apiTokens, eq(apiTokens.id, consoleSessions.tokenId))
      .where(and(eq(consoleSessions.sessionSha256, hashSessionId(cookie)), gt(consoleSessions.expiresAt, now), isNull(consoleSessions.endedAt), isNull(apiTokens.revokedAt))),
  );
  return row;
}

/** Ends the session behind a cookie value (sign-out); true when one was live. */
export async function endConsoleSession(db: Queryable, cookie: string): Promise<boolean> {
  if (!COOKIE_VALUE.test(cookie)) return false;
  const rows = await runDrizzle(db, (orm) =>
    orm
      .update(consoleSessions)
      .set({ endedAt: sql`now()` })
      .where(and(eq(consoleSessions.sessionSha256, hashSessionId(cookie)), isNull(consoleSessions.endedAt)))
      .returning({ tokenId: consoleSessions.tokenId }),
  );
  return rows.length > 0;
}

/** Deletes sessions that expired or were ended; returns how many. */
export async function sweepConsoleSessions(db: Queryable, now: Date): Promise<number> {
  const rows = await runDrizzle(db, (orm) =>
    orm
      .delete(consoleSessions)
      .where(or(lt(consoleSessions.expiresAt, now), lt(consoleSessions.endedAt, now)))
      .returning({ tokenId: consoleSessions.tokenId }),
  );
  return rows.length;
}
