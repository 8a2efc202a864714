import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { LegalHoldStorageError, storageFailure, systemErrorCode } from '../../src/legal-hold/errors.js';
import { fromSafeName, LEGAL_HOLD_DIR, storedRelativePath, tempPathFor, toSafeName } from '../../src/legal-hold/storage-paths.js';
import { resolveInDataDir } from '../../src/util/data-dir.js';
import {
  MATTER_NAME_MAX_CHARS,
  MAX_CUSTODIANS,
  validateCreateMatterInput,
  validateCustodian,
  validateCustodians,
  validateDateRange,
  validateDay,
  validateMatterName,
  validateMatterRef,
} from '../../src/legal-hold/validate.js';

// The legal-hold rules that need no Zoom and no database: what a matter may be created with, where
// a held file is stored, and what a disk failure says.

/** The InputError `fn` throws: its field and message. */
function refusal(fn: () => unknown): { field: string | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return { field: (err as InputError).field, message: (err as Error).message };
  }
  throw new Error('expected an InputError, nothing was thrown');
}

describe('matter input', () => {
  it('a name is trimmed, 1–128 characters (counted as characters, not UTF-16 units), without control characters', () => {
    expect(validateMatterName('  Acme v. Widget  ')).toBe('Acme v. Widget');
    expect(validateMatterName('x'.repeat(MATTER_NAME_MAX_CHARS))).toHaveLength(128);
    expect(validateMatterName('😀'.repeat(MATTER_NAME_MAX_CHARS))).toHaveLength(256);
    expect(refusal(() => validateMatterName(undefined))).toEqual({ field: 'name', message: 'the matter name is required' });
    expect(refusal(() => validateMatterName(7))).toEqual({ field: 'name', message: 'the matter name is required' });
    expect(refusal(() => validateMatterName('   '))).toEqual({ field: 'name', message: 'the matter name must not be empty' });
    expect(refusal(() => validateMatterName('x'.repeat(129)))).toEqual({ field: 'name', message: 'the matter name is 129 characters long; Zoom allows at most 128' });
    for (const bad of ['a\nb', 'a\tb', 'a\u0000b', 'a\u007fb', 'a\u001fb']) {
      expect(refusal(() => validateMatterName(bad))).toEqual({ field: 'name', message: 'the matter name must not contain control characters (line breaks, tabs, …)' });
    }
    expect(validateMatterName('a\u0020b')).toBe('a b');
  });

  it('a custodian is an email address or a Zoom user id, trimmed', () => {
    expect(validateCustodian(' ada@example.com ')).toBe('ada@example.com');
    expect(validateCustodian('KdYKjnimT4KPd8FFgQt9FQ')).toBe('KdYKjnimT4KPd8FFgQt9FQ');
    expect(validateCustodian('a.b_c-d')).toBe('a.b_c-d');
    expect(validateCustodian('x'.repeat(128))).toHaveLength(128);
    for (const empty of ['', '  ', undefined, 3]) {
      expect(refusal(() => validateCustodian(empty))).toEqual({ field: 'custodian', message: 'a custodian must be an email address or a Zoom user id, got an empty value' });
    }
    for (const bad of ['ada@', '@example.com', 'ada@example', 'a da@example.com', 'ada@@example.com', 'a<b>@example.com', 'ada@exa,mple.com']) {
      expect(refusal(() => validateCustodian(bad))).toEqual({ field: 'custodian', message: `custodian ${JSON.stringify(bad)} is not a valid email address` });
    }
    for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', 'slash/id']) {
      expect(refusal(() => validateCustodian(bad))).toEqual({ field: 'custodian', message: `custodian ${JSON.stringify(bad)} is neither an email address nor a Zoom user id (letters, digits, '.', '_' and '-')` });
    }
  });

  it('custodians: one or a list, 1–20, each once (emails case-insensitively, ids exactly)', () => {
    expect(validateCustodians('ada@example.com')).toEqual(['ada@example.com']);
    expect(validateCustodians(['ada@example.com', ' u1 '])).toEqual(['ada@example.com', 'u1']);
    expect(validateCustodians(['U1', 'u1'])).toEqual(['U1', 'u1']);
    const twenty = Array.from({ length: MAX_CUSTODIANS }, (_, i) => `u${i}`);
    expect(validateCustodians(twenty)).toEqual(twenty);
    for (const none of [undefined, []]) {
      expect(refusal(() => validateCustodians(none))).toEqual({ field: 'custodian', message: 'a matter needs at least one custodian (an email address or a Zoom user id)' });
    }
    expect(refusal(() => validateCustodians([...twenty, 'u20']))).toEqual({ field: 'custodian', message: 'a matter may hold at most 20 custodians; got 21 (create several matters instead)' });
    expect(refusal(() => validateCustodians(['u1', 'u2', 'u1']))).toEqual({ field: 'custodian', message: 'custodian "u1" is listed twice; Zoom requires unique identifiers' });
    expect(refusal(() => validateCustodians(['Ada@Example.com', 'ada@example.com']))).toEqual({
      field: 'custodian',
      message: 'custodian "ada@example.com" is listed twice (also as "Ada@Example.com"); Zoom requires unique identifiers',
    });
    expect(refusal(() => validateCustodians(['ok', '']))).toMatchObject({ field: 'custodian' });
  });

  it('days are real yyyy-mm-dd dates, trimmed; absent, null or empty mean none', () => {
    expect(validateDay(' 2026-02-28 ', 'from')).toBe('2026-02-28');
    for (const none of [undefined, null, '']) expect(validateDay(none, 'from')).toBeUndefined();
    for (const bad of ['2026-02-30', '2026-2-1', '01/02/2026', 20260201, ' ']) {
      expect(refusal(() => validateDay(bad, 'to'))).toEqual({ field: 'to', message: `to must be a calendar date as yyyy-mm-dd, got ${JSON.stringify(bad)}` });
    }
  });

  it('a date range: either end optional, start not after end', () => {
    expect(validateDateRange(undefined, undefined)).toEqual({});
    expect(validateDateRange('2026-01-01', undefined)).toEqual({ from: '2026-01-01' });
    expect(validateDateRange(undefined, '2026-01-01')).toEqual({ to: '2026-01-01' });
    expect(validateDateRange('2026-01-01', '2026-01-01')).toEqual({ from: '2026-01-01', to: '2026-01-01' });
    expect(refusal(() => validateDateRange('2026-01-02', '2026-01-01'))).toEqual({ field: 'from', message: 'from (2026-01-02) must not be after to (2026-01-01)' });
    expect(refusal(() => validateDateRange('nope', '2026-01-01'))).toMatchObject({ field: 'from' });
    expect(refusal(() => validateDateRange('2026-01-01', 'nope'))).toMatchObject({ field: 'to' });
  });

  it('a whole matter: name, custodians and range together; no range keys when none is given', () => {
    expect(validateCreateMatterInput({ name: ' M ', custodians: ['u1'], from: '2026-01-01', to: '2026-03-31' })).toEqual({ name: 'M', custodians: ['u1'], from: '2026-01-01', to: '2026-03-31' });
    const open = validateCreateMatterInput({ name: 'M', custodians: 'u1' });
    expect(open).toEqual({ name: 'M', custodians: ['u1'] });
    expect(Object.keys(open)).toEqual(['name', 'custodians']);
    expect(refusal(() => validateCreateMatterInput({ custodians: ['u1'] }))).toMatchObject({ field: 'name' });
    expect(refusal(() => validateCreateMatterInput({ name: 'M' }))).toMatchObject({ field: 'custodian' });
  });

  it('a matter reference is its id or exact name, trimmed, without control characters', () => {
    expect(validateMatterRef('  Acme v. Widget ')).toBe('Acme v. Widget');
    for (const bad of [undefined, '', '  ', 5]) expect(refusal(() => validateMatterRef(bad))).toEqual({ field: 'matter', message: 'name a matter by its id or its exact name' });
    expect(refusal(() => validateMatterRef('a\nb'))).toEqual({ field: 'matter', message: 'a matter reference must not contain control characters' });
  });
});

