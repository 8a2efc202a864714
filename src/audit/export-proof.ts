import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Pool, Queryable } from '../db/pool.js';
import { openEntryStream, openZip, type Entry, type ZipFile } from '../storage/zip-reader.js';
import { versionLeaf } from './chain.js';
import { loadChainHead } from './head.js';
import { SEAL_ACTION } from './seals.js';

/**
 * The archive proof of an export bundle (manifest.json `archive_proof`): the audit chain's head and,
 * for every window the bundle's versions belong to, the window's latest seal, all as of the export's
 * snapshot, with the number of exported versions of the window and the SHA-256 of their leaves.
 *
 * - Offline (`export verify`), the leaves are recomputed from messages.jsonl: the proof describes
 *   exactly the versions the bundle holds.
 * - With the database (`export verify --archive`), the head and the seals are looked up in the audit
 *   chain (same position, same hash: the archive's history up to the export is the one the bundle
 *   names), and every exported leaf is found among what its window's seal covered.
 */

export const ARCHIVE_PROOF_FORMAT = 'zca-archive-proof/1';

export interface ProofSeal {
  audit_id: number;
  chain_seq: number;
  root: string;
  versions: number;
  row_hash: string;
}

export interface ProofWindow {
  window: string;
  /** Versions of this window in the bundle. */
  versions: number;
  /**
   * SHA-256 of their leaves in version-id order (src/audit/chain.ts, versionLeaf), with times to the
   * millisecond as the bundle gives them (Zoom's times are milliseconds: the same leaves as sealed).
   */
  leaves_sha256: string;
  /** The window's latest seal in the snapshot; null for a window not sealed (not complete yet). */
  seal: ProofSeal | null;
  /** Exported versions that arrived after that seal (queued for the next one). */
  unsealed_versions: number;
}

export interface ArchiveProof {
  format: typeof ARCHIVE_PROOF_FORMAT;
  chain_head: { chain_seq: number; audit_id: number; row_hash: string; at: string } | null;
  windows: ProofWindow[];
}

/**
 * Reads the proof inside the export's snapshot. `where` selects the exported versions over
 * `public.chat_message_versions v` (src/export/selection.ts, buildSelectionWhere).
 */
export async function loadArchiveProof(db: Queryable, where: { text: string; values: unknown[] }): Promise<ArchiveProof> {
  const head = await loadChainHead(db);
  const windows = await db.query<{ window: string; versions: number; leaves: Buffer; seal_id: number | null; chain_seq: number | null; details: { root?: string; versions?: number } | null; row_hash: Buffer | null; unsealed: number }>(
    `WITH sel AS (
       SELECT v.version_id, archive.month_of(v.action_at) AS m,
              archive.version_leaf(v.version_id, v.session_id, v.message_id, v.kind, date_trunc('milliseconds', v.action_at), date_trunc('milliseconds', v.sent_at), decode(v.content_sha256, 'hex')) AS leaf
       FROM public.chat_message_versions v WHERE ${where.text}
     ), per AS (
       SELECT m, count(*)::int AS versions, sha256(string_agg(leaf, ''::bytea ORDER BY version_id)) AS leaves FROM sel GROUP BY m
     )
     SELECT to_char(per.m, 'YYYY-MM-DD') AS window, per.versions, per.leaves, s.id AS seal_id, s.chain_seq, s.details, s.row_hash,
            (SELECT count(*) FROM sel WHERE sel.m = per.m AND (s.id IS NULL OR NOT EXISTS (
               SELECT 1 FROM archive.sealed_versions sv WHERE sv.month_start = per.m AND sv.version_id = sel.version_id AND sv.seal_audit_id <= s.id)))::int AS unsealed
     FROM per
     LEFT JOIN LATERAL (
       SELECT a.id, a.chain_seq, a.details, a.row_hash FROM archive.audit_log a
       WHERE a.subject_type = 'sync_window' AND a.subject_id = to_char(per.m, 'YYYY-MM-DD') AND a.action = '${SEAL_ACTION}' AND a.chain_seq IS NOT NULL
       ORDER BY a.chain_seq DESC LIMIT 1
     ) s ON true
     ORDER BY per.m`,
    where.values,
  );
  return {
    format: ARCHIVE_PROOF_FORMAT,
    chain_head: head ? { chain_seq: head.chainSeq, audit_id: head.auditId, row_hash: head.rowHash, at: head.at } : null,
    windows: windows.rows.map((w) => ({
      window: w.window,
      versions: w.versions,
      leaves_sha256: w.leaves.toString('hex'),
      seal:
        w.seal_id === null
          ? null
          : { audit_id: w.seal_id, chain_seq: w.chain_seq as number, root: w.details?.root ?? '', versions: Number(w.details?.versions ?? 0), row_hash: (w.row_hash as Buffer).toString('hex') },
      unsealed_versions: w.seal_id === null ? w.versions : w.unsealed,
    })),
  };
}

