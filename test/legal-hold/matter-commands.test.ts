import { describe, expect, it } from 'vitest';
import { createPool } from '../../src/db/pool.js';
import { ArchiverError, DatabaseError, InputError, ZoomApiError, ZoomScopeError } from '../../src/errors.js';
import { createMatter, deleteMatter, explainZoomRefusal, loadMatter, renameMatter, resolveMatter, syncMatters } from '../../src/legal-hold/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import { NOW, harnessPerTest } from './harness.js';

// The matter commands (create, rename, delete, resolve) against the simulator over HTTP and a real
// PostgreSQL: what each one asks Zoom, what it records, and what it tells the operator when it cannot.
// explainZoomRefusal's wording for the refusals the simulator cannot easily produce is pinned at the end.

const harness = harnessPerTest();

const TRACKING = /^v=2\.0;clid=sim;rid=SIM_/;

describe('createMatter', () => {
  it('reads the matter back from Zoom only when a custodian is named by user id, so the held custodian gets the email Zoom reports', async () => {
    const logs = captureLogs('info');
    const t = await harness({ logger: logs.logger });
    const [a, b] = t.users;
    // Emails only: the held custodians are already known by email; no RESOURCE-INTENSIVE listing.
    const byEmail = await createMatter(t.deps, { name: 'By email', custodians: [a!.email] }, 'cli:x');
    expect(t.apiCalls('legalhold.matters.list')).toBe(0);
    expect(byEmail.custodians).toEqual([{ identifier: a!.email, email: a!.email, userId: null }]);
    // The creation log line carries the job and the action, so operators can filter on them.
    expect(logs.find('Zoom created the legal-hold matter; recording it')[0]).toMatchObject({ job: 'legal-hold', action: 'create-matter', matterId: byEmail.matterId });

    // One custodian by user id among emails: one listing, and the returned record already has its email.
    const mixed = await createMatter(t.deps, { name: 'Mixed', custodians: [a!.email, b!.userId] }, 'cli:x');
    expect(t.apiCalls('legalhold.matters.list')).toBe(1);
    expect(mixed.custodians).toEqual(
      [
        { identifier: a!.email, email: a!.email, userId: a!.userId },
        { identifier: b!.userId, email: b!.email, userId: b!.userId },
      ].sort((x, y) => (x.identifier < y.identifier ? -1 : 1)),
    );
    expect(mixed).toEqual(await loadMatter(t.db.pool, mixed.matterId));
  });

  it('still returns the recorded matter, with a warning, when reading it back from Zoom fails', async () => {
    const logs = captureLogs('info');
    const t = await harness({ logger: logs.logger });
    const b = t.users[1]!;
    t.sim.faults.inject({ match: { endpoint: 'legalhold.matters.list' }, fault: { kind: 'status', status: 500 }, times: 10 });
    const created = await createMatter(t.deps, { name: 'By id', custodians: [b.userId] }, 'cli:x');
    // Recorded as typed: the email is learnt by the next sync.
    expect(created).toMatchObject({ state: 'active', matterName: 'By id', custodians: [{ identifier: b.userId, email: null, userId: b.userId }] });
    expect(t.sim.legalHold.matters().map((m) => m.matterId)).toEqual([created.matterId]);
    expect(logs.find("could not read the new matter back from Zoom; the next `legal-hold sync` learns its custodians' emails")).toEqual([
      expect.objectContaining({ level: LEVEL.warn, job: 'legal-hold', action: 'create-matter', matterId: created.matterId, err: expect.objectContaining({ code: 'ZOOM_SERVER_ERROR' }) }),
    ]);
  });

  it('tells the operator to run `legal-hold sync` when Zoom created the matter but the database refused to record it', async () => {
    const logs = captureLogs('info');
    const t = await harness({ logger: logs.logger });
    // A real failure of the real database, after the up-front check passed: inserts of matters are refused.
    await t.db.pool.query(`CREATE FUNCTION public.refuse_matters() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'matters are read-only for this test'; END $$`);
    await t.db.pool.query(`CREATE TRIGGER refuse_matters BEFORE INSERT ON archive.legal_hold_matters FOR EACH ROW EXECUTE FUNCTION public.refuse_matters()`);
    const err = await createMatter(t.deps, { name: 'Unrecorded', custodians: [t.users[0]!.email] }, 'cli:x').then(
      () => undefined,
      (e: unknown) => e,
    );
    const [inZoom] = t.sim.legalHold.matters();
    expect(inZoom).toMatchObject({ name: 'Unrecorded' });
    expect(err).toBeInstanceOf(DatabaseError);
    expect(err).toMatchObject({
      code: 'DATABASE_UNAVAILABLE',
      message: `Zoom created matter ${inZoom!.matterId}, but it could not be recorded here (matters are read-only for this test); run \`legal-hold sync\` once the database is back: it finds the matter and records it`,
      cause: expect.objectContaining({ message: 'matters are read-only for this test' }),
    });
    expect(logs.find('Zoom created the matter but it could not be recorded here')).toEqual([
      expect.objectContaining({ level: LEVEL.error, matterId: inZoom!.matterId, err: expect.objectContaining({ message: 'matters are read-only for this test' }) }),
    ]);
    expect(await t.audit()).toEqual([]);
    // What the message promises: once the database takes writes again, a sync records the matter.
    await t.db.pool.query('DROP TRIGGER refuse_matters ON archive.legal_hold_matters');
    expect((await syncMatters(t.deps)).discovered).toEqual([inZoom!.matterId]);
  });

  it('names the underlying connection error when the database is down before Zoom is asked', async () => {
    const t = await harness();
    const down = createPool({ connectionString: 'postgres://postgres@127.0.0.1:1/nowhere' });
    try {
      const err = await createMatter({ ...t.deps, pool: down }, { name: 'M', custodians: [t.users[0]!.email] }, 'cli:x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseError);
      expect((err as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
      expect((err as Error).message).toBe(`the database is unreachable (${((err as Error).cause as Error).message}); nothing was sent to Zoom`);
    } finally {
      await down.end();
    }
  });

  it("explains Zoom's refusal with the action, Zoom's words and the tracking id, keeping the details and the cause", async () => {
    const t = await harness();
    const err = (await createMatter(t.deps, { name: 'M', custodians: [t.users[0]!.email, 'ghost@example.com'] }, 'cli:x').catch((e: unknown) => e)) as ZoomApiError;
    expect(err).toBeInstanceOf(ZoomApiError);
    expect(err.message).toMatch(/^Zoom refused to create the matter: a custodian is not a user of this Zoom account: "User does not exist: ghost@example\.com\." \(trackingId v=2\.0;clid=sim;rid=SIM_\w+\)$/);
    expect(err.trackingId).toMatch(TRACKING);
    expect(err).toMatchObject({ code: 'ZOOM_NOT_FOUND', endpoint: 'legalhold.matters.add', method: 'POST', status: 404, zoomCode: 1001, zoomMessage: 'User does not exist: ghost@example.com.' });
    expect(err.cause).toMatchObject({ code: 'ZOOM_NOT_FOUND', message: expect.stringMatching(/^Zoom answered HTTP 404/) });
  });

  it('warns that a create which failed after reaching Zoom may have created the matter (5xx, broken connection)', async () => {
    const t = await harness();
    const email = t.users[0]!.email;
    t.sim.faults.inject({ match: { endpoint: 'legalhold.matters.add' }, fault: { kind: 'status', status: 500 } });
    const server = (await createMatter(t.deps, { name: 'M', custodians: [email] }, 'cli:x').catch((e: unknown) => e)) as ZoomApiError;
    expect(server).toMatchObject({ code: 'ZOOM_SERVER_ERROR', method: 'POST', status: 500 });
    expect(server.message).toBe(`${(server.cause as Error).message}. The matter may or may not exist in Zoom now: run \`legal-hold list\` before trying again, so it is not created twice`);
    expect(server.cause).toMatchObject({ code: 'ZOOM_SERVER_ERROR', message: expect.stringContaining('not retried because the POST may have taken effect') });

    t.sim.faults.inject({ match: { endpoint: 'legalhold.matters.add' }, fault: { kind: 'reset' } });
    const network = (await createMatter(t.deps, { name: 'M', custodians: [email] }, 'cli:x').catch((e: unknown) => e)) as ZoomApiError;
    expect(network).toMatchObject({ code: 'ZOOM_NETWORK_ERROR', method: 'POST', endpoint: 'legalhold.matters.add' });
    expect(network.message).toMatch(/\. The matter may or may not exist in Zoom now: run `legal-hold list` before trying again, so it is not created twice$/);
    expect(network.cause).toMatchObject({ code: 'ZOOM_NETWORK_ERROR' });
    // Neither was sent twice.
    expect(t.apiCalls('legalhold.matters.add')).toBe(2);
  });

  it("passes the caller's abort signal to Zoom: an aborted create, rename or delete sends nothing", async () => {
    const t = await harness();
    const matter = await createMatter(t.deps, { name: 'Stays', custodians: [t.users[0]!.email] }, 'cli:x');
    const before = t.sim.stats().requests;
    const aborted = { ...t.deps, signal: AbortSignal.abort() };
    await expect(createMatter(aborted, { name: 'Never', custodians: [t.users[0]!.email] }, 'cli:x')).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(renameMatter(aborted, { matter: matter.matterId, name: 'Never' }, 'cli:x')).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(deleteMatter(aborted, { matter: matter.matterId }, 'cli:x')).rejects.toMatchObject({ code: 'ABORTED' });
    expect(t.sim.stats().requests).toBe(before);
    expect(t.sim.legalHold.matters()).toEqual([expect.objectContaining({ matterId: matter.matterId, name: 'Stays' })]);
    expect(await loadMatter(t.db.pool, matter.matterId)).toMatchObject({ state: 'active', matterName: 'Stays' });
  });
});

describe('renameMatter and deleteMatter', () => {
  it("audit Zoom's tracking id of the rename and of the delete", async () => {
    const t = await harness();
    const matter = await createMatter(t.deps, { name: 'Tracked', custodians: [t.users[0]!.email] }, 'cli:x');
    await renameMatter(t.deps, { matter: matter.matterId, name: 'Tracked (2026)' }, 'cli:x');
    await deleteMatter(t.deps, { matter: matter.matterId }, 'cli:x');
    const [rename] = await t.audit('legal_hold.matter.rename');
    expect((rename?.details as { zoomTrackingId: unknown }).zoomTrackingId).toMatch(TRACKING);
    const [deletion] = await t.audit('legal_hold.matter.delete');
    expect(deletion?.details).toEqual({ zoomTrackingId: expect.stringMatching(TRACKING), unstoredFilesGivenUp: 0 });
  });

  it('refuses a matter deleted here or gone from Zoom, saying which and what cannot be done, before asking Zoom', async () => {
    const t = await harness();
    const here = await createMatter(t.deps, { name: 'Released', custodians: [t.users[0]!.email] }, 'cli:x');
    await deleteMatter(t.deps, { matter: here.matterId }, 'cli:x');
    await t.db.pool.query(
      `INSERT INTO archive.legal_hold_matters (matter_id, matter_name, state, deleted_at) VALUES ('legacy', 'Legacy', 'deleted_here', NULL), ('gone', 'Gone', 'deleted_in_zoom', now())`,
    );
    const calls = t.sim.stats().requests;
    await expect(renameMatter(t.deps, { matter: here.matterId, name: 'Again' }, 'cli:x')).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      field: 'matter',
      message: `matter ${here.matterId} (Released) was deleted through this project on ${NOW.toISOString()}; it cannot be renamed`,
    });
    await expect(deleteMatter(t.deps, { matter: here.matterId }, 'cli:x')).rejects.toMatchObject({
      message: `matter ${here.matterId} (Released) was deleted through this project on ${NOW.toISOString()}; it cannot be deleted`,
    });
    // No deletion time recorded: the sentence simply leaves the date out.
    await expect(deleteMatter(t.deps, { matter: 'legacy' }, 'cli:x')).rejects.toMatchObject({
      field: 'matter',
      message: 'matter legacy (Legacy) was deleted through this project; it cannot be deleted',
    });
    const gone = (await deleteMatter(t.deps, { matter: 'Gone' }, 'cli:x').catch((e: unknown) => e)) as InputError;
    expect(gone).toBeInstanceOf(InputError);
    expect(gone).toMatchObject({ field: 'matter', message: 'matter gone (Gone) no longer exists in Zoom; it cannot be deleted. What it held stays held here' });
    await expect(renameMatter(t.deps, { matter: 'gone', name: 'x' }, 'cli:x')).rejects.toMatchObject({
      message: 'matter gone (Gone) no longer exists in Zoom; it cannot be renamed. What it held stays held here',
    });
    expect(t.sim.stats().requests).toBe(calls);
  });

  it('refuses to delete a matter with unstored files, saying how many and how to proceed', async () => {
    const t = await harness();
    const matter = await createMatter(t.deps, { name: 'Pending', custodians: [t.users[0]!.email] }, 'cli:x');
    await t.db.pool.query(
      `INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, state) VALUES ($1, $2, 'k1', 'pending'), ($1, $2, 'k2', 'failed')`,
      [matter.matterId, t.users[0]!.email],
    );
    await expect(deleteMatter(t.deps, { matter: matter.matterId }, 'cli:x')).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      field: 'matter',
      message:
        `matter ${matter.matterId} has 2 zip file(s) from Zoom that are not stored here yet; once the matter is deleted Zoom no longer serves them. ` +
        'Download them first (the legal-hold job does, or `legal-hold download`), or delete with force to give them up (`--force`; over HTTP `?force=true`)',
    });
    expect(t.apiCalls('legalhold.matters.delete')).toBe(0);
  });

  it('marks a matter Zoom no longer has deleted_in_zoom when a delete is answered "does not exist", and says so', async () => {
    const t = await harness();
    const matter = await createMatter(t.deps, { name: 'Vanished', custodians: [t.users[0]!.email] }, 'cli:x');
    t.sim.legalHold.deleteMatter(matter.matterId);
    t.clock.advance(1000);
    const err = (await deleteMatter(t.deps, { matter: matter.matterId }, 'cli:x').catch((e: unknown) => e)) as ZoomApiError;
    expect(err).toBeInstanceOf(ZoomApiError);
    expect(err).toMatchObject({
      code: 'ZOOM_NOT_FOUND',
      message: `matter ${matter.matterId} no longer exists in Zoom (Legal hold matter does not exist.); it is now marked deleted_in_zoom here, and what it held stays held`,
      endpoint: 'legalhold.matters.delete',
      method: 'DELETE',
      status: 404,
      zoomCode: 1001,
      zoomMessage: 'Legal hold matter does not exist.',
      trackingId: expect.stringMatching(TRACKING),
    });
    expect(err.cause).toMatchObject({ code: 'ZOOM_NOT_FOUND', message: expect.stringMatching(/^Zoom answered HTTP 404 \(code 1001: Legal hold matter does not exist\.\) to DELETE/) });
    expect(await loadMatter(t.db.pool, matter.matterId)).toMatchObject({ state: 'deleted_in_zoom', deletedAt: new Date(NOW.getTime() + 1000) });
    expect(await t.audit('legal_hold.matter.deleted_in_zoom')).toEqual([
      expect.objectContaining({ actor: 'zoom', subject_id: matter.matterId, details: { reason: 'Zoom answered "does not exist" when asked to delete the matter' } }),
    ]);
    expect(await t.audit('legal_hold.matter.delete')).toEqual([]);
  });

  it('says "not found" when Zoom answers a rename 404 without a message, and audits the rename as the cause', async () => {
    const t = await harness();
    const matter = await createMatter(t.deps, { name: 'Silent', custodians: [t.users[0]!.email] }, 'cli:x');
    t.sim.faults.inject({ match: { endpoint: 'legalhold.matters.update' }, fault: { kind: 'status', status: 404, body: {} } });
    await expect(renameMatter(t.deps, { matter: matter.matterId, name: 'Louder' }, 'cli:x')).rejects.toMatchObject({
      code: 'ZOOM_NOT_FOUND',
      message: `matter ${matter.matterId} no longer exists in Zoom (not found); it is now marked deleted_in_zoom here, and what it held stays held`,
    });
    const [entry] = await t.audit('legal_hold.matter.deleted_in_zoom');
    expect(entry?.details).toEqual({ reason: 'Zoom answered "does not exist" when asked to rename the matter' });
  });

  it('leaves the matter active when Zoom refuses a rename for another reason (no permission)', async () => {
    const t = await harness();
    const matter = await createMatter(t.deps, { name: 'Guarded', custodians: [t.users[0]!.email] }, 'cli:x');
    t.sim.legalHold.permission = false;
    const err = (await renameMatter(t.deps, { matter: matter.matterId, name: 'Nope' }, 'cli:x').catch((e: unknown) => e)) as ZoomApiError;
    expect(err).toMatchObject({ code: 'ZOOM_FORBIDDEN', method: 'PATCH', endpoint: 'legalhold.matters.update', status: 403 });
    expect(err.message).toMatch(
      /^Zoom refused to rename the matter: no permission to manage legal holds: "No permission to access legal hold" \(trackingId v=2\.0;clid=sim;rid=SIM_\w+\)\. The account needs the Legal Hold feature/,
    );
    expect(err.cause).toMatchObject({ code: 'ZOOM_FORBIDDEN', message: expect.stringMatching(/^Zoom answered HTTP 403/) });
    expect(await loadMatter(t.db.pool, matter.matterId)).toMatchObject({ state: 'active', matterName: 'Guarded' });
    expect(await t.audit('legal_hold.matter.deleted_in_zoom')).toEqual([]);
  });
});

