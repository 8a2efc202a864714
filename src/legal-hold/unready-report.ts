import type { Queryable } from '../db/pool.js';

/**
 * Files Zoom has listed but not made ready for longer than `LEGAL_HOLD_UNREADY_WARN_HOURS`: Zoom
 * prepares legal-hold zips in the background, and one that never becomes ready is a file the
 * archive does not have. Every run reports them until they are ready (or their matter is gone).
 */

export interface UnreadyFile {
  matterId: string;
  matterName: string;
  custodian: string;
  fileKey: string;
  firstSeenAt: Date;
  waitingHours: number;
}

export async function findUnreadyFiles(db: Queryable, options: { now: Date; warnHours: number; matterId?: string | undefined }): Promise<UnreadyFile[]> {
  const res = await db.query<{ matter_id: string; matter_name: string; custodian: string; file_key: string; first_seen_at: Date }>(
    `SELECT f.matter_id, m.matter_name, f.custodian, f.file_key, f.first_seen_at
     FROM archive.legal_hold_files f
     JOIN archive.legal_hold_matters m ON m.matter_id = f.matter_id
     WHERE f.state = 'pending' AND m.state = 'active'
       AND f.first_seen_at <= $1::timestamptz - make_interval(hours => $2::int)
       AND ($3::text IS NULL OR f.matter_id = $3)
     ORDER BY f.first_seen_at, f.matter_id, f.custodian, f.file_key`,
    [options.now, options.warnHours, options.matterId ?? null],
  );
  return res.rows.map((r) => ({
    matterId: r.matter_id,
    matterName: r.matter_name,
    custodian: r.custodian,
    fileKey: r.file_key,
    firstSeenAt: r.first_seen_at,
    waitingHours: Math.floor((options.now.getTime() - r.first_seen_at.getTime()) / 3_600_000),
  }));
}
