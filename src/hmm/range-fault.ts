// hmm_range_fault(): the retry loop around the walker (docs/semantics.md §4.1) and the hmm.h helpers.
import {
  ArgumentTypeError,
  EngineError,
  ErrnoError,
  InvalidArgumentError,
  OutOfEngineMemoryError,
  SimulationDeadlock,
  UseAfterFreeError,
  engineCall,
  errnoName,
} from "../engine/errors.js";
import { argBudget, argEnum, argInt, argOptions, argULong } from "../engine/validate.js";
import { callbackError } from "../mm/machine.js";
import {
  CTX,
  ERRNO,
  HMM_NEED_WRITE_FAULT,
  HMM_PFN_ERROR,
  HMM_PFN_HI,
  HMM_PFN_ORDER_MASK,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  MEM,
  PAGE_SIZE,
  PTE_LO,
  PTRS_PER_TABLE,
  VM,
} from "../engine/layout.js";
import type { Vma } from "../mm/vma.js";
import { FAULT_FLAG_REMOTE, FAULT_FLAG_WRITE, VM_FAULT_ERROR, handleMmFault } from "../fault/fault.js";
import { type MmStruct, mmOfNotifier } from "../mm/mm-struct.js";
import { splitHugePud } from "../mm/huge-split.js";
import { MmuIntervalNotifier } from "../mm/notifier.js";
import { PfnArray } from "./pfns.js";
import { type Profile, profileInfo } from "../engine/profile.js";
import type { RawExports } from "../engine/wasm.js";
import { createReferenceWalker } from "./reference-walk.js";

export { HMM_PFN_ERROR, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, HMM_PFN_VALID, HMM_PFN_WRITE };
/** HMM_PFN_ORDER_SHIFT of the seed revision (v6.1); the v6.16 layout uses 53. */
export const HMM_PFN_ORDER_SHIFT = profileInfo("v6.1").orderShift;
/** HMM_RANGE_DEFAULT_TIMEOUT (ms): a driver policy constant, not used by hmmRangeFault. */
export const HMM_RANGE_DEFAULT_TIMEOUT = 1000;

/**
 * A negative errno as a literal type. The value comes from the engine's layout globals; the literal
 * is what callers narrow on, and the two are checked equal when this module loads.
 */
function errnoLiteral<T extends number>(fromEngine: number, literal: T): T {
  if (fromEngine !== literal) throw new Error(`errno ${literal} of the host disagrees with the engine's ${fromEngine}`);
  return literal;
}

/** -EBUSY: the notifier sequence changed; the driver retries from mmu_interval_read_begin(). */
export const EBUSY = errnoLiteral(-ERRNO.EBUSY, -16);
/** -EFAULT: a page could not be faulted in (VM_FAULT_ERROR), or no VMA covers the range. */
export const EFAULT = errnoLiteral(-ERRNO.EFAULT, -14);
/** -EPERM: a request hit a VMA the walk may not fault (VM_IO / VM_PFNMAP / no read permission). */
export const EPERM = errnoLiteral(-ERRNO.EPERM, -1);
/** -EINVAL: unaligned or empty range. */
export const EINVAL = errnoLiteral(-ERRNO.EINVAL, -22);

/** -ENOENT: not returned by hmmRangeFault, but by drivers (dmirror: a page with no device entry). */
export const ENOENT = errnoLiteral(-ERRNO.ENOENT, -2);

/** What hmmRangeFault returns: 0 or one of the kernel's negative errnos (docs/semantics.md §8). */
export type HmmRangeFaultResult = 0 | typeof EBUSY | typeof EFAULT | typeof EPERM | typeof EINVAL;

import type { WalkEngine } from "../engine/engine.js";

export type { WalkEngine };
export type WalkFn = RawExports["hmmWalk"];