export type ProofProblemKind = 'proof-missing' | 'proof-invalid' | 'leaves-mismatch' | 'head-not-in-archive' | 'seal-not-in-archive' | 'version-not-sealed' | 'version-changed';

export interface ProofProblem {
  kind: ProofProblemKind;
  message: string;
}

export interface BundleProofCheck {
  /** The proof as the manifest holds it (absent in bundles from before it existed). */
  proof: ArchiveProof | null;
  /** messages.jsonl was read and its leaves recomputed. */
  leavesChecked: boolean;
  versionsChecked: number;
  /** Checked against the database (`--archive`). */
  archiveChecked: boolean;
  /** Exported versions that retention has disposed of since (found in its audit events), when checked against the archive. */
  disposedSince: number;
  problems: ProofProblem[];
}

interface BundleVersion {
  versionId: number;
  leaf: Buffer;
  window: string;
}

/** `2026-05-21T10:15:00.123Z` (the bundle's millisecond times) as the hashed form with microseconds. */
function bundleTimeToProof(iso: string | null): string | null {
  if (iso === null) return null;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{3})Z$/.exec(iso);
  return m ? `${m[1]}.${m[2]}000Z` : iso;
}

async function findEntry(zip: ZipFile, name: string): Promise<Entry | undefined> {
  return new Promise((resolve, reject) => {
    let found: Entry | undefined;
    zip.on('entry', (entry: Entry) => {
      if (entry.fileName === name) found = entry;
      zip.readEntry();
    });
    zip.once('end', () => resolve(found));
    zip.once('error', reject);
    zip.readEntry();
  });
}

/** The versions of messages.jsonl with their leaves, in file order (null when the bundle has none). */
async function readBundleVersions(bundlePath: string): Promise<BundleVersion[] | null> {
  const zip = await openZip(bundlePath, { decodeStrings: true });
  try {
    const entry = await findEntry(zip, 'messages.jsonl');
    if (!entry) return null;
    const stream = await openEntryStream(zip, entry);
    const out: BundleVersion[] = [];
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (line === '') continue;
      const v = JSON.parse(line) as { version_id: number; session_id: string; message_id: string; kind: string; action_at: string; sent_at: string | null; content_sha256: string };
      const actionAt = bundleTimeToProof(v.action_at) as string;
      out.push({
        versionId: v.version_id,
        window: `${actionAt.slice(0, 7)}-01`,
        leaf: versionLeaf({ versionId: v.version_id, sessionId: v.session_id, messageId: v.message_id, kind: v.kind, actionAt, sentAt: bundleTimeToProof(v.sent_at), contentSha256: Buffer.from(v.content_sha256, 'hex') }),
      });
    }
    return out;
  } finally {
    zip.close();
  }
}

/**
 * Checks a bundle's archive proof: offline against its own messages.jsonl, and with `pool` against
 * the archive. Call after the bundle itself verified (verifyBundle): the manifest is then the one the
 * entries' hashes vouch for.
 */
