import type { ExportFilter } from './types.js';

/** One line saying what a filter selects, for people (transcripts, CLI listings). */
export function summariseFilter(filter: ExportFilter): string {
  const query = filter.query === undefined ? '' : ` matching “${filter.query}”`;
  switch (filter.kind) {
    case 'matter':
      return `legal-hold matter ${filter.matterId}${query}`;
    case 'custodians': {
      const who = filter.custodians.length <= 3 ? filter.custodians.join(', ') : `${filter.custodians.slice(0, 3).join(', ')} and ${filter.custodians.length - 3} more`;
      return `custodian${filter.custodians.length > 1 ? 's' : ''} ${who}, ${filter.from} to ${filter.to} (UTC)${query}`;
    }
    case 'sessions': {
      const which = filter.sessionIds.length <= 2 ? `session${filter.sessionIds.length > 1 ? 's' : ''} ${filter.sessionIds.join(', ')}` : `${filter.sessionIds.length} sessions`;
      const range = filter.from || filter.to ? `, ${filter.from ?? 'start'} to ${filter.to ?? 'now'} (UTC)` : '';
      return `${which}${range}${query}`;
    }
  }
}
