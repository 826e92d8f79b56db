// hmm_pfns arrays that live in engine memory, with number-only accessors. A PfnArray is the
// zero-copy way to call hmmRangeFault; plain BigUint64Arrays are copied in and out instead.
import type { Engine } from "../engine/engine.js";
import { InvalidArgumentError, OutOfEngineMemoryError, UseAfterFreeError } from "../engine/errors.js";
import { HMM_PFN_HI, HMM_PFN_ORDER_MASK } from "../engine/layout.js";
import { profileInfo, type Profile } from "../engine/profile.js";

const TWO32 = 2 ** 32;
/** The longest PfnArray: 2^26 words (512 MiB of engine memory, a 256 GiB range); its byte size fits a u32. */
export const PFN_ARRAY_MAX = 2 ** 26;

/**
 * An hmm_pfns array in engine memory: one 64-bit word per 4 KiB page, requests (HMM_PFN_REQ_*)
 * in, results (HMM_PFN_VALID, HMM_PFN_WRITE, HMM_PFN_ERROR, the map order and the pfn) out
 * (docs/semantics.md §1.2, §1.3). Passing one as `hmmPfns` makes hmmRangeFault() zero-copy; the
 * number accessors (hi(), lo(), pfn(), isValid()...) avoid a BigInt per page. Call free() when
 * done: the words live in the engine's block allocator, not on the JS heap.
 *
 * @example
 * ```ts
 * const pfns = new PfnArray(mm, 256);          // 256 pages; decoded with mm's profile
 * pfns.fill(HMM_PFN_REQ_FAULT);                // per-page requests: fault every page in (read)
 * const seq = mm.notifiers.readBegin(sub);
 * mm.mmapReadLock();
 * const ret = hmmRangeFault({
 *   notifier: sub, notifierSeq: seq, start: addr, end: addr + 256 * 4096, hmmPfns: pfns,
 *   pfnFlagsMask: HMM_PFN_REQ_FAULT,           // without it the per-page requests are ignored
 * });
 * mm.mmapReadUnlock();
 * if (ret === 0 && !mm.notifiers.readRetry(sub, seq)) {
 *   console.log(pfns.isValid(0), pfns.isWrite(0), pfns.pfn(0) === ZERO_PFN); // true false true: a read maps the zero page
 * }
 * pfns.free();
 * ```
 */
export class PfnArray {
  /** Byte address in engine memory (internal). */
  readonly ptr: number;
  /**
   * The layout order()/pfn() decode with: the constructor's, then the Mm of the last hmmRangeFault
   * that filled the array (an Mm passed instead of an engine sets it from the start).
   */
  profile: Profile;
  /** The engine whose memory holds the words. */
  readonly engine: Engine;
  private freed = false;
  private readonly bytes: number;

  /**
   * `owner`: the engine, or the Mm whose walks will fill the array (its profile decodes them).
   * Throws InvalidArgumentError unless length is an integer in [1, PFN_ARRAY_MAX], EngineError
   * when engine memory is exhausted.
   *
   * @param length Number of words, one per 4 KiB page of the range.
   */
  constructor(
    owner: Engine | { readonly engine: Engine; readonly profile: Profile },
    readonly length: number,
    profile?: Profile,
  ) {
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
    if (!(i >= 0 && i < this.length) || !Number.isInteger(i))
      throw new InvalidArgumentError("PfnArray", "index", `must be an integer in 0..${this.length - 1}`, i);
    return (this.ptr >>> 2) + i * 2;
  }
  /** High 32 bits of word i (all HMM flag bits live here). */
  hi(i: number): number {
    return this.engine.mem().u32[this.check(i) + 1];
  }
  /** Low 32 bits of word i (the low bits of the pfn). Throws RangeError outside 0..length-1, UseAfterFreeError after free(). */
  lo(i: number): number {
    return this.engine.mem().u32[this.check(i)];
  }
  /** Word i as an unsigned 64-bit bigint. Throws RangeError outside 0..length-1, UseAfterFreeError after free(). */
  get(i: number): bigint {
    const k = this.check(i);
    const u32 = this.engine.mem().u32;
    return (BigInt(u32[k + 1]) << 32n) | BigInt(u32[k]);
  }
  /** Sets word i (v is truncated to 64 bits), e.g. per-page HMM_PFN_REQ_* requests before a call. */
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
  /** HMM_PFN_VALID is set in word i: the page is mapped and its pfn field is meaningful. */
  isValid(i: number): boolean {
    return (this.hi(i) & HMM_PFN_HI.VALID) !== 0;
  }
  /** HMM_PFN_WRITE is set in word i: the CPU mapping is writable. */
  isWrite(i: number): boolean {
    return (this.hi(i) & HMM_PFN_HI.WRITE) !== 0;
  }
  /** HMM_PFN_ERROR is set in word i: the page cannot be accessed (docs/semantics.md §1.3). */
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
  /** Copies src (exactly `length` words) into the array. Throws RangeError on another length. */
  copyFrom(src: BigUint64Array): void {
    this.check(0);
    if (src.length !== this.length)
      throw new InvalidArgumentError("PfnArray", "source length", `must be ${this.length}`, src.length);
    this.engine.mem().u32.set(new Uint32Array(src.buffer, src.byteOffset, this.length * 2), this.ptr >>> 2);
  }
  /** Copies the words into dst (at least `length` words long). */
  copyTo(dst: BigUint64Array): void {
    this.check(0);
    new Uint32Array(dst.buffer, dst.byteOffset, this.length * 2).set(
      this.engine.mem().u32.subarray(this.ptr >>> 2, (this.ptr >>> 2) + this.length * 2),
    );
  }
  /** Whether free() was called. */
  get isFreed(): boolean {
    return this.freed;
  }
  /** Returns the words to the engine's allocator; later accesses throw UseAfterFreeError. Idempotent. */
  free(): void {
    if (!this.freed) this.engine.raw.blockFree(this.ptr, this.bytes);
    this.freed = true;
  }
}
