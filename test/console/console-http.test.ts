import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_SESSION, QUIET_SESSION, startConsoleFixture, STORED_FILE_CONTENT, STORED_FILE_SHA256, type ConsoleFixture } from './console-fixture.js';

// The review console over a real socket: sign-in and its cookie, sign-out ending the session on the
// server, CSRF and cross-origin posts refused, roles enforced by the server (not just hidden),
// hostile content escaped on every page, the CSP, and content reads in the audit log exactly as the
// API writes them.

let f: ConsoleFixture;

beforeAll(async () => {
  f = await startConsoleFixture();
}, 60_000);

afterAll(async () => {
  await f?.close();
});

/** A browser in miniature: keeps cookies, never follows redirects (the tests look at them). */
class Browser {
  cookies = new Map<string, string>();

  async request(path: string, init: RequestInit & { form?: Record<string, string | string[]> } = {}): Promise<{ status: number; headers: Headers; text: string }> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    let body = init.body;
    if (init.form) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(init.form)) for (const item of [v].flat()) params.append(k, item);
      body = params.toString();
      headers.set('content-type', 'application/x-www-form-urlencoded');
      if (!headers.has('origin')) headers.set('origin', f.url);
    }
    const res = await fetch(`${f.url}${path}`, { ...init, headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [name, value] = (pair ?? '').split('=');
      if (!name) continue;
      if (/Max-Age=0/.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value ?? '');
    }
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  async signIn(token: string): Promise<{ status: number; headers: Headers; text: string }> {
    const page = await this.request('/ui/sign-in');
    const nonce = /name="_signin" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    return this.request('/ui/sign-in', { method: 'POST', form: { _signin: nonce, token } });
  }

  async csrf(path = '/ui/search'): Promise<string> {
    const page = await this.request(path);
    return /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
  }
}

async function signedIn(role: 'reader' | 'exporter' | 'admin'): Promise<Browser> {
  const b = new Browser();
  const res = await b.signIn(f.tokens[role]);
  expect(res.status).toBe(303);
  return b;
}

