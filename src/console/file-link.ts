/**
 * Where a file a message references links to. Zoom's download URLs are never shown (they are
 * credentials of a sort and expire). When captured file content is served by the archive, this is
 * the one place to return its console path; until then files are listed by name and size only.
 */
export interface MessageFile {
  id: string | null;
  name: string;
  sizeBytes: number | null;
}

export function fileLink(_sessionId: string, _messageId: string, _file: MessageFile): string | undefined {
  return undefined;
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
