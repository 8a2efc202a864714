import { createHash } from 'node:crypto';
import type { IsoDate } from '../domain/types.js';
import type { Clock } from '../util/clock.js';
import { addDays, daysBetween, isIsoDate, maxDate, utcToday } from '../util/dates.js';
import type { SimDataset, SimUser } from './dataset.js';
import { patchedBody, planZip, truncatedBody, zipBody, zipChunks, type StreamedBody, type ZipPlan } from './legal-hold-zip.js';
import { derivedUuid } from './random.js';

/**
 * The simulated account's legal-hold matters and the zip files Zoom prepares for them, in memory.
 * Tests seed it through `SimulatorOptions.legalHold` and change it behind the archiver's back through
 * the handle (`RunningSimulator.legalHold`) or `/__sim/legal-hold/…`.
 *
 * Model (guesses where Zoom is silent, see README "Legal hold"):
 * - A matter holds the account users named by its identifiers (email or user id, either case for
 *   emails); external users and unknown identifiers do not exist for Zoom.
 * - For every custodian Zoom prepares `filesPerCustodian` zips splitting the matter's dates; a zip
 *   becomes `ready_for_download` on the `fileReadyAfterListings`-th listing that shows it (0: ready
 *   at once). A deleted matter's files are gone with it.
 * - Zip content is deterministic, so every download of a file is byte-identical.
 */

export interface SimLegalHoldQuirks {
  /** `file_count` and `total_file_size` as JSON strings. */
  numbersAsStrings?: boolean;
  /** An unknown key on every matter and file item. */
  unknownFields?: boolean;
  /** What `total_file_size` announces: the zip's length (default), its content bytes, or nothing. */
  announcedSize?: 'zip' | 'content' | 'absent';
  /** Downloads without Content-Length (chunked). */
  omitContentLength?: boolean;
}

export interface SimMatterSeed {
  /** Default: a uuid derived from the seed and the matter's sequence number. */
  matterId?: string;
  name: string;
  /** Emails or user ids of the dataset's internal users. */
  identifiers: readonly string[];
  startDate?: IsoDate;
  endDate?: IsoDate | null;
  /** Default: the clock's day at start-up. */
  creationDate?: IsoDate;
  filesPerCustodian?: number;
  /** Bytes of content in each zip (the zip is a little larger). */
  zipBytes?: number;
  /** Entries in each zip, which is also the `file_count` Zoom announces. */
  entriesPerZip?: number;
  fileReadyAfterListings?: number;
}

export interface SimLegalHoldOptions {
  matters?: readonly SimMatterSeed[];
  /** Default 2: not ready on the first listing, ready on the second. */
  fileReadyAfterListings?: number;
  /** Default 1. */
  filesPerCustodian?: number;
  /** Default 32 KiB. */
  zipBytes?: number;
  /** Default 3. */
  entriesPerZip?: number;
  /** Default true; false answers 403 / 403 "No permission to access legal hold" to every call. */
  permission?: boolean;
  quirks?: SimLegalHoldQuirks;
}

export type FileCorruption = 'truncate' | 'central-directory';

export interface SimCustodian {
  userId: string;
  email: string;
}

export interface SimLegalHoldFile {
  readonly fileKey: string;
  readonly custodianEmail: string;
  readonly startDate: IsoDate;
  readonly endDate: IsoDate;
  readonly entryCount: number;
  readonly contentBytes: number;
  readyAfterListings: number;
  listings: number;
  /** Set by the handle: overrides the listing count. */
  forcedReady: boolean | null;
  corruption: FileCorruption | null;
  plan: ZipPlan | null;
}

export interface SimMatter {
  readonly seq: number;
  readonly matterId: string;
  name: string;
  readonly custodians: readonly SimCustodian[];
  readonly startDate: IsoDate;
  readonly endDate: IsoDate | null;
  readonly creationDate: IsoDate;
  /** Files per custodian email (lower-case). */
  readonly files: ReadonlyMap<string, readonly SimLegalHoldFile[]>;
  deleted: boolean;
}

/** A snapshot for tests: what Zoom has, without internals. */
export interface SimMatterView {
  matterId: string;
  name: string;
  custodians: SimCustodian[];
  startDate: IsoDate;
  endDate: IsoDate | null;
  creationDate: IsoDate;
  deleted: boolean;
  files: Array<{ fileKey: string; custodianEmail: string; ready: boolean; zipBytes: number; entryCount: number; startDate: IsoDate; endDate: IsoDate }>;
}

const DEFAULT_READY_AFTER_LISTINGS = 2;
const DEFAULT_FILES_PER_CUSTODIAN = 1;
const DEFAULT_ZIP_BYTES = 32 * 1024;
const DEFAULT_ENTRIES_PER_ZIP = 3;
const MATTER_UUID_KIND = 0x1e6a1;
/** Three bytes whose base64 is `+/+/`: every key carries the characters a file system must not see raw. */
const KEY_PREFIX = Buffer.from([0xfb, 0xff, 0xbf]);

function requireWhole(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) throw new RangeError(`simulator legalHold option ${name} must be a whole number >= ${min} (got ${value})`);
}

