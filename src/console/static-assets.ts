import { createHash } from 'node:crypto';

/**
 * The console's only static files: one style sheet and one small script, served from the same
 * origin (the CSP allows nothing else: no inline script or style). The script only enhances: every
 * page works without it. Kept here as text so `tsc` ships them in dist/ with no front-end build.
 */

const CSS = `
:root { --fg: #1b1f24; --muted: #4a5360; --bg: #ffffff; --panel: #f4f6f8; --line: #c9d1d9; --accent: #0b57d0; --warn: #8a4b00; --bad: #a1131a; --ok: #146c2e; --mark: #fff1a8; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible, main:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; top: 0; background: var(--bg); padding: .5rem 1rem; }
.skip:focus { left: .5rem; }
header.top { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; padding: .5rem 1rem; background: var(--panel); border-bottom: 1px solid var(--line); }
header.top nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: 0; }
header.top nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
.who { color: var(--muted); font-size: .9rem; }
.who form { display: inline; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 1.5rem 0 .5rem; }
form.filters { display: flex; flex-wrap: wrap; gap: .75rem 1rem; align-items: flex-end; background: var(--panel); padding: .75rem 1rem; border: 1px solid var(--line); border-radius: 6px; }
form.stack { display: grid; gap: .75rem; max-width: 40rem; }
label { display: flex; flex-direction: column; font-size: .9rem; font-weight: 600; gap: .2rem; }
label.check { flex-direction: row; align-items: center; font-weight: 400; gap: .4rem; }
fieldset { border: 1px solid var(--line); border-radius: 6px; }
input, select, textarea { font: inherit; padding: .35rem .5rem; border: 1px solid #6b7580; border-radius: 4px; color: var(--fg); background: var(--bg); }
button { font: inherit; padding: .4rem 1rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.danger { background: var(--bad); border-color: var(--bad); }
button.link { background: none; border: none; color: var(--accent); text-decoration: underline; padding: 0; }
.notice { padding: .75rem 1rem; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); margin: 1rem 0; }
.notice.error { border-color: var(--bad); color: var(--bad); background: #fff5f5; }
.notice.warn { border-color: var(--warn); color: var(--warn); background: #fffaf0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
th { background: var(--panel); }
.muted { color: var(--muted); }
.badge { display: inline-block; font-size: .75rem; font-weight: 700; padding: 0 .4rem; border-radius: 3px; border: 1px solid currentColor; }
.badge.external { color: var(--warn); }
.badge.edited { color: var(--accent); }
.badge.deleted { color: var(--bad); }
.badge.ok { color: var(--ok); }
mark { background: var(--mark); color: var(--fg); }
.body { white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word; max-height: 24rem; overflow: auto; }
.hits { list-style: none; padding: 0; }
.hits li { border-bottom: 1px solid var(--line); padding: .6rem 0; }
.message { border-left: 3px solid var(--line); padding: .4rem .75rem; margin: .6rem 0; }
.message.deleted > .body { text-decoration: line-through; color: var(--muted); }
.message:target, .message:focus { border-left-color: var(--accent); background: #eef4ff; }
.meta { font-size: .9rem; color: var(--muted); display: flex; flex-wrap: wrap; gap: .25rem .75rem; align-items: baseline; }
.meta .sender { color: var(--fg); font-weight: 700; }
ol.thread { list-style: none; margin: 0 0 0 1.5rem; padding: 0; border-left: 2px dotted var(--line); }
.files, .reactions { list-style: none; padding: 0; margin: .3rem 0; display: flex; flex-wrap: wrap; gap: .5rem; font-size: .9rem; }
.reactions li { border: 1px solid var(--line); border-radius: 1rem; padding: 0 .5rem; }
details.history { margin: .4rem 0; }
details.history ol { padding-left: 1.25rem; }
del { background: #ffe3e3; color: #7a0c12; }
ins { background: #dcf5e3; color: #0c4a1f; text-decoration: none; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.pager { display: flex; gap: 1rem; margin: 1rem 0; }
progress { width: 100%; max-width: 30rem; height: 1.2rem; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; overflow-wrap: anywhere; }
.unlinked { overflow-wrap: anywhere; }
.ctl { font-size: .75rem; color: var(--bad); border: 1px dotted var(--bad); padding: 0 .2rem; unicode-bidi: isolate; }
.body { unicode-bidi: plaintext; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
`;

const JS = `'use strict';
// Progressive enhancement only: every page works without this script.
(function () {
  // Export progress: poll the export's JSON while it runs, then reload to show the download.
  var box = document.querySelector('[data-export-progress]');
  if (box && box.getAttribute('data-state') === 'running') {
    var url = box.getAttribute('data-export-progress');
    var bar = box.querySelector('progress');
    var text = box.querySelector('[data-progress-text]');
    var tick = function () {
      fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) return setTimeout(tick, 3000);
          if (p.state !== 'running') { window.location.reload(); return; }
          if (bar && p.total > 0) { bar.max = p.total; bar.value = p.done; }
          if (text) text.textContent = p.text;
          setTimeout(tick, 1000);
        })
        .catch(function () { setTimeout(tick, 3000); });
    };
    setTimeout(tick, 500);
  }
  // Transcript: j / k move to the next / previous message (not while typing in a field).
  var messages = Array.prototype.slice.call(document.querySelectorAll('article.message'));
  if (messages.length > 0) {
    document.addEventListener('keydown', function (e) {
      if (e.altKey || e.ctrlKey || e.metaKey || (e.key !== 'j' && e.key !== 'k')) return;
      var t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      var current = document.activeElement && document.activeElement.closest ? document.activeElement.closest('article.message') : null;
      var i = messages.indexOf(current);
      var next = e.key === 'j' ? messages[Math.min(messages.length - 1, i + 1)] : messages[Math.max(0, i - 1)];
      if (next) { e.preventDefault(); next.focus(); }
    });
  }
  // Transcript: "Expand all histories" / "Collapse all" for keyboard and mouse alike.
  var toggle = document.querySelector('[data-toggle-histories]');
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener('click', function () {
      var open = toggle.getAttribute('aria-pressed') !== 'true';
      document.querySelectorAll('details.history').forEach(function (d) { d.open = open; });
      toggle.setAttribute('aria-pressed', open ? 'true' : 'false');
      toggle.textContent = open ? 'Collapse all version histories' : 'Expand all version histories';
    });
  }
})();
`;

export interface StaticAsset {
  body: string;
  contentType: string;
  etag: string;
}

function asset(body: string, contentType: string): StaticAsset {
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

export const STATIC_ASSETS: Readonly<Record<string, StaticAsset>> = Object.freeze({
  'console.css': asset(CSS, 'text/css; charset=utf-8'),
  'console.js': asset(JS, 'text/javascript; charset=utf-8'),
});