/** struct hmm_range. Addresses are byte addresses (numbers; page aligned). */
export interface HmmRange {
  /** The interval notifier subscription covering [start, end); its Mm is the one walked. */
  notifier: MmuIntervalNotifier;
  /** The sequence from mmu_interval_read_begin() (mm.notifiers.readBegin()); a changed sequence makes the call return EBUSY. */
  notifierSeq: number;
  /** First byte address of the range (page-aligned). */
  start: number;
  /** End byte address, exclusive (page-aligned, greater than start). */
  end: number;
  /** One word per page: inputs (requests) in, outputs out. */
  hmmPfns: BigUint64Array | PfnArray;
  /** Request bits OR-ed into every entry (HMM_PFN_REQ_FAULT / HMM_PFN_REQ_WRITE). */
  defaultFlags?: bigint;
  /** Per-entry input is AND-ed with this before default_flags are OR-ed in. */
  pfnFlagsMask?: bigint;
  /** Device-private pages whose pgmap owner is this object are reported, never faulted. */
  devPrivateOwner?: unknown;
}

/** Options of one hmmRangeFault() call (simulator knobs; the kernel has no equivalent). */
export interface HmmRangeFaultOptions {
  /** Walker to use (default: the engine's `walker` option, itself "wasm" by default). */
  engine?: WalkEngine;
  /** Livelock guard: internal retries without progress before SimulationDeadlock (default 1000). */
  maxStalls?: number;
  /** Filled with what this call did (passes, faulted pages, migration waits). */
  stats?: HmmRangeFaultStats;
}

/** What one hmmRangeFault call did (for tests and tracing). */
export interface HmmRangeFaultStats {
  /** Walk passes run (each pass starts with the sequence check). */
  passes: number;
  /** Pages handle_mm_fault() was called for. */
  faultedPages: number;
  /** Times the walk waited on a migration entry (migration_entry_wait()). */
  migrationWaits: number;
}

/**
 * What the most recent hmmRangeFault call in this JavaScript realm did.
 * @deprecated Process-wide and overwritten by any nested or concurrent call: pass
 * `{ stats }` to hmmRangeFault, or read `mm.hmmStats` (the last call on that Mm). Removed in 0.3.
 */
export const lastHmmStats: HmmRangeFaultStats = { passes: 0, faultedPages: 0, migrationWaits: 0 };

/** The request values drivers pass on every call, and their high words (no BigInt arithmetic for them). */
const REQ_FAULT_HI = Number(HMM_PFN_REQ_FAULT >> 32n);
const REQ_WRITE_FAULT = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;
const REQ_WRITE_FAULT_HI = Number(REQ_WRITE_FAULT >> 32n);

/** The high 32 bits of a 64-bit flags word (every request bit lives there); once per call. */
function hiWord(v: bigint | undefined): number {
  if (v === undefined || v === 0n) return 0;
  if (v === HMM_PFN_REQ_FAULT) return REQ_FAULT_HI;
  if (v === REQ_WRITE_FAULT) return REQ_WRITE_FAULT_HI;
  if (typeof v !== "bigint")
    throw new ArgumentTypeError("hmmRangeFault", "defaultFlags and pfnFlagsMask", "must be bigints", v);
  return Number(BigInt.asUintN(64, v) >> 32n);
}

// Per engine (keyed by the Engine, so engines never share them): the reference walker, and the
// PfnArray that BigUint64Array callers' words are copied through.
const referenceWalkers = new WeakMap<object, WalkFn>();
const scratch = new WeakMap<object, PfnArray>();