export class SimLegalHold {
  private readonly byId = new Map<string, SimMatter>();
  private readonly usersByEmail = new Map<string, SimUser>();
  private readonly usersById = new Map<string, SimUser>();
  private nextSeq = 1;
  permission: boolean;
  readonly quirks: Readonly<SimLegalHoldQuirks>;

  constructor(
    private readonly dataset: SimDataset,
    private readonly clock: Clock,
    private readonly options: SimLegalHoldOptions = {},
  ) {
    requireWhole('fileReadyAfterListings', options.fileReadyAfterListings, 0);
    requireWhole('filesPerCustodian', options.filesPerCustodian, 1);
    requireWhole('zipBytes', options.zipBytes, 0);
    requireWhole('entriesPerZip', options.entriesPerZip, 1);
    this.permission = options.permission ?? true;
    this.quirks = Object.freeze({ ...options.quirks });
    for (const user of dataset.users) {
      if (user.external) continue;
      this.usersByEmail.set(user.email.toLowerCase(), user);
      this.usersById.set(user.userId, user);
    }
    for (const seed of options.matters ?? []) {
      const unknown = seed.identifiers.find((i) => this.findUser(i) === undefined);
      if (unknown !== undefined) throw new RangeError(`simulator legalHold seed matter ${JSON.stringify(seed.name)}: no internal user ${JSON.stringify(unknown)} in the dataset`);
      this.addMatter(seed);
    }
  }

  /** The account user an identifier names (email in any case, or user id). */
  findUser(identifier: string): SimUser | undefined {
    return this.usersByEmail.get(identifier.toLowerCase()) ?? this.usersById.get(identifier);
  }

  /** Creates a matter as Zoom would (also what `POST /chat/legalhold/matters` does). Identifiers must exist. */
  addMatter(seed: SimMatterSeed): SimMatter {
    requireWhole('filesPerCustodian', seed.filesPerCustodian, 1);
    requireWhole('zipBytes', seed.zipBytes, 0);
    requireWhole('entriesPerZip', seed.entriesPerZip, 1);
    requireWhole('fileReadyAfterListings', seed.fileReadyAfterListings, 0);
    const seq = this.nextSeq++;
    const today = utcToday(this.clock.now());
    const matterId = seed.matterId ?? derivedUuid(this.dataset.seed, MATTER_UUID_KIND, seq);
    if (this.byId.has(matterId)) throw new RangeError(`simulator legal hold: matter ${matterId} exists already`);
    const creationDate = seed.creationDate ?? today;
    const startDate = seed.startDate ?? creationDate;
    const endDate = seed.endDate ?? null;
    const custodians: SimCustodian[] = [];
    for (const identifier of seed.identifiers) {
      const user = this.findUser(identifier);
      if (!user) throw new RangeError(`simulator legal hold: no internal user ${JSON.stringify(identifier)}`);
      // The same person named twice (email and id) is held once.
      if (!custodians.some((c) => c.userId === user.userId)) custodians.push({ userId: user.userId, email: user.email });
    }
    const filesPerCustodian = seed.filesPerCustodian ?? this.options.filesPerCustodian ?? DEFAULT_FILES_PER_CUSTODIAN;
    const files = new Map<string, SimLegalHoldFile[]>();
    for (const custodian of custodians) {
      const list: SimLegalHoldFile[] = [];
      const ranges = splitDays(startDate, endDate ?? maxDate(startDate, creationDate), filesPerCustodian);
      for (let i = 0; i < filesPerCustodian; i++) {
        const range = ranges[i] ?? ranges[ranges.length - 1] ?? { from: startDate, to: startDate };
        list.push({
          fileKey: Buffer.concat([KEY_PREFIX, Buffer.from(`${custodian.email}-${matterId}-${i + 1}`, 'utf8')]).toString('base64'),
          custodianEmail: custodian.email,
          startDate: range.from,
          endDate: range.to,
          entryCount: seed.entriesPerZip ?? this.options.entriesPerZip ?? DEFAULT_ENTRIES_PER_ZIP,
          contentBytes: seed.zipBytes ?? this.options.zipBytes ?? DEFAULT_ZIP_BYTES,
          readyAfterListings: seed.fileReadyAfterListings ?? this.options.fileReadyAfterListings ?? DEFAULT_READY_AFTER_LISTINGS,
          listings: 0,
          forcedReady: null,
          corruption: null,
          plan: null,
        });
      }
      files.set(custodian.email.toLowerCase(), list);
    }
    const matter: SimMatter = { seq, matterId, name: seed.name, custodians, startDate, endDate, creationDate, files, deleted: false };
    this.byId.set(matterId, matter);
    return matter;
  }

  /** A live matter, or undefined when it never existed or was deleted. */
  getMatter(matterId: string): SimMatter | undefined {
    const matter = this.byId.get(matterId);
    return matter && !matter.deleted ? matter : undefined;
  }

  /** Live matters in creation order. */
  liveMatters(): SimMatter[] {
    return [...this.byId.values()].filter((m) => !m.deleted).sort((a, b) => a.seq - b.seq);
  }

