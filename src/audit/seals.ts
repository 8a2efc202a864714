import type { Pool, PoolClient, Queryable } from '../db/pool.js';
import { InputError, throwIfAborted } from '../errors.js';
import { createHash } from 'node:crypto';
import { AUDIT_ROW_COLUMNS, auditRowSha256, chainRowContentSha256, WindowRootHasher, type AuditChainRow } from './chain.js';
import { cappedFindings, verifyInReadOnlySnapshot } from './verification.js';

/**
 * Window seals (migrations/0008_tamper_evidence.sql): when a window (calendar month, UTC) becomes
 * complete, the database records the leaf of every version stored for it (archive.sealed_versions)
 * and an `archive.window.seal` audit event with the root over them, in the same transaction. A
 * version arriving later for a sealed window (a re-sweep finding what Zoom reported late) is queued
 * by the insert trigger and gets a new seal at the end of the pass: seals are appended, never
 * rewritten. A version's window is the month of its action time.
 *
 * `archive verify` (verifyArchive) recomputes, for every sealed window or one of them:
 * - the latest seal's root from the recorded leaves (the record of what was sealed is intact), and
 *   the seal row's own hashes (it is the chained audit row it claims to be);
 * - every version's leaf against what was sealed, and every version's row against itself (its
 *   content hash against its raw item, its body and sender columns against the raw item), naming
 *   each version added, changed or removed since the seal;
 * - a version gone that a `retention.dispose` audit event lists with the identity that was sealed
 *   is reported as disposed of, not as tampering.
 */

export const SEAL_ACTION = 'archive.window.seal';

export interface WindowSeal {
  window: string;
  auditId: number;
  chainSeq: number;
  /** Lower-case hex. */
  root: string;
  versions: number;
  maxVersionId: number | null;
  /** Lower-case hex of the seal row's chain hash. */
  rowHash: string;
  at: Date;
  /** How many seals the window has (this one is the latest). */
  seals: number;
}