/** Validates what a caller passes to hmmRangeFault (types, lifetimes, budgets) before anything runs. */
function checkHmmRangeArgs(range: HmmRange, opts: HmmRangeFaultOptions): void {
  const fn = "hmmRangeFault";
  if (typeof range !== "object" || range === null)
    throw new ArgumentTypeError(fn, "range", "must be an HmmRange object", range);
  argOptions(fn, "range", range);
  argOptions(fn, "opts", opts);
  if (!(range.notifier instanceof MmuIntervalNotifier))
    throw new ArgumentTypeError(fn, "range.notifier", "must be an MmuIntervalNotifier", range.notifier);
  if (range.notifier.removed) throw new UseAfterFreeError(`${fn}: range.notifier has been removed`);
  argInt(fn, "range.notifierSeq", range.notifierSeq, -(2 ** 53), Number.MAX_SAFE_INTEGER);
  argULong(fn, "range.start", range.start);
  argULong(fn, "range.end", range.end);
  // written out (no array of keys, no template string per call): this runs on every call
  if (range.defaultFlags !== undefined && typeof range.defaultFlags !== "bigint")
    throw new ArgumentTypeError(fn, "range.defaultFlags", "must be a bigint", range.defaultFlags);
  if (range.pfnFlagsMask !== undefined && typeof range.pfnFlagsMask !== "bigint")
    throw new ArgumentTypeError(fn, "range.pfnFlagsMask", "must be a bigint", range.pfnFlagsMask);
  if (range.hmmPfns instanceof PfnArray && range.hmmPfns.isFreed)
    throw new UseAfterFreeError(`${fn}: range.hmmPfns was freed`);
  if (opts.maxStalls !== undefined) argBudget(fn, "opts.maxStalls", opts.maxStalls);
  if (opts.engine !== undefined && opts.engine !== "wasm") argEnum(fn, "opts.engine", opts.engine, WALK_ENGINES);
}
const WALK_ENGINES = ["wasm", "reference"] as const;

/** Runs a user hook; an exception it throws surfaces as CallbackError (the library's own typed errors as they are). */
function callHook<T>(hook: (info: T) => void, what: string, info: T): void {
  try {
    hook(info);
  } catch (e) {
    throw callbackError(what, e);
  }
}

function isPageAligned(a: number): boolean {
  return Number.isSafeInteger(a) ? a % PAGE_SIZE === 0 : Number.isFinite(a) && a % PAGE_SIZE === 0 && a >= 0;
}

/**
 * hmm_range_fault(): fills range.hmmPfns for [start, end) of the notifier's mm, faulting pages in
 * as requested. Returns 0, EBUSY (the notifier sequence changed: retry from readBegin), EFAULT,
 * EPERM or EINVAL. The caller must hold the mmap lock (read or write).
 * Return codes: docs/semantics.md §8; the retry protocol: §4. Throws InvalidArgumentError /
 * ArgumentTypeError for malformed arguments, LockStateError without the mmap lock,
 * SimulationDeadlock when the retry loop makes no progress (opts.maxStalls).
 *
 * @example
 * ```ts
 * // the driver protocol of Documentation/mm/hmm.rst (docs/semantics.md §4.3)
 * const sub = mm.intervalNotifierInsert(addr, 1 << 20, {
 *   invalidate(sub, range, curSeq) { mm.notifiers.setSeq(sub, curSeq); return true; },
 * });
 * const pfns = new PfnArray(mm, 256);
 * for (;;) {
 *   const seq = mm.notifiers.readBegin(sub);
 *   mm.mmapReadLock();
 *   const ret = hmmRangeFault({
 *     notifier: sub, notifierSeq: seq, start: addr, end: addr + 256 * 4096, hmmPfns: pfns,
 *     defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
 *   });
 *   mm.mmapReadUnlock();
 *   if (ret === EBUSY) continue;
 *   checkHmm(ret);                                  // throws ErrnoError on EFAULT / EPERM / EINVAL
 *   if (!mm.notifiers.readRetry(sub, seq)) break;   // else an invalidation raced: retry
 * }
 * ```
 */
