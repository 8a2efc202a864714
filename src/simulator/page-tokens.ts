import { randomBytes } from 'node:crypto';
import type { Clock } from '../util/clock.js';
import { alphanumeric } from './random.js';

/**
 * Zoom's `next_page_token`: an opaque string that stands for "the rest of this exact query". The
 * simulator keeps the meaning server-side (endpoint, bound parameters, cursor, issue time), so a
 * client cannot forge or reuse a token with other parameters, and tokens expire on the injected clock.
 * A token stays valid for repeated use until it expires: a client retrying a failed page resends it.
 */

export const PAGE_TOKEN_INVALID_MESSAGE = 'The next page token is either invalid or has expired.';

export interface PageCursor {
  /** Where the next page starts (meaning is the endpoint's: a list offset or a message index). */
  position: number;
  /** The last item of the previous page, for the duplicate-across-pages quirk; -1 when none. */
  previous: number;
  /** 1 for the second page, and so on. */
  pageNumber: number;
}

interface StoredToken extends PageCursor {
  endpoint: string;
  /** Canonical form of every other query parameter (and the path's session id). */
  binding: string;
  issuedMs: number;
}

export type PageTokenLookup = { ok: true; cursor: PageCursor } | { ok: false; reason: 'unknown' | 'expired' | 'mismatch' };

/** Past this many live tokens, expired ones are swept on the next issue. */
const SWEEP_THRESHOLD = 10_000;

export class PageTokenStore {
  private readonly tokens = new Map<string, StoredToken>();
  private sweepAt = SWEEP_THRESHOLD;
  issued = 0;
  rejected = 0;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  issue(endpoint: string, binding: string, cursor: PageCursor): string {
    const nowMs = this.clock.now().getTime();
    if (this.tokens.size >= this.sweepAt) this.sweep(nowMs);
    // Zoom's tokens look like 35-36 alphanumerics.
    const token = alphanumeric(randomBytes(36));
    this.tokens.set(token, { ...cursor, endpoint, binding, issuedMs: nowMs });
    this.issued++;
    return token;
  }

  lookup(token: string, endpoint: string, binding: string): PageTokenLookup {
    const stored = this.tokens.get(token);
    let reason: 'unknown' | 'expired' | 'mismatch' | null = null;
    if (!stored) reason = 'unknown';
    else if (this.clock.now().getTime() - stored.issuedMs > this.ttlMs) {
      this.tokens.delete(token);
      reason = 'expired';
    } else if (stored.endpoint !== endpoint || stored.binding !== binding) reason = 'mismatch';
    if (reason !== null || !stored) {
      this.rejected++;
      return { ok: false, reason: reason ?? 'unknown' };
    }
    return { ok: true, cursor: { position: stored.position, previous: stored.previous, pageNumber: stored.pageNumber } };
  }

  /** Forget a token, as if its 15 minutes were up (the `expire-page-token` fault). */
  expire(token: string): void {
    this.tokens.delete(token);
  }

  clear(): void {
    this.tokens.clear();
  }

  get size(): number {
    return this.tokens.size;
  }

  private sweep(nowMs: number): void {
    for (const [token, stored] of this.tokens) if (nowMs - stored.issuedMs > this.ttlMs) this.tokens.delete(token);
    // With a frozen test clock nothing expires; grow the threshold instead of sweeping every call.
    this.sweepAt = Math.max(SWEEP_THRESHOLD, this.tokens.size * 2);
  }
}
