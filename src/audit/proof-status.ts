import type { Queryable } from '../db/pool.js';
import { formatHead, loadChainHead } from './head.js';
import { SEAL_ACTION } from './seals.js';

/**
 * The `audit` section of `status` and GET /v1/status: the chain head (publish it: anyone holding a
 * copy can later prove the history up to it was not rewritten), the windows sealed, what waits for a
 * seal, the last head published and what retention has disposed of. A few index probes.
 */
export interface ProofStatus {
  chain_head: { chain_seq: number; audit_id: number; row_hash: string; at: string } | null;
  windows_sealed: number;
  versions_waiting_for_seal: number;
  last_published_head: { chain_seq: number; row_hash: string; published_at: string; file: string | null } | null;
  retention: { versions_disposed: number; last_applied: { plan_id: string; at: string; versions: number } | null };
}

export async function loadProofStatus(db: Queryable): Promise<ProofStatus> {
  const head = await loadChainHead(db);
  const sealed = await db.query<{ n: number }>(`SELECT count(DISTINCT subject_id)::int AS n FROM archive.audit_log WHERE subject_type = 'sync_window' AND action = '${SEAL_ACTION}'`);
  const waiting = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.seal_queue');
  const published = await db.query<{ details: { chain_seq: number; row_hash: string; published_at: string; file: string | null } }>(
    `SELECT details FROM archive.audit_log WHERE subject_type = 'audit_chain' AND action = 'audit.head.published' ORDER BY chain_seq DESC NULLS LAST LIMIT 1`,
  );
  const disposal = await db.query<{ n: number; plan_id: string | null; at: Date | null; versions: number | null }>(
    `SELECT (SELECT coalesce(sum((details ->> 'versions')::bigint), 0) FROM archive.audit_log WHERE subject_type = 'retention_plan' AND action = 'retention.apply')::bigint AS n,
            l.subject_id AS plan_id, l.at, (l.details ->> 'versions')::bigint AS versions
     FROM (SELECT 1) one
     LEFT JOIN LATERAL (SELECT subject_id, at, details FROM archive.audit_log WHERE subject_type = 'retention_plan' AND action = 'retention.apply' ORDER BY at DESC, id DESC LIMIT 1) l ON true`,
  );
  const p = published.rows[0]?.details;
  const d = disposal.rows[0];
  return {
    chain_head: head ? { chain_seq: head.chainSeq, audit_id: head.auditId, row_hash: head.rowHash, at: head.at } : null,
    windows_sealed: sealed.rows[0]?.n ?? 0,
    versions_waiting_for_seal: waiting.rows[0]?.n ?? 0,
    last_published_head: p ? { chain_seq: p.chain_seq, row_hash: p.row_hash, published_at: p.published_at, file: p.file ?? null } : null,
    retention: {
      versions_disposed: Number(d?.n ?? 0),
      last_applied: d?.plan_id && d.at ? { plan_id: d.plan_id, at: d.at.toISOString(), versions: Number(d.versions ?? 0) } : null,
    },
  };
}

/** The section as `status` prints it. */
export function formatProofStatus(s: ProofStatus): string[] {
  const out = ['', 'Tamper evidence'];
  out.push(s.chain_head ? `  audit chain head ${formatHead({ chainSeq: s.chain_head.chain_seq, rowHash: s.chain_head.row_hash })} (audit row ${s.chain_head.audit_id}, ${s.chain_head.at})` : '  no audit chain yet');
  out.push(`  ${s.windows_sealed} window(s) sealed${s.versions_waiting_for_seal > 0 ? `; ${s.versions_waiting_for_seal} version(s) wait for their window's next seal` : ''}`);
  if (s.last_published_head) out.push(`  last head published ${s.last_published_head.published_at}: ${s.last_published_head.chain_seq}:${s.last_published_head.row_hash}${s.last_published_head.file ? ` (also in ${s.last_published_head.file})` : ''}`);
  if (s.retention.last_applied) out.push(`  retention: ${s.retention.versions_disposed} version(s) disposed of; last plan ${s.retention.last_applied.plan_id} at ${s.retention.last_applied.at}`);
  out.push('  check: zoom-chat-archiver audit verify · archive verify');
  return out;
}
