import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from '../db/pool.js';
import { throwIfAborted } from '../errors.js';
import { AUDIT_ROW_COLUMNS, auditRowSha256, chainRowContentSha256, epochMicrosSql, hex, proofTime, ZERO_HASH, type AuditChainRow } from './chain.js';
import type { PublishedHead } from './head.js';
import { cappedFindings, verifyInReadOnlySnapshot } from './verification.js';

/**
 * `audit verify`: recomputes the audit log's hash chain from the rows, in chain order, with this
 * program's own hashing (src/audit/chain.ts), and names the first row where it breaks and how:
 *
 * - **changed**: the row's content no longer matches the content hash recorded when it was written;
 * - **reordered**: its content is intact but its id or chain position is not the one it was chained
 *   with (rows swapped or renumbered);
 * - **removed**: a chain position is missing;
 * - **inserted**: a row the chain trigger never saw (written with triggers disabled), or a second
 *   row claiming a position;
 * - **rewritten**: the row is internally consistent but does not link to the row before it (someone
 *   recomputed hashes after changing, adding or removing rows before it);
 * - **legacy-changed**: the rows written before the chain existed no longer match the digest the
 *   genesis row recorded;
 * - **head-mismatch** / **head-missing**: a head published outside the database (AUDIT_HEAD_FILE, a
 *   Zoom channel message, `--head`) is no longer in the chain: the chain was rewritten or cut short
 *   after it was published.
 *
 * Read in one REPEATABLE READ snapshot, a batch at a time (memory stays flat).
 */

export type ChainFindingKind = 'changed' | 'reordered' | 'removed' | 'inserted' | 'rewritten' | 'genesis-missing' | 'legacy-changed' | 'head-mismatch' | 'head-missing';

export interface ChainFinding {
  kind: ChainFindingKind;
  auditId?: number;
  chainSeq?: number;
  message: string;
}

export interface ChainHead {
  chainSeq: number;
  auditId: number;
  rowHash: string;
  at: string;
}

export interface ChainVerification {
  ok: boolean;
  /** Rows checked in the chain (the genesis row included). */
  rowsChecked: number;
  /** Rows written before the chain existed (counted by the genesis row). */
  legacyRows: number;
  head: ChainHead | null;
  headsChecked: number;
  /** In order of discovery: the first is where the chain first breaks. At most `maxFindings`. */
  findings: ChainFinding[];
  durationMs: number;
}

export interface VerifyChainOptions {
  /** Heads published outside the database, each checked against the chain. */
  heads?: readonly PublishedHead[];
  maxFindings?: number;
  batchRows?: number;
  signal?: AbortSignal;
}

const CURSOR = 'zca_chain';

export function verifyAuditChain(pool: Pool, options: VerifyChainOptions = {}): Promise<ChainVerification> {
  return verifyInReadOnlySnapshot(pool, (client) => verifyInSnapshot(client, options));
}

