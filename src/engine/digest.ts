// A host-neutral state hasher for Engine.stateDigest() / Mm.stateDigest(): two 32-bit FNV-1a
// lanes (different offset bases, one of them fed a rotated copy of each word) folded into 16 hex
// digits. It only hashes numbers, strings and bytes, so a digest is the same in every JavaScript
// host and needs no crypto module. It is a fingerprint for equality tests and determinism checks,
// not a cryptographic hash.

const FNV_PRIME = 0x01000193;
const TWO32 = 2 ** 32;

/** Incremental hasher over numbers (any JS number, incl. Infinity and -0), strings and bytes. */
export class StateHasher {
  private a = 0x811c9dc5;
  private b = 0x050c5d1f;

  /** Feeds one unsigned 32-bit word. */
  u32(x: number): this {
    x >>>= 0;
    for (let i = 0; i < 4; i++) {
      const byte = (x >>> (i * 8)) & 0xff;
      this.a = Math.imul(this.a ^ byte, FNV_PRIME);
      this.b = Math.imul(this.b ^ ((byte * 0x9d + i) & 0xff), FNV_PRIME);
    }
    this.b = ((this.b << 7) | (this.b >>> 25)) >>> 0;
    return this;
  }

  /** Feeds a number: integers in [0, 2^64) as two words, anything else by its text (NaN, -0, fractions). */
  num(x: number): this {
    if (Number.isInteger(x) && x >= 0 && x < 2 ** 64 && !Object.is(x, -0)) {
      return this.u32(0x6e756d00)
        .u32(Math.floor(x / TWO32))
        .u32(x % TWO32);
    }
    return this.str(Object.is(x, -0) ? "-0" : String(x));
  }

  /** Feeds a string (its length, then its UTF-16 code units). */
  str(s: string): this {
    this.u32(0x73747200).u32(s.length);
    for (let i = 0; i < s.length; i++) this.u32(s.charCodeAt(i));
    return this;
  }

  /** Feeds a boolean. */
  bool(x: boolean): this {
    return this.u32(x ? 0x74727565 : 0x66616c73);
  }

  /** Feeds bytes (their length first). */
  bytes(b: Uint8Array): this {
    this.u32(0x62797400).u32(b.length);
    for (let i = 0; i < b.length; i++) {
      this.a = Math.imul(this.a ^ b[i], FNV_PRIME);
      this.b = Math.imul(this.b ^ ((b[i] * 0x9d) & 0xff), FNV_PRIME);
    }
    return this;
  }

  /** The digest so far: 16 lowercase hex digits. */
  digest(): string {
    const h = (x: number): string => (x >>> 0).toString(16).padStart(8, "0");
    // final avalanche so that nearby states differ in many digits
    let a = this.a ^ (this.a >>> 16);
    a = Math.imul(a, 0x85ebca6b);
    a ^= a >>> 13;
    let b = (this.b ^ a) >>> 0;
    b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35);
    b ^= b >>> 16;
    return h(a) + h(b);
  }
}

/** Something that adds its state to an engine's digest (the mm layer registers one per engine). */
export type DigestSource = (h: StateHasher) => void;
