import { highlight, html, type SafeHtml } from './html.js';

/**
 * A word-level diff between two versions of a message body (longest common subsequence over words
 * and the spaces between them). Bodies can be 20,000 characters: past MAX_CELLS the table is not
 * built and the change is shown as the whole text removed and the whole new text added.
 */

const MAX_CELLS = 4_000_000;

export type DiffPart = { op: 'same' | 'removed' | 'added'; text: string };

function tokens(text: string): string[] {
  return text.split(/(\s+)/).filter((t) => t !== '');
}

export function diffWords(before: string, after: string): DiffPart[] {
  const a = tokens(before);
  const b = tokens(after);
  // Common prefix and suffix first: an edit usually changes a few words.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const parts: DiffPart[] = [];
  const push = (op: DiffPart['op'], text: string) => {
    const prev = parts[parts.length - 1];
    if (prev && prev.op === op) prev.text += text;
    else if (text !== '') parts.push({ op, text });
  };
  push('same', a.slice(0, start).join(''));
  if (midA.length * midB.length > MAX_CELLS) {
    push('removed', midA.join(''));
    push('added', midB.join(''));
  } else {
    const n = midA.length;
    const m = midB.length;
    const width = m + 1;
    const lcs = new Uint32Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * width + j] = midA[i] === midB[j] ? (lcs[(i + 1) * width + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * width + j] ?? 0, lcs[i * width + j + 1] ?? 0);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (midA[i] === midB[j]) {
        push('same', midA[i++] as string);
        j++;
      } else if ((lcs[(i + 1) * width + j] ?? 0) >= (lcs[i * width + j + 1] ?? 0)) push('removed', midA[i++] as string);
      else push('added', midB[j++] as string);
    }
    while (i < n) push('removed', midA[i++] as string);
    while (j < m) push('added', midB[j++] as string);
  }
  push('same', a.slice(endA).join(''));
  return parts;
}

/** The diff as HTML: removed words in `<del>`, added ones in `<ins>` (each also says so to a screen reader). */
export function renderDiff(before: string, after: string): SafeHtml {
  return html`${diffWords(before, after).map((p) =>
    p.op === 'same' ? highlight(p.text, []) : p.op === 'removed' ? html`<del><span class="sr-only">removed: </span>${highlight(p.text, [])}</del>` : html`<ins><span class="sr-only">added: </span>${highlight(p.text, [])}</ins>`,
  )}`;
}
