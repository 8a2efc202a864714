import type { RateLabel } from '../domain/zoom-endpoints.js';
import { ArchiverError, hasCode, throwIfAborted } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { parseResponseBody, type QueryValue, type ZoomClient } from './client.js';

/**
 * Walks a Zoom list by `next_page_token`. Zoom's page tokens expire after 15 minutes; when one does
 * (a slow consumer, a long pause for a rate limit) the walk starts over from the first page rather
 * than stopping, so a stall can never lose a page. Consumers must therefore be idempotent: after a
 * restart they see pages they have already seen.
 */

export interface PageMeta {
  /** 0 for the first page of this pass; a restart starts counting again. A resumed pass starts at 0. */
  pageIndex: number;
  /** True for every page fetched after the walk restarted from the first page. */
  restartedFromFirstPage: boolean;
  /** The token this page was fetched with (undefined for a first page): checkpoint `nextPageToken` instead to resume after it. */
  requestToken: string | undefined;
}

export interface PaginateOptions {
  /** Continue a walk from a saved `nextPageToken` instead of the first page. */
  resumeToken?: string | undefined;
  /** Restarts from the first page allowed before a ZOOM_PAGE_TOKEN_EXPIRED is rethrown. Default 3. */
  maxRestarts?: number;
  signal?: AbortSignal | undefined;
  logger?: Logger | undefined;
  /** Named in logs. */
  endpoint?: string;
}

export const DEFAULT_MAX_PAGE_RESTARTS = 3;

export async function* paginate<P extends { nextPageToken: string }>(
  fetchPage: (pageToken: string | undefined) => Promise<P>,
  options: PaginateOptions = {},
): AsyncGenerator<P & PageMeta, void, undefined> {
  const maxRestarts = options.maxRestarts ?? DEFAULT_MAX_PAGE_RESTARTS;
  let token: string | undefined = options.resumeToken === '' ? undefined : options.resumeToken;
  let pageIndex = 0;
  let restarts = 0;

  for (;;) {
    throwIfAborted(options.signal);
    let page: P;
    try {
      page = await fetchPage(token);
    } catch (err) {
      if (!hasCode(err, 'ZOOM_PAGE_TOKEN_EXPIRED') || token === undefined || restarts >= maxRestarts) throw err;
      restarts++;
      options.logger?.warn(
        { endpoint: options.endpoint, pageIndex, restart: restarts, maxRestarts },
        'page token expired; restarting from page 1',
      );
      token = undefined;
      pageIndex = 0;
      continue;
    }
    const requestToken = token;
    yield { ...page, pageIndex, restartedFromFirstPage: restarts > 0, requestToken };
    const next = page.nextPageToken;
    if (next === '') return;
    // A token that points back at the page just read would loop forever.
    if (next === requestToken) {
      throw new ArchiverError('ZOOM_INVALID_RESPONSE', `Zoom returned the same next_page_token it was sent${options.endpoint ? ` (${options.endpoint})` : ''}; stopping to avoid an endless loop`);
    }
    token = next;
    pageIndex++;
  }
}

/** A Zoom list endpoint read with GET, one page per call. */
export interface PagedList<P> {
  endpoint: string;
  label: RateLabel;
  path: string;
  /** The query of one page: `pageToken` is undefined for the first. */
  query: (pageToken: string | undefined) => Record<string, QueryValue>;
  parse: (bodyText: string) => P;
}

/** `paginate` over a list endpoint: each page requested through `client` and parsed by `list.parse`. */
export function listPages<P extends { nextPageToken: string }>(
  client: ZoomClient,
  list: PagedList<P>,
  options: Pick<PaginateOptions, 'resumeToken' | 'maxRestarts' | 'signal'>,
): AsyncGenerator<P & PageMeta, void, undefined> {
  const { endpoint, label, path } = list;
  const { signal } = options;
  return paginate(
    async (pageToken) => {
      const response = await client.request({ endpoint, label, method: 'GET', path, query: list.query(pageToken), ...(signal ? { signal } : {}) });
      return parseResponseBody(response, 'GET', endpoint, list.parse);
    },
    { resumeToken: options.resumeToken, maxRestarts: options.maxRestarts, signal, logger: client.logger, endpoint },
  );
}
