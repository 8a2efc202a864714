import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recordAudit } from '../audit/audit-log.js';
import type { ApiContext } from '../service/api-context.js';
import { ApiError, toErrorResponse } from '../service/http-errors.js';
import { sendStoredFile } from '../service/stored-file.js';
import { findActiveToken, hashToken, looksLikeToken } from '../service/token-store.js';
import {
  checkCsrf,
  checkOrigin,
  CONSOLE_PREFIX,
  cookieHeader,
  FormFields,
  formOf,
  isSecureRequest,
  newSignInNonce,
  readCookie,
  requireConsoleRole,
  sameSecret,
  SESSION_COOKIE,
  setCookies,
  SIGN_IN_COOKIE,
} from './console-auth.js';
import { html, type SafeHtml } from './html.js';
import { notice, renderPage, type Section } from './layout.js';
import { createMatterFromForm, deleteMatterFromForm, renameMatterFromForm, renderMatter, renderMatters, type ChangeOutcome, type LegalHoldPageDeps } from './pages/legal-hold.js';
import { exportProgress, renderExport, renderExports, sendBundle, startExportFromForm } from './pages/exports.js';
import { renderSearch } from './pages/search.js';
import { renderSessions } from './pages/sessions.js';
import { renderStatus } from './pages/status.js';
import { renderTranscript } from './pages/transcript.js';
import { endConsoleSession, findConsoleSession, openConsoleSession, sweepConsoleSessions } from './session-store.js';
import { STATIC_ASSETS } from './static-assets.js';

/**
 * The review console: server-rendered pages under /ui/ on the API's port, for people who do not
 * write SQL or curl. It reads through the read model and changes things through the same commands
 * as the API and the CLI; it adds no SQL of its own beyond its session store. Sign-in exchanges an
 * API token for a session cookie (console-auth.ts, session-store.ts); the token's role shapes each
 * page and is enforced on every route (403). Pages are HTML built by html.ts (everything escaped),
 * sent with a CSP that allows only the console's own script and style sheet.
 */

export interface ConsoleDeps {
  legalHold: LegalHoldPageDeps;
  maxConcurrentExports: number;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Paths reachable without a session. */
const OPEN_PATHS = new Set([`${CONSOLE_PREFIX}/sign-in`]);

export function registerConsole(app: FastifyInstance, ctx: ApiContext, deps: ConsoleDeps): void {
  const config = ctx.config.service.console;
  const log = ctx.logger.child({ module: 'console' });
  void app.register(async (scope) => {
    scope.decorateRequest('consoleSession', null);
    scope.decorateRequest('consoleCookie', null);
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, FormFields.parse(body as string));
    });

    scope.addHook('onRequest', async (request, reply) => {
      reply.headers({
        'Content-Security-Policy': CSP,
        'X-Frame-Options': 'DENY',
        // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form posts, which checkOrigin refuses.
        'Referrer-Policy': 'same-origin',
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Resource-Policy': 'same-origin',
        'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
      });
      const path = (request.raw.url ?? '').split('?')[0] ?? '';
      if (path.startsWith(`${CONSOLE_PREFIX}/static/`)) return;
      const cookie = readCookie(request, SESSION_COOKIE);
      const session = cookie ? await findConsoleSession(ctx.pool, cookie, ctx.clock.now()) : undefined;
      if (session && cookie) {
        request.consoleSession = session;
        request.consoleCookie = cookie;
        // Content reads are audited by readAuditFor/auditRead under the token's name, exactly as the API's.
        request.apiToken = { id: session.tokenId, name: session.tokenName, role: session.role, actor: `api:${session.tokenName}` };
        return;
      }
      if (OPEN_PATHS.has(path)) return;
      if (request.method === 'GET' || request.method === 'HEAD') {
        const next = request.raw.url ?? `${CONSOLE_PREFIX}/`;
        return reply.redirect(`${CONSOLE_PREFIX}/sign-in?next=${encodeURIComponent(next)}`, 303);
      }
      throw new ApiError(401, 'UNAUTHORIZED', 'your console session has ended; sign in again');
    });