export function hmmRangeFault(range: HmmRange, opts: HmmRangeFaultOptions = {}): HmmRangeFaultResult {
  checkHmmRangeArgs(range, opts);
  const mm = mmOfNotifier(range.notifier);
  mm.assertLocked();
  // a call that returns before walking (stale sequence, -EINVAL) did nothing: say so in the stats
  const stats = mm.hmmStats;
  stats.passes = 0;
  stats.faultedPages = 0;
  stats.migrationWaits = 0;
  try {
    // one kernel operation: a throwing callback (migrateToRam, a notifier of a COW break) is
    // rethrown once the call has returned its pages consistently
    return mm.runOp(() => rangeFault(mm, range, opts, stats));
  } finally {
    if (opts.stats) copyStats(opts.stats, stats);
    copyStats(lastHmmStats, stats);
  }
}

function copyStats(to: HmmRangeFaultStats, from: HmmRangeFaultStats): void {
  to.passes = from.passes;
  to.faultedPages = from.faultedPages;
  to.migrationWaits = from.migrationWaits;
}

function rangeFault(
  mm: MmStruct,
  range: HmmRange,
  opts: HmmRangeFaultOptions,
  stats: HmmRangeFaultStats,
): HmmRangeFaultResult {
  const w = prepare(mm, range, opts, stats, false);
  if (typeof w === "number") return w;
  const pfns = range.hmmPfns;
  try {
    for (;;) {
      const r = w.step();
      if (r !== HMM_STEP_PASS && r !== HMM_STEP_FAULT) return r;
    }
  } finally {
    if (pfns instanceof BigUint64Array) {
      new Uint32Array(pfns.buffer, pfns.byteOffset, w.npages * 2).set(
        mm.engine.mem().u32.subarray(w.buf.ptr >>> 2, (w.buf.ptr >>> 2) + w.npages * 2),
      );
    }
  }
}

/** The checks hmm_range_fault() makes before walking; returns the errno or the walk state. */
function prepare(
  mm: MmStruct,
  range: HmmRange,
  opts: HmmRangeFaultOptions,
  stats: HmmRangeFaultStats,
  fine: boolean,
): HmmRangeFaultResult | RangeFaultWalk {
  const { start, end } = range;
  if (typeof start !== "number" || typeof end !== "number")
    throw new ArgumentTypeError("hmmRangeFault", "range.start and range.end", "must be numbers (byte addresses)");
  if (!isPageAligned(start) || !isPageAligned(end)) return EINVAL;
  if (mm.exited) return EFAULT;
  // the sequence is checked before walk_page_range() can refuse an empty range
  if (mm.notifiers.checkRetry(range.notifier, range.notifierSeq)) return EBUSY;
  if (start >= end) return EINVAL;
  const npages = (end - start) / PAGE_SIZE;
  const pfns = range.hmmPfns;
  if (!(pfns instanceof PfnArray) && !(pfns instanceof BigUint64Array))
    throw new ArgumentTypeError("hmmRangeFault", "range.hmmPfns", "must be a BigUint64Array or a PfnArray", pfns);
  if (pfns.length < npages)
    throw new InvalidArgumentError(
      "hmmRangeFault",
      "range.hmmPfns",
      `must have at least the ${npages} entries of the range`,
      pfns.length,
    );
  if (pfns instanceof PfnArray && pfns.engine !== mm.engine)
    throw new ArgumentTypeError("hmmRangeFault", "range.hmmPfns", "must belong to the notifier's engine");
  if (fine && !(pfns instanceof PfnArray))
    throw new ArgumentTypeError("hmmRangeFaultBegin", "range.hmmPfns", "must be a PfnArray for a stepped walk", pfns);
  const defHi = hiWord(range.defaultFlags);
  const maskHi = hiWord(range.pfnFlagsMask);

  let buf: PfnArray;
  if (pfns instanceof PfnArray) {
    // the array now holds words of this Mm's layout: its order()/pfn() decode with it
    pfns.profile = mm.profile;
    buf = pfns;
  } else {
    let s = scratch.get(mm.engine);
    if (!s || s.length < npages) {
      let fresh: PfnArray;
      try {
        fresh = new PfnArray(mm.engine, Math.max(npages, 512));
      } catch (e) {
        // no engine memory for the copy of the caller's array: the walk cannot run (-EFAULT),
        // and nothing has changed
        if (e instanceof OutOfEngineMemoryError) return EFAULT;
        throw e;
      }
      s?.free();
      s = fresh;
      scratch.set(mm.engine, s);
    }
    buf = s;
    mm.engine.mem().u32.set(new Uint32Array(pfns.buffer, pfns.byteOffset, npages * 2), buf.ptr >>> 2);
  }
  const walk: WalkFn =
    (opts.engine ?? mm.engine.walker) === "reference" ? referenceWalkerFor(mm) : mm.engine.raw.hmmWalk;
  return new RangeFaultWalk(
    mm,
    range,
    buf,
    walk,
    stats,
    npages,
    defHi,
    maskHi,
    mm.engine.ownerId(range.devPrivateOwner),
    opts.maxStalls ?? 1000,
    fine,
  );
}

