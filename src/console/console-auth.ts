import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleConfig } from '../config/config.js';
import { ApiError } from '../service/http-errors.js';
import { roleAllows, type Role } from '../service/token-store.js';
import type { ConsoleSession } from './session-store.js';

/**
 * The console's cookies and request checks. The session cookie is HttpOnly, SameSite=Strict, scoped
 * to /ui, with the sign-in's lifetime, and Secure whenever the browser reached us over TLS (directly,
 * or through a proxy whose X-Forwarded-Proto is trusted: CONSOLE_TRUST_PROXY). Every POST carries the
 * session's CSRF token (compared in constant time); a POST whose Origin is another site is refused
 * as well. Sign-in itself is protected the same way with a short-lived pre-session cookie.
 */

export const SESSION_COOKIE = 'zca_console';
export const SIGN_IN_COOKIE = 'zca_console_signin';
export const CONSOLE_PREFIX = '/ui';

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession: ConsoleSession | null;
    consoleCookie: string | null;
  }
}

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function isSecureRequest(request: FastifyRequest, config: Readonly<ConsoleConfig>): boolean {
  if ((request.raw.socket as Partial<TLSSocket>).encrypted === true) return true;
  if (!config.trustProxy) return false;
  const forwarded = request.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}

export function cookieHeader(name: string, value: string, options: { maxAgeSeconds: number; secure: boolean }): string {
  return `${name}=${value}; Path=${CONSOLE_PREFIX}; Max-Age=${options.maxAgeSeconds}; HttpOnly; SameSite=Strict${options.secure ? '; Secure' : ''}`;
}

export function setCookies(reply: FastifyReply, cookies: string[]): void {
  reply.header('Set-Cookie', cookies);
}

export function newSignInNonce(): string {
  return randomBytes(24).toString('base64url');
}

export function sameSecret(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || a.length === 0) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A POST from another origin is refused whatever it carries (browsers send Origin on every POST). */
export function checkOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined || origin === 'null') {
    if (origin === 'null') throw new ApiError(403, 'FORBIDDEN', 'this form was sent from a page of another site; open the console and try again');
    return;
  }
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new ApiError(403, 'FORBIDDEN', 'this form was sent from a page of another site; open the console and try again');
  }
  if (host !== request.headers.host) throw new ApiError(403, 'FORBIDDEN', 'this form was sent from a page of another site; open the console and try again');
}

/** The signed-in session (a route behind the session hook always has one). */
export function sessionOf(request: FastifyRequest): ConsoleSession {
  if (!request.consoleSession) throw new ApiError(401, 'UNAUTHORIZED', 'sign in first');
  return request.consoleSession;
}

export function requireConsoleRole(request: FastifyRequest, role: Role): ConsoleSession {
  const session = sessionOf(request);
  if (!roleAllows(session.role, role)) {
    throw new ApiError(403, 'FORBIDDEN', `this page needs a token with role ${role}${role === 'admin' ? '' : ' or higher'}; you signed in with "${session.tokenName}", role ${session.role}`);
  }
  return session;
}

/** The CSRF check of a form: the field `_csrf` must be the session's token. */
export function checkCsrf(request: FastifyRequest, form: FormFields): void {
  checkOrigin(request);
  if (!sameSecret(form.get('_csrf'), sessionOf(request).csrfToken)) {
    throw new ApiError(403, 'CSRF_REJECTED', 'this form is out of date or was not sent by the console (CSRF token missing or wrong); reload the page and try again');
  }
}

/** A URL-encoded form: each field's values in order. */
export class FormFields {
  constructor(private readonly fields: ReadonlyMap<string, string[]>) {}

  static parse(body: string): FormFields {
    const fields = new Map<string, string[]>();
    for (const [k, v] of new URLSearchParams(body)) fields.set(k, [...(fields.get(k) ?? []), v]);
    return new FormFields(fields);
  }

  static empty(): FormFields {
    return new FormFields(new Map());
  }

  /** The first value, trimmed; undefined when absent or empty. */
  get(name: string): string | undefined {
    const v = this.fields.get(name)?.[0]?.trim();
    return v === undefined || v === '' ? undefined : v;
  }

  all(name: string): string[] {
    return (this.fields.get(name) ?? []).map((v) => v.trim()).filter((v) => v !== '');
  }
}

export function formOf(request: FastifyRequest): FormFields {
  return request.body instanceof FormFields ? request.body : FormFields.empty();
}