    scope.setErrorHandler((err, request, reply) => {
      const response = toErrorResponse(err, request.id);
      if (response.internal) log.error({ err, requestId: request.id, route: request.routeOptions.url }, 'console page failed unexpectedly');
      const wantsJson = (request.headers.accept ?? '').includes('application/json') && !(request.headers.accept ?? '').includes('text/html');
      if (wantsJson) return reply.code(response.status).headers(response.headers).send(response.body);
      const title = response.status === 403 ? 'Not allowed' : response.status === 404 ? 'Not found' : response.status === 401 ? 'Signed out' : 'Something went wrong';
      const body = html`${notice('error', response.body.error.message)}
<p class="muted">Request id <span class="mono">${request.id}</span>.</p>${response.status === 401 ? html`<p><a href="/ui/sign-in">Sign in</a></p>` : ''}`;
      return sendPage(reply.code(response.status).headers(response.headers), request, { title, section: 'error', body });
    });

    scope.get(`${CONSOLE_PREFIX}/static/:name`, { schema: { hide: true } }, async (request, reply) => {
      const asset = STATIC_ASSETS[(request.params as { name: string }).name];
      if (!asset) throw new ApiError(404, 'NOT_FOUND', 'no such file');
      reply.header('Cache-Control', 'no-cache');
      reply.header('ETag', asset.etag);
      if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
      return reply.type(asset.contentType).send(asset.body);
    });

    scope.get(CONSOLE_PREFIX, { schema: { hide: true } }, async (_request, reply) => reply.redirect(`${CONSOLE_PREFIX}/search`, 303));

    // --- sign-in and sign-out -------------------------------------------------------------------
    scope.get(`${CONSOLE_PREFIX}/sign-in`, { schema: { hide: true } }, async (request, reply) => {
      if (request.consoleSession) return reply.redirect(safeNext(queryNext(request)), 303);
      return signInPage(request, reply, 200, isSecureRequest(request, config));
    });

    scope.post(`${CONSOLE_PREFIX}/sign-in`, { schema: { hide: true } }, async (request, reply) => {
      checkOrigin(request);
      const form = formOf(request);
      if (!sameSecret(form.get('_signin'), readCookie(request, SIGN_IN_COOKIE))) {
        throw new ApiError(403, 'CSRF_REJECTED', 'this sign-in form is out of date or was not sent by the console; reload the sign-in page and try again');
      }
      const token = form.get('token') ?? '';
      const found = looksLikeToken(token) ? await findActiveToken(ctx.pool, hashToken(token)) : undefined;
      if (!found) {
        log.info({ requestId: request.id }, 'console sign-in refused: unknown or revoked token');
        return signInPage(request, reply, 401, isSecureRequest(request, config), 'That token is not valid here (unknown or revoked). Tokens start with zca_; an operator creates them with `zoom-chat-archiver token create`.');
      }
      const now = ctx.clock.now();
      await sweepConsoleSessions(ctx.pool, now);
      const maxAgeSeconds = config.sessionHours * 3600;
      const expiresAt = new Date(now.getTime() + maxAgeSeconds * 1000);
      const { cookie } = await openConsoleSession(ctx.pool, found, expiresAt);
      await recordAudit(ctx.pool, {
        actor: `api:${found.name}`,
        action: 'console.sign_in',
        subjectType: 'api_token',
        subjectId: found.name,
        details: { role: found.role, expires_at: expiresAt.toISOString(), request_id: request.id, remote_address: request.ip, user_agent: request.headers['user-agent'] ?? null },
      });
      const secure = isSecureRequest(request, config);
      setCookies(reply, [cookieHeader(SESSION_COOKIE, cookie, { maxAgeSeconds, secure }), cookieHeader(SIGN_IN_COOKIE, '', { maxAgeSeconds: 0, secure })]);
      log.info({ requestId: request.id, token: found.name, role: found.role }, 'console sign-in');
      return reply.redirect(safeNext(form.get('next')), 303);
    });

