import path from 'node:path';

/**
 * Where bundles go. Default: `ARCHIVE_DATA_DIR/exports/zoom-chat-export-<UTC time>-<id prefix>.zip`.
 * While an export runs, its zip is `<final>.<export id>.tmp` and its spool `<final>.<export id>.spool.tmp`:
 * the export id in the name lets a later export tell a dead process's leftovers from a live one's.
 */

export const EXPORTS_DIR_NAME = 'exports';

export function exportsDir(dataDir: string): string {
  return path.join(dataDir, EXPORTS_DIR_NAME);
}

export function defaultBundlePath(dataDir: string, exportId: string, createdAt: Date): string {
  const stamp = createdAt.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return path.join(exportsDir(dataDir), `zoom-chat-export-${stamp}-${exportId.slice(0, 8)}.zip`);
}

export function tmpPathFor(finalPath: string, exportId: string): string {
  return `${finalPath}.${exportId}.tmp`;
}

export function spoolPathFor(finalPath: string, exportId: string): string {
  return `${finalPath}.${exportId}.spool.tmp`;
}

/** The export id inside a leftover's name, if the name is one of ours. */
export function exportIdOfLeftover(fileName: string): string | undefined {
  return /\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(?:spool\.)?tmp$/.exec(fileName)?.[1];
}

/** How the path is recorded in the exports row: relative to ARCHIVE_DATA_DIR when inside it. */
export function recordedPath(dataDir: string, absolutePath: string): string {
  const relative = path.relative(dataDir, absolutePath);
  return relative.startsWith('..') || path.isAbsolute(relative) ? absolutePath : relative;
}

export function resolveRecordedPath(dataDir: string, recorded: string): string {
  return path.isAbsolute(recorded) ? recorded : path.join(dataDir, recorded);
}
