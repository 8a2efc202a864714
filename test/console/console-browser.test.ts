import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_SESSION, startConsoleFixture, type ConsoleFixture } from './console-fixture.js';

// The review console in Debian's headless Chromium, driven by playwright-core: sign-in and out, every
// page checked by axe-core (WCAG 2 A/AA: labels, contrast, landmarks, keyboard names), search to
// transcript to version history by keyboard, an export requested, followed and downloaded, a role
// that must not see a control, a cross-site form post refused, and hostile messages (<script>,
// <img onerror>, RTL, emoji, 20,000 characters) rendered without running anything. Screenshots of
// every page go to docs/screenshots/ with `npm run screenshots:console` (the README shows them).

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`[console-browser] ${CHROMIUM} is missing: the browser tests are skipped (apt-get install -y chromium)`);

// `npm run screenshots:console` writes them to docs/screenshots/ (CONSOLE_SCREENSHOTS); an ordinary
// run takes them too, into a temporary directory, so the suite leaves the tree as it found it.
const SCREENSHOTS = process.env['CONSOLE_SCREENSHOTS'] ? path.resolve(process.env['CONSOLE_SCREENSHOTS']) : mkdtempSync(path.join(tmpdir(), 'zca-console-shots-'));
const AXE_SOURCE = haveChromium ? readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8') : '';

let f: ConsoleFixture;
let context: BrowserContext;
let userDataDir: string;
const dialogs: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!haveChromium) return;
  f = await startConsoleFixture();
  userDataDir = mkdtempSync(path.join(tmpdir(), 'zca-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
    acceptDownloads: true,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await f?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  if (!process.env['CONSOLE_SCREENSHOTS']) rmSync(SCREENSHOTS, { recursive: true, force: true });
});

/** A page of a browser that is signed out (one profile for the run, its cookies cleared). */
async function newPage(): Promise<Page> {
  await context.clearCookies();
  const page = await context.newPage();
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return page;
}

/** axe-core inside the page (WCAG 2 A and AA); evaluated through the DevTools protocol, so the page's CSP stays as it is. */
async function expectAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  // A string, evaluated in the page (this project's TypeScript has no DOM types).
  const result = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) })))`)) as unknown[];
  expect(result, `${what}: axe violations`).toEqual([]);
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** The page as it stands passes axe (`what` names it in a failure), and its screenshot is `<name>.png`. */
async function expectAccessibleAndShoot(page: Page, what: string, name: string): Promise<void> {
  await expectAccessible(page, what);
  await shoot(page, name);
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${f.url}/ui/sign-in`);
  await page.getByLabel('API token').fill(token);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/ui\/search$/);
}

/** Runs `steps` on a new page, signed in with `token` (at /ui/search); the page is closed afterwards. */
async function signedIn(token: string, steps: (page: Page) => Promise<void>): Promise<void> {
  const page = await newPage();
  try {
    await signIn(page, token);
    await steps(page);
  } finally {
    await page.close();
  }
}

