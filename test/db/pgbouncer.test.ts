import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tryAdvisoryLock } from '../../src/db/advisory-lock.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { hasCode } from '../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freePort } from '../helpers/ports.js';

// What deploy/README.md says about PgBouncer in transaction mode, shown with a real PgBouncer
// (Debian's `pgbouncer` package; skipped where it is not installed): a session-level advisory lock
// taken through it stays on whichever server connection ran that one statement, another client can
// be handed that connection and "take" the same lock, and the holder's heartbeat — landing on
// another server connection — finds it not held and reports the loss.

const pgbouncer = spawnSync('pgbouncer', ['--version'], { encoding: 'utf8' });
const installed = pgbouncer.status === 0;

let db: TestDatabase;
let dir: string;
let bouncer: ChildProcess | undefined;
let port = 0;
const pools: Pool[] = [];

beforeAll(async () => {
  if (!installed) return;
  db = await createTestDatabase();
  const target = new URL(db.url);
  dir = mkdtempSync(path.join(tmpdir(), 'zca-pgbouncer-'));
  chmodSync(dir, 0o777);
  port = await freePort();
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port || 5432} user=${decodeURIComponent(target.username) || 'postgres'}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = any',
      'pool_mode = transaction',
      'ignore_startup_parameters = extra_float_digits,options,application_name,idle_session_timeout',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  // PgBouncer will not run as root; -u switches to the postgres user.
  const args = process.getuid?.() === 0 ? ['-u', 'postgres', path.join(dir, 'pgbouncer.ini')] : [path.join(dir, 'pgbouncer.ini')];
  bouncer = spawn('pgbouncer', args, { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  bouncer?.kill('SIGTERM');
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!installed)('through PgBouncer in transaction mode', () => {
  it('a session lock can be "taken" twice, and the heartbeat reports it lost', async () => {
    const url = `postgres://postgres@127.0.0.1:${port}/${db.name}`;
    const holderPool = createPool({ connectionString: url, max: 2 });
    pools.push(holderPool);
    const held = (await tryAdvisoryLock(holderPool, 'job:pooled', { heartbeatMs: 100, holder: 'replica-a' }))!;
    expect(held).toBeDefined();

    // Another replica through the same pooler is handed the server connection that holds the lock
    // (PgBouncer reuses the most recently used one) and gets "the" lock too: advisory locks are
    // re-entrant within one server session.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      // (A heartbeat in flight at that instant keeps the lock's connection busy: then try again.)
      let locked = false;
      for (let attempt = 0; attempt < 50 && !locked; attempt++) {
        await other.query('BEGIN');
        const second = await other.query<{ locked: boolean }>(
          `SELECT pg_try_advisory_lock(('x' || substr(encode(sha256(convert_to('zoom-chat-archiver:job:pooled', 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint) AS locked`,
        );
        locked = second.rows[0]?.locked === true;
        if (!locked) await other.query('ROLLBACK');
      }
      expect(locked).toBe(true);
      // Meanwhile the holder's heartbeat runs on another server connection, finds no lock there,
      // and says so: the run under it would stop with LOCK_LOST.
      const reason = await new Promise<unknown>((resolve) => {
        if (held.lost.aborted) resolve(held.lost.reason);
        held.lost.addEventListener('abort', () => resolve(held.lost.reason), { once: true });
      });
      expect(hasCode(reason, 'LOCK_LOST')).toBe(true);
      expect((reason as Error).message).toMatch(/no longer held by its connection \(a connection pooler in transaction mode/);
      await other.query('ROLLBACK');
    } finally {
      await other.end();
      await held.release();
    }
  });
});