describe('storage paths', () => {
  it('keeps safe characters, encodes the rest (and a leading dot) as %XX of UTF-8, reversibly', () => {
    expect(toSafeName('Ab9._@+=-')).toBe('Ab9._@+=-');
    expect(toSafeName('a/b')).toBe('a%2Fb');
    expect(toSafeName('..')).toBe('%2E.');
    expect(toSafeName('.hidden')).toBe('%2Ehidden');
    expect(toSafeName('a.b')).toBe('a.b');
    expect(toSafeName('é')).toBe('%C3%A9');
    expect(toSafeName('a b%')).toBe('a%20b%25');
    expect(toSafeName('\n')).toBe('%0A');
    expect(toSafeName('')).toBe('%00empty');
    for (const v of ['a/b', '..', '.hidden', 'é ü', 'k+/=', 'x%y']) expect(fromSafeName(toSafeName(v))).toBe(v);
  });

  it('shortens a name over 150 encoded characters to its first 100, ~, and 16 hex of its SHA-256, never cutting a %XX', () => {
    expect(toSafeName('a'.repeat(150))).toBe('a'.repeat(150));
    const long = toSafeName('a'.repeat(151));
    expect(long).toMatch(/^a{100}~[0-9a-f]{16}$/);
    expect(toSafeName('a'.repeat(152))).not.toBe(long);
    // 99 safe characters then '/': the %2F would straddle the cut at 100 and is dropped whole.
    const straddling = toSafeName(`${'a'.repeat(99)}${'/'.repeat(30)}`);
    expect(straddling).toMatch(/^a{99}~[0-9a-f]{16}$/);
    const straddling2 = toSafeName(`${'a'.repeat(98)}${'/'.repeat(30)}`);
    expect(straddling2).toMatch(/^a{98}~[0-9a-f]{16}$/);
    const whole = toSafeName(`${'a'.repeat(97)}${'/'.repeat(30)}`);
    expect(whole).toMatch(/^a{97}%2F~[0-9a-f]{16}$/);
    expect(fromSafeName(long)).toBeUndefined();
  });

  it('fromSafeName refuses the empty marker and names that do not decode', () => {
    expect(fromSafeName('%00empty')).toBeUndefined();
    expect(fromSafeName('%E0%A4%A')).toBeUndefined();
    expect(fromSafeName('plain')).toBe('plain');
  });

  it('a stored file is legal-hold/<matter>/<custodian>/<key>.zip, relative, with / separators', () => {
    expect(LEGAL_HOLD_DIR).toBe('legal-hold');
    expect(storedRelativePath({ matterId: 'm/1', custodian: 'ada@example.com', fileKey: 'ab+/c=' })).toBe('legal-hold/m%2F1/ada@example.com/ab+%2Fc=.zip');
    expect(tempPathFor('/data/x.zip')).toBe('/data/x.zip.tmp');
  });

  it('resolves a stored path inside the data directory, refusing one that leaves it', () => {
    const root = path.resolve('/srv/archive');
    expect(resolveInDataDir('/srv/archive', 'legal-hold/m/c/k.zip')).toBe(path.join(root, 'legal-hold', 'm', 'c', 'k.zip'));
    expect(resolveInDataDir('/srv/archive/', '')).toBe(root);
    expect(() => resolveInDataDir('/srv/archive', '../elsewhere/k.zip')).toThrow(RangeError);
    expect(() => resolveInDataDir('/srv/archive', 'legal-hold/../../x')).toThrow('stored path "legal-hold/../../x" points outside ARCHIVE_DATA_DIR');
    // A sibling whose name starts with the root's name is outside too.
    expect(() => resolveInDataDir('/srv/archive', '../archive2/k.zip')).toThrow(RangeError);
  });
});