export async function checkBundleProof(bundlePath: string, manifest: Record<string, unknown>, options: { pool?: Pool } = {}): Promise<BundleProofCheck> {
  const problems: ProofProblem[] = [];
  const raw = manifest['archive_proof'] as ArchiveProof | undefined;
  const result: BundleProofCheck = { proof: raw ?? null, leavesChecked: false, versionsChecked: 0, archiveChecked: false, disposedSince: 0, problems };
  if (raw === undefined) {
    problems.push({ kind: 'proof-missing', message: 'the manifest has no archive_proof: the bundle was made by a version without tamper evidence' });
    return result;
  }
  if (raw.format !== ARCHIVE_PROOF_FORMAT || !Array.isArray(raw.windows)) {
    problems.push({ kind: 'proof-invalid', message: `archive_proof is not a ${ARCHIVE_PROOF_FORMAT} proof` });
    return result;
  }

  const versions = await readBundleVersions(bundlePath);
  if (versions !== null) {
    result.leavesChecked = true;
    result.versionsChecked = versions.length;
    const byWindow = new Map<string, BundleVersion[]>();
    for (const v of versions) byWindow.set(v.window, [...(byWindow.get(v.window) ?? []), v]);
    const listed = new Set(raw.windows.map((w) => w.window));
    for (const w of raw.windows) {
      const mine = (byWindow.get(w.window) ?? []).sort((a, b) => a.versionId - b.versionId);
      const digest = createHash('sha256');
      for (const v of mine) digest.update(v.leaf);
      const sha = digest.digest('hex');
      if (mine.length !== w.versions || sha !== w.leaves_sha256) {
        problems.push({ kind: 'leaves-mismatch', message: `window ${w.window}: messages.jsonl holds ${mine.length} version(s) with leaves ${sha}; the proof says ${w.versions} with ${w.leaves_sha256}` });
      }
    }
    for (const window of byWindow.keys()) {
      if (!listed.has(window)) problems.push({ kind: 'leaves-mismatch', message: `messages.jsonl holds versions of window ${window}, which the proof does not list` });
    }
  }

  if (options.pool) {
    result.archiveChecked = true;
    await checkAgainstArchive(options.pool, raw, versions, result);
  }
  return result;
}

async function checkAgainstArchive(pool: Pool, proof: ArchiveProof, versions: BundleVersion[] | null, result: BundleProofCheck): Promise<void> {
  const problems = result.problems;
  const rowAt = async (auditId: number) =>
    (await pool.query<{ chain_seq: number | null; row_hash: Buffer | null }>('SELECT chain_seq, row_hash FROM archive.audit_log WHERE id = $1', [auditId])).rows[0];
  if (proof.chain_head) {
    const row = await rowAt(proof.chain_head.audit_id);
    if (!row || row.chain_seq !== proof.chain_head.chain_seq || row.row_hash?.toString('hex') !== proof.chain_head.row_hash) {
      problems.push({ kind: 'head-not-in-archive', message: `the chain head the bundle names (position ${proof.chain_head.chain_seq}, audit row ${proof.chain_head.audit_id}, ${proof.chain_head.row_hash}) is not in the archive's chain as it stands: the history it came from was rewritten` });
    }
  }
  for (const w of proof.windows) {
    if (!w.seal) continue;
    const row = await rowAt(w.seal.audit_id);
    if (!row || row.chain_seq !== w.seal.chain_seq || row.row_hash?.toString('hex') !== w.seal.row_hash) {
      problems.push({ kind: 'seal-not-in-archive', message: `window ${w.window}'s seal named by the bundle (audit row ${w.seal.audit_id}, position ${w.seal.chain_seq}) is not in the archive's chain as it stands` });
    }
  }
  if (versions === null) return;
  const sealOf = new Map(proof.windows.map((w) => [w.window, w.seal]));
  const ids = versions.map((v) => v.versionId);
  const disposed = new Set(
    (
      await pool.query<{ id: string }>(
        `SELECT e ->> 0 AS id FROM archive.audit_log a, jsonb_array_elements(a.details -> 'versions') e
         WHERE a.subject_type = 'retention_plan' AND a.action = 'retention.dispose' AND (e ->> 0)::bigint = ANY($1::bigint[])`,
        [ids],
      )
    ).rows.map((r) => Number(r.id)),
  );
  // Each exported version's row now (its identity as the bundle shows it: times to the millisecond)
  // and whether its window's seal covered the row as it is.
  const rows = await pool.query<{ id: number; leaf: Buffer; sealed: boolean; seal_audit_id: number | null }>(
    `SELECT v.id,
            archive.version_leaf(v.id, v.session_id, v.message_id, v.kind, date_trunc('milliseconds', v.action_at), date_trunc('milliseconds', v.sent_at), v.content_sha256) AS leaf,
            coalesce(s.leaf = archive.version_leaf(v.id, v.session_id, v.message_id, v.kind, v.action_at, v.sent_at, v.content_sha256), false) AS sealed,
            s.seal_audit_id
     FROM archive.message_versions v
     LEFT JOIN archive.sealed_versions s ON s.version_id = v.id
     WHERE v.id = ANY($1::bigint[])`,
    [ids],
  );
  const byId = new Map(rows.rows.map((r) => [r.id, r]));
  let reported = 0;
  const report = (p: ProofProblem) => {
    if (reported++ < 20) problems.push(p);
  };
  const uncovered = new Map<string, number>();
  for (const v of versions) {
    const seal = sealOf.get(v.window);
    const row = byId.get(v.versionId);
    if (row === undefined) {
      if (disposed.has(v.versionId)) result.disposedSince++;
      else report({ kind: 'version-changed', message: `version ${v.versionId} in the bundle is no longer in the archive, and no retention disposal lists it` });
      continue;
    }
    if (!row.leaf.equals(v.leaf)) {
      report({ kind: 'version-changed', message: `version ${v.versionId} in the bundle differs from the archive's row now (identity or content hash)` });
      continue;
    }
    if (seal) {
      if (row.seal_audit_id === null || row.seal_audit_id > seal.audit_id) uncovered.set(v.window, (uncovered.get(v.window) ?? 0) + 1);
      else if (!row.sealed) report({ kind: 'version-not-sealed', message: `version ${v.versionId} in the bundle is not the version window ${v.window}'s seal (audit row ${seal.audit_id}) covered` });
    }
  }
  for (const w of proof.windows) {
    if (w.seal && (uncovered.get(w.window) ?? 0) !== w.unsealed_versions) {
      report({ kind: 'version-not-sealed', message: `window ${w.window}: ${uncovered.get(w.window) ?? 0} exported version(s) are not covered by its seal (audit row ${w.seal.audit_id}); the proof says ${w.unsealed_versions}` });
    }
  }
}

