import { describe, expect, it } from 'vitest';
import { ArchiverError, LockSupersededError, ZoomApiError } from '../../src/errors.js';
import { asTypedError, classifyFailure } from '../../src/util/failure.js';

describe('failure classification', () => {
  it('stops the pass when Zoom cannot be reached or a lock the work runs under is gone', () => {
    expect(classifyFailure(new ZoomApiError('ZOOM_UNREACHABLE', 'refused', { endpoint: 'oauth.token', method: 'POST' }))).toBe('fatal');
    expect(classifyFailure(new ArchiverError('LOCK_LOST', 'lost'))).toBe('fatal');
    expect(classifyFailure(new LockSupersededError('taken over'))).toBe('fatal');
    // A transient network error on one call stays the unit's own failure.
    expect(classifyFailure(new ZoomApiError('ZOOM_NETWORK_ERROR', 'reset', { endpoint: 'x', method: 'GET' }))).toBe('unit');
  });

  it("types archive.assert_fence's SQLSTATE ZC409 as LOCK_SUPERSEDED", () => {
    const pgError = Object.assign(new Error('lock "job:sync" was taken over'), { code: 'ZC409' });
    const typed = asTypedError(pgError);
    expect(typed).toBeInstanceOf(LockSupersededError);
    expect(typed).toMatchObject({ code: 'LOCK_SUPERSEDED', message: 'lock "job:sync" was taken over' });
    expect(classifyFailure(pgError)).toBe('fatal');
  });
});
