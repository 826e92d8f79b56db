// hmm_pfns arrays that live in engine memory, with number-only accessors. A PfnArray is the
// zero-copy way to call hmmRangeFault; plain BigUint64Arrays are copied in and out instead.
import type { Engine } from "../engine/engine.js";
import { InvalidArgumentError, OutOfEngineMemoryError, UseAfterFreeError } from "../engine/errors.js";
import { HMM_PFN_HI, HMM_PFN_ORDER_MASK } from "../engine/layout.js";
import { profileInfo, type Profile } from "../engine/profile.js";

const TWO32 = 2 ** 32;
/** The longest PfnArray: 2^26 words (512 MiB of engine memory, a 256 GiB range); its byte size fits a u32. */
export const PFN_ARRAY_MAX = 2 ** 26;

export class PfnArray {
  /** Byte address in engine memory (internal). */
  readonly ptr: number;
  /**
   * The layout order()/pfn() decode with: the constructor's, then the Mm of the last hmmRangeFault
   * that filled the array (an Mm passed instead of an engine sets it from the start).
   */
  profile: Profile;
  readonly engine: Engine;
  private freed = false;
  private readonly bytes: number;

  /** `owner`: the engine, or the Mm whose walks will fill the array (its profile decodes them). */
  constructor(owner: Engine | { readonly engine: Engine; readonly profile: Profile }, readonly length: number, profile?: Profile) {
    const isMm = "profile" in owner && "engine" in owner;
    const engine = isMm ? owner.engine : (owner as Engine);
    this.engine = engine;
    this.profile = profile ?? (isMm ? owner.profile : "v6.1");
    profileInfo(this.profile);
    if (!Number.isInteger(length) || length <= 0 || length > PFN_ARRAY_MAX) {
      throw new InvalidArgumentError("new PfnArray", "length", `must be an integer in [1, ${PFN_ARRAY_MAX}]`, length);
    }
    this.bytes = length * 8;
    const p = engine.raw.blockAlloc(this.bytes) >>> 0;
    if (p === 0) throw new OutOfEngineMemoryError(`out of engine memory for ${length} hmm_pfns`);
    this.ptr = p;
  }
  private check(i: number): number {
    if (this.freed) throw new UseAfterFreeError("PfnArray used after free()");
    if (!(i >= 0 && i < this.length) || !Number.isInteger(i)) throw new InvalidArgumentError("PfnArray", "index", `must be an integer in 0..${this.length - 1}`, i);
    return (this.ptr >>> 2) + i * 2;
  }
  /** High 32 bits of word i (all HMM flag bits live here). */
  hi(i: number): number {
    return this.engine.mem().u32[this.check(i) + 1];
  }
  lo(i: number): number {
    return this.engine.mem().u32[this.check(i)];
  }
  get(i: number): bigint {
    const k = this.check(i);
    const u32 = this.engine.mem().u32;
    return (BigInt(u32[k + 1]) << 32n) | BigInt(u32[k]);
  }
  set(i: number, v: bigint): void {
    const k = this.check(i);
    const u = BigInt.asUintN(64, v);
    const u32 = this.engine.mem().u32;
    u32[k] = Number(u & 0xffffffffn);
    u32[k + 1] = Number(u >> 32n);
  }
  /** Sets word i from its halves (number-only). */
  setHiLo(i: number, hi: number, lo = 0): void {
    const k = this.check(i);
    const u32 = this.engine.mem().u32;
    u32[k] = lo >>> 0;
    u32[k + 1] = hi >>> 0;
  }
  /** Fills every word with v (e.g. 0n, or per-page requests). */
  fill(v: bigint): void {
    const u = BigInt.asUintN(64, v);
    const lo = Number(u & 0xffffffffn);
    const hi = Number(u >> 32n);
    this.check(0);
    const u32 = this.engine.mem().u32;
    for (let k = this.ptr >>> 2, e = k + this.length * 2; k < e; k += 2) {
      u32[k] = lo;
      u32[k + 1] = hi;
    }
  }
  isValid(i: number): boolean {
    return (this.hi(i) & HMM_PFN_HI.VALID) !== 0;
  }
  isWrite(i: number): boolean {
    return (this.hi(i) & HMM_PFN_HI.WRITE) !== 0;
  }
  isError(i: number): boolean {
    return (this.hi(i) & HMM_PFN_HI.ERROR) !== 0;
  }
  /** hmm_pfn_to_map_order() under a profile's layout (default: the array's profile). */
  order(i: number, profile: Profile = this.profile): number {
    return (this.hi(i) >>> (profileInfo(profile).orderShift - 32)) & HMM_PFN_ORDER_MASK;
  }
  /** The pfn field (hmm_pfn & ~HMM_PFN_FLAGS) as a number (default: the array's profile). */
  pfn(i: number, profile: Profile = this.profile): number {
    const hiBits = profileInfo(profile).orderShift - 32;
    return (this.hi(i) & ((1 << hiBits) - 1)) * TWO32 + this.lo(i);
  }
  /** A copy of the words (safe to keep: not a view of engine memory). */
  toBigUint64Array(): BigUint64Array {
    this.check(0);
    const out = new BigUint64Array(this.length);
    new Uint32Array(out.buffer).set(this.engine.mem().u32.subarray(this.ptr >>> 2, (this.ptr >>> 2) + this.length * 2));
    return out;
  }
  copyFrom(src: BigUint64Array): void {
    this.check(0);
    if (src.length !== this.length) throw new InvalidArgumentError("PfnArray", "source length", `must be ${this.length}`, src.length);
    this.engine.mem().u32.set(new Uint32Array(src.buffer, src.byteOffset, this.length * 2), this.ptr >>> 2);
  }
  copyTo(dst: BigUint64Array): void {
    this.check(0);
    new Uint32Array(dst.buffer, dst.byteOffset, this.length * 2).set(
      this.engine.mem().u32.subarray(this.ptr >>> 2, (this.ptr >>> 2) + this.length * 2));
  }
  /** Whether free() was called. */
  get isFreed(): boolean {
    return this.freed;
  }
  free(): void {
    if (!this.freed) this.engine.raw.blockFree(this.ptr, this.bytes);
    this.freed = true;
  }
}
