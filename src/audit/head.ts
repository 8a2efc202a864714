import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Queryable } from '../db/pool.js';
import { ArchiverError, InputError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { recordAudit } from './audit-log.js';
import { epochMicrosSql, proofTime } from './chain.js';
import type { ChainHead } from './verify-chain.js';

/**
 * The chain head: the newest row of the audit chain, its position and hash. Whoever holds a copy of
 * a head taken at some moment can later prove that the archive's history up to that moment was not
 * rewritten (`audit verify --head <position>:<hash>`), because rewriting any earlier row changes
 * every hash after it. So the head is published where the database cannot reach: in `status`, in
 * /metrics, in a Zoom Team Chat message every day (src/alerts), and, with AUDIT_HEAD_FILE, as a JSON
 * line appended to a file (point it at storage the database's administrators cannot rewrite).
 */

export const HEAD_FILE_FORMAT = 'zca-audit-head/1';

export interface PublishedHead {
  chainSeq: number;
  /** Lower-case hex SHA-256. */
  rowHash: string;
  auditId?: number;
  at?: string;
  publishedAt?: string;
  /** Where it was read from, for messages: a file path, `--head`. */
  source?: string;
}

/** The newest row of the chain: one index probe. Null before migration 0008 ran. */
export async function loadChainHead(db: Queryable): Promise<ChainHead | null> {
  const res = await db.query<{ chain_seq: number; id: number; row_hash: Buffer; at_us: string }>(
    `SELECT chain_seq, id, row_hash, ${epochMicrosSql('at')} AS at_us FROM archive.audit_log WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1`,
  );
  const r = res.rows[0];
  return r ? { chainSeq: r.chain_seq, auditId: r.id, rowHash: r.row_hash.toString('hex'), at: proofTime(r.at_us) as string } : null;
}

/** `<position>:<hash>`, as the daily Zoom message and `status` print it. */
export function parseHeadArgument(value: string): PublishedHead {
  const m = /^\s*(\d{1,18}):([0-9a-fA-F]{64})\s*$/.exec(value);
  if (!m) throw new InputError(`--head must be <chain position>:<64 hex characters> (as status and the daily head message print it), got ${JSON.stringify(value)}`, 'head');
  return { chainSeq: Number(m[1]), rowHash: (m[2] as string).toLowerCase(), source: '--head' };
}

export function formatHead(head: Pick<ChainHead, 'chainSeq' | 'rowHash'>): string {
  return `${head.chainSeq}:${head.rowHash}`;
}

/** Every head a head file holds (JSON lines). A missing file holds none; a bad line is an error naming it. */
export async function readHeadFile(file: string): Promise<PublishedHead[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ArchiverError('CONFIG_INVALID', `cannot read the head file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const heads: PublishedHead[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new ArchiverError('CONFIG_INVALID', `${file} line ${i + 1} is not JSON: a head file holds one JSON object per line`);
    }
    const seq = parsed['chain_seq'];
    const hash = parsed['row_hash'];
    if (typeof seq !== 'number' || typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
      throw new ArchiverError('CONFIG_INVALID', `${file} line ${i + 1} is not a head (chain_seq, row_hash)`);
    }
    heads.push({
      chainSeq: seq,
      rowHash: hash,
      ...(typeof parsed['audit_id'] === 'number' ? { auditId: parsed['audit_id'] } : {}),
      ...(typeof parsed['at'] === 'string' ? { at: parsed['at'] } : {}),
      ...(typeof parsed['published_at'] === 'string' ? { publishedAt: parsed['published_at'] } : {}),
      source: `${file} line ${i + 1}`,
    });
  });
  return heads;
}

/** Appends one head as a JSON line and fsyncs it: the file only ever grows. */
export async function appendHeadFile(file: string, head: ChainHead, publishedAt: Date): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const line = `${JSON.stringify({ format: HEAD_FILE_FORMAT, chain_seq: head.chainSeq, row_hash: head.rowHash, audit_id: head.auditId, at: head.at, published_at: publishedAt.toISOString() })}\n`;
  const handle = await open(file, 'a', 0o644);
  try {
    await handle.write(line);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface HeadPublication {
  head: ChainHead;
  /** The file the head was appended to, when AUDIT_HEAD_FILE is set. */
  file: string | null;
  /** audit_log id of the `audit.head.published` event (it is the next row of the chain). */
  auditId: number;
}

/**
 * Publishes the current head: to the head file when configured, then as an `audit.head.published`
 * event (which the alerts job turns into the daily Zoom message). The event records the head it
 * published, so the chain itself lists every head ever handed out.
 */
export async function publishChainHead(deps: { db: Queryable; clock: Clock; headFile: string | undefined; actor: string }): Promise<HeadPublication> {
  const head = await loadChainHead(deps.db);
  if (!head) throw new ArchiverError('MIGRATION_FAILED', 'the audit log has no chain: migration 0008 has not run');
  const now = deps.clock.now();
  if (deps.headFile) await appendHeadFile(deps.headFile, head, now);
  const auditId = await recordAudit(deps.db, {
    actor: deps.actor,
    action: 'audit.head.published',
    subjectType: 'audit_chain',
    subjectId: String(head.chainSeq),
    details: { chain_seq: head.chainSeq, row_hash: head.rowHash, audit_id: head.auditId, at: head.at, published_at: now.toISOString(), file: deps.headFile ?? null },
  });
  return { head, file: deps.headFile ?? null, auditId };
}

/** The first 48 bits of a head's hash as a number (exact in a float64): a metric that changes with the head. */
export function headHashPrefix(rowHash: string): number {
  return Number.parseInt(rowHash.slice(0, 12), 16);
}
