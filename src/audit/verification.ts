import { performance } from 'node:perf_hooks';
import { READ_ONLY_SNAPSHOT, withTransaction, type Pool, type PoolClient } from '../db/pool.js';

/**
 * What `audit verify` (verify-chain.ts) and `archive verify` (seals.ts) run the same way: the whole
 * check in one read-only REPEATABLE READ snapshot, timed, and its findings capped at a number.
 */

/** `verify` in one read-only snapshot, with how long it took. */
export async function verifyInReadOnlySnapshot<T extends object>(pool: Pool, verify: (client: PoolClient) => Promise<T>): Promise<T & { durationMs: number }> {
  const started = performance.now();
  const result = await withTransaction(pool, verify, READ_ONLY_SNAPSHOT);
  return { ...result, durationMs: Math.round(performance.now() - started) };
}

/** Findings in order of discovery; those after the first `max` are dropped. */
export function cappedFindings<F>(max: number): { findings: F[]; add: (finding: F) => void } {
  const findings: F[] = [];
  const add = (finding: F) => {
    if (findings.length < max) findings.push(finding);
  };
  return { findings, add };
}