function referenceWalkerFor(mm: MmStruct): WalkFn {
  let w = referenceWalkers.get(mm.engine);
  if (!w) {
    w = createReferenceWalker(mm.engine);
    referenceWalkers.set(mm.engine, w);
  }
  return w;
}

/** step() result of a stepped walk that stopped after a walk pass (before acting on its request). */
export const HMM_STEP_PASS = 1 as const;
/** step() result of a stepped walk that stopped after a fault (one page, or a whole chunk). */
export const HMM_STEP_FAULT = 2 as const;

/** What one step of a stepped hmm_range_fault() returns: a step kind while not over, else the result. */
export type HmmStepResult = typeof HMM_STEP_PASS | typeof HMM_STEP_FAULT | HmmRangeFaultResult;

/** The walker's return code as a result; anything else is an engine defect, never passed on. */
function walkerResult(ret: number): HmmRangeFaultResult {
  if (ret === 0 || ret === EFAULT || ret === EPERM || ret === EINVAL || ret === EBUSY) return ret;
  throw new EngineError(`the page walk returned ${ret}, which is not a return code of hmm_range_fault`);
}

/**
 * The retry loop of hmm_range_fault() as a step machine: each step() runs one walk pass (with the
 * sequence check before it) or the faults it asked for, and returns HMM_STEP_PASS / HMM_STEP_FAULT
 * while the call is not over, or its result (0 or a negative errno). The synchronous
 * hmmRangeFault() drives it to the end in one go; a simulation interleaves other work between
 * steps, which are exactly the points where the kernel's walk can be raced (docs/semantics.md §4.1).
 * In "fine" mode every fault of a chunk is its own step.
 */
class RangeFaultWalk {
  private readonly startPage: number;
  private readonly endPage: number;
  private lastPage: number;
  private stalls = 0;
  // a PUD split happens inside the kernel's walk: the walk resumes without a sequence check
  private resume = false;
  private faulting = false;
  private p = 0;
  private faultEnd = 0;
  private flags = 0;
  private vma: Vma | undefined = undefined;
  /** Pages the last walk pass went over. */
  walkedPages = 0;

  constructor(
    private readonly mm: MmStruct,
    private readonly range: HmmRange,
    readonly buf: PfnArray,
    private readonly walk: WalkFn,
    readonly stats: HmmRangeFaultStats,
    readonly npages: number,
    private readonly defHi: number,
    private readonly maskHi: number,
    private readonly ownerId: number,
    private readonly maxStalls: number,
    private readonly fine: boolean,
  ) {
    this.startPage = range.start / PAGE_SIZE;
    this.endPage = this.startPage + npages;
    this.lastPage = this.startPage;
  }

  /** The address of the next page a fine-mode step will fault, or -1 when the next step walks. */
  get nextFaultAddr(): number {
    return this.faulting ? this.p * PAGE_SIZE : -1;
  }
  /** Whether the faults of the current chunk are write faults. */
  get writeFault(): boolean {
    return (this.flags & FAULT_FLAG_WRITE) !== 0;
  }