/** A bundle without a proof (made before it existed) is not a failure; any other problem is. */
export function bundleProofOk(check: BundleProofCheck): boolean {
  return check.problems.every((p) => p.kind === 'proof-missing');
}

export function formatBundleProof(check: BundleProofCheck): string {
  const lines: string[] = [];
  const p = check.proof;
  if (!p) return `  archive proof: none (${check.problems[0]?.message ?? 'not in the manifest'})\n`;
  lines.push(
    p.chain_head
      ? `  archive proof: made at audit chain head ${p.chain_head.chain_seq}:${p.chain_head.row_hash} (audit row ${p.chain_head.audit_id}, ${p.chain_head.at})`
      : '  archive proof: made before the audit chain had a head',
  );
  for (const w of p.windows) {
    lines.push(
      `    ${w.window.slice(0, 7)}  ${w.versions} version(s)${w.seal ? `, sealed by audit row ${w.seal.audit_id} (position ${w.seal.chain_seq}, root ${w.seal.root.slice(0, 16)}…)${w.unsealed_versions > 0 ? `, ${w.unsealed_versions} arrived after that seal` : ''}` : ', window not sealed when exported'}`,
    );
  }
  if (check.leavesChecked) lines.push(`  ${check.versionsChecked} version(s) of messages.jsonl ${check.problems.some((x) => x.kind === 'leaves-mismatch') ? 'do NOT match' : 'match'} the proof`);
  else lines.push('  the bundle has no messages.jsonl: its versions cannot be checked against the proof');
  if (check.archiveChecked) {
    const bad = check.problems.filter((x) => x.kind !== 'leaves-mismatch');
    lines.push(bad.length === 0 ? `  checked against the archive: the head and every seal are in its chain, every version is what its seal covered${check.disposedSince > 0 ? ` (${check.disposedSince} disposed of by retention since)` : ''}` : '  checked against the archive: MISMATCH');
  } else {
    lines.push('  not checked against the archive (add --archive, with DATABASE_URL, to look the head, the seals and every version up)');
  }
  for (const problem of check.problems) if (problem.kind !== 'proof-missing') lines.push(`  !! ${problem.message}`);
  return `${lines.join('\n')}\n`;
}