describe('resolveMatter', () => {
  it('refuses an unknown matter without asking Zoom when no Zoom client is configured', async () => {
    const t = await harness();
    const { zoom: _zoom, ...local } = t.deps;
    const err = await resolveMatter(local, 'Nowhere').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err).toMatchObject({
      field: 'matter',
      message: 'no legal-hold matter "Nowhere" is known here (Zoom was not asked: no ZOOM_* credentials are configured); list the matters to see their ids',
    });
    expect(t.sim.stats().requests).toBe(0);
  });

  it('logs that it refreshes the list from Zoom for an unknown matter, then names the matter it could not find', async () => {
    const logs = captureLogs('info');
    const t = await harness({ logger: logs.logger });
    await expect(resolveMatter(t.deps, 'Nowhere')).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      field: 'matter',
      message: 'no legal-hold matter "Nowhere", neither here nor in Zoom; list the matters to see their ids',
    });
    expect(logs.find('matter unknown here; refreshing the list of matters from Zoom')).toEqual([expect.objectContaining({ level: LEVEL.info, job: 'legal-hold', matter: 'Nowhere' })]);
    expect(t.apiCalls('legalhold.matters.list')).toBe(1);
  });

  it('refuses a name several matters share, listing each id with its state', async () => {
    const t = await harness();
    await t.db.pool.query(
      `INSERT INTO archive.legal_hold_matters (matter_id, matter_name, state, first_seen_at) VALUES ('m-1', 'Twin', 'active', now() - interval '1 hour'), ('m-2', 'Twin', 'deleted_in_zoom', now())`,
    );
    await expect(resolveMatter(t.deps, 'Twin')).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      field: 'matter',
      message: '2 matters are named "Twin" (m-1 [active], m-2 [deleted_in_zoom]); name one by its id',
    });
    expect(t.sim.stats().requests).toBe(0);
  });
});