  step(): HmmStepResult {
    return this.faulting ? (this.fine ? this.faultOne() : this.faultChunk()) : this.pass();
  }

  private pass(): HmmStepResult {
    const mm = this.mm;
    const stats = this.stats;
    if (!this.resume && mm.notifiers.checkRetry(this.range.notifier, this.range.notifierSeq)) return EBUSY;
    this.resume = false;
    if (stats.passes > 0 && mm.hooks.betweenPasses)
      callHook(mm.hooks.betweenPasses, "mm.hooks.betweenPasses", {
        pass: stats.passes,
        last: this.lastPage * PAGE_SIZE,
      });
    stats.passes++;
    mm.stats.walkPasses++;
    let ret: number;
    try {
      ret = this.walk(
        mm.ptr,
        this.buf.ptr,
        this.startPage,
        this.lastPage,
        this.endPage,
        this.defHi,
        this.maskHi,
        this.ownerId,
        mm.profileBits,
      );
    } catch (e) {
      ret = engineCall("the page walk", () => {
        throw e;
      });
    }
    const ctx = MEM.WALK_CTX;
    const views = mm.engine.mem();
    const newLast = views.f64[(ctx + CTX.LAST) >>> 3];
    if (ret !== EBUSY) {
      this.walkedPages = this.endPage - this.lastPage;
      return walkerResult(ret);
    }
    this.walkedPages = newLast - this.lastPage;
    this.stalls = newLast === this.lastPage ? this.stalls + 1 : 0;
    if (this.stalls > this.maxStalls) {
      throw new SimulationDeadlock(
        `hmmRangeFault made no progress at ${(newLast * PAGE_SIZE).toString(16)} after ${this.maxStalls} internal retries (a fault handler that does not change the entry?)`,
      );
    }
    this.lastPage = newLast;
    const action = views.i32[(ctx + CTX.ACTION) >>> 2];
    if (action === CTX.ACTION_WAIT_MIGRATION) {
      stats.migrationWaits++;
      mm.waitMigration(this.lastPage * PAGE_SIZE);
      return HMM_STEP_PASS;
    }
    if (action === CTX.ACTION_SPLIT_PUD) {
      splitHugePud(mm, this.lastPage * PAGE_SIZE);
      this.resume = true;
      return HMM_STEP_PASS;
    }
    if (action !== CTX.ACTION_FAULT) throw new Error(`walker returned -EBUSY with action ${action}`);
    this.faultEnd = views.f64[(ctx + CTX.FAULT_END) >>> 3];
    const need = views.i32[(ctx + CTX.NEED) >>> 2];
    this.vma = mm.vmas[views.i32[(ctx + CTX.VMA_INDEX) >>> 2]];
    this.flags = FAULT_FLAG_REMOTE | (need & HMM_NEED_WRITE_FAULT ? FAULT_FLAG_WRITE : 0);
    this.p = this.lastPage;
    this.faulting = true;
    return HMM_STEP_PASS;
  }

