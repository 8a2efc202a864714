import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/service/token-store.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// `token create/list/revoke` and `serve`'s start-up refusals, as an operator runs them.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.close();
});

const env = () => ({ DATABASE_URL: db.url, LOG_LEVEL: 'warn' });

describe('token commands', () => {
  it('creates a token shown once and stored only as its hash, lists it, revokes it', async () => {
    const created = await runCli(['token', 'create', '--name', 'counsel-jane', '--role', 'exporter', '--json'], env());
    expect(created.code, created.stderr).toBe(0);
    const out = JSON.parse(created.stdout) as { name: string; role: string; token: string };
    expect(out).toMatchObject({ name: 'counsel-jane', role: 'exporter' });
    expect(out.token).toMatch(/^zca_[A-Za-z0-9_-]{43}$/);
    const stored = await db.pool.query<{ token_sha256: Buffer }>(`SELECT token_sha256 FROM archive.api_tokens WHERE name = 'counsel-jane'`);
    expect(stored.rows[0]?.token_sha256.equals(hashToken(out.token))).toBe(true);
    expect(created.stderr).not.toContain(out.token);

    const [duplicate, badRole, badName, list] = await Promise.all([
      runCli(['token', 'create', '--name', 'counsel-jane', '--role', 'reader'], env()),
      runCli(['token', 'create', '--name', 'x', '--role', 'superuser'], env()),
      runCli(['token', 'create', '--name', 'has space', '--role', 'reader'], env()),
      runCli(['token', 'list', '--json'], env()),
    ]);
    expect(duplicate.code).toBe(2);
    expect(duplicate.stderr).toMatch(/already exists/);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/reader, exporter, admin/);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/token name is 1–64 characters/);

    expect(list.code).toBe(0);
    const tokens = JSON.parse(list.stdout) as Array<{ name: string; role: string; revoked_at: string | null }>;
    expect(tokens).toEqual([expect.objectContaining({ name: 'counsel-jane', role: 'exporter', revoked_at: null })]);
    expect(list.stdout).not.toContain(out.token);

    const revoked = await runCli(['token', 'revoke', 'counsel-jane'], env());
    expect(revoked.code, revoked.stderr).toBe(0);
    const again = await runCli(['token', 'revoke', 'counsel-jane'], env());
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already revoked/);

    const audit = await db.pool.query<{ action: string }>(`SELECT action FROM public.audit_log WHERE subject_type = 'api_token' ORDER BY audit_id`);
    expect(audit.rows.map((r) => r.action)).toEqual(['api.token.create', 'api.token.revoke']);
    // Tokens are revoked, never deleted or altered.
    await expect(db.pool.query(`DELETE FROM archive.api_tokens`)).rejects.toThrow(/never deleted/);
    await expect(db.pool.query(`UPDATE archive.api_tokens SET role = 'admin'`)).rejects.toThrow(/cannot be changed/);
  });
});

describe('serve refuses to start', () => {
  it('without Zoom credentials for its jobs, with an unknown job, or on a port in use (exit 2)', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const [noCredentials, unknownJob, portInUse] = await Promise.all([
        runCli(['serve'], env()),
        runCli(['serve', '--jobs', 'sync,backup'], env()),
        runCli(['serve', '--no-jobs'], { ...env(), HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port) }),
      ]);
      expect(noCredentials.code).toBe(2);
      expect(noCredentials.stderr).toMatch(/ZOOM_ACCOUNT_ID[\s\S]*ZOOM_CLIENT_SECRET/);
      expect(unknownJob.code).toBe(2);
      expect(unknownJob.stderr).toMatch(/unknown: backup/);
      expect(portInUse.code).toBe(2);
      expect(portInUse.stderr).toMatch(/HTTP_PORT: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    } finally {
      blocker.close();
    }
  });
});