describe.skipIf(!haveChromium)('the review console in Chromium', () => {
  it('signs in with a token; the sign-in page passes axe', async () => {
    const page = await newPage();
    await page.goto(`${f.url}/ui/status`);
    await page.waitForURL(/\/ui\/sign-in\?next=/);
    await expectAccessibleAndShoot(page, 'sign-in', 'sign-in');
    await page.getByLabel('API token').fill(f.tokens.exporter);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/ui\/status$/);
    expect(await page.locator('h1').textContent()).toBe('Status');
    await expectAccessibleAndShoot(page, 'status', 'status');
    await page.close();
  });

  it('search → transcript → version history, by keyboard, with hostile content inert', () =>
    signedIn(f.tokens.reader, async (page) => {
      await page.getByLabel('Words').fill('contract');
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-results]');
      expect(await page.locator('mark').first().textContent()).toBe('contract');
      await expectAccessibleAndShoot(page, 'search results', 'search');
      // The first hit's transcript link, followed with the keyboard.
      const hit = page.locator('[data-results] a[href^="/ui/sessions/"]').first();
      await hit.focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/ui\/sessions\/session-hostile\?at=.*#m-m-edit$/);
      const target = page.locator('article:target');
      expect(await target.getAttribute('id')).toBe('m-m-edit');
      await target.locator('summary').focus();
      await page.keyboard.press('Enter');
      expect(await target.locator('details.history').getAttribute('open')).toBe('');
      expect(await target.locator('details.history ins').first().textContent()).toContain('final');
      expect(await target.locator('details.history del').first().textContent()).toContain('draft');
      await target.scrollIntoViewIfNeeded();
      await expectAccessibleAndShoot(page, 'transcript (from a hit)', 'version-history');
    }));

  it('renders <script>, <img onerror>, javascript: links, RTL, emoji and a 20,000-character body as text', () =>
    signedIn(f.tokens.reader, async (page) => {
      await page.goto(`${f.url}/ui/sessions/${HOSTILE_SESSION}`);
      expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
      expect(dialogs).toEqual([]);
      expect(pageErrors).toEqual([]);
      expect(await page.locator('#m-m-script > .body').textContent()).toContain('<script>window.__pwned = 1</script>');
      expect(await page.locator('#m-m-img > .body').textContent()).toContain('<img src=x onerror="window.__pwned = 2">');
      expect(await page.locator('#m-m-img > .files').textContent()).toContain('<img src=x onerror=alert(9)>.pdf');
      expect(await page.locator('a[href^="javascript:"], a[href^="data:"]').count()).toBe(0);
      expect(await page.locator('#m-m-link > .body a').first().getAttribute('href')).toBe('https://example.com/ok?a=1&b=2');
      expect(await page.locator('#m-m-rtl > .body').textContent()).toContain('مرحبا بالعالم');
      expect(await page.locator('#m-m-emoji > .body').textContent()).toContain('👨‍👩‍👧‍👦');
      expect((await page.locator('#m-m-long > .body').textContent())?.length).toBe(20_000);
      // The long body scrolls inside its box instead of stretching the page.
      const box = await page.locator('#m-m-long > .body').boundingBox();
      expect(box?.height).toBeLessThan(500);
      // j / k move between messages (the console's own script).
      await page.keyboard.press('j');
      expect(await page.evaluate('document.activeElement.id')).toBe('m-m-script');
      await page.keyboard.press('j');
      expect(await page.evaluate('document.activeElement.id')).toBe('m-m-rtl');
      await page.keyboard.press('k');
      expect(await page.evaluate('document.activeElement.id')).toBe('m-m-script');
      // Expand-all (the console's own script) opens every history.
      await page.getByRole('button', { name: 'Expand all version histories' }).click();
      expect(await page.locator('details.history:not([open])').count()).toBe(0);
      await expectAccessibleAndShoot(page, 'hostile transcript', 'transcript');
    }));

  it('lists sessions and legal-hold matters; an admin gets a confirmation naming the consequence', () =>
    signedIn(f.tokens.admin, async (page) => {
      await page.getByRole('link', { name: 'Sessions' }).click();
      await page.waitForURL(/\/ui\/sessions$/);
      await expectAccessibleAndShoot(page, 'sessions', 'sessions');
      await page.getByRole('link', { name: 'Legal hold' }).click();
      await expectAccessibleAndShoot(page, 'legal hold', 'legal-hold');
      await page.getByRole('link', { name: 'Acme v. Widget <i>Co</i>' }).click();
      await expectAccessibleAndShoot(page, 'matter', 'matter');
      await page.getByRole('button', { name: 'Review and delete…' }).click();
      expect(await page.locator('.notice.warn').textContent()).toContain('releases the legal hold in Zoom');
      await expectAccessibleAndShoot(page, 'delete confirmation', 'matter-delete-confirmation');
    }));

  it('requests an export, shows its live progress, and downloads a bundle whose SHA-256 is the one shown', () =>
    signedIn(f.tokens.exporter, async (page) => {
      await page.getByRole('link', { name: 'Exports' }).click();
      await expectAccessible(page, 'exports');
      await page.getByLabel('Session ids (one a line)').fill(HOSTILE_SESSION);
      await page.getByLabel('rsmf').uncheck();
      await shoot(page, 'exports');
      await page.getByRole('button', { name: 'Start the export' }).click();
      await page.waitForURL(/\/ui\/exports\/[0-9a-f-]{36}$/);
      // console.js polls while it runs and reloads when it is done.
      const download = page.getByRole('link', { name: 'Download the bundle' });
      await download.waitFor({ timeout: 30_000 });
      const sha = (await page.locator('[data-sha256]').textContent())?.trim();
      await expectAccessibleAndShoot(page, 'export', 'export');
      const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
      const saved = await file.path();
      expect(createHash('sha256').update(readFileSync(saved)).digest('hex')).toBe(sha);
    }));

  it('a reader sees no export control and gets a 403 page when going there anyway', () =>
    signedIn(f.tokens.reader, async (page) => {
      expect(await page.getByRole('link', { name: 'Exports' }).count()).toBe(0);
      const res = await page.goto(`${f.url}/ui/exports`);
      expect(res?.status()).toBe(403);
      expect(await page.locator('[role="alert"]').textContent()).toContain('needs a token with role exporter');
      await expectAccessible(page, '403');
    }));

  it('refuses a form posted from another site, then signs out', () =>
    signedIn(f.tokens.exporter, async (page) => {
      // A page on another origin that posts the export form (its own inline script: it is the attacker's).
      const attacker: Server = createServer((_req, res) => {
        res.setHeader('content-type', 'text/html');
        res.end(`<form id="f" method="post" action="${f.url}/ui/exports"><input name="sessions" value="${HOSTILE_SESSION}"></form><script>document.getElementById('f').submit()</script>`);
      });
      await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
      try {
        const before = (await f.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM archive.exports`)).rows[0]?.n;
        const response = page.waitForResponse((r) => r.url() === `${f.url}/ui/exports` && r.request().method() === 'POST');
        await page.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
        expect((await response).status()).toBe(403);
        expect((await f.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM archive.exports`)).rows[0]?.n).toBe(before);
      } finally {
        attacker.close();
      }
      await page.goto(`${f.url}/ui/search`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/ui\/sign-in\?signed_out=1$/);
      await page.goto(`${f.url}/ui/search`);
      await page.waitForURL(/\/ui\/sign-in\?next=/);
    }));
});
