import type { FaultKind } from './faults.js';

/**
 * What the simulator saw: requests per endpoint and outcome, 429s split by cause (the server's own
 * pacing vs injected faults; a client that paces well sees none of the first), tokens handed out,
 * and optionally every request (for tests that assert the exact calls an archiver made).
 */

/** A response status, or `reset` when the connection was destroyed instead. */
export type Outcome = number | 'reset';

export interface RequestLogEntry {
  /** Clock reading when the request arrived (epoch ms). */
  atMs: number;
  method: string;
  endpoint: string;
  path: string;
  /** Query parameters (the last value of a repeated one). Access tokens never travel in the query. */
  query: Record<string, string>;
  outcome: Outcome;
  fault?: FaultKind;
}

export interface EndpointStats {
  requests: number;
  /** Keyed by status code, or `reset`. */
  byStatus: Record<string, number>;
}

export interface SimulatorStats {
  requests: number;
  byEndpoint: Record<string, EndpointStats>;
  rateLimited: {
    /** 429s from the server's own per-second pacing. */
    pacedQps: number;
    /** 429s from the daily cap. */
    pacedDaily: number;
    /** 429s injected by a fault rule or chaos. */
    injected: number;
  };
  faultsApplied: Partial<Record<FaultKind, number>>;
  accessTokensIssued: number;
  pageTokensIssued: number;
  pageTokensRejected: number;
  /** Present when the simulator was started with `recordRequests: true`. */
  requestLog?: RequestLogEntry[];
}

export class StatsRecorder {
  private stats: SimulatorStats;

  constructor(private readonly recordRequests: boolean) {
    this.stats = this.empty();
  }

  private empty(): SimulatorStats {
    return {
      requests: 0,
      byEndpoint: {},
      rateLimited: { pacedQps: 0, pacedDaily: 0, injected: 0 },
      faultsApplied: {},
      accessTokensIssued: 0,
      pageTokensIssued: 0,
      pageTokensRejected: 0,
      ...(this.recordRequests ? { requestLog: [] } : {}),
    };
  }

  record(entry: RequestLogEntry): void {
    const s = this.stats;
    s.requests++;
    const e = (s.byEndpoint[entry.endpoint] ??= { requests: 0, byStatus: {} });
    e.requests++;
    const key = String(entry.outcome);
    e.byStatus[key] = (e.byStatus[key] ?? 0) + 1;
    if (entry.fault) s.faultsApplied[entry.fault] = (s.faultsApplied[entry.fault] ?? 0) + 1;
    s.requestLog?.push(entry);
  }

  countPaced(type: 'qps' | 'daily'): void {
    if (type === 'qps') this.stats.rateLimited.pacedQps++;
    else this.stats.rateLimited.pacedDaily++;
  }

  countInjectedRateLimit(): void {
    this.stats.rateLimited.injected++;
  }

  /** A deep copy, with counters kept elsewhere filled in. */
  snapshot(counters: { accessTokensIssued: number; pageTokensIssued: number; pageTokensRejected: number }): SimulatorStats {
    return structuredClone({ ...this.stats, ...counters });
  }

  reset(): void {
    this.stats = this.empty();
  }
}
