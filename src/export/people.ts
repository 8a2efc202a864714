import type { Queryable } from '../db/pool.js';
import { loadPeopleRows } from '../read-model/export-selection.js';
import type { ExportFilter } from './types.js';

/**
 * Everyone who wrote in an export, by Zoom member id, merged from every record of the selection:
 * their email (Zoom's `sender`; for someone outside the account, who has an empty `sender`, the
 * other member of a 1:1 chat they wrote in), their latest display name, and whether they are outside
 * the account. The writers use it to name people who only reacted or only received in one file but
 * wrote somewhere else in the export, so a person is described the same way everywhere.
 */

export interface Person {
  memberId: string;
  /** Lower case; null when no record of the export shows it. */
  email: string | null;
  displayName: string | null;
  /** Every message of theirs came with an empty `sender`. */
  external: boolean;
}

export class PeopleDirectory {
  private readonly byMember = new Map<string, Person>();
  private readonly byMail = new Map<string, Person>();

  constructor(people: Iterable<Person> = []) {
    for (const p of people) {
      this.byMember.set(p.memberId, p);
      if (p.email && !this.byMail.has(p.email)) this.byMail.set(p.email, p);
    }
  }

  byMemberId(memberId: string | null | undefined): Person | undefined {
    return memberId ? this.byMember.get(memberId) : undefined;
  }

  byEmail(email: string | null | undefined): Person | undefined {
    return email ? this.byMail.get(email.toLowerCase()) : undefined;
  }

  /** A reactor's name for people: the display name, else the email, else null. */
  nameOf(memberId: string): string | null {
    const p = this.byMember.get(memberId);
    return p?.displayName ?? p?.email ?? null;
  }

  get size(): number {
    return this.byMember.size;
  }
}

/** One pass over the selection in the export's snapshot. */
export async function loadPeople(db: Queryable, filter: ExportFilter): Promise<PeopleDirectory> {
  const rows = await loadPeopleRows(db, filter);
  return new PeopleDirectory(rows.map((r) => ({ memberId: r.member_id, email: r.email, displayName: r.display_name, external: r.external })));
}
