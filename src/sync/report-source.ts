import type { IsoDate, MessagePage, SessionPage } from '../domain/types.js';

/**
 * What the sync engine needs from Zoom: the two chat report endpoints as page iterators. The
 * production implementation is src/zoom/reports.ts over the ZoomClient (see zoom-report-source.ts).
 */
export interface PageMeta {
  /** 0-based; back to 0 when the walk restarts from the first page. */
  pageIndex: number;
  /** True for every page fetched after a page token expired and the walk started over from page 1. */
  restartedFromFirstPage: boolean;
}

export interface DateRange {
  from: IsoDate;
  to: IsoDate;
}

export interface ReportSource {
  listSessions(range: DateRange, signal?: AbortSignal): AsyncIterable<SessionPage & PageMeta>;
  fetchMessages(
    sessionId: string,
    range: DateRange & { resumeToken?: string | undefined },
    signal?: AbortSignal,
  ): AsyncIterable<MessagePage & PageMeta>;
}