function expectSafeHtml(text: string): void {
  // No script but the console's own file, no inline handlers or styles, no dangerous link.
  for (const m of text.matchAll(/<script\b[^>]*>/gi)) expect(m[0]).toBe('<script src="/ui/static/console.js" defer>');
  // Attribute values blanked first: escaped text inside them is not markup.
  const tags = [...text.replace(/"[^"]*"/g, '""').matchAll(/<[a-z][^>]*>/gi)].map((m) => m[0]);
  for (const tag of tags) {
    expect(tag).not.toMatch(/\son[a-z]+\s*=/i);
    expect(tag).not.toMatch(/\sstyle\s*=/i);
  }
  expect(text).not.toMatch(/href="\s*(javascript|data):/i);
  expect(text).not.toContain('<img');
  expect(text).not.toContain('<svg');
}

async function auditRows(action: string, actor: string): Promise<Array<{ subject_id: string | null; details: Record<string, unknown> }>> {
  return (await f.db.pool.query<{ subject_id: string | null; details: Record<string, unknown> }>(`SELECT subject_id, details FROM archive.audit_log WHERE action = $1 AND actor = $2 ORDER BY id`, [action, actor])).rows;
}

describe('signing in and out', () => {
  it('sends a visitor without a session to the sign-in page, keeping where they were going', async () => {
    const res = await new Browser().request('/ui/sessions?name=x');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/ui/sign-in?next=${encodeURIComponent('/ui/sessions?name=x')}`);
  });

  it('refuses an unknown token and a sign-in form not from the console', async () => {
    const b = new Browser();
    const bad = await b.signIn(`zca_${'A'.repeat(43)}`);
    expect(bad.status).toBe(401);
    expect(bad.text).toContain('not valid here');
    expect(b.cookies.has('zca_console')).toBe(false);
    const forged = await new Browser().request('/ui/sign-in', { method: 'POST', form: { token: f.tokens.admin } });
    expect(forged.status).toBe(403);
  });

  it('exchanges a token for an HttpOnly, SameSite=Strict session cookie with an expiry, Secure only over TLS', async () => {
    const b = new Browser();
    const page = await b.request('/ui/sign-in');
    const nonce = /name="_signin" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    const res = await fetch(`${f.url}/ui/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `zca_console_signin=${nonce}`, origin: f.url },
      body: new URLSearchParams({ _signin: nonce, token: f.tokens.reader, next: '/ui/status' }).toString(),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/status');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('zca_console='));
    expect(cookie).toMatch(/^zca_console=[A-Za-z0-9_-]{43}; Path=\/ui; Max-Age=28800; HttpOnly; SameSite=Strict$/);
    // Only the hash is stored.
    const value = /^zca_console=([^;]+)/.exec(cookie ?? '')?.[1] ?? '';
    const stored = await f.db.pool.query(`SELECT 1 FROM archive.console_sessions WHERE session_sha256 = $1`, [createHash('sha256').update(value).digest()]);
    expect(stored.rowCount).toBe(1);
  });

  it('never sends the browser to another site after sign-in', async () => {
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
      const b = new Browser();
      const page = await b.request('/ui/sign-in');
      const nonce = /name="_signin" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
      const res = await b.request('/ui/sign-in', { method: 'POST', form: { _signin: nonce, token: f.tokens.reader, next } });
      expect(res.headers.get('location')).toBe('/ui/search');
    }
  });

  it('signing out ends the session on the server: the old cookie opens nothing', async () => {
    const b = await signedIn('reader');
    const cookie = b.cookies.get('zca_console') ?? '';
    const csrf = await b.csrf();
    const out = await b.request('/ui/sign-out', { method: 'POST', form: { _csrf: csrf } });
    expect(out.status).toBe(303);
    expect(b.cookies.has('zca_console')).toBe(false);
    expect((await auditRows('console.sign_in', 'api:console-reader')).length).toBeGreaterThan(0);
    expect(await auditRows('console.sign_out', 'api:console-reader')).toHaveLength(1);
    const replay = await fetch(`${f.url}/ui/search`, { headers: { cookie: `zca_console=${cookie}` }, redirect: 'manual' });
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toMatch(/^\/ui\/sign-in/);
  });

  it('a revoked token ends its console sessions at once', async () => {
    const { createToken, revokeToken } = await import('../../src/service/token-store.js');
    const { token } = await createToken(f.db.pool, { name: 'console-temp', role: 'reader' }, 'test');
    const b = new Browser();
    expect((await b.signIn(token)).status).toBe(303);
    expect((await b.request('/ui/search')).status).toBe(200);
    await revokeToken(f.db.pool, 'console-temp', 'test');
    expect((await b.request('/ui/search')).status).toBe(303);
  });

  it('marks the cookie Secure behind a TLS proxy when CONSOLE_TRUST_PROXY is set, and only then', async () => {
    const behindProxy = await startConsoleFixture({ CONSOLE_TRUST_PROXY: 'true' });
    try {
      const page = await fetch(`${behindProxy.url}/ui/sign-in`, { headers: { 'x-forwarded-proto': 'https' } });
      const nonce = /name="_signin" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
      const res = await fetch(`${behindProxy.url}/ui/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `zca_console_signin=${nonce}`, 'x-forwarded-proto': 'https', origin: behindProxy.url },
        body: new URLSearchParams({ _signin: nonce, token: behindProxy.tokens.reader }).toString(),
      });
      expect(res.headers.getSetCookie().find((c) => c.startsWith('zca_console='))).toMatch(/; Secure$/);
    } finally {
      await behindProxy.close();
    }
    // Here (no trusted proxy) the header is ignored.
    const b = new Browser();
    const page = await b.request('/ui/sign-in', { headers: { 'x-forwarded-proto': 'https' } });
    expect(page.headers.getSetCookie().join()).not.toContain('Secure');
  });
});

describe('CSRF and origin', () => {
  it('refuses a POST without the CSRF token, with a wrong one, or from another origin', async () => {
    const b = await signedIn('exporter');
    const csrf = await b.csrf('/ui/exports');
    const form = { sessions: QUIET_SESSION, formats: 'jsonl' };
    expect((await b.request('/ui/exports', { method: 'POST', form })).status).toBe(403);
    expect((await b.request('/ui/exports', { method: 'POST', form: { ...form, _csrf: `${csrf.slice(0, -1)}x` } })).status).toBe(403);
    const cross = await b.request('/ui/exports', { method: 'POST', form: { ...form, _csrf: csrf }, headers: { origin: 'https://evil.example' } });
    expect(cross.status).toBe(403);
    expect((await f.db.pool.query(`SELECT count(*)::int AS n FROM archive.exports`)).rows[0]?.n).toBe(0);
    // The same POST with the session's token passes the check (and starts the export).
    const ok = await b.request('/ui/exports', { method: 'POST', form: { ...form, _csrf: csrf } });
    expect(ok.status).toBe(303);
  });
});

describe('roles', () => {
  it('a reader sees no export link and no admin control, and the server refuses them with 403', async () => {
    const b = await signedIn('reader');
    const search = await b.request('/ui/search');
    expect(search.text).not.toContain('href="/ui/exports"');
    const holds = await b.request('/ui/legal-hold');
    expect(holds.text).not.toContain('Create a matter');
    expect((await b.request('/ui/exports')).status).toBe(403);
    const csrf = await b.csrf();
    expect((await b.request('/ui/legal-hold', { method: 'POST', form: { _csrf: csrf, name: 'x', custodians: 'ada@example.com' } })).status).toBe(403);
    expect((await b.request('/ui/exports', { method: 'POST', form: { _csrf: csrf, sessions: QUIET_SESSION } })).status).toBe(403);
  });

  it('an exporter sees exports but no admin control; an admin sees both', async () => {
    const e = await signedIn('exporter');
    expect((await e.request('/ui/search')).text).toContain('href="/ui/exports"');
    expect((await e.request('/ui/legal-hold')).text).not.toContain('Create a matter');
    const a = await signedIn('admin');
    expect((await a.request('/ui/legal-hold')).text).toContain('Create a matter');
  });

  it('an admin change needs a confirmation naming its consequence before Zoom is called', async () => {
    const a = await signedIn('admin');
    const csrf = await a.csrf('/ui/legal-hold');
    const confirm = await a.request('/ui/legal-hold', { method: 'POST', form: { _csrf: csrf, name: 'Matter <b>X</b>', custodians: 'ada@example.com\nbo@example.com' } });
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('places a legal hold in Zoom on <strong>2 custodians</strong>');
    expect(confirm.text).toContain('Matter &lt;b&gt;X&lt;/b&gt;');
    expect(confirm.text).toContain('name="confirmed" value="yes"');
    // Confirmed, the change goes to Zoom — which this instance has no credentials for.
    const done = await a.request('/ui/legal-hold', { method: 'POST', form: { _csrf: csrf, name: 'Matter X', custodians: 'ada@example.com', confirmed: 'yes' } });
    expect(done.status).toBe(503);
    expect(done.text).toContain('need Zoom credentials');
  });
});

describe('pages', () => {
  it('every page has the strict CSP and renders hostile content as text', async () => {
    const b = await signedIn('admin');
    const pages = ['/ui/search?q=budget', `/ui/sessions`, `/ui/sessions/${HOSTILE_SESSION}`, '/ui/legal-hold', '/ui/legal-hold/matter-1', '/ui/exports', '/ui/status', '/ui/search?sender=bo%40example.com'];
    for (const path of pages) {
      const res = await b.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy')).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expectSafeHtml(res.text);
    }
    const transcript = (await b.request(`/ui/sessions/${HOSTILE_SESSION}`)).text;
    expect(transcript).toContain('&lt;script&gt;window.__pwned = 1&lt;/script&gt;');
    expect(transcript).toContain('&lt;img src=x onerror=&quot;window.__pwned = 2&quot;&gt;');
    expect(transcript).toContain('Deal room &lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;');
    expect(transcript).toContain('&lt;img src=x onerror=alert(9)&gt;.pdf');
    expect(transcript).toContain('&quot;&gt;&lt;svg onload=alert(1)&gt;');
    // javascript: and data: stay text; the https URL is a link.
    expect(transcript).toContain('javascript:window.__pwned=3');
    expect(transcript).toContain('href="https://example.com/ok?a=1&amp;b=2"');
    expect(transcript).toContain('مرحبا بالعالم');
    // The right-to-left override shows as a marker instead of turning "gnp.exe" into "exe.png".
    expect(transcript).toContain('<span class="ctl" title="invisible direction control U+202E in the message">[U+202E]</span>gnp.exe');
    expect(transcript).not.toContain('\u202E');
    expect(transcript).toContain('👨‍👩‍👧‍👦');
    expect(transcript).toContain('lorem ipsum dolor sit amet '.repeat(700));
  });

  it('search highlights the words, pages with a keyset cursor and links each hit to its place in the transcript', async () => {
    const b = await signedIn('reader');
    const first = await b.request('/ui/search?q=forecast');
    expect(first.text).toContain('<mark>forecast</mark>');
    const hits = [...first.text.matchAll(/href="(\/ui\/sessions\/[^"]+)"/g)].map((m) => m[1]?.replace(/&amp;/g, '&'));
    expect(hits.length).toBe(50);
    expect(hits[0]).toMatch(/^\/ui\/sessions\/session-quiet\?at=2026-05-20T09%3A12%3A00\.000000Z#m-q-000$/);
    const next = /href="([^"]+)" rel="next"/.exec(first.text)?.[1]?.replace(/&amp;/g, '&') ?? '';
    const second = await b.request(next);
    expect(second.text).toContain('routine note 50 about');
    expect(second.text).not.toContain('routine note 49 about');
    // The hit's link opens the transcript at that message.
    const transcript = await b.request(hits[3] ?? '');
    expect(transcript.text).toContain('id="m-q-003"');
    expect(transcript.text).not.toContain('id="m-q-002"');
    expect((await b.request('/ui/search?q=-')).status).toBe(400);
  });

  it('the transcript shows threads, reactions, files, external senders, each version with a word diff, and a first-sent text Zoom never reported', async () => {
    const b = await signedIn('reader');
    const t = (await b.request(`/ui/sessions/${HOSTILE_SESSION}`)).text;
    expect(t).toContain('Version history (4 versions)');
    expect(t).toMatch(/the <del><span class="sr-only">removed: <\/span>draft<\/del><ins><span class="sr-only">added: <\/span>final<\/ins> contract is/);
    expect(t).toContain('<del><span class="sr-only">removed: </span>not </del>');
    expect(t).toContain('Zoom never reported this message&#39;s text as first sent: the earliest version archived is an edit.');
    expect(t).toContain('<span class="badge external"');
    expect(t).toContain('👍 <span class="muted">2</span>');
    expect(t).toContain('(2.0 KiB)');
    expect(t.slice(t.indexOf('id="m-m-script"'), t.indexOf('id="m-m-img"'))).toMatch(/<ol class="thread" aria-label="Replies"><li><article class="message" id="m-m-rtl"/);
  });

  it('files show what the archive holds; an exporter downloads stored content (checked, audited), a reader sees no link and gets 403', async () => {
    const reader = await signedIn('reader');
    const asReader = (await reader.request(`/ui/sessions/${HOSTILE_SESSION}`)).text;
    expect(asReader).toContain(`stored, ${STORED_FILE_CONTENT.length} B, SHA-256 ${STORED_FILE_SHA256.slice(0, 12)}…; kept as received, but its size differs from what Zoom declared`);
    expect(asReader).toContain('Zoom no longer has it (missing since 2026-05-20)');
    expect(asReader).not.toContain(`/ui/files/${STORED_FILE_SHA256}`);
    expect((await reader.request(`/ui/files/${STORED_FILE_SHA256}`)).status).toBe(403);

    const exporter = await signedIn('exporter');
    const asExporter = (await exporter.request(`/ui/sessions/${HOSTILE_SESSION}`)).text;
    expect(asExporter).toContain(`<a href="/ui/files/${STORED_FILE_SHA256}" download>📎 &lt;img src=x onerror=alert(9)&gt;.pdf`);
    const download = await exporter.request(`/ui/files/${STORED_FILE_SHA256}`);
    expect(download.status).toBe(200);
    expect(download.text).toBe(STORED_FILE_CONTENT.toString());
    expect(download.headers.get('x-content-sha256')).toBe(STORED_FILE_SHA256);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect((await auditRows('api.files.download', 'api:console-exporter')).at(-1)).toMatchObject({ subject_id: STORED_FILE_SHA256, details: { parameters: { via: 'console', range: 'all' } } });
    expect((await exporter.request(`/ui/files/${'0'.repeat(64)}`)).status).toBe(404);
    expect((await exporter.request('/ui/files/not-a-sha')).status).toBe(404);

    const status = (await reader.request('/ui/status')).text;
    expect(status).toContain('Files shared in chat: 1 stored');
    expect(status).toMatch(/<td class="mono">f2<\/td><td>minutes.docx<\/td><td>gone<\/td>/);
  });

  it('content reads are in the audit log under the token, as the API writes them', async () => {
    const b = await signedIn('reader');
    await b.request('/ui/search?q=approved&sender=bo%40example.com');
    await b.request(`/ui/sessions/${HOSTILE_SESSION}`);
    const searches = await auditRows('api.messages.search', 'api:console-reader');
    expect(searches.at(-1)?.details).toMatchObject({ parameters: { q: 'approved', sender: 'bo@example.com', via: 'console', limit: 50 }, returned: 4 });
    const transcripts = await auditRows('api.sessions.transcript', 'api:console-reader');
    expect(transcripts.at(-1)).toMatchObject({ subject_id: HOSTILE_SESSION, details: { parameters: { via: 'console', include_raw: true }, returned: 11 } });
  });

  it('an unknown session is a 404 page, and a bad filter a 400 naming it', async () => {
    const b = await signedIn('reader');
    expect((await b.request('/ui/sessions/nope')).status).toBe(404);
    const bad = await b.request('/ui/search?q=x&from=2026-13-45');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('from must be a UTC day');
  });
});

describe('exports', () => {
  it('requests an export, follows its progress, and downloads the bundle with its SHA-256', async () => {
    const b = await signedIn('exporter');
    const csrf = await b.csrf('/ui/exports');
    const res = await b.request('/ui/exports', { method: 'POST', form: { _csrf: csrf, sessions: HOSTILE_SESSION, formats: ['jsonl', 'html'] } });
    expect(res.status).toBe(303);
    const location = res.headers.get('location') ?? '';
    expect(location).toMatch(/^\/ui\/exports\/[0-9a-f-]{36}$/);
    let progress: { state: string } = { state: 'running' };
    for (let i = 0; i < 100 && progress.state === 'running'; i++) {
      progress = JSON.parse((await b.request(`${location}/progress`)).text) as { state: string };
      if (progress.state === 'running') await new Promise((r) => setTimeout(r, 100));
    }
    expect(progress.state).toBe('complete');
    const page = await b.request(location);
    const sha = /data-sha256>([0-9a-f]{64})</.exec(page.text)?.[1];
    expect(sha).toBeDefined();
    const download = await fetch(`${f.url}${location}/bundle`, { headers: { cookie: `zca_console=${b.cookies.get('zca_console')}` } });
    expect(download.status).toBe(200);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha);
    expect(download.headers.get('x-content-sha256')).toBe(sha);
    const audit = await auditRows('api.exports.download', 'api:console-exporter');
    expect(audit.at(-1)?.details).toMatchObject({ parameters: { via: 'console', sha256: sha } });
  });

  it('shows what was wrong with a request on the form', async () => {
    const b = await signedIn('exporter');
    const csrf = await b.csrf('/ui/exports');
    const res = await b.request('/ui/exports', { method: 'POST', form: { _csrf: csrf, custodians: 'ada@example.com' } });
    expect(res.status).toBe(400);
    expect(res.text).toContain('role="alert"');
  });
});
