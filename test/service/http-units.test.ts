import { describe, expect, it } from 'vitest';
import { parseJobSelection } from '../../src/cli/commands/serve.js';
import { decodeCursor, encodeCursor, filterFingerprint } from '../../src/service/cursor.js';
import { decideRange } from '../../src/service/range-request.js';
import { z } from 'zod';

// The pure parts of the HTTP layer (the OpenAPI document: openapi-contract.test.ts).

describe('Range header', () => {
  const size = 1000;
  it.each([
    [undefined, { kind: 'full' }],
    ['bytes=0-99', { kind: 'partial', start: 0, end: 99 }],
    ['bytes=100-', { kind: 'partial', start: 100, end: 999 }],
    ['bytes=-100', { kind: 'partial', start: 900, end: 999 }],
    ['bytes=-5000', { kind: 'partial', start: 0, end: 999 }],
    ['bytes=990-5000', { kind: 'partial', start: 990, end: 999 }],
    ['bytes=999-999', { kind: 'partial', start: 999, end: 999 }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=1000-1001', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=5-2', { kind: 'full' }],
    ['bytes=0-1,5-6', { kind: 'full' }],
    ['items=0-1', { kind: 'full' }],
    ['bytes=abc', { kind: 'full' }],
    ['BYTES = 1-2', { kind: 'partial', start: 1, end: 2 }],
  ])('%s', (header, expected) => {
    expect(decideRange(header, size)).toEqual(expected);
  });

  it('serves a range only when If-Range matches the current ETag', () => {
    expect(decideRange('bytes=0-1', size, { header: '"a"', etag: '"a"' })).toEqual({ kind: 'partial', start: 0, end: 1 });
    expect(decideRange('bytes=0-1', size, { header: '"b"', etag: '"a"' })).toEqual({ kind: 'full' });
    expect(decideRange('bytes=0-1', size, { header: undefined, etag: '"a"' })).toEqual({ kind: 'partial', start: 0, end: 1 });
  });

  it('an empty file has no satisfiable range', () => {
    expect(decideRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange('bytes=-1', 0)).toEqual({ kind: 'unsatisfiable' });
  });
});

describe('cursors', () => {
  const position = z.tuple([z.string(), z.number()]);
  const fp = filterFingerprint({ sender: 'a@example.com', from: new Date('2026-06-01T00:00:00Z'), to: undefined });

  it('round-trips and binds to endpoint and filters', () => {
    const cursor = encodeCursor('search', fp, ['2026-06-01T10:00:00.000000Z', 42]);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 'search', fp, position)).toEqual(['2026-06-01T10:00:00.000000Z', 42]);
    expect(() => decodeCursor(cursor, 'transcript', fp, position)).toThrow(/another endpoint/);
    expect(() => decodeCursor(cursor, 'search', filterFingerprint({ sender: 'b@example.com' }), position)).toThrow(/different filters/);
  });

  it('refuses garbage and tampered positions with an InputError on "cursor"', () => {
    for (const bad of ['', '!!!', 'e30', Buffer.from('{"v":1,"k":"search","f":"x","p":[{}]}').toString('base64url'), 'x'.repeat(5000)]) {
      expect(() => decodeCursor(bad, 'search', fp, position)).toThrow(expect.objectContaining({ code: 'INPUT_INVALID', field: 'cursor' }));
    }
    const wrongShape = encodeCursor('search', fp, ['x', 'y']);
    expect(() => decodeCursor(wrongShape, 'search', fp, position)).toThrow(/not a cursor this API issued/);
  });

  it('fingerprints ignore key order and treat undefined like absent', () => {
    expect(filterFingerprint({ a: 1, b: undefined })).toBe(filterFingerprint({ b: undefined, a: 1 }));
    expect(filterFingerprint({ a: 1 })).not.toBe(filterFingerprint({ a: 2 }));
  });
});

describe('serve --jobs', () => {
  it('takes all, a list, or none, and names unknown jobs', () => {
    expect(parseJobSelection('all')).toEqual(['sync', 'deep-sync', 'legal-hold', 'horizon-check', 'audit', 'alerts', 'retention', 'files']);
    expect(parseJobSelection('sync, horizon-check')).toEqual(['sync', 'horizon-check']);
    expect(parseJobSelection(false)).toEqual([]);
    expect(() => parseJobSelection('sync,backup')).toThrow(/unknown: backup/);
  });
});
