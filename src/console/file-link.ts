import type { ChatFileRow } from '../read-model/chat-files.js';
import { formatBytes } from '../util/bytes.js';

/**
 * What a transcript shows of each file a message references: its name and declared size from the
 * version, and from the capture stage (view chat_files) whether its content is in the archive. Zoom's
 * download URLs are never shown (they are credentials of a sort and expire); stored content is
 * served by the console itself (`/ui/files/{sha256}`, role exporter, audited like the API's download).
 */
export interface MessageFile {
  id: string | null;
  name: string;
  sizeBytes: number | null;
}

/** The capture rows of a transcript page, by message and Zoom file id. */
export class FileCaptures {
  private readonly byKey = new Map<string, ChatFileRow>();

  constructor(
    rows: readonly ChatFileRow[],
    /** Whether the reader may download content (role exporter or admin). */
    readonly canDownload: boolean,
  ) {
    // Rows come in version order: a later version's entry for the same file wins.
    for (const r of rows) if (r.fileId !== null) this.byKey.set(`${r.messageId}\u0000${r.fileId}`, r);
  }

  of(messageId: string, file: MessageFile): ChatFileRow | undefined {
    return file.id === null ? undefined : this.byKey.get(`${messageId}\u0000${file.id}`);
  }
}

/** The console path of a file's stored content, when there is one and the reader may download it. */
export function fileLink(capture: ChatFileRow | undefined, canDownload: boolean): string | undefined {
  return canDownload && capture?.state === 'stored' && capture.sha256 ? `/ui/files/${capture.sha256}` : undefined;
}

/** One line on what the archive holds of a file (and any mismatch with what Zoom declared). */
export function captureNote(capture: ChatFileRow | undefined): string {
  if (!capture) return 'not captured yet';
  const mismatch = [capture.digestMismatch ? "its SHA-256 differs from Zoom's digest" : '', capture.sizeMismatch ? 'its size differs from what Zoom declared' : ''].filter(Boolean).join('; ');
  const withMismatch = (text: string) => (mismatch ? `${text}; kept as received, but ${mismatch}` : text);
  switch (capture.state) {
    case 'stored':
      return withMismatch(`stored${capture.storedBytes !== null ? `, ${formatBytes(capture.storedBytes)}` : ''}, SHA-256 ${capture.sha256?.slice(0, 12) ?? '?'}…`);
    case 'gone':
      return `Zoom no longer has it${capture.firstMissingAt ? ` (missing since ${capture.firstMissingAt.toISOString().slice(0, 10)})` : ''}`;
    case 'too_large':
      return 'not captured: over the size limit (FILES_MAX_BYTES)';
    case 'failed':
      return `capture failed after ${capture.attempts} attempt${capture.attempts === 1 ? '' : 's'}${capture.lastError ? `: ${capture.lastError}` : ''}`;
    case 'skipped':
      return 'not captured (skipped)';
    default:
      return 'not captured yet';
  }
}

/** The files of a version as Zoom listed them (`files`: file_id, file_name, file_size). */
export function filesOf(files: unknown): MessageFile[] {
  if (!Array.isArray(files)) return [];
  return files
    .filter((f): f is Record<string, unknown> => typeof f === 'object' && f !== null)
    .map((f) => ({
      id: typeof f['file_id'] === 'string' ? f['file_id'] : null,
      name: typeof f['file_name'] === 'string' && f['file_name'] !== '' ? f['file_name'] : '(unnamed file)',
      sizeBytes: typeof f['file_size'] === 'number' ? f['file_size'] : typeof f['file_size'] === 'string' && /^\d+$/.test(f['file_size']) ? Number(f['file_size']) : null,
    }));
}
