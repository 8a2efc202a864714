import type { IncomingHttpHeaders } from 'node:http';
import type { IsoDate } from '../domain/types.js';
import type { Clock } from '../util/clock.js';
import type { SimDataset } from './dataset.js';
import type { SimChatMessages } from './chat-message-routes.js';
import type { SimLegalHold } from './legal-hold-state.js';
import type { PageTokenStore } from './page-tokens.js';
import type { SessionListingMode } from './report-selection.js';
import type { RateLabel, SimResponse } from './sim-response.js';

export { jsonResponse, zoomError, type RateLabel, type SimResponse, type StreamedBody } from './sim-response.js';

/**
 * The simulator's `/v2` API as data: each route names its endpoint (for stats and fault matching),
 * its Zoom rate-limit label and the scopes that allow it. The server does authentication, rate
 * limiting, faults and stats for every route the same way, so a new family of endpoints (legal hold)
 * is one more module exporting a `RouteModule`, with no change to the existing ones.
 */

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RouteScopes {
  /** Classic scopes: any one of them allows the call. */
  classic: readonly string[];
  /** Granular scopes: any one of them allows the call; named in the 4711 error. */
  granular: readonly string[];
}

export interface RouteRequest {
  method: HttpMethod;
  /** Path below `/v2`, e.g. `/report/chat/sessions/abc`. */
  path: string;
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The clock reading for this request: the instant the account is shown "as of". */
  nowMs: number;
  /** The UTC day of `nowMs`. */
  today: IsoDate;
}

export interface RouteDefinition {
  method: HttpMethod;
  /** Below `/v2`, with `{name}` for a path segment, e.g. `/report/chat/sessions/{sessionId}`. */
  pattern: string;
  /** Stable name used by stats and fault rules, e.g. `report.chat.session_messages`. */
  endpoint: string;
  rateLabel: RateLabel;
  scopes: RouteScopes;
  handle(request: RouteRequest): SimResponse | Promise<SimResponse>;
}

/** What route modules may use; one shared instance per running simulator. */
export interface RouteContext {
  dataset: SimDataset;
  clock: Clock;
  pageTokens: PageTokenStore;
  sessionListing: SessionListingMode;
  modificationsPaging: 'first-page' | 'every-page';
  /** The account's legal-hold matters and files. */
  legalHold: SimLegalHold;
  /** Chat messages sent through the API (alerts), and who and which channels may receive them. */
  chatMessages: SimChatMessages;
}

export type RouteModule = (context: RouteContext) => readonly RouteDefinition[];

export type RouteMatch =
  | { kind: 'found'; route: RouteDefinition; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: HttpMethod[] }
  | { kind: 'not-found' };

interface CompiledRoute {
  route: RouteDefinition;
  regex: RegExp;
  names: string[];
}

function compile(route: RouteDefinition): CompiledRoute {
  const names: string[] = [];
  const source = route.pattern
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1] as string);
      return '([^/]+)';
    })
    .join('/');
  return { route, regex: new RegExp(`^${source}/?$`), names };
}

export class RouteTable {
  private readonly compiled: CompiledRoute[];

  constructor(routes: readonly RouteDefinition[]) {
    const seen = new Set<string>();
    for (const r of routes) {
      const key = `${r.method} ${r.pattern}`;
      if (seen.has(key)) throw new Error(`duplicate simulator route ${key}`);
      seen.add(key);
    }
    this.compiled = routes.map(compile);
  }

  get routes(): RouteDefinition[] {
    return this.compiled.map((c) => c.route);
  }

  match(method: string, path: string): RouteMatch {
    const allowed: HttpMethod[] = [];
    for (const c of this.compiled) {
      const m = c.regex.exec(path);
      if (!m) continue;
      if (c.route.method !== method) {
        allowed.push(c.route.method);
        continue;
      }
      const params: Record<string, string> = {};
      for (let i = 0; i < c.names.length; i++) {
        const raw = m[i + 1] ?? '';
        let value = raw;
        try {
          value = decodeURIComponent(raw);
        } catch {
          // A malformed escape stays as sent; the handler then reports "does not exist".
        }
        params[c.names[i] as string] = value;
      }
      return { kind: 'found', route: c.route, params };
    }
    return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
  }

  /** Every scope any route accepts: what a token gets by default. */
  allScopes(): string[] {
    const scopes = new Set<string>();
    for (const { route } of this.compiled) for (const s of [...route.scopes.classic, ...route.scopes.granular]) scopes.add(s);
    return [...scopes];
  }
}

