import { spawnSync } from 'node:child_process';
import { openSync, readSync, writeSync, closeSync } from 'node:fs';
import { openZip as open, readEntries as entriesOf, readEntryBuffer as readEntry } from '../../src/storage/zip-reader.js';

/** Reading bundles back in tests: entries, Info-ZIP's own check, CSV parsing, tampering. */

/** Every entry of a (small) bundle, in zip order. */
export async function readBundle(file: string): Promise<Map<string, Buffer>> {
  const zip = await open(file);
  try {
    const out = new Map<string, Buffer>();
    for (const e of await entriesOf(zip)) out.set(e.fileName, await readEntry(zip, e));
    return out;
  } finally {
    zip.close();
  }
}

/** Where an entry's compressed data starts in the file, and how long it is. */
export async function entryDataRange(file: string, name: string): Promise<{ start: number; length: number }> {
  const zip = await open(file);
  try {
    const entry = (await entriesOf(zip)).find((e) => e.fileName === name);
    if (!entry) throw new Error(`no entry ${name}`);
    const fd = openSync(file, 'r');
    const header = Buffer.alloc(30);
    readSync(fd, header, 0, 30, entry.relativeOffsetOfLocalHeader);
    closeSync(fd);
    const start = entry.relativeOffsetOfLocalHeader + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    return { start, length: entry.compressedSize };
  } finally {
    zip.close();
  }
}

/** Flips one byte (XOR 0x01) at `offset`. */
export function flipByte(file: string, offset: number): void {
  const fd = openSync(file, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  b[0] = (b[0] ?? 0) ^ 0x01;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}

export const HAS_INFO_ZIP = spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0 && spawnSync('zip', ['-v'], { stdio: 'ignore' }).status === 0;
if (!HAS_INFO_ZIP) {
  console.warn('\n!!! Info-ZIP zip/unzip are not installed: the `unzip -t` checks are SKIPPED. Install them (apt-get install -y zip unzip).\n');
}

/** Info-ZIP's integrity test of every entry. */
export function unzipTest(file: string): { ok: boolean; output: string } {
  const r = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF records). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** The MIME parts of an .rsmf file: headers (unfolded), the text body and the rsmf.zip bytes. */
export function parseRsmf(content: string): { headers: Map<string, string>; text: string; zip: Buffer; attachmentHeaders: string } {
  const [head = '', ...rest] = content.split('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]/g, ' ').split('\r\n')) {
    const at = line.indexOf(':');
    headers.set(line.slice(0, at).toLowerCase(), line.slice(at + 1).trim());
  }
  const boundary = /boundary="([^"]+)"/.exec(headers.get('content-type') ?? '')?.[1];
  if (!boundary) throw new Error('no boundary');
  const body = rest.join('\r\n\r\n');
  const parts = body.split(`--${boundary}`).slice(1, -1).map((p) => p.replace(/^\r\n/, ''));
  const [textPart = '', zipPart = ''] = parts;
  const split = (p: string) => {
    const at = p.indexOf('\r\n\r\n');
    return { headers: p.slice(0, at), body: p.slice(at + 4) };
  };
  const text = Buffer.from(split(textPart).body.replace(/\s+/g, ''), 'base64').toString('utf8');
  const zipSplit = split(zipPart);
  return { headers, text, zip: Buffer.from(zipSplit.body.replace(/\s+/g, ''), 'base64'), attachmentHeaders: zipSplit.headers };
}
