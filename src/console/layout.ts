import { roleAllows } from '../service/token-store.js';
import { html, type SafeHtml } from './html.js';
import type { ConsoleSession } from './session-store.js';

/** The page shell: skip link, navigation shaped by the role, who is signed in, sign-out. */

export type Section = 'search' | 'sessions' | 'legal-hold' | 'exports' | 'status' | 'sign-in' | 'error';

const NAV: ReadonlyArray<{ section: Section; href: string; label: string; role: 'reader' | 'exporter' | 'admin' }> = [
  { section: 'search', href: '/ui/search', label: 'Search', role: 'reader' },
  { section: 'sessions', href: '/ui/sessions', label: 'Sessions', role: 'reader' },
  { section: 'legal-hold', href: '/ui/legal-hold', label: 'Legal hold', role: 'reader' },
  { section: 'exports', href: '/ui/exports', label: 'Exports', role: 'exporter' },
  { section: 'status', href: '/ui/status', label: 'Status', role: 'reader' },
];

export interface PageInput {
  title: string;
  section: Section;
  session: ConsoleSession | null;
  body: SafeHtml;
}

export function renderPage(page: PageInput): string {
  const s = page.session;
  const header = s
    ? html`<header class="top">
  <nav aria-label="Console sections"><ul>${NAV.filter((n) => roleAllows(s.role, n.role)).map(
    (n) => html`<li><a href="${n.href}"${n.section === page.section ? html` aria-current="page"` : ''}>${n.label}</a></li>`,
  )}</ul></nav>
  <div class="who">Signed in as <strong>${s.tokenName}</strong> (${s.role}) ·
    <form method="post" action="/ui/sign-out">${csrfField(s)}<button class="link" type="submit">Sign out</button></form></div>
</header>`
    : html`<header class="top"><span>Zoom Team Chat archive</span></header>`;
  return `<!doctype html>
${
  html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${page.title} · Archive console</title>
<link rel="stylesheet" href="/ui/static/console.css">
<script src="/ui/static/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${header}
<main id="main" tabindex="-1">
<h1>${page.title}</h1>
${page.body}
</main>
</body>
</html>
`.text
}`;
}

export function csrfField(session: ConsoleSession): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${session.csrfToken}">`;
}

export function notice(kind: 'error' | 'warn' | 'info', text: string | SafeHtml): SafeHtml {
  return html`<div class="notice ${kind === 'info' ? '' : kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</div>`;
}

/** `2026-06-01 10:15:00 UTC` from ISO text (or a Date). */
export function when(value: string | Date | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const iso = value instanceof Date ? value.toISOString() : value;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

export function timeTag(value: string | Date | null | undefined): SafeHtml {
  if (value === null || value === undefined) return html`<span class="muted">no time</span>`;
  const iso = value instanceof Date ? value.toISOString() : value;
  return html`<time datetime="${iso}">${when(iso)}</time>`;
}