    scope.post(`${CONSOLE_PREFIX}/sign-out`, { schema: { hide: true } }, async (request, reply) => {
      checkCsrf(request, formOf(request));
      if (request.consoleCookie && (await endConsoleSession(ctx.pool, request.consoleCookie))) {
        const s = request.consoleSession;
        if (s) await recordAudit(ctx.pool, { actor: `api:${s.tokenName}`, action: 'console.sign_out', subjectType: 'api_token', subjectId: s.tokenName, details: { request_id: request.id } });
      }
      setCookies(reply, [cookieHeader(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: isSecureRequest(request, config) })]);
      return reply.redirect(`${CONSOLE_PREFIX}/sign-in?signed_out=1`, 303);
    });

    // --- pages ----------------------------------------------------------------------------------
    scope.get(`${CONSOLE_PREFIX}/search`, { schema: { hide: true } }, async (request, reply) => {
      const view = await renderSearch(ctx, request);
      return sendPage(reply.code(view.status), request, { title: 'Search messages', section: 'search', body: view.body });
    });

    scope.get(`${CONSOLE_PREFIX}/sessions`, { schema: { hide: true } }, async (request, reply) => {
      const view = await renderSessions(ctx, request);
      return sendPage(reply.code(view.status), request, { title: 'Sessions', section: 'sessions', body: view.body });
    });

    scope.get(`${CONSOLE_PREFIX}/sessions/:sessionId`, { schema: { hide: true } }, async (request, reply) => {
      const view = await renderTranscript(ctx, request, (request.params as { sessionId: string }).sessionId);
      return sendPage(reply, request, { title: view.title, section: 'sessions', body: view.body });
    });

    scope.get(`${CONSOLE_PREFIX}/legal-hold`, { schema: { hide: true } }, async (request, reply) =>
      sendPage(reply, request, { title: 'Legal hold', section: 'legal-hold', body: await renderMatters(ctx, request) }),
    );
    scope.get(`${CONSOLE_PREFIX}/legal-hold/:matter`, { schema: { hide: true } }, async (request, reply) => {
      const view = await renderMatter(ctx, request, (request.params as { matter: string }).matter);
      return sendPage(reply, request, { title: view.title, section: 'legal-hold', body: view.body });
    });
    const change = (run: (request: FastifyRequest) => Promise<ChangeOutcome>) => async (request: FastifyRequest, reply: FastifyReply) => {
      checkCsrf(request, formOf(request));
      const outcome = await run(request);
      if (outcome.kind === 'redirect') return reply.redirect(outcome.location, 303);
      return sendPage(reply, request, { title: outcome.title, section: 'legal-hold', body: outcome.body });
    };
    scope.post(`${CONSOLE_PREFIX}/legal-hold`, { schema: { hide: true } }, change((request) => createMatterFromForm(ctx, deps.legalHold, request)));
    scope.post(`${CONSOLE_PREFIX}/legal-hold/:matter/rename`, { schema: { hide: true } }, change((request) => renameMatterFromForm(ctx, deps.legalHold, request, (request.params as { matter: string }).matter)));
    scope.post(`${CONSOLE_PREFIX}/legal-hold/:matter/delete`, { schema: { hide: true } }, change((request) => deleteMatterFromForm(ctx, deps.legalHold, request, (request.params as { matter: string }).matter)));

    scope.get(`${CONSOLE_PREFIX}/exports`, { schema: { hide: true } }, async (request, reply) => sendPage(reply, request, { title: 'Exports', section: 'exports', body: await renderExports(ctx, request) }));
    scope.post(`${CONSOLE_PREFIX}/exports`, { schema: { hide: true } }, async (request, reply) => {
      checkCsrf(request, formOf(request));
      const outcome = await startExportFromForm(ctx, request, deps.maxConcurrentExports);
      if ('location' in outcome) return reply.redirect(outcome.location, 303);
      return sendPage(reply.code(outcome.status), request, { title: 'Exports', section: 'exports', body: outcome.body });
    });
    scope.get(`${CONSOLE_PREFIX}/exports/:exportId`, { schema: { hide: true } }, async (request, reply) => {
      const view = await renderExport(ctx, request, (request.params as { exportId: string }).exportId);
      return sendPage(reply, request, { title: view.title, section: 'exports', body: view.body });
    });
    scope.get(`${CONSOLE_PREFIX}/exports/:exportId/progress`, { schema: { hide: true } }, async (request, reply) =>
      reply.type('application/json; charset=utf-8').send(JSON.stringify(await exportProgress(ctx, request, (request.params as { exportId: string }).exportId))),
    );
    scope.get(`${CONSOLE_PREFIX}/exports/:exportId/bundle`, { schema: { hide: true } }, async (request, reply) => sendBundle(ctx, request, reply, (request.params as { exportId: string }).exportId));

    // A captured file's content (role exporter), checked and audited as the API's download (`via: console`).
    scope.get(`${CONSOLE_PREFIX}/files/:sha256`, { schema: { hide: true } }, async (request, reply) => {
      requireConsoleRole(request, 'exporter');
      const { sha256 } = request.params as { sha256: string };
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ApiError(404, 'NOT_FOUND', 'a file is named by its SHA-256 (64 lower-case hex digits)');
      return sendStoredFile(ctx, request, reply, sha256, 'console');
    });

    scope.get(`${CONSOLE_PREFIX}/status`, { schema: { hide: true } }, async (request, reply) => sendPage(reply, request, { title: 'Status', section: 'status', body: await renderStatus(ctx) }));
  });
}

