import { Rng } from './random.js';
import type { RateLimitType, RetryAfterStyle } from './rate-limits.js';

/**
 * Scripted failures. A rule says which requests it matches, what goes wrong, how many times, and how
 * many matching requests to let through first. Rules are checked in the order they were injected;
 * every matching rule counts the request, the first one with an application left fires. Chaos mode
 * adds random faults from a list to API calls, from its own seeded generator so runs repeat.
 */

export type Fault =
  | { kind: 'status'; status: number; body?: unknown; contentType?: string }
  | { kind: 'rate-limit'; type: RateLimitType; retryAfter?: RetryAfterStyle }
  /** Destroy the socket before any response. */
  | { kind: 'reset' }
  /** Headers with the full Content-Length and part of the body, then destroy the socket. */
  | { kind: 'reset-mid-body' }
  /** Wait, then answer normally. */
  | { kind: 'slow'; delayMs: number }
  /** 400 / 300 as if the request's page token had expired (it is then really forgotten). */
  | { kind: 'expire-page-token' }
  /** 401 / 124 "Access token is expired." and the caller's token really expires. */
  | { kind: 'expire-oauth-token' }
  /** A 2xx-looking response whose body is cut short, so it is not valid JSON. */
  | { kind: 'invalid-json' }
  /** The real body padded to at least `bytes` bytes (a leading unknown key), streamed. */
  | { kind: 'huge-body'; bytes: number };

export type FaultKind = Fault['kind'];

export interface FaultMatch {
  /** `oauth.token`, `report.chat.sessions`, `report.chat.session_messages`, … */
  endpoint?: string;
  sessionId?: string;
  hasPageToken?: boolean;
  /** Every listed query parameter must have exactly this value. */
  queryIncludes?: Record<string, string>;
}

export interface FaultRule {
  match?: FaultMatch;
  fault: Fault;
  /** How many times it fires (default 1; `Infinity` for always). */
  times?: number;
  /** Let this many matching requests through before firing. */
  afterMatches?: number;
}

export interface PendingFault {
  id: number;
  match: FaultMatch;
  fault: Fault;
  /** Applications left (`Infinity` for always; JSON shows it as null). */
  remaining: number;
  afterMatches: number;
  matched: number;
  applied: number;
}

export interface ChaosOptions {
  /** Chance in [0, 1] that an API call gets a fault. */
  probability: number;
  /** Faults to choose from, uniformly. */
  kinds: Fault[];
  seed?: number;
  /** Endpoints chaos may hit (default: every `/v2` endpoint; add `oauth.token` to include it). */
  endpoints?: string[];
}

/** What a rule can match on; built by the server for each request. */
export interface RequestFacts {
  endpoint: string;
  sessionId?: string;
  query: URLSearchParams;
  /** `/v2` calls are API calls; the token endpoint is not (chaos leaves it alone by default). */
  isApiCall: boolean;
}

export interface FaultController {
  /** Adds a rule; returns its id. Throws a `TypeError` naming the problem when the rule is invalid. */
  inject(rule: FaultRule): number;
  clear(): void;
  pending(): PendingFault[];
  /** Turns chaos mode on, or off with `null`. */
  chaos(options: ChaosOptions | null): void;
}

const STATUS_MIN = 100;
const STATUS_MAX = 599;

