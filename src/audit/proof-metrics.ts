import { Counter, Gauge, type Registry } from 'prom-client';
import type { Queryable } from '../db/pool.js';
import { headHashPrefix } from './head.js';
import { loadProofStatus } from './proof-status.js';

/**
 * /metrics for the archive's proofs, read from the database at scrape time like the other archive
 * gauges (src/service/metrics.ts calls `refresh`): the chain's length and a number made of its head
 * hash (publishing the head where the database cannot reach: a rewrite of the history shows as a
 * jump no append explains), the windows sealed, the versions waiting for a seal, and the versions
 * retention has disposed of. Present from start-up with value 0.
 */
export class ProofMetrics {
  private readonly chainLength: Gauge;
  private readonly headPrefix: Gauge;
  private readonly windowsSealed: Gauge;
  private readonly waiting: Gauge;
  private readonly disposed: Counter;
  private disposedSeen: number | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    this.chainLength = new Gauge({ name: 'zca_audit_chain_length', help: 'Rows in the audit hash chain (its head position); it only grows', registers });
    this.headPrefix = new Gauge({
      name: 'zca_audit_chain_head_hash_prefix',
      help: 'The first 48 bits of the audit chain head hash, as a number: changes with every audit row; keep its history outside the database',
      registers,
    });
    this.windowsSealed = new Gauge({ name: 'zca_audit_windows_sealed', help: 'Windows with at least one seal', registers });
    this.waiting = new Gauge({ name: 'zca_audit_versions_waiting_for_seal', help: 'Versions that arrived for sealed windows and wait for the next seal', registers });
    this.disposed = new Counter({ name: 'zca_retention_disposed_versions_total', help: 'Message versions disposed of by retention (from the audit log: any replica or CLI)', registers });
    for (const g of [this.chainLength, this.headPrefix, this.windowsSealed, this.waiting]) g.set(0);
    this.disposed.inc(0);
  }

  async refresh(db: Queryable): Promise<void> {
    const s = await loadProofStatus(db);
    this.chainLength.set(s.chain_head?.chain_seq ?? 0);
    this.headPrefix.set(s.chain_head ? headHashPrefix(s.chain_head.row_hash) : 0);
    this.windowsSealed.set(s.windows_sealed);
    this.waiting.set(s.versions_waiting_for_seal);
    // A counter: what the archive shows disposed of, added as it grows (the first scrape starts it).
    const total = s.retention.versions_disposed;
    const delta = total - (this.disposedSeen ?? 0);
    if (delta > 0) this.disposed.inc(delta);
    this.disposedSeen = Math.max(total, this.disposedSeen ?? 0);
  }
}