  /** hmm_vma_fault(): every page of the chunk, with the same flags, in one step. */
  private faultChunk(): HmmStepResult {
    const mm = this.mm;
    const eng = mm.engine;
    const stats = this.stats;
    const vma = this.vma as Vma;
    const flags = this.flags;
    const lastPage = this.lastPage;
    const faultEnd = this.faultEnd;
    this.faulting = false;
    const batch = canBatchAnonFaults(mm, vma);
    for (let p = lastPage; p < faultEnd; p++) {
      if (batch) {
        // the engine faults the run of empty PTEs itself (same result as handleMmFault page by page)
        const next = eng.raw.faultAnonRange(
          mm.ptr,
          p,
          faultEnd,
          flags & FAULT_FLAG_WRITE ? 1 : 0,
          vma.flags & VM.WRITE ? 1 : 0,
        );
        const n = eng.raw.faultAnonFaulted();
        stats.faultedPages += n;
        mm.stats.faults += n;
        if (n > 0 && flags & FAULT_FLAG_WRITE) vma.anonVma = true;
        if (next < 0) {
          // handle_mm_fault() ran on the page it could not allocate for: VM_FAULT_OOM
          stats.faultedPages++;
          mm.stats.faults++;
          return EFAULT;
        }
        p = next;
        if (p >= faultEnd) break;
      }
      if (p > lastPage && mm.hooks.betweenFaults)
        callHook(mm.hooks.betweenFaults, "mm.hooks.betweenFaults", { addr: p * PAGE_SIZE, index: p - this.startPage });
      stats.faultedPages++;
      if (handleMmFault(mm, vma, p * PAGE_SIZE, flags) & VM_FAULT_ERROR) return EFAULT;
      if (!vma.isHugetlb && !mm.hooks.betweenFaults) {
        // the rest of a PMD that is now a present huge leaf would only see no-op faults
        // (huge_pmd_set_accessed); they are counted but not run
        const leaf = mm.leafOf(p * PAGE_SIZE);
        if (
          leaf.level === 1 &&
          (leaf.entry.lo & PTE_LO.PRESENT) !== 0 &&
          (!(flags & FAULT_FLAG_WRITE) || (leaf.entry.lo & PTE_LO.RW) !== 0)
        ) {
          const pmdEnd = Math.min(faultEnd, (Math.floor(p / PTRS_PER_TABLE) + 1) * PTRS_PER_TABLE);
          stats.faultedPages += pmdEnd - p - 1;
          mm.stats.faults += pmdEnd - p - 1;
          p = pmdEnd - 1;
        }
      }
    }
    return HMM_STEP_FAULT;
  }

  /** One page of hmm_vma_fault() (fine mode): handle_mm_fault page by page, like with a betweenFaults hook. */
  private faultOne(): HmmStepResult {
    const mm = this.mm;
    const p = this.p;
    if (p > this.lastPage && mm.hooks.betweenFaults)
      callHook(mm.hooks.betweenFaults, "mm.hooks.betweenFaults", { addr: p * PAGE_SIZE, index: p - this.startPage });
    this.stats.faultedPages++;
    if (handleMmFault(mm, this.vma as Vma, p * PAGE_SIZE, this.flags) & VM_FAULT_ERROR) {
      this.faulting = false;
      return EFAULT;
    }
    this.p = p + 1;
    if (this.p >= this.faultEnd) this.faulting = false;
    return HMM_STEP_FAULT;
  }
}

/** A hmm_range_fault() call that a simulation advances step by step (see RangeFaultWalk). */
export interface HmmRangeFaultStepper {
  /** Runs the next pass or fault: HMM_STEP_PASS / HMM_STEP_FAULT while not over, else the call's result. */
  step(): HmmStepResult;
  /** What this call did so far. */
  readonly stats: HmmRangeFaultStats;
  /** Pages the last walk pass went over. */
  readonly walkedPages: number;
  /** The page address the next step faults (fine mode), or -1 when the next step walks. */
  readonly nextFaultAddr: number;
  /** Whether the faults of the current chunk are write faults (FAULT_FLAG_WRITE). */
  readonly writeFault: boolean;
}

/**
 * hmm_range_fault() as a step machine, for schedulers that interleave other actors between its
 * passes and faults. Same checks and results as hmmRangeFault; range.hmmPfns must be a PfnArray.
 * The caller holds the mmap lock across every step. With `fine`, every faulted page is one step.
 * Returns the errno at once when the call fails before walking.
 */