function fail(message: string): never {
  throw new TypeError(`invalid fault rule: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a fault from untrusted JSON (the control endpoint) as well as from code. */
export function parseFault(value: unknown): Fault {
  if (!isRecord(value)) fail('fault must be an object');
  switch (value['kind']) {
    case 'status': {
      const status = value['status'];
      if (typeof status !== 'number' || !Number.isInteger(status) || status < STATUS_MIN || status > STATUS_MAX) fail('status must be an HTTP status code');
      const contentType = value['contentType'];
      if (contentType !== undefined && typeof contentType !== 'string') fail('contentType must be a string');
      return { kind: 'status', status, ...(value['body'] === undefined ? {} : { body: value['body'] }), ...(contentType === undefined ? {} : { contentType }) };
    }
    case 'rate-limit': {
      const type = value['type'];
      const retryAfter = value['retryAfter'] ?? (type === 'daily' ? 'date' : 'seconds');
      if (type !== 'qps' && type !== 'daily') fail('rate-limit type must be qps or daily');
      if (retryAfter !== 'seconds' && retryAfter !== 'date' && retryAfter !== 'none') fail('retryAfter must be seconds, date or none');
      return { kind: 'rate-limit', type, retryAfter };
    }
    case 'slow': {
      const delayMs = value['delayMs'];
      if (typeof delayMs !== 'number' || !(delayMs >= 0) || !Number.isFinite(delayMs)) fail('slow needs delayMs >= 0');
      return { kind: 'slow', delayMs };
    }
    case 'huge-body': {
      const bytes = value['bytes'];
      if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0) fail('huge-body needs a whole number of bytes');
      return { kind: 'huge-body', bytes };
    }
    case 'reset':
    case 'reset-mid-body':
    case 'expire-page-token':
    case 'expire-oauth-token':
    case 'invalid-json':
      return { kind: value['kind'] };
    default:
      return fail(`unknown fault kind ${JSON.stringify(value['kind'])}`);
  }
}

function parseMatch(value: unknown): FaultMatch {
  if (value === undefined) return {};
  if (!isRecord(value)) fail('match must be an object');
  const match: FaultMatch = {};
  const { endpoint, sessionId, hasPageToken, queryIncludes } = value;
  if (endpoint !== undefined) match.endpoint = typeof endpoint === 'string' ? endpoint : fail('match.endpoint must be a string');
  if (sessionId !== undefined) match.sessionId = typeof sessionId === 'string' ? sessionId : fail('match.sessionId must be a string');
  if (hasPageToken !== undefined) match.hasPageToken = typeof hasPageToken === 'boolean' ? hasPageToken : fail('match.hasPageToken must be a boolean');
  if (queryIncludes !== undefined) {
    if (!isRecord(queryIncludes) || !Object.values(queryIncludes).every((v) => typeof v === 'string')) fail('match.queryIncludes must map names to strings');
    match.queryIncludes = { ...(queryIncludes as Record<string, string>) };
  }
  return match;
}

/** `times` may be `Infinity`, or (from JSON, which cannot say Infinity) `null` or `"Infinity"`. */
function parseTimes(value: unknown): number {
  if (value === undefined) return 1;
  if (value === null || value === 'Infinity' || value === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1) return value;
  return fail('times must be a whole number >= 1 or Infinity');
}

export function parseFaultRule(value: unknown): Required<FaultRule> & { match: FaultMatch } {
  if (!isRecord(value)) fail('rule must be an object');
  const afterMatches = value['afterMatches'] ?? 0;
  if (typeof afterMatches !== 'number' || !Number.isInteger(afterMatches) || afterMatches < 0) fail('afterMatches must be a whole number >= 0');
  return { match: parseMatch(value['match']), fault: parseFault(value['fault']), times: parseTimes(value['times']), afterMatches };
}

function parseChaos(options: ChaosOptions): ChaosOptions {
  if (!(options.probability >= 0 && options.probability <= 1)) throw new TypeError('invalid chaos options: probability must be between 0 and 1');
  if (!Array.isArray(options.kinds) || options.kinds.length === 0) throw new TypeError('invalid chaos options: kinds must list at least one fault');
  return { ...options, kinds: options.kinds.map(parseFault) };
}

function matches(match: FaultMatch, facts: RequestFacts): boolean {
  if (match.endpoint !== undefined && match.endpoint !== facts.endpoint) return false;
  if (match.sessionId !== undefined && match.sessionId !== facts.sessionId) return false;
  if (match.hasPageToken !== undefined && match.hasPageToken !== Boolean(facts.query.get('next_page_token'))) return false;
  if (match.queryIncludes) {
    for (const [name, value] of Object.entries(match.queryIncludes)) if (facts.query.get(name) !== value) return false;
  }
  return true;
}

export class FaultInjector implements FaultController {
  private rules: PendingFault[] = [];
  private nextId = 1;
  private chaosOptions: ChaosOptions | null = null;
  private chaosRng: Rng | null = null;

  constructor(private readonly defaultSeed: number) {}

  inject(rule: FaultRule): number {
    const parsed = parseFaultRule(rule);
    const id = this.nextId++;
    this.rules.push({ id, match: parsed.match, fault: parsed.fault, remaining: parsed.times, afterMatches: parsed.afterMatches, matched: 0, applied: 0 });
    return id;
  }

  clear(): void {
    this.rules = [];
    this.chaosOptions = null;
    this.chaosRng = null;
  }

  pending(): PendingFault[] {
    return this.rules.map((r) => ({ ...r, match: { ...r.match } }));
  }

  chaos(options: ChaosOptions | null): void {
    this.chaosOptions = options === null ? null : parseChaos(options);
    this.chaosRng = options === null ? null : new Rng(options.seed ?? this.defaultSeed);
  }

  /** The fault for this request, if any; spends one application of it. */
  take(facts: RequestFacts): { fault: Fault; source: 'rule' | 'chaos' } | null {
    let chosen: Fault | null = null;
    for (const rule of this.rules) {
      if (!matches(rule.match, facts)) continue;
      rule.matched++;
      if (chosen !== null || rule.matched <= rule.afterMatches || rule.remaining <= 0) continue;
      rule.remaining--;
      rule.applied++;
      chosen = rule.fault;
    }
    this.rules = this.rules.filter((r) => r.remaining > 0);
    if (chosen) return { fault: chosen, source: 'rule' };
    const chaos = this.chaosOptions;
    if (chaos && this.chaosRng) {
      const eligible = chaos.endpoints ? chaos.endpoints.includes(facts.endpoint) : facts.isApiCall;
      if (eligible && this.chaosRng.chance(chaos.probability)) {
        // Zoom can only call a page token expired when the request carried one.
        const hasPageToken = (facts.query.get('next_page_token') ?? '') !== '';
        const kinds = hasPageToken ? chaos.kinds : chaos.kinds.filter((k) => k.kind !== 'expire-page-token');
        if (kinds.length > 0) return { fault: this.chaosRng.pick(kinds), source: 'chaos' };
      }
    }
    return null;
  }
}
