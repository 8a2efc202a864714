/**
 * Numbered parameters for one statement, with multi-row `VALUES` lists, so a whole page goes to
 * PostgreSQL in one statement (set-based writes; one round trip per page).
 */
export class SqlParams {
  readonly values: unknown[] = [];
  private readonly named = new Map<string, string>();

  /** Adds a parameter and returns its placeholder, e.g. `$7`. */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  /**
   * One placeholder per name, added on first use: a parameter only an optional part of the
   * statement refers to is never sent untyped when that part is left out.
   */
  named$(name: string, value: unknown): string {
    let placeholder = this.named.get(name);
    if (placeholder === undefined) {
      placeholder = this.add(value);
      this.named.set(name, placeholder);
    }
    return placeholder;
  }

  /** A `VALUES` row list; `casts` gives each column's SQL type, e.g. `['text', 'jsonb']`. */
  rows(rows: ReadonlyArray<readonly unknown[]>, casts: readonly string[]): string {
    return rows.map((row) => `(${row.map((v, i) => `${this.add(v)}::${casts[i] ?? 'text'}`).join(', ')})`).join(',\n');
  }
}

/** PostgreSQL errors worth retrying the same statement for: deadlock and serialization failure. */
export function isTransientConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

export async function retryTransientConflicts<T>(work: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= attempts || !isTransientConflict(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 30));
    }
  }
}
