import type { FastifyRequest } from 'fastify';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';
import { ApiError } from './http-errors.js';
import { findActiveToken, hashToken, looksLikeToken, roleAllows, touchToken, type Role } from './token-store.js';

/**
 * Bearer-token authentication (RFC 6750) against archive.api_tokens. A token is looked up by its
 * SHA-256, so no comparison of secrets happens in this process and nothing secret is kept in
 * memory. The lookup runs on every request (one primary-key probe on a small table): a token
 * revoked on any replica, or with `token revoke`, is refused by every replica from the next request
 * on — no cache that keeps it working for a while. No token or an unknown/revoked one: 401 with
 * `WWW-Authenticate: Bearer`. A role too small
 * for the route: 403. The token itself is never logged (the logger redacts `authorization`, and only
 * the token's name is ever put in a log line or the audit log).
 */

export interface AuthenticatedToken {
  id: number;
  name: string;
  role: Role;
  /** The audit-log actor: `api:<token name>`. */
  actor: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiToken: AuthenticatedToken | null;
  }
}

const REALM = 'zoom-chat-archiver';
const TOUCH_INTERVAL_MS = 60_000;

export interface Authenticator {
  /**
   * A hook that lets the request through only with a token of at least `role`. Routes run it as
   * `preValidation`: a caller without the right token learns nothing about the parameters (401 or
   * 403 before any 400), while a body that is not JSON is refused before (it is parsed first).
   */
  requireRole(role: Role): (request: FastifyRequest) => Promise<void>;
}

export function createAuthenticator(deps: { pool: Pool; logger: Logger }): Authenticator {
  // last_used_at is written at most once a minute per token and process (and the UPDATE itself
  // skips rows touched within the minute by another replica).
  const lastTouchedMs = new Map<number, number>();

  const touch = (id: number) => {
    const nowMs = Date.now();
    if (nowMs - (lastTouchedMs.get(id) ?? 0) < TOUCH_INTERVAL_MS) return;
    lastTouchedMs.set(id, nowMs);
    touchToken(deps.pool, id).catch((err: unknown) => deps.logger.debug({ err, tokenId: id }, 'could not record when the token was last used'));
  };

  const authenticate = async (request: FastifyRequest): Promise<AuthenticatedToken> => {
    const header = request.headers.authorization;
    if (header === undefined || header.trim() === '') {
      throw new ApiError(401, 'UNAUTHORIZED', 'this needs an API token: send "Authorization: Bearer <token>" (operators create tokens with `zoom-chat-archiver token create`)', undefined, {
        'WWW-Authenticate': `Bearer realm="${REALM}"`,
      });
    }
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match?.[1] || !looksLikeToken(match[1])) {
      throw new ApiError(401, 'UNAUTHORIZED', 'the Authorization header must be "Bearer <token>" with a token issued by this archive', undefined, {
        'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_request"`,
      });
    }
    const found = await findActiveToken(deps.pool, hashToken(match[1]));
    if (!found) {
      throw new ApiError(401, 'UNAUTHORIZED', 'the API token is not valid (unknown or revoked)', undefined, {
        'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_token"`,
      });
    }
    touch(found.id);
    return { ...found, actor: `api:${found.name}` };
  };

  return {
    requireRole(role) {
      return async (request) => {
        const token = await authenticate(request);
        if (!roleAllows(token.role, role)) {
          throw new ApiError(403, 'FORBIDDEN', `this needs a token with role ${role}${role === 'admin' ? '' : ' or higher'}; token "${token.name}" has role ${token.role}`, undefined, {
            'WWW-Authenticate': `Bearer realm="${REALM}", error="insufficient_scope"`,
          });
        }
        request.apiToken = token;
      };
    },
  };
}
