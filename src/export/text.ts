import { createHash } from 'node:crypto';

/** Small text helpers shared by the writers. */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes the five characters that matter in HTML text and attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * A name safe for a zip path segment on every platform: the id itself when it is plain
 * ([A-Za-z0-9._-], not starting with a dot), else a readable cleaned form plus a short hash of the
 * original so two different ids never share a file.
 */
export function safePathSegment(id: string): string {
  if (/^[A-Za-z0-9_-][A-Za-z0-9._@-]{0,150}$/.test(id)) return id;
  const cleaned = id.replace(/[^A-Za-z0-9._@-]+/g, '_').replace(/^\.+/, '_').slice(0, 80) || 'id';
  return `${cleaned}~${createHash('sha256').update(id).digest('hex').slice(0, 12)}`;
}

/** `2026-05-21T10:15:00.123Z` → `2026-05-21 10:15:00 UTC` for people. */
export function formatUtc(iso: string | null): string {
  if (!iso) return 'unknown time';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

export { formatBytes } from '../util/bytes.js';
