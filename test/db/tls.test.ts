import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEmbeddedPostgresServer } from '../../src/db/embedded-postgres.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

// TLS to PostgreSQL the way a managed database offers it: a server certificate from a private CA
// (generated here with openssl), and the archiver told about the CA with sslrootcert= or
// NODE_EXTRA_CA_CERTS. The server is a second, throwaway PostgreSQL with ssl=on (from the
// embedded-postgres package), so the shared server's configuration is never touched. What is real:
// openssl, PostgreSQL with TLS, the CLI process and node-postgres' certificate checks.

let dir: string;
let port: number;
let stop: (() => Promise<void>) | undefined;
const PASSWORD = 'tls-test-password';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'zca-tls-'));
  chmodSync(dir, 0o755);
  // A CA, and a server certificate it signed for localhost and 127.0.0.1.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=zca test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr']);
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.pem']);
  // PostgreSQL refuses a key others can read; as root it runs as the 'postgres' user, who must own it.
  chmodSync(path.join(dir, 'server.key'), 0o600);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(path.join(dir, 'server.key'), uid, gid);
  }
  port = await freePort();
  const Server = await loadEmbeddedPostgresServer();
  const server = new Server({
    databaseDir: path.join(dir, 'pg'),
    port,
    user: 'postgres',
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--no-locale'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'ssl=on', '-c', `ssl_cert_file=${path.join(dir, 'server.pem')}`, '-c', `ssl_key_file=${path.join(dir, 'server.key')}`],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  stop = () => server.stop();
}, 120_000);

afterAll(async () => {
  await stop?.();
  rmSync(dir, { recursive: true, force: true });
});

const url = (query: string) => `postgres://postgres:${PASSWORD}@localhost:${port}/postgres?${query}`;
const TLS_QUERY = "select ssl, version from pg_stat_ssl where pid = pg_backend_pid()";

/** Every stderr line is a JSON log line or the CLI's own one-line message: no multi-line warnings. */
function expectOnlyStructuredStderr(stderr: string): void {
  for (const line of stderr.split('\n').filter((l) => l !== '')) expect(line, stderr).toMatch(/^(\{.*\}|zoom-chat-archiver: .*)$/);
  expect(stderr).not.toMatch(/SECURITY WARNING|DeprecationWarning|\(node:\d+\)/);
}

describe('TLS to PostgreSQL with a private CA', () => {
  it('verify-full with sslrootcert: connects over TLS and migrates', async () => {
    const r = await runCli(['sql', '--json', TLS_QUERY], { DATABASE_URL: url(`sslmode=verify-full&sslrootcert=${path.join(dir, 'ca.pem')}`) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/) });
    expectOnlyStructuredStderr(r.stderr);
  });

  it('verify-full with NODE_EXTRA_CA_CERTS: connects over TLS', async () => {
    const r = await runCli(['sql', '--json', TLS_QUERY], { DATABASE_URL: url('sslmode=verify-full'), NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ ssl: true });
  });

  it('without the CA: one line saying the certificate is not trusted, exit 1', async () => {
    const r = await runCli(['sql', TLS_QUERY], { DATABASE_URL: url('sslmode=verify-full') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DATABASE_UNAVAILABLE: cannot connect to PostgreSQL at postgres:\/\/postgres:\*\*\*@localhost:\d+\/postgres\?sslmode=verify-full: .*certificate.*; the server's certificate does not chain to a CA this process trusts: give its CA with sslrootcert=/);
    expect(r.stderr).not.toContain(PASSWORD);
    expectOnlyStructuredStderr(r.stderr);
  });

  it('sslmode=require (the usual example): verified like verify-full, said in one JSON log line, not a multi-line warning', async () => {
    const r = await runCli(['sql', '--json', TLS_QUERY], { DATABASE_URL: url(`sslmode=require&sslrootcert=${path.join(dir, 'ca.pem')}`) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ ssl: true });
    expectOnlyStructuredStderr(r.stderr);
    const notes = r.stderr.split('\n').filter((l) => l.includes('treats as verify-full'));
    expect(notes).toHaveLength(1);
    expect(JSON.parse(notes[0]!)).toMatchObject({ level: 40, sslmode: 'verify-full' });
  });
});
