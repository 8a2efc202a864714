/** Renders query rows as an aligned text table for a terminal. `nullText` shows NULL (default: empty). */
export function formatCell(value: unknown, nullText = ''): string {
  if (value === null || value === undefined) return nullText;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function formatTable(
  columns: readonly string[],
  rows: ReadonlyArray<Record<string, unknown> | readonly unknown[]>,
  maxCellWidth = 60,
  nullText = '',
): string {
  const clip = (s: string) => {
    const oneLine = s.replace(/\r?\n/g, '⏎');
    return oneLine.length > maxCellWidth ? `${oneLine.slice(0, maxCellWidth - 1)}…` : oneLine;
  };
  // Rows as arrays keep two columns of the same name apart (`select 1 as a, 2 as a`).
  const cells = rows.map((row) => columns.map((c, i) => clip(formatCell(Array.isArray(row) ? row[i] : (row as Record<string, unknown>)[c], nullText))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
