/**
 * A byte count for people, in binary units (1 KiB = 1,024 bytes), the way every size in this program
 * is counted: `512 B`, `1.5 KiB`, `12.3 MiB`, `1.0 GiB`.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}