describe('explainZoomRefusal', () => {
  const zoomError = (code: ConstructorParameters<typeof ZoomApiError>[0], method: string, extra: { zoomMessage?: string; trackingId?: string } = {}) =>
    new ZoomApiError(code, `Zoom answered badly to ${method}`, { endpoint: 'legalhold.matters.update', method, status: 400, zoomCode: 300, ...extra });

  it('returns what is not a ZoomApiError unchanged, even an error carrying a Zoom code', () => {
    const lookalike = new ArchiverError('ZOOM_FORBIDDEN', 'not from the client');
    expect(explainZoomRefusal(lookalike, 'rename the matter')).toBe(lookalike);
    expect(explainZoomRefusal(null, 'rename the matter')).toBeNull();
    const scopes = new ZoomScopeError(['x:y'], { endpoint: 'legalhold.matters.update', method: 'PATCH' });
    expect(explainZoomRefusal(scopes, 'rename the matter')).toBe(scopes);
  });

  it('leaves out the quote and the tracking id when Zoom sent neither', () => {
    const err = zoomError('ZOOM_FORBIDDEN', 'PATCH');
    expect(explainZoomRefusal(err, 'rename the matter')).toMatchObject({
      code: 'ZOOM_FORBIDDEN',
      message:
        "Zoom refused to rename the matter: no permission to manage legal holds. The account needs the Legal Hold feature (Zoom's archiving add-on), and the app's owner must be an admin allowed to manage it",
      cause: err,
    });
    expect(explainZoomRefusal(zoomError('ZOOM_NOT_FOUND', 'POST'), 'create the matter')).toMatchObject({
      message: 'Zoom refused to create the matter: a custodian is not a user of this Zoom account',
    });
  });

  it("says Zoom rejected a bad request, with Zoom's words, the tracking id, the details and the cause", () => {
    const err = zoomError('ZOOM_BAD_REQUEST', 'PATCH', { zoomMessage: 'Invalid field.', trackingId: 'T-1' });
    const explained = explainZoomRefusal(err, 'rename the matter');
    expect(explained).toBeInstanceOf(ZoomApiError);
    expect(explained).not.toBe(err);
    expect(explained).toMatchObject({
      code: 'ZOOM_BAD_REQUEST',
      message: 'Zoom rejected the request to rename the matter: "Invalid field." (trackingId T-1)',
      endpoint: 'legalhold.matters.update',
      method: 'PATCH',
      status: 400,
      zoomCode: 300,
      zoomMessage: 'Invalid field.',
      trackingId: 'T-1',
      cause: err,
    });
  });

  it('warns of a possible duplicate only for a POST that failed in transit or on the server; a retried PATCH or DELETE is left as it was', () => {
    for (const code of ['ZOOM_NETWORK_ERROR', 'ZOOM_SERVER_ERROR'] as const) {
      const post = zoomError(code, 'POST');
      expect(explainZoomRefusal(post, 'create the matter'), code).toMatchObject({
        code,
        message: 'Zoom answered badly to POST. The matter may or may not exist in Zoom now: run `legal-hold list` before trying again, so it is not created twice',
        method: 'POST',
        cause: post,
      });
      const patch = zoomError(code, 'PATCH');
      expect(explainZoomRefusal(patch, 'rename the matter'), code).toBe(patch);
    }
  });

  it('returns any other Zoom error unchanged', () => {
    const limited = zoomError('ZOOM_RATE_LIMITED', 'POST');
    expect(explainZoomRefusal(limited, 'create the matter')).toBe(limited);
  });
});
