/**
 * Deterministic pseudo-randomness for the simulator. The dataset must come out byte-identical for the
 * same seed on every machine and Node version, so nothing here touches `Math.random` or the clock.
 *
 * Two tools: a sequential generator (`Rng`) for building the dataset in one pass, and a stateless
 * `hash32` so any property of item N (its text, its id, its reactions) can be recomputed on demand
 * from (seed, N) without storing it; that is what keeps 500k messages small in memory.
 */

/** MurmurHash3's 32-bit finaliser: a cheap, well-mixed bijection on uint32. */
export function fmix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uint32 that depends on every part; parts are treated as int32 (pass indices, not timestamps). */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = fmix32(a ^ 0x9e37_79b9);
  h = fmix32((h ^ b) + 0x7f4a_7c15);
  h = fmix32((h ^ c) + 0x2545_f491);
  h = fmix32((h ^ d) + 0x6c07_8965);
  return h;
}

/** A float in [0, 1) from a hash, for stateless coin flips: `unitFromHash(hash32(...)) < p`. */
export function unitFromHash(h: number): number {
  return h / 4_294_967_296;
}

/** mulberry32: tiny, fast and good enough for synthetic data; not for anything security-related. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = hash32(seed) | 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b_79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('cannot pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Exponentially distributed with the given mean (for delays: many short, a few long). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }
}

const HEX_BYTES = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Eight lowercase hex digits; a table lookup because ids are derived on every served item. */
export function hex8(value: number): string {
  const v = value >>> 0;
  return (
    (HEX_BYTES[v >>> 24] as string) + (HEX_BYTES[(v >>> 16) & 255] as string) + (HEX_BYTES[(v >>> 8) & 255] as string) + (HEX_BYTES[v & 255] as string)
  );
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID_ALPHABET = `${ALPHANUMERIC}-_`;

/** A Zoom-looking opaque id (`length` characters of [A-Za-z0-9_-]) derived from the hash parts. */
export function derivedId(length: number, a: number, b: number, c = 0): string {
  let out = '';
  let bits = 0;
  for (let i = 0; out.length < length; i++) {
    // Five 6-bit characters per fresh 32-bit hash.
    if (i % 5 === 0) bits = hash32(a, b, c, i);
    out += ID_ALPHABET[bits & 63];
    bits >>>= 6;
  }
  return out;
}

/** A bijection on uint32 (xor with a seed mask, then fmix32): unique per index, random-looking. */
function uniqueWord(seed: number, kind: number, index: number): string {
  return hex8(fmix32((index ^ hash32(seed, kind, 0x5eed)) >>> 0));
}

/**
 * An RFC 4122-shaped v4 uuid for item `index` of a `kind`. The last 32 bits are a bijection of the
 * index, so two indices can never collide whatever the hash does.
 */
export function derivedUuid(seed: number, kind: number, index: number): string {
  const a = hash32(seed, kind, index, 1);
  const b = hash32(seed, kind, index, 2);
  const hb = hex8(b);
  const g1 = hex8(a);
  const g2 = hb.slice(0, 4);
  const g3 = `4${hb.slice(4, 7)}`;
  const g4 = `${(8 + (a & 3)).toString(16)}${hex8(a ^ b).slice(0, 3)}`;
  const g5 = `${hex8(b ^ 0x9e37_79b9).slice(0, 4)}${uniqueWord(seed, kind, index)}`;
  return `${g1}-${g2}-${g3}-${g4}-${g5}`;
}

/** 64 lowercase hex characters (a chat session id), unique per index like `derivedUuid`. */
export function derivedHex64(seed: number, kind: number, index: number): string {
  let out = '';
  for (let i = 0; i < 7; i++) out += hex8(hash32(seed, kind, index, 100 + i));
  return out + uniqueWord(seed, kind, index);
}

/** Random opaque strings for tokens the server hands out; uniqueness matters, not determinism. */
export function alphanumeric(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += ALPHANUMERIC[byte % ALPHANUMERIC.length];
  return out;
}
