import { z } from 'zod';
import type { ArchiveProof } from '../audit/export-proof.js';
import type { ExportCounts, ExportFilter, ExportFormat } from './types.js';

/**
 * manifest.json, the last entry of every bundle: what was exported, by whom, when, with which
 * tool, and for every other entry its path, size and SHA-256 (of the entry's uncompressed bytes).
 * `export verify` needs nothing else to check a bundle.
 */

export const MANIFEST_PATH = 'manifest.json';
export const MANIFEST_FORMAT = 'zoom-chat-archiver/export-bundle';
export const MANIFEST_FORMAT_VERSION = 1;

export interface ManifestEntry {
  path: string;
  bytes: number;
  sha256: string;
}

export interface LegalHoldFileNote {
  path: string;
  custodian: string;
  file_key: string;
  file_start_date: string | null;
  file_end_date: string | null;
}

/**
 * A file shared in the exported messages (issue 13): its capture state, and where its content is
 * in the bundle when it was stored (`path`; null otherwise: pending, failed, gone, too_large, skipped).
 */
export interface AttachmentNote {
  file_id: string;
  file_name: string | null;
  state: string;
  path: string | null;
  sha256: string | null;
  bytes: number | null;
  zoom_digest: string | null;
  digest_mismatch: boolean;
  first_missing_at: string | null;
}

export interface BundleManifest {
  format: typeof MANIFEST_FORMAT;
  format_version: number;
  bundle_id: string;
  tool: { name: string; version: string };
  created_at: string;
  requested_by: string;
  filter: ExportFilter;
  formats: ExportFormat[];
  counts: ExportCounts;
  /** Times in the bundle are UTC. */
  time_zone: 'UTC';
  legal_hold_files: LegalHoldFileNote[];
  /** Every file the exported messages reference, each once by Zoom file id, with its state. */
  attachments: AttachmentNote[];
  /** The audit chain's head and the seals of the exported windows, as of the export's snapshot (src/audit/export-proof.ts). */
  archive_proof: ArchiveProof;
  entries: ManifestEntry[];
}

const counts = z.object({
  sessions: z.number().int().nonnegative(),
  messages: z.number().int().nonnegative(),
  versions: z.number().int().nonnegative(),
  edits: z.number().int().nonnegative(),
  deletions: z.number().int().nonnegative(),
  files: z.number().int().nonnegative(),
});

/** What `export verify` insists on; unknown keys are allowed so later versions stay verifiable. */
export const manifestSchema = z.looseObject({
  format: z.literal(MANIFEST_FORMAT),
  format_version: z.number().int().positive(),
  bundle_id: z.string().min(1),
  tool: z.looseObject({ name: z.string(), version: z.string() }),
  created_at: z.string(),
  requested_by: z.string(),
  filter: z.looseObject({ kind: z.string() }),
  formats: z.array(z.string()),
  counts,
  attachments: z
    .array(
      z.looseObject({
        file_id: z.string(),
        state: z.string(),
        path: z.string().nullable(),
        sha256: z.string().nullable(),
      }),
    )
    .optional(),
  entries: z.array(
    z.object({
      path: z.string().min(1),
      bytes: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex characters'),
    }),
  ),
});

export type ParsedManifest = z.infer<typeof manifestSchema>;

export function renderManifest(manifest: BundleManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
}