function sendPage(reply: FastifyReply, request: FastifyRequest, page: { title: string; section: Section; body: SafeHtml }): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(renderPage({ ...page, session: request.consoleSession }));
}

function queryNext(request: FastifyRequest): string | undefined {
  const url = request.raw.url ?? '';
  const q = url.indexOf('?');
  return q < 0 ? undefined : (new URLSearchParams(url.slice(q + 1)).get('next') ?? undefined);
}

/** Only a console path is followed after sign-in (never another site: `//evil`, `/\evil`, a scheme). */
function safeNext(next: string | undefined): string {
  if (next && next.startsWith(`${CONSOLE_PREFIX}/`) && !next.startsWith('//') && !/[\\\s]/.test(next) && !next.startsWith(`${CONSOLE_PREFIX}/sign-`)) return next;
  return `${CONSOLE_PREFIX}/search`;
}

function signInPage(request: FastifyRequest, reply: FastifyReply, status: number, secure: boolean, problem?: string): FastifyReply {
  const nonce = newSignInNonce();
  setCookies(reply, [cookieHeader(SIGN_IN_COOKIE, nonce, { maxAgeSeconds: 1800, secure })]);
  const signedOut = (request.raw.url ?? '').includes('signed_out=1');
  const next = formOf(request).get('next') ?? queryNext(request);
  const body = html`${problem ? notice('error', problem) : signedOut ? notice('info', 'You are signed out.') : ''}
<form class="stack" method="post" action="/ui/sign-in">
  <input type="hidden" name="_signin" value="${nonce}">
  ${next ? html`<input type="hidden" name="next" value="${next}">` : ''}
  <label>API token <input type="password" name="token" required autocomplete="current-password" spellcheck="false" aria-describedby="token-help"></label>
  <p id="token-help" class="muted">The same token the HTTP API takes (zca_…). Your role (reader, exporter or admin) decides what you can see and do. Signing in is recorded; every message you open is in the audit log under the token's name.</p>
  <div><button type="submit">Sign in</button></div>
</form>`;
  return reply.code(status).type('text/html; charset=utf-8').send(renderPage({ title: 'Sign in to the archive', section: 'sign-in', session: null, body }));
}