/** `2026-05` or `2026-05-01` → `2026-05-01`. */
export function parseWindowArgument(value: string): string {
  const m = /^(\d{4})-(\d{2})(?:-01)?$/.exec(value.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw new InputError(`--window must be a month, yyyy-mm (e.g. 2026-05), got ${JSON.stringify(value)}`, 'window');
  return `${m[1]}-${m[2]}-01`;
}

interface SealRow {
  window: string;
  id: number;
  chain_seq: number;
  details: { root?: string; versions?: number; max_version_id?: number | null };
  row_hash: Buffer;
  at: Date;
  seals: number;
}

/** The latest seal of every sealed window (or of the given ones), oldest window first. */
export async function loadLatestSeals(db: Queryable, windows?: readonly string[]): Promise<WindowSeal[]> {
  const res = await db.query<SealRow>(
    `SELECT DISTINCT ON (subject_id) subject_id AS window, id, chain_seq, details, row_hash, at,
            count(*) OVER (PARTITION BY subject_id)::int AS seals
     FROM archive.audit_log
     WHERE subject_type = 'sync_window' AND action = '${SEAL_ACTION}' AND chain_seq IS NOT NULL
       AND ($1::text[] IS NULL OR subject_id = ANY($1::text[]))
     ORDER BY subject_id, chain_seq DESC`,
    [windows ? [...windows] : null],
  );
  return res.rows.map((r) => ({
    window: r.window,
    auditId: r.id,
    chainSeq: r.chain_seq,
    root: r.details.root ?? '',
    versions: Number(r.details.versions ?? 0),
    maxVersionId: r.details.max_version_id ?? null,
    rowHash: r.row_hash.toString('hex'),
    at: r.at,
    seals: r.seals,
  }));
}

/** Seals what is waiting (late versions, complete windows never sealed); returns how many seals were written. */
export async function sealPendingWindows(db: Queryable, reason: string, actor: string): Promise<number> {
  const res = await db.query<{ n: number }>('SELECT archive.seal_pending($1, $2) AS n', [reason, actor]);
  return res.rows[0]?.n ?? 0;
}

/** Versions waiting for their window's next seal. */
export async function countQueuedVersions(db: Queryable): Promise<number> {
  return (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.seal_queue')).rows[0]?.n ?? 0;
}

export type ArchiveFindingKind = 'added' | 'changed' | 'removed' | 'seal-changed' | 'seal-record-changed' | 'function-replaced';

/**
 * The database functions `archive verify` asks to compute leaves and row checks (for speed: a million
 * versions are not shipped to this process), with the SHA-256 of their bodies as migrations 0005 and
 * 0008 created them. One that differs was replaced, and nothing it computes can be trusted. (The audit
 * chain and the seal roots are recomputed here, whatever the database's functions do.)
 */
export const PROOF_FUNCTIONS: Readonly<Record<string, string>> = {
  month_of: 'c970811e46bdeea355fa4c0fcc0b5e570f4a69db31cde4c670dd2104dd9a5d93',
  proof_field: 'f62132ad32fcc3f57643d53337cfdf888b3d035d88f72bd6cf952b2c5ddf3029',
  proof_time: '6f74612ee86bdbde4c3607d96e539749ff27f5f0b28740062eb6c1d84e5ef4c2',
  version_identity: 'b324cb2fba93191ed1b7b66f727e1a17291358253303e0dfd6cf19d37dc8a04f',
  version_leaf: '8ba6064d711581cbe309b167e78a7d449c9e4686a673372d0e9e48647390d331',
  without_file_download_urls: 'f4dbe26d707a02c1646910c323993ebf59d72472f503f51d0a58fe09658d9063',
};

export interface ArchiveFinding {
  kind: ArchiveFindingKind;
  window: string;
  versionId?: number;
  message: string;
}

export interface WindowCheck {
  window: string;
  seal: Pick<WindowSeal, 'auditId' | 'chainSeq' | 'root' | 'versions' | 'seals'>;
  /** Versions of the window now in the archive. */
  versions: number;
  /** Versions the seals cover that retention disposed of (audit events say so). */
  disposed: number;
  /** Versions that arrived after the latest seal through the archive's insert path, queued for the next seal. */
  queued: number;
  ok: boolean;
}

export interface ArchiveVerification {
  ok: boolean;
  windows: WindowCheck[];
  /** Versions compared with their seals. */
  versionsChecked: number;
  /** Versions in months no seal covers (the open month, months before the first window): not checked. */
  unsealed: Array<{ window: string; versions: number }>;
  findings: ArchiveFinding[];
  durationMs: number;
}

export interface VerifyArchiveOptions {
  /** Only this window (`yyyy-mm-01`). */
  window?: string;
  maxFindings?: number;
  signal?: AbortSignal;
}

interface DiffRow {
  window: string;
  version_id: number;
  session_id: string | null;
  message_id: string | null;
  now_window: string | null;
  sealed: boolean;
  present: boolean;
  leaf_changed: boolean;
  content_ok: boolean | null;
  columns_ok: boolean | null;
  queued: boolean;
  disposal_audit_id: number | null;
  disposed_as_sealed: boolean;
}

/** Every version of the given windows, or sealed for them, whose row or leaf does not match its seal. */
const DIFF = () => `
WITH months AS (SELECT unnest($1::date[]) AS m), ${DISPOSED.trim()},
s AS (
  SELECT sv.month_start, sv.version_id, sv.leaf FROM archive.sealed_versions sv JOIN months ON sv.month_start = months.m
),
v AS (
  SELECT v.id, v.session_id, v.message_id, archive.month_of(v.action_at) AS m,
         archive.version_leaf(v.id, v.session_id, v.message_id, v.kind, v.action_at, v.sent_at, v.content_sha256) AS leaf,
         v.content_sha256 = archive.version_identity(v.raw) AS content_ok,
         (v.sender IS NOT DISTINCT FROM v.raw ->> 'sender' AND v.sender_member_id IS NOT DISTINCT FROM v.raw ->> 'sender_member_id'
          AND v.sender_display_name IS NOT DISTINCT FROM v.raw ->> 'sender_display_name' AND v.receiver IS NOT DISTINCT FROM v.raw ->> 'receiver'
          AND v.body IS NOT DISTINCT FROM v.raw ->> 'message' AND v.reply_main_message_id IS NOT DISTINCT FROM v.raw ->> 'reply_main_message_id'
          AND v.files IS NOT DISTINCT FROM v.raw -> 'files') AS columns_ok
  FROM archive.message_versions v
  WHERE archive.month_of(v.action_at) = ANY($1::date[]) OR v.id IN (SELECT version_id FROM s)
)
SELECT to_char(coalesce(s.month_start, v.m), 'YYYY-MM-DD') AS window, coalesce(s.version_id, v.id) AS version_id,
       v.session_id, v.message_id, to_char(v.m, 'YYYY-MM-DD') AS now_window,
       s.version_id IS NOT NULL AS sealed, v.id IS NOT NULL AS present,
       coalesce(s.leaf <> v.leaf, false) AS leaf_changed, v.content_ok, v.columns_ok,
       EXISTS (SELECT 1 FROM archive.seal_queue q WHERE q.version_id = v.id) AS queued,
       d.audit_id AS disposal_audit_id, coalesce(d.leaf = s.leaf, false) AS disposed_as_sealed
FROM s FULL JOIN v ON v.id = s.version_id
LEFT JOIN disposed d ON v.id IS NULL AND d.id = s.version_id
WHERE s.version_id IS NULL OR v.id IS NULL OR s.leaf <> v.leaf OR NOT v.content_ok OR NOT v.columns_ok
ORDER BY 1, 2`;

/**
 * Versions retention disposed of, as its audit events list them (id, session, message, kind, times,
 * content hash), with the leaf each describes: a version gone whose disposal describes exactly what
 * was sealed is a disposal, not a removal.
 */
const DISPOSED = `
disposed AS (
  SELECT DISTINCT ON ((e ->> 0)::bigint) (e ->> 0)::bigint AS id, a.id AS audit_id,
         archive.version_leaf((e ->> 0)::bigint, e ->> 1, e ->> 2, e ->> 3, (e ->> 4)::timestamptz, (e ->> 5)::timestamptz, decode(e ->> 6, 'hex')) AS leaf
  FROM archive.audit_log a, jsonb_array_elements(a.details -> 'versions') e
  WHERE a.action = 'retention.dispose' AND a.subject_type = 'retention_plan'
  ORDER BY (e ->> 0)::bigint, a.id
)`;

export function verifyArchive(pool: Pool, options: VerifyArchiveOptions = {}): Promise<ArchiveVerification> {
  return verifyInReadOnlySnapshot(pool, (client) => verifyInSnapshot(client, options));
}

async function verifyInSnapshot(client: PoolClient, options: VerifyArchiveOptions): Promise<Omit<ArchiveVerification, 'durationMs'>> {
  const { findings, add } = cappedFindings<ArchiveFinding>(options.maxFindings ?? 50);
  const functions = await client.query<{ name: string; src: string }>(
    `SELECT proname AS name, prosrc AS src FROM pg_proc WHERE pronamespace = 'archive'::regnamespace AND proname = ANY($1::text[])`,
    [Object.keys(PROOF_FUNCTIONS)],
  );
  for (const [name, sha256] of Object.entries(PROOF_FUNCTIONS)) {
    const found = functions.rows.filter((f) => f.name === name);
    if (found.length !== 1 || createHash('sha256').update(found[0]!.src).digest('hex') !== sha256) {
      add({ kind: 'function-replaced', window: '(all)', message: `the database function archive.${name} is not the one the migrations created: the leaves and row checks it computes cannot be trusted` });
    }
  }
  const seals = await loadLatestSeals(client, options.window ? [options.window] : undefined);
  const checks = new Map<string, WindowCheck>();

  for (const seal of seals) {
    throwIfAborted(options.signal);
    const check: WindowCheck = { window: seal.window, seal: { auditId: seal.auditId, chainSeq: seal.chainSeq, root: seal.root, versions: seal.versions, seals: seal.seals }, versions: 0, disposed: 0, queued: 0, ok: true };
    checks.set(seal.window, check);
    if (!(await sealRowIntact(client, seal.auditId))) {
      check.ok = false;
      add({ kind: 'seal-changed', window: seal.window, message: `the latest seal of window ${seal.window} (audit row ${seal.auditId}) was changed after it was written: its hashes no longer match its content (run audit verify)` });
    }
    const root = await recomputeRoot(client, seal.window, options.signal);
    if (root.versions !== seal.versions || root.root !== seal.root) {
      check.ok = false;
      add({
        kind: 'seal-record-changed',
        window: seal.window,
        message: `the record of what window ${seal.window}'s seal covered was changed: ${root.versions} sealed version(s) with root ${root.root}, the seal (audit row ${seal.auditId}) says ${seal.versions} with root ${seal.root}`,
      });
    }
  }

  const months = [...checks.keys()];
  const diff = months.length === 0 ? [] : (await client.query<DiffRow>(DIFF(), [months])).rows;
  for (const r of diff) {
    const window = checks.has(r.window) ? r.window : (r.now_window ?? r.window);
    const check = checks.get(window);
    const who = `version ${r.version_id}${r.session_id ? ` (session ${r.session_id}, message ${r.message_id})` : ''}`;
    if (!r.present) {
      if (r.disposed_as_sealed) {
        if (check) check.disposed++;
        continue;
      }
      if (check) check.ok = false;
      add({
        kind: 'removed',
        window: r.window,
        versionId: r.version_id,
        message:
          r.disposal_audit_id !== null
            ? `version ${r.version_id} of window ${r.window} is gone, and the disposal that lists it (audit row ${r.disposal_audit_id}) does not describe the version that was sealed`
            : `version ${r.version_id} of window ${r.window} was removed: its seal covers it and no retention disposal lists it`,
      });
      continue;
    }
    if (!r.sealed) {
      if (r.queued) {
        if (check) check.queued++;
        continue;
      }
      if (check) check.ok = false;
      add({ kind: 'added', window: r.window, versionId: r.version_id, message: `${who} was added to window ${r.window} behind its seal: no seal covers it and the archive's insert path never queued it` });
      continue;
    }
    if (check) check.ok = false;
    if (r.leaf_changed) {
      const moved = r.now_window !== null && r.now_window !== r.window ? ` (its action time now puts it in window ${r.now_window})` : '';
      add({ kind: 'changed', window: r.window, versionId: r.version_id, message: `${who} of window ${r.window} was changed: its identity (session, message, kind, times or content hash) is not the one its seal covered${moved}` });
    } else if (r.content_ok === false) {
      add({ kind: 'changed', window: r.window, versionId: r.version_id, message: `${who} of window ${r.window} was changed: its raw item no longer matches its content hash` });
    } else {
      add({ kind: 'changed', window: r.window, versionId: r.version_id, message: `${who} of window ${r.window} was changed: its body, sender, receiver, reply or files columns no longer match its raw item` });
    }
  }

  const counts = await client.query<{ window: string; versions: number; sealed: boolean }>(
    `SELECT to_char(archive.month_of(action_at), 'YYYY-MM-DD') AS window, count(*)::int AS versions,
            archive.month_of(action_at) = ANY($1::date[]) AS sealed
     FROM archive.message_versions ${options.window ? 'WHERE archive.month_of(action_at) = $2::date' : ''}
     GROUP BY 1, 3 ORDER BY 1`,
    options.window ? [months, options.window] : [months],
  );
  let versionsChecked = 0;
  const unsealed: ArchiveVerification['unsealed'] = [];
  for (const r of counts.rows) {
    const check = checks.get(r.window);
    if (check) {
      check.versions = r.versions;
      versionsChecked += r.versions;
    } else {
      unsealed.push({ window: r.window, versions: r.versions });
    }
  }
  const windows = [...checks.values()];
  return { ok: findings.length === 0 && windows.every((w) => w.ok), windows, versionsChecked, unsealed, findings };
}

/** The seal row's own chain hashes, recomputed here (the full walk is `audit verify`). */
async function sealRowIntact(client: PoolClient, auditId: number): Promise<boolean> {
  const r = (await client.query<AuditChainRow>(`SELECT ${AUDIT_ROW_COLUMNS} FROM archive.audit_log WHERE id = $1`, [auditId])).rows[0];
  if (!r) return false;
  return chainRowContentSha256(r).equals(r.content_sha256) && auditRowSha256(r.prev_hash, r.chain_seq, r.id, r.content_sha256).equals(r.row_hash);
}

const LEAF_CURSOR = 'zca_leaves';

/** A window's root recomputed here from its recorded leaves, streamed in version-id order. */
async function recomputeRoot(client: PoolClient, window: string, signal?: AbortSignal): Promise<{ versions: number; root: string }> {
  const versions = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.sealed_versions WHERE month_start = $1::date', [window])).rows[0]?.n ?? 0;
  const hasher = new WindowRootHasher(window, versions);
  await client.query(`DECLARE ${LEAF_CURSOR} NO SCROLL CURSOR FOR SELECT leaf FROM archive.sealed_versions WHERE month_start = $1::date ORDER BY version_id`, [window]);
  try {
    for (;;) {
      throwIfAborted(signal);
      const rows = (await client.query<{ leaf: Buffer }>(`FETCH 20000 FROM ${LEAF_CURSOR}`)).rows;
      for (const r of rows) hasher.update(r.leaf);
      if (rows.length < 20000) break;
    }
  } finally {
    await client.query(`CLOSE ${LEAF_CURSOR}`);
  }
  let root: string;
  try {
    root = hasher.digest().toString('hex');
  } catch {
    root = '(leaves changed while read)';
  }
  return { versions, root };
}