export function hmmRangeFaultBegin(
  range: HmmRange,
  opts: HmmRangeFaultOptions & { fine?: boolean } = {},
): HmmRangeFaultStepper | HmmRangeFaultResult {
  const { fine, ...hmmOpts } = opts;
  checkHmmRangeArgs(range, hmmOpts);
  const mm = mmOfNotifier(range.notifier);
  mm.assertLocked();
  const stats: HmmRangeFaultStats = { passes: 0, faultedPages: 0, migrationWaits: 0 };
  const w = mm.runOp(() => prepare(mm, range, opts, stats, fine ?? false));
  if (typeof w === "number") {
    Object.assign(mm.hmmStats, stats);
    return w;
  }
  return {
    step(): HmmStepResult {
      // each step is one kernel operation: a throwing callback surfaces after it (as hmmRangeFault's do)
      const r = mm.runOp(() => w.step());
      if (r !== HMM_STEP_PASS && r !== HMM_STEP_FAULT) {
        Object.assign(mm.hmmStats, stats);
        if (opts.stats) Object.assign(opts.stats, stats);
      }
      return r;
    },
    stats,
    get walkedPages() {
      return w.walkedPages;
    },
    get nextFaultAddr() {
      return w.nextFaultAddr;
    },
    get writeFault() {
      return w.writeFault;
    },
  };
}

/** Whether faults in vma can only be do_anonymous_page() on empty PTEs or go elsewhere by themselves. */
function canBatchAnonFaults(mm: MmStruct, vma: Vma): boolean {
  if (!vma.isAnonymous || vma.isShared || vma.isHugetlb || mm.hooks.betweenFaults) return false;
  // where a THP could be created the first fault of a PMD must take the THP path
  return (
    mm.thp === "never" || (vma.flags & VM.NOHUGEPAGE) !== 0 || (mm.thp === "madvise" && (vma.flags & VM.HUGEPAGE) === 0)
  );
}

/** A profile, or anything that has one (an Mm): the layout an output word is decoded with. */
export type ProfileOf =
  | Profile
  | {
      /** The kernel profile its words were produced under (e.g. an Mm's). */
      readonly profile: Profile;
    };
const layoutOf = (p: ProfileOf): Profile => (typeof p === "string" ? p : p?.profile);

/**
 * hmm_pfn_to_map_order(): log2 of the pages of the CPU mapping holding this page. The order bits
 * moved in v6.16, so the word's profile (or the Mm it came from) is required.
 */
export function hmmPfnToMapOrder(hmmPfn: bigint, profile: ProfileOf): number {
  return Number(
    (BigInt.asUintN(64, hmmPfn) >> BigInt(profileInfo(layoutOf(profile)).orderShift)) & BigInt(HMM_PFN_ORDER_MASK),
  );
}
/** hmm_pfn_to_page()'s pfn: the pfn field of an output word (hmm_pfn & ~HMM_PFN_FLAGS), as a number. */
export function hmmPfnToPfn(hmmPfn: bigint, profile: ProfileOf): number {
  return Number(BigInt.asUintN(64, hmmPfn) & ~profileInfo(layoutOf(profile)).pfnFlags & 0xffffffffffffffffn);
}

/** Number-only helpers on the high 32 bits of a word (PfnArray.hi(i)). */
export const hmmPfnHi = {
  /** HMM_PFN_VALID is set in the high word. */
  isValid: (hi: number): boolean => (hi & HMM_PFN_HI.VALID) !== 0,
  /** HMM_PFN_WRITE is set in the high word. */
  isWrite: (hi: number): boolean => (hi & HMM_PFN_HI.WRITE) !== 0,
  /** HMM_PFN_ERROR is set in the high word. */
  isError: (hi: number): boolean => (hi & HMM_PFN_HI.ERROR) !== 0,
  /** hmm_pfn_to_map_order() on the high word, under the profile's layout. */
  order: (hi: number, profile: ProfileOf): number =>
    (hi >>> (profileInfo(layoutOf(profile)).orderShift - 32)) & HMM_PFN_ORDER_MASK,
};

/** Throws ErrnoError for a non-zero hmmRangeFault result (for callers that prefer exceptions). */
export function checkHmm(ret: number, what = "hmm_range_fault"): void {
  if (ret !== 0) throw new ErrnoError(ret, `${what} returned ${errnoName(ret)}`);
}