describe('storage failures', () => {
  it('systemErrorCode: only errno-style codes', () => {
    expect(systemErrorCode(Object.assign(new Error('x'), { code: 'ENOSPC' }))).toBe('ENOSPC');
    expect(systemErrorCode(Object.assign(new Error('x'), { code: 'ERR_SOMETHING' }))).toBeUndefined();
    expect(systemErrorCode(Object.assign(new Error('x'), { code: 'xENOSPC' }))).toBeUndefined();
    expect(systemErrorCode(Object.assign(new Error('x'), { code: 'ENOSPCx' }))).toBeUndefined();
    expect(systemErrorCode({ code: 28 })).toBeUndefined();
    expect(systemErrorCode(null)).toBeUndefined();
    expect(systemErrorCode(undefined)).toBeUndefined();
  });

  it('says what failed, where and why, in plain words for known codes', () => {
    const cause = Object.assign(new Error('ENOSPC: write failed'), { code: 'ENOSPC' });
    const err = storageFailure(cause, 'write', '/data/x.zip');
    expect(err).toBeInstanceOf(LegalHoldStorageError);
    expect(err.code).toBe('LEGAL_HOLD_STORAGE_FAILED');
    expect(err.message).toBe('cannot write /data/x.zip (ENOSPC: no space left on the device); nothing already stored was changed');
    expect(err.path).toBe('/data/x.zip');
    expect(err.systemCode).toBe('ENOSPC');
    expect(err.cause).toBe(cause);
    for (const [code, words] of [
      ['EDQUOT', 'disk quota exceeded'],
      ['EACCES', 'permission denied'],
      ['EPERM', 'operation not permitted'],
      ['EROFS', 'the file system is read-only'],
      ['ENOTDIR', 'a path component is a file, not a directory'],
      ['EISDIR', 'the path is a directory'],
      ['EMFILE', 'too many open files'],
      ['EIO', 'input/output error'],
    ] as const) {
      expect(storageFailure(Object.assign(new Error('raw'), { code }), 'create', 'd').message).toBe(`cannot create d (${code}: ${words}); nothing already stored was changed`);
    }
  });

  it('falls back to the error message for unknown codes and plain errors, and to the value for non-errors', () => {
    expect(storageFailure(Object.assign(new Error('weird thing'), { code: 'EWEIRD' }), 'rename', 'p').message).toBe('cannot rename p (EWEIRD: weird thing); nothing already stored was changed');
    const plain = storageFailure(new Error('boom'), 'open', 'p');
    expect(plain.message).toBe('cannot open p (boom); nothing already stored was changed');
    expect(plain.systemCode).toBeUndefined();
    expect(storageFailure('a string', 'open', 'p').message).toBe('cannot open p (a string); nothing already stored was changed');
  });

  it('passes a storage error through unchanged', () => {
    const original = new LegalHoldStorageError('LEGAL_HOLD_PATH_CONFLICT', 'conflict', '/p');
    expect(storageFailure(original, 'write', '/q')).toBe(original);
    expect(original.cause).toBeUndefined();
    expect(original.systemCode).toBeUndefined();
  });
});
