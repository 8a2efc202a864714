/**
 * PostgreSQL `text` and `jsonb` cannot hold U+0000. The archive stores each U+0000 as the six
 * characters `\u0000` and alters nothing else (README, "Storage guarantees").
 */

const NUL_ESCAPE_OR_ESCAPED_BACKSLASH = /\\(?:\\|u0000)/g;

/**
 * In JSON text, turns every `\u0000` escape into `\\u0000` (an escaped backslash followed by
 * `u0000`), so the decoded string holds the six characters instead of U+0000. Scanning pairs of
 * backslashes first keeps a literal `\\u0000` (already six characters) untouched.
 */
export function escapeNulInJsonText(jsonText: string): string {
  if (!jsonText.includes('\\u0000')) return jsonText;
  return jsonText.replace(NUL_ESCAPE_OR_ESCAPED_BACKSLASH, (m) => (m === '\\\\' ? m : '\\\\u0000'));
}

/** For a plain (already decoded) string: each U+0000 becomes the six characters `\u0000`. */
export function escapeNulInString(value: string): string {
  return value.includes('\u0000') ? value.replaceAll('\u0000', '\\u0000') : value;
}
