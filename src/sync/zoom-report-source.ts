import type { ZoomClient } from '../zoom/client.js';
import { fetchSessionMessagePages, listChatSessionPages } from '../zoom/reports.js';
import type { ReportSource } from './report-source.js';

/** The sync engine's view of Zoom, over the real client. */
export function zoomReportSource(client: ZoomClient): ReportSource {
  return {
    listSessions: (range, signal) => listChatSessionPages(client, { from: range.from, to: range.to, ...(signal ? { signal } : {}) }),
    fetchMessages: (sessionId, range, signal) =>
      fetchSessionMessagePages(client, sessionId, {
        from: range.from,
        to: range.to,
        ...(range.resumeToken !== undefined ? { resumeToken: range.resumeToken } : {}),
        ...(signal ? { signal } : {}),
      }),
  };
}
