import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobSelection } from '../../src/cli/commands/serve.js';
import { loadConfig } from '../../src/config/config.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import type { ApiContext } from '../../src/service/api-context.js';
import { createAuthenticator } from '../../src/service/auth.js';
import { decodeCursor, encodeCursor, filterFingerprint } from '../../src/service/cursor.js';
import { buildHttpApp } from '../../src/service/http-server.js';
import { InFlightWork } from '../../src/service/in-flight-work.js';
import { buildJobs } from '../../src/service/jobs.js';
import { ServiceMetrics } from '../../src/service/metrics.js';
import { buildOpenApiDocument, toOpenApiPath } from '../../src/service/openapi.js';
import { decideRange } from '../../src/service/range-request.js';
import { systemClock } from '../../src/util/clock.js';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// The pure parts of the HTTP layer, and the OpenAPI document against the routes fastify registers.

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
    expect(parseJobSelection('all')).toEqual(['sync', 'deep-sync', 'legal-hold', 'horizon-check', 'audit', 'alerts', 'retention']);
    expect(parseJobSelection('sync, horizon-check')).toEqual(['sync', 'horizon-check']);
    expect(parseJobSelection(false)).toEqual([]);
    expect(() => parseJobSelection('sync,backup')).toThrow(/unknown: backup/);
  });
});

describe('OpenAPI document', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  it('documents every route the server registers, with the same methods, and nothing more', async () => {
    const config = loadConfig({ DATABASE_URL: db.url });
    const metrics = new ServiceMetrics();
    const logger = createSilentLogger();
    const ctx: ApiContext = {
      config,
      pool: db.pool,
      backgroundPool: db.pool,
      logger,
      clock: systemClock,
      auth: createAuthenticator({ pool: db.pool, logger }),
      metrics,
      inFlight: new InFlightWork(),
      jobs: buildJobs({ config, pool: db.pool, clock: systemClock, metrics, zoom: undefined }),
      scheduler: undefined,
      isShuttingDown: () => false,
      triggerJob: () => 'started',
    };
    const { app, routes } = buildHttpApp(ctx, { legalHold: { zoom: undefined }, exports: { maxConcurrentExports: 1 } });
    await app.ready();
    try {
      const registered = routes.map((r) => `${r.method} ${toOpenApiPath(r.url)}`).sort();
      const doc = buildOpenApiDocument({ legalHold: true, exports: true }) as { openapi: string; paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>> };
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
      expect(documented).toEqual(registered);
      expect(registered.length).toBeGreaterThanOrEqual(18);
      // Every operation has an id and a success response.
      for (const ops of Object.values(doc.paths)) {
        for (const op of Object.values(ops)) {
          expect(op.operationId).toBeTruthy();
          expect(Object.keys(op.responses).some((s) => s.startsWith('2'))).toBe(true);
        }
      }
      const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      await app.close();
    }
  });

  it('leaves out what the server does not serve', () => {
    const doc = buildOpenApiDocument({ legalHold: false, exports: false }) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/v1/exports') || p.startsWith('/v1/legal-hold'))).toBe(false);
  });
});
