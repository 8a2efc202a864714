import type { Clock } from '../util/clock.js';
import type { ChaosOptions, FaultInjector, FaultRule } from './faults.js';
import { jsonResponse, type SimResponse } from './sim-response.js';
import type { SimulatorStats } from './stats.js';

/**
 * `/__sim/…`: drive a simulator that runs in another process (the standalone one) over HTTP.
 * Never authenticated, rate limited, delayed or faulted, and never counted in the stats.
 *
 * - `GET  /__sim/health`  → `{ ok: true }`
 * - `GET  /__sim/stats`   → the stats (as `stats()` returns them)
 * - `GET  /__sim/faults`  → pending fault rules (`remaining: null` means Infinity)
 * - `POST /__sim/faults`  → body: a rule, an array of rules, `{ "rules": [...] }`,
 *                           `{ "clear": true }` or `{ "chaos": {...} | null }`; answers the ids and pending rules.
 *                           JSON has no Infinity: write `"times": null` or `"times": "Infinity"`.
 * - `DELETE /__sim/faults` → clears every rule and chaos
 * - `POST /__sim/reset`   → clears faults and chaos, resets stats and rate-limit budgets
 * - `GET  /__sim/clock`   → `{ now }`: the instant the account is shown as of
 * - `POST /__sim/clock`   → body `{ "now": "<ISO date-time>" }` or `{ "advanceMs": n }` moves a
 *                           pinned clock (started with `--clock`); what happened by then appears
 *                           (409 when the simulator follows the system clock)
 */

export interface ControlTarget {
  faults: FaultInjector;
  stats(): SimulatorStats;
  reset(): void;
  clock: Clock;
  /** Present when the clock is pinned and may be moved (never backwards). */
  moveClock?: ((toMs: number) => void) | undefined;
}

function badRequest(message: string): SimResponse {
  return jsonResponse(400, { error: message });
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as unknown) };
  } catch {
    return { ok: false };
  }
}

function postFaults(target: ControlTarget, value: unknown): SimResponse {
  const ids: number[] = [];
  try {
    if (Array.isArray(value)) {
      for (const rule of value) ids.push(target.faults.inject(rule as FaultRule));
    } else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      if (record['clear'] === true) target.faults.clear();
      if ('chaos' in record) target.faults.chaos((record['chaos'] ?? null) as ChaosOptions | null);
      if (Array.isArray(record['rules'])) for (const rule of record['rules']) ids.push(target.faults.inject(rule as FaultRule));
      if ('fault' in record) ids.push(target.faults.inject(record as unknown as FaultRule));
    } else {
      return badRequest('expected a fault rule, an array of rules, {rules}, {clear} or {chaos}');
    }
  } catch (err) {
    return badRequest(err instanceof Error ? err.message : String(err));
  }
  return jsonResponse(200, { ids, pending: target.faults.pending() });
}

function postClock(target: ControlTarget, value: unknown): SimResponse {
  if (!target.moveClock) return jsonResponse(409, { error: 'this simulator follows the system clock; start it with --clock to move time' });
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const nowMs = target.clock.now().getTime();
  let toMs: number;
  if (typeof record['now'] === 'string') toMs = Date.parse(record['now']);
  else if (typeof record['advanceMs'] === 'number') toMs = nowMs + record['advanceMs'];
  else return badRequest('expected {"now": "<ISO date-time>"} or {"advanceMs": <milliseconds>}');
  if (!Number.isFinite(toMs)) return badRequest('now: expected an ISO date-time such as 2026-03-01T12:00:00Z');
  if (toMs < nowMs) return badRequest(`the clock only moves forward (it is ${new Date(nowMs).toISOString()})`);
  target.moveClock(toMs);
  return jsonResponse(200, { now: new Date(toMs).toISOString() });
}

export function handleControlRequest(target: ControlTarget, method: string, path: string, body: Buffer): SimResponse {
  const route = `${method} ${path.replace(/\/+$/, '')}`;
  switch (route) {
    case 'GET /__sim/health':
      return jsonResponse(200, { ok: true });
    case 'GET /__sim/stats':
      return jsonResponse(200, target.stats());
    case 'GET /__sim/faults':
      return jsonResponse(200, { pending: target.faults.pending() });
    case 'DELETE /__sim/faults':
      target.faults.clear();
      return jsonResponse(200, { pending: [] });
    case 'POST /__sim/faults': {
      const parsed = parseJson(body);
      return parsed.ok ? postFaults(target, parsed.value) : badRequest('body is not valid JSON');
    }
    case 'POST /__sim/reset':
      target.reset();
      return jsonResponse(200, { ok: true });
    case 'GET /__sim/clock':
      return jsonResponse(200, { now: target.clock.now().toISOString(), movable: target.moveClock !== undefined });
    case 'POST /__sim/clock': {
      const parsed = parseJson(body);
      return parsed.ok ? postClock(target, parsed.value) : badRequest('body is not valid JSON');
    }
    default:
      return jsonResponse(404, { error: `no simulator control route ${route}` });
  }
}