async function verifyInSnapshot(client: PoolClient, options: VerifyChainOptions): Promise<Omit<ChainVerification, 'durationMs'>> {
  const maxFindings = options.maxFindings ?? 20;
  const { findings, add } = cappedFindings<ChainFinding>(maxFindings);
  const name = (r: Pick<AuditChainRow, 'id' | 'chain_seq'>) => `audit row ${r.id} (chain position ${r.chain_seq})`;

  const genesis = (await client.query<AuditChainRow>(`SELECT ${AUDIT_ROW_COLUMNS} FROM archive.audit_log WHERE chain_seq = 1 ORDER BY id LIMIT 1`)).rows[0];
  let legacyMaxId = 0;
  let legacyRows = 0;
  let legacySha256: string | undefined;
  if (!genesis || genesis.action !== 'audit.chain.genesis') {
    add({ kind: 'genesis-missing', message: 'the genesis row (chain position 1, audit.chain.genesis) is missing or was replaced: the chain cannot be anchored' });
  } else {
    const d = JSON.parse(genesis.details_text ?? '{}') as { legacy_rows?: number; legacy_max_id?: number; legacy_sha256?: string };
    legacyMaxId = Number(d.legacy_max_id ?? 0);
    legacyRows = Number(d.legacy_rows ?? 0);
    legacySha256 = d.legacy_sha256;
  }

  // The walk, in chain order.
  let expectedSeq = 1;
  let prevHash = ZERO_HASH;
  let rowsChecked = 0;
  let last: AuditChainRow | undefined;
  const hashes = new Map<number, string>();
  const wantedHeads = new Map<number, PublishedHead[]>();
  for (const h of options.heads ?? []) wantedHeads.set(h.chainSeq, [...(wantedHeads.get(h.chainSeq) ?? []), h]);

  await client.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR SELECT ${AUDIT_ROW_COLUMNS} FROM archive.audit_log WHERE chain_seq IS NOT NULL ORDER BY chain_seq, id`);
  const batch = options.batchRows ?? 5000;
  for (;;) {
    throwIfAborted(options.signal);
    const rows = (await client.query<AuditChainRow>(`FETCH ${batch} FROM ${CURSOR}`)).rows;
    for (const r of rows) {
      rowsChecked++;
      if (wantedHeads.has(r.chain_seq)) hashes.set(r.chain_seq, r.row_hash.toString('hex'));
      if (last && r.chain_seq === last.chain_seq) {
        add({ kind: 'inserted', auditId: r.id, chainSeq: r.chain_seq, message: `${name(r)} was inserted: audit row ${last.id} already holds that chain position` });
        continue;
      }
      if (r.chain_seq > expectedSeq) {
        const gap = r.chain_seq - expectedSeq;
        add({
          kind: 'removed',
          chainSeq: expectedSeq,
          message: `${gap === 1 ? `chain position ${expectedSeq} is` : `chain positions ${expectedSeq}–${r.chain_seq - 1} are`} missing: ${gap} row(s) removed between ${last ? `audit row ${last.id}` : 'the start'} and audit row ${r.id}`,
        });
      }
      const content = chainRowContentSha256(r);
      const contentOk = content.equals(r.content_sha256);
      const linkOk = auditRowSha256(r.prev_hash, r.chain_seq, r.id, r.content_sha256).equals(r.row_hash);
      if (!contentOk) {
        add({ kind: 'changed', auditId: r.id, chainSeq: r.chain_seq, message: `${name(r)} was changed: its content (${r.action} at ${proofTime(r.at_us)}) no longer matches the hash recorded when it was written` });
      } else if (!linkOk) {
        add({ kind: 'reordered', auditId: r.id, chainSeq: r.chain_seq, message: `${name(r)} was moved: its content is intact but its id or chain position is not the one it was written with (rows reordered or renumbered)` });
      } else if (r.chain_seq === expectedSeq && !r.prev_hash.equals(prevHash)) {
        add({
          kind: 'rewritten',
          auditId: r.id,
          chainSeq: r.chain_seq,
          message: `${name(r)} does not link to the row before it${last ? ` (audit row ${last.id})` : ''}: rows before it were changed, inserted or removed and their hashes recomputed`,
        });
      }
      prevHash = r.row_hash;
      expectedSeq = r.chain_seq + 1;
      last = r;
    }
    if (rows.length < batch) break;
  }
  await client.query(`CLOSE ${CURSOR}`);

  // Rows the chain trigger never saw: not legacy (newer than the genesis row's count), no position.
  const unchained = await client.query<{ id: number; action: string; at_us: string }>(
    `SELECT id, action, ${epochMicrosSql('at')} AS at_us FROM archive.audit_log WHERE chain_seq IS NULL AND id > $1 ORDER BY id LIMIT $2`,
    [legacyMaxId, maxFindings],
  );
  for (const r of unchained.rows) {
    add({ kind: 'inserted', auditId: r.id, message: `audit row ${r.id} (${r.action} at ${proofTime(r.at_us)}) was inserted outside the chain (written with the chain trigger disabled)` });
  }

  if (legacySha256 !== undefined) {
    const legacy = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM archive.audit_log WHERE chain_seq IS NULL AND id <= $1`, [legacyMaxId]);
    const digest = await legacyDigest(client, legacyMaxId);
    const n = legacy.rows[0]?.n ?? 0;
    if (n !== legacyRows || digest !== legacySha256) {
      add({
        kind: 'legacy-changed',
        message: `the ${legacyRows} audit row(s) written before the chain existed (ids up to ${legacyMaxId}) no longer match the genesis row's digest: ${n} such row(s) now, ${n === legacyRows ? 'some changed' : n < legacyRows ? 'some removed' : 'some added'}`,
      });
    }
  }

  let headsChecked = 0;
  for (const [seq, published] of wantedHeads) {
    for (const h of published) {
      headsChecked++;
      const now = hashes.get(seq);
      if (now === undefined) {
        add({ kind: 'head-missing', chainSeq: seq, message: `the head published${h.source ? ` in ${h.source}` : ''}${h.publishedAt ? ` at ${h.publishedAt}` : ''} (chain position ${seq}) is no longer in the chain: rows were removed from its end` });
      } else if (now !== h.rowHash.toLowerCase()) {
        add({ kind: 'head-mismatch', chainSeq: seq, message: `chain position ${seq} had hash ${h.rowHash.toLowerCase()} when its head was published${h.source ? ` in ${h.source}` : ''}, and has ${now} now: the chain was rewritten after it was published` });
      }
    }
  }

  return {
    ok: findings.length === 0,
    rowsChecked,
    legacyRows,
    head: last ? { chainSeq: last.chain_seq, auditId: last.id, rowHash: hex(last.row_hash) as string, at: proofTime(last.at_us) as string } : null,
    headsChecked,
    findings,
  };
}

/** SHA-256 of the legacy rows' content hashes in id order, each recomputed here. */
async function legacyDigest(client: PoolClient, legacyMaxId: number): Promise<string> {
  const digest = createHash('sha256');
  let after = 0;
  for (;;) {
    const rows = (
      await client.query<AuditChainRow>(
        `SELECT ${AUDIT_ROW_COLUMNS} FROM archive.audit_log WHERE chain_seq IS NULL AND id <= $1 AND id > $2 ORDER BY id LIMIT 5000`,
        [legacyMaxId, after],
      )
    ).rows;
    for (const r of rows) {
      digest.update(chainRowContentSha256(r));
      after = r.id;
    }
    if (rows.length < 5000) return digest.digest('hex');
  }
}