  /** Deletes a matter "in Zoom" (as an admin in Zoom's web portal would); false when there is none. */
  deleteMatter(matterId: string): boolean {
    const matter = this.getMatter(matterId);
    if (!matter) return false;
    matter.deleted = true;
    return true;
  }

  /** Renames a matter "in Zoom"; false when there is none. */
  renameMatter(matterId: string, name: string): boolean {
    const matter = this.getMatter(matterId);
    if (!matter) return false;
    matter.name = name;
    return true;
  }

  findFile(matterId: string, fileKey: string): SimLegalHoldFile | undefined {
    const matter = this.getMatter(matterId);
    if (!matter) return undefined;
    for (const list of matter.files.values()) for (const f of list) if (f.fileKey === fileKey) return f;
    return undefined;
  }

  isReady(file: SimLegalHoldFile): boolean {
    return file.forcedReady ?? file.listings >= file.readyAfterListings;
  }

  /** Makes a file ready (or not) whatever the listings say; false when there is no such file. */
  setFileReady(matterId: string, fileKey: string, ready: boolean | null): boolean {
    const file = this.findFile(matterId, fileKey);
    if (!file) return false;
    file.forcedReady = ready;
    return true;
  }

  /** Every file of every live matter becomes ready; returns how many. */
  markAllReady(): number {
    let n = 0;
    for (const m of this.liveMatters()) {
      for (const list of m.files.values()) {
        for (const f of list) {
          f.forcedReady = true;
          n++;
        }
      }
    }
    return n;
  }

  /** Serves a damaged zip for every later download of the file (null repairs it). */
  corruptFile(matterId: string, fileKey: string, corruption: FileCorruption | null): boolean {
    const file = this.findFile(matterId, fileKey);
    if (!file) return false;
    file.corruption = corruption;
    return true;
  }

  plan(file: SimLegalHoldFile): ZipPlan {
    file.plan ??= planZip({ prefix: `${file.custodianEmail}_${file.startDate}_${file.endDate}`.replace(/[^A-Za-z0-9._@-]/g, '_'), entryCount: file.entryCount, totalContentBytes: file.contentBytes });
    return file.plan;
  }

  /** The bytes a download serves, corruption included. */
  body(file: SimLegalHoldFile): StreamedBody {
    const plan = this.plan(file);
    const body = zipBody(plan);
    if (file.corruption === 'truncate') return truncatedBody(body, plan.totalBytes - plan.centralDirectory.length + 10);
    const served = file.corruption === 'central-directory' ? patchedBody(body, plan.totalBytes - 22, Buffer.from('XXXX')) : body;
    return this.quirks.omitContentLength ? { ...served, chunked: true } : served;
  }

  /** SHA-256 (hex) of the intact zip, computed by streaming it: what a verified copy must hash to. */
  sha256(matterId: string, fileKey: string): string {
    const file = this.findFile(matterId, fileKey);
    if (!file) throw new RangeError(`simulator legal hold: no file ${fileKey} in matter ${matterId}`);
    const hash = createHash('sha256');
    for (const chunk of zipChunks(this.plan(file))) hash.update(chunk);
    return hash.digest('hex');
  }

  /** The size `total_file_size` announces, per the quirk. */
  announcedSize(file: SimLegalHoldFile): number | undefined {
    const mode = this.quirks.announcedSize ?? 'zip';
    if (mode === 'absent') return undefined;
    return mode === 'content' ? file.contentBytes : this.plan(file).totalBytes;
  }

  matters(options: { includeDeleted?: boolean } = {}): SimMatterView[] {
    const all = [...this.byId.values()].sort((a, b) => a.seq - b.seq).filter((m) => options.includeDeleted || !m.deleted);
    return all.map((m) => ({
      matterId: m.matterId,
      name: m.name,
      custodians: m.custodians.map((c) => ({ ...c })),
      startDate: m.startDate,
      endDate: m.endDate,
      creationDate: m.creationDate,
      deleted: m.deleted,
      files: [...m.files.values()].flat().map((f) => ({
        fileKey: f.fileKey,
        custodianEmail: f.custodianEmail,
        ready: this.isReady(f),
        zipBytes: this.plan(f).totalBytes,
        entryCount: f.entryCount,
        startDate: f.startDate,
        endDate: f.endDate,
      })),
    }));
  }
}

/** `[from, to]` cut into `parts` contiguous day ranges (ranges repeat when there are fewer days). */
export function splitDays(from: IsoDate, to: IsoDate, parts: number): Array<{ from: IsoDate; to: IsoDate }> {
  if (!isIsoDate(from) || !isIsoDate(to) || to < from) return [{ from, to: from }];
  const days = daysBetween(from, to) + 1;
  const out: Array<{ from: IsoDate; to: IsoDate }> = [];
  for (let i = 0; i < parts; i++) {
    const start = Math.floor((i * days) / parts);
    const end = Math.max(start, Math.floor(((i + 1) * days) / parts) - 1);
    out.push({ from: addDays(from, Math.min(start, days - 1)), to: addDays(from, Math.min(end, days - 1)) });
  }
  return out;
}
