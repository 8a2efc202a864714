import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/database.js';

// Migration 0005 rewrote archive.version_identity so PostgreSQL can inline it. Rows archived
// before that keep their content_sha256, so the new body must give exactly what 0001's gave, or a
// re-delivered version would be stored a second time.
const ORIGINAL_IDENTITY = `sha256(convert_to((
    CASE WHEN jsonb_typeof(raw -> 'files') = 'array' THEN
      jsonb_set(raw, '{files}', (
        SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(f) = 'object' THEN f - 'download_url' ELSE f END ORDER BY ord), '[]'::jsonb)
        FROM jsonb_array_elements(raw -> 'files') WITH ORDINALITY AS t(f, ord)))
    ELSE raw END)::text, 'UTF8'))`;

const SAMPLES = [
  '{"id":"m1","message":"hello","timestamp":1790000000000}',
  '{"message":"keys in another order","id":"m1","timestamp":"1790000000000"}',
  '{"id":"m2","message":"caf\u00e9 \\\\u0000 \\"quoted\\"","sender":"","unknown_field":{"nested":[1,2.50,null,true]}}',
  '{"id":"m3","files":[{"file_id":"f1","download_url":"https://zoom.us/a?jwt=1","file_size":12},{"file_id":"f2"}]}',
  '{"id":"m3","files":[{"file_id":"f1","download_url":"https://zoom.us/a?jwt=2","file_size":12},{"file_id":"f2"}]}',
  '{"id":"m4","files":[]}',
  '{"id":"m5","files":["not an object",7,{"download_url":"x"}]}',
  '{"id":"m6","files":{"download_url":"an object, not an array, is hashed whole"}}',
  '{"id":"m7","files":null}',
];

const tdb = useTestDatabase();

describe('archive.version_identity', () => {
  it('gives byte for byte the hash the first migration defined', async () => {
    const res = await tdb.pool.query<{ raw: string; current: Buffer; original: Buffer }>(
      `SELECT raw::text AS raw, archive.version_identity(raw) AS current, ${ORIGINAL_IDENTITY} AS original
       FROM unnest($1::jsonb[]) AS s(raw)`,
      [SAMPLES],
    );
    expect(res.rows).toHaveLength(SAMPLES.length);
    for (const row of res.rows) expect(row.current.toString('hex'), row.raw).toBe(row.original.toString('hex'));
  });

  it('ignores signed download URLs but nothing else in files', async () => {
    const res = await tdb.pool.query<{ h: Buffer }>(`SELECT archive.version_identity(raw) AS h FROM unnest($1::jsonb[]) WITH ORDINALITY AS s(raw, i) ORDER BY i`, [
      [SAMPLES[3], SAMPLES[4], '{"id":"m3","files":[{"file_id":"f1","file_size":13},{"file_id":"f2"}]}'],
    ]);
    const [a, b, c] = res.rows.map((r) => r.h.toString('hex'));
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('is inlined into the statements that call it (no per-row function call)', async () => {
    const res = await tdb.pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (VERBOSE, COSTS OFF) SELECT archive.version_identity(r.value) FROM jsonb_array_elements($1::jsonb) AS r(value)`,
      ['[{"id":"m1"}]'],
    );
    const plan = res.rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toContain('sha256(');
    expect(plan).not.toContain('version_identity(');
  });
});
