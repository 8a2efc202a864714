import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/database.js';
import { runCli } from '../helpers/cli.js';

// `sync` when Zoom cannot be reached at all (a token URL or API base that refuses connections or
// does not resolve): one typed error naming the URL and the cause, at once — not a minute of retry
// warnings per window. What is real: the CLI process, PostgreSQL, the refused socket.

const db = useTestDatabase();

describe('Zoom unreachable', () => {
  it.each([
    ['a token URL that refuses connections', 'http://127.0.0.1:9/oauth/token', /cannot reach the Zoom token endpoint http:\/\/127\.0\.0\.1:9\/oauth\/token: connection refused \(ECONNREFUSED\)/],
    ['a token host that does not resolve', 'http://zoom-token.invalid/oauth/token', /cannot reach the Zoom token endpoint http:\/\/zoom-token\.invalid\/oauth\/token: host name/],
  ])('%s: one ZOOM_UNREACHABLE naming the URL, no retry storm, exit 1', async (_what, tokenUrl, message) => {
    const result = await runCli(['sync'], {
      DATABASE_URL: db.url,
      ZOOM_ACCOUNT_ID: 'acct',
      ZOOM_CLIENT_ID: 'client',
      ZOOM_CLIENT_SECRET: 'secret',
      ZOOM_OAUTH_TOKEN_URL: tokenUrl,
      ZOOM_API_BASE_URL: 'http://127.0.0.1:9/v2',
    });
    expect(result.stderr).toMatch(/ZOOM_UNREACHABLE/);
    expect(result.stderr).toMatch(message);
    const warnings = result.stderr.split('\n').filter((l) => l.includes('"level":40'));
    expect(warnings.filter((l) => /retrying/.test(l))).toEqual([]);
    expect(result.code).toBe(1);
  });
});
