import { createHash, type Hash } from 'node:crypto';
import { InternalError } from '../errors.js';

/**
 * The encodings behind the archive's proofs, computed here independently of the database functions
 * that write them (migrations/0008_tamper_evidence.sql: archive.proof_field, proof_time,
 * audit_content_sha256, audit_row_sha256, version_leaf, window_root). A verifier that trusted the
 * database to recompute its own hashes would prove little; this one only asks the database for the
 * stored values. README, "Tamper evidence", describes the same encodings for an auditor who wants
 * to write their own check.
 *
 * - A field: 0x00 for NULL, else 0x01, its UTF-8 byte length (4 bytes, big-endian), its UTF-8 bytes.
 * - A time: UTC with microseconds, `2026-11-21T15:00:00.123456Z`.
 * - An audit row's content hash: SHA-256 of `zca-audit-content/1` and the fields at, actor, action,
 *   subject_type, subject_id, before, after, details (jsonb as PostgreSQL's canonical text).
 * - An audit row's hash: SHA-256 of `zca-audit-row/1`, the previous row's hash (32 zero bytes before
 *   the first row), its position and id (8 bytes each, big-endian) and its content hash.
 * - A version's leaf: SHA-256 of `zca-version-leaf/1`, its id (8 bytes), the fields session_id,
 *   message_id, kind, action time, send time, and its content_sha256 (32 bytes).
 * - A window's seal root: SHA-256 of `zca-window-seal/1`, the field window (`yyyy-mm-dd`), the
 *   number of leaves (8 bytes), and the leaves in version-id order.
 */

export const HASH_BYTES = 32;
export const ZERO_HASH: Buffer = Buffer.alloc(HASH_BYTES);

const CONTENT_TAG = Buffer.from('zca-audit-content/1', 'utf8');
const ROW_TAG = Buffer.from('zca-audit-row/1', 'utf8');
const LEAF_TAG = Buffer.from('zca-version-leaf/1', 'utf8');
const SEAL_TAG = Buffer.from('zca-window-seal/1', 'utf8');
const NULL_FIELD = Buffer.from([0]);

export function proofField(value: string | null): Buffer {
  if (value === null) return NULL_FIELD;
  const bytes = Buffer.from(value, 'utf8');
  const head = Buffer.alloc(5);
  head[0] = 1;
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

function int8(value: number | bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigInt64BE(BigInt(value));
  return out;
}

/**
 * A time from microseconds since the epoch (as PostgreSQL gives them: `extract(epoch from t) * 1e6`),
 * in the hashed form. Whole microseconds: timestamptz has no finer precision.
 */
export function proofTime(epochMicros: bigint | string | number | null): string | null {
  if (epochMicros === null) return null;
  const us = BigInt(epochMicros);
  const ms = us / 1000n - (us % 1000n < 0n ? 1n : 0n);
  const micros = Number(us - ms * 1000n);
  const iso = new Date(Number(ms)).toISOString();
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

/** SQL giving a timestamptz column as the microseconds proofTime takes (exact: numeric, then bigint). */
export function epochMicrosSql(column: string): string {
  return `(extract(epoch FROM ${column}) * 1000000)::bigint::text`;
}

export interface AuditContent {
  /** Microseconds since the epoch. */
  atMicros: string | bigint;
  actor: string;
  action: string;
  subjectType: string | null;
  subjectId: string | null;
  /** jsonb columns as PostgreSQL's text form (`before::text`), or null. */
  beforeText: string | null;
  afterText: string | null;
  detailsText: string | null;
}

/** SHA-256 of a tag, then each part as it is: every hash of the proofs is one of these. */
function taggedSha256(tag: Buffer, ...parts: Buffer[]): Buffer {
  const hash = createHash('sha256').update(tag);
  for (const part of parts) hash.update(part);
  return hash.digest();
}

export function auditContentSha256(row: AuditContent): Buffer {
  const fields = [proofTime(row.atMicros), row.actor, row.action, row.subjectType, row.subjectId, row.beforeText, row.afterText, row.detailsText];
  return taggedSha256(CONTENT_TAG, ...fields.map(proofField));
}

/** An audit row as the verifiers read it: jsonb as text, the time in microseconds (AUDIT_ROW_COLUMNS). */
export interface AuditChainRow {
  id: number;
  chain_seq: number;
  at_us: string;
  actor: string;
  action: string;
  subject_type: string | null;
  subject_id: string | null;
  before_text: string | null;
  after_text: string | null;
  details_text: string | null;
  prev_hash: Buffer;
  content_sha256: Buffer;
  row_hash: Buffer;
}

/** The select list that reads archive.audit_log rows as AuditChainRow. */
export const AUDIT_ROW_COLUMNS = `id, chain_seq, ${epochMicrosSql('at')} AS at_us, actor, action, subject_type, subject_id,
  before::text AS before_text, after::text AS after_text, details::text AS details_text, prev_hash, content_sha256, row_hash`;

/** The content hash of a row as read, to compare with the one the database recorded on insert. */
export function chainRowContentSha256(r: AuditChainRow): Buffer {
  return auditContentSha256({
    atMicros: r.at_us,
    actor: r.actor,
    action: r.action,
    subjectType: r.subject_type,
    subjectId: r.subject_id,
    beforeText: r.before_text,
    afterText: r.after_text,
    detailsText: r.details_text,
  });
}

export function auditRowSha256(prevHash: Buffer, chainSeq: number | bigint, auditId: number | bigint, contentSha256: Buffer): Buffer {
  return taggedSha256(ROW_TAG, prevHash, int8(chainSeq), int8(auditId), contentSha256);
}

export interface VersionIdentity {
  versionId: number | bigint | string;
  sessionId: string;
  messageId: string;
  kind: string;
  /** In the hashed form (proofTime): `2026-11-21T15:00:00.123000Z`. */
  actionAt: string;
  sentAt: string | null;
  contentSha256: Buffer;
}

export function versionLeaf(v: VersionIdentity): Buffer {
  const fields = [v.sessionId, v.messageId, v.kind, v.actionAt, v.sentAt];
  return taggedSha256(LEAF_TAG, int8(BigInt(v.versionId)), ...fields.map(proofField), v.contentSha256);
}

/** A window's seal root, fed its leaves in version-id order (memory stays flat whatever the count). */
export class WindowRootHasher {
  private readonly hash: Hash;
  private fed = 0;

  constructor(
    readonly monthStart: string,
    readonly leaves: number,
  ) {
    this.hash = createHash('sha256').update(SEAL_TAG).update(proofField(monthStart)).update(int8(leaves));
  }

  update(leaf: Buffer): void {
    this.hash.update(leaf);
    this.fed++;
  }

  digest(): Buffer {
    if (this.fed !== this.leaves) throw new InternalError(`window ${this.monthStart}: ${this.fed} leaves fed, ${this.leaves} announced`);
    return this.hash.digest();
  }
}

export const hex = (b: Buffer | null | undefined): string | null => (b ? b.toString('hex') : null);
