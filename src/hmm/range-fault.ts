// hmm_range_fault(): the retry loop around the walker (spec §4.1) and the hmm.h helpers.
import { ArgumentTypeError, ErrnoError, InvalidArgumentError, OutOfEngineMemoryError, SimulationDeadlock, UseAfterFreeError, engineCall, errnoName } from "../engine/errors.js";
import { argBudget, argEnum, argInt, argOptions, argULong } from "../engine/validate.js";
import { callbackError } from "../mm/machine.js";
import {
  CTX, ERRNO, HMM_NEED_WRITE_FAULT, HMM_PFN_ERROR, HMM_PFN_HI, HMM_PFN_ORDER_MASK, HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE, HMM_PFN_VALID, HMM_PFN_WRITE, MEM, PAGE_SIZE, PTE_LO, VM,
} from "../engine/layout.js";
import type { Vma } from "../mm/vma.js";
import { FAULT_FLAG_REMOTE, FAULT_FLAG_WRITE, VM_FAULT_ERROR, handleMmFault } from "../fault/fault.js";
import { type MmStruct, mmOfNotifier } from "../mm/mm-struct.js";
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

/** Return codes of hmmRangeFault (the kernel's negative errnos). */
export const EBUSY = -ERRNO.EBUSY;
export const EFAULT = -ERRNO.EFAULT;
export const EPERM = -ERRNO.EPERM;
export const EINVAL = -ERRNO.EINVAL;

import type { WalkEngine } from "../engine/engine.js";

export type { WalkEngine };
export type WalkFn = RawExports["hmmWalk"];

/** struct hmm_range. Addresses are byte addresses (numbers; page aligned). */
export interface HmmRange {
  notifier: MmuIntervalNotifier;
  notifierSeq: number;
  start: number;
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
  passes: number;
  faultedPages: number;
  migrationWaits: number;
}

const referenceWalkers = new WeakMap<object, WalkFn>();

/**
 * What the most recent hmmRangeFault call in this JavaScript realm did.
 * @deprecated Process-wide and overwritten by any nested or concurrent call: pass
 * `{ stats }` to hmmRangeFault, or read `mm.hmmStats` (the last call on that Mm). Removed in 0.3.
 */
export const lastHmmStats: HmmRangeFaultStats = { passes: 0, faultedPages: 0, migrationWaits: 0 };

// request words are a handful of constants: their high halves are converted once
const hiCache = new Map<bigint, number>();
/** The high 32 bits of a 64-bit flags word (every request bit lives there). */
function hiWord(v: bigint | undefined): number {
  if (v === undefined || v === 0n) return 0;
  let h = hiCache.get(v);
  if (h === undefined) {
    if (typeof v !== "bigint") throw new ArgumentTypeError("hmmRangeFault", "defaultFlags and pfnFlagsMask", "must be bigints", v);
    h = Number(BigInt.asUintN(64, v) >> 32n);
    if (hiCache.size < 256) hiCache.set(v, h);
  }
  return h;
}

const scratch = new WeakMap<object, PfnArray>();

/** Validates what a caller passes to hmmRangeFault (types, lifetimes, budgets) before anything runs. */
function checkHmmRangeArgs(range: HmmRange, opts: HmmRangeFaultOptions): void {
  const fn = "hmmRangeFault";
  if (typeof range !== "object" || range === null) throw new ArgumentTypeError(fn, "range", "must be an HmmRange object", range);
  argOptions(fn, "range", range);
  argOptions(fn, "opts", opts);
  if (!(range.notifier instanceof MmuIntervalNotifier)) throw new ArgumentTypeError(fn, "range.notifier", "must be an MmuIntervalNotifier", range.notifier);
  if (range.notifier.removed) throw new UseAfterFreeError(`${fn}: range.notifier has been removed`);
  argInt(fn, "range.notifierSeq", range.notifierSeq, -(2 ** 53), Number.MAX_SAFE_INTEGER);
  argULong(fn, "range.start", range.start);
  argULong(fn, "range.end", range.end);
  for (const k of ["defaultFlags", "pfnFlagsMask"] as const) {
    if (range[k] !== undefined && typeof range[k] !== "bigint") throw new ArgumentTypeError(fn, `range.${k}`, "must be a bigint", range[k]);
  }
  if (range.hmmPfns instanceof PfnArray && range.hmmPfns.isFreed) throw new UseAfterFreeError(`${fn}: range.hmmPfns was freed`);
  if (opts.maxStalls !== undefined) argBudget(fn, "opts.maxStalls", opts.maxStalls);
  if (opts.engine !== undefined) argEnum(fn, "opts.engine", opts.engine, ["wasm", "reference"] as const);
}

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
 */
export function hmmRangeFault(range: HmmRange, opts: HmmRangeFaultOptions = {}): number {
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
    if (opts.stats) Object.assign(opts.stats, stats);
    Object.assign(lastHmmStats, stats);
  }
}

function rangeFault(mm: MmStruct, range: HmmRange, opts: HmmRangeFaultOptions, stats: HmmRangeFaultStats): number {
  const { start, end } = range;
  if (typeof start !== "number" || typeof end !== "number") throw new ArgumentTypeError("hmmRangeFault", "range.start and range.end", "must be numbers (byte addresses)");
  if (!isPageAligned(start) || !isPageAligned(end)) return EINVAL;
  if (mm.exited) return EFAULT;
  // the sequence is checked before walk_page_range() can refuse an empty range
  if (mm.notifiers.checkRetry(range.notifier, range.notifierSeq)) return EBUSY;
  if (start >= end) return EINVAL;
  const npages = (end - start) / PAGE_SIZE;
  const pfns = range.hmmPfns;
  if (!(pfns instanceof PfnArray) && !(pfns instanceof BigUint64Array)) throw new ArgumentTypeError("hmmRangeFault", "range.hmmPfns", "must be a BigUint64Array or a PfnArray", pfns);
  if (pfns.length < npages) throw new InvalidArgumentError("hmmRangeFault", "range.hmmPfns", `must have at least the ${npages} entries of the range`, pfns.length);
  if (pfns instanceof PfnArray && pfns.engine !== mm.engine) throw new ArgumentTypeError("hmmRangeFault", "range.hmmPfns", "must belong to the notifier's engine");
  const defHi = hiWord(range.defaultFlags);
  const maskHi = hiWord(range.pfnFlagsMask);

  let buf: PfnArray;
  if (pfns instanceof PfnArray) {
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
  const walk: WalkFn = (opts.engine ?? mm.engine.walker) === "reference" ? referenceWalkerFor(mm) : mm.engine.raw.hmmWalk;
  try {
    return loop(mm, range, buf, walk, stats, npages, defHi, maskHi,
      mm.engine.ownerId(range.devPrivateOwner), opts.maxStalls ?? 1000);
  } finally {
    if (pfns instanceof BigUint64Array) {
      new Uint32Array(pfns.buffer, pfns.byteOffset, npages * 2).set(
        mm.engine.mem().u32.subarray(buf.ptr >>> 2, (buf.ptr >>> 2) + npages * 2));
    }
  }
}

function referenceWalkerFor(mm: MmStruct): WalkFn {
  let w = referenceWalkers.get(mm.engine);
  if (!w) {
    w = createReferenceWalker(mm.engine);
    referenceWalkers.set(mm.engine, w);
  }
  return w;
}

function loop(mm: MmStruct, range: HmmRange, buf: PfnArray, walk: WalkFn, stats: HmmRangeFaultStats, npages: number, defHi: number,
  maskHi: number, ownerId: number, maxStalls: number): number {
  const eng = mm.engine;
  const startPage = range.start / PAGE_SIZE;
  const endPage = startPage + npages;
  let lastPage = startPage;
  let stalls = 0;
  const ctx = MEM.WALK_CTX;
  // a PUD split happens inside the kernel's walk: the walk resumes without a sequence check
  let resume = false;
  for (;;) {
    if (!resume && mm.notifiers.checkRetry(range.notifier, range.notifierSeq)) return EBUSY;
    resume = false;
    if (stats.passes > 0 && mm.hooks.betweenPasses) callHook(mm.hooks.betweenPasses, "mm.hooks.betweenPasses", { pass: stats.passes, last: lastPage * PAGE_SIZE });
    stats.passes++;
    mm.stats.walkPasses++;
    let ret: number;
    try {
      ret = walk(mm.ptr, buf.ptr, startPage, lastPage, endPage, defHi, maskHi, ownerId, mm.profileBits);
    } catch (e) {
      ret = engineCall("the page walk", () => { throw e; });
    }
    const views = eng.mem();
    const newLast = views.f64[(ctx + CTX.LAST) >>> 3];
    if (ret !== EBUSY) return ret;
    stalls = newLast === lastPage ? stalls + 1 : 0;
    if (stalls > maxStalls) {
      throw new SimulationDeadlock(`hmmRangeFault made no progress at ${(newLast * PAGE_SIZE).toString(16)} after ${maxStalls} internal retries (a fault handler that does not change the entry?)`);
    }
    lastPage = newLast;
    const action = views.i32[(ctx + CTX.ACTION) >>> 2];
    if (action === CTX.ACTION_WAIT_MIGRATION) {
      stats.migrationWaits++;
      mm.waitMigration(lastPage * PAGE_SIZE);
      continue;
    }
    if (action === CTX.ACTION_SPLIT_PUD) {
      mm.splitHugePud(lastPage * PAGE_SIZE);
      resume = true;
      continue;
    }
    if (action !== CTX.ACTION_FAULT) throw new Error(`walker returned -EBUSY with action ${action}`);
    const faultEnd = views.f64[(ctx + CTX.FAULT_END) >>> 3];
    const need = views.i32[(ctx + CTX.NEED) >>> 2];
    const vma = mm.vmas[views.i32[(ctx + CTX.VMA_INDEX) >>> 2]];
    const flags = FAULT_FLAG_REMOTE | (need & HMM_NEED_WRITE_FAULT ? FAULT_FLAG_WRITE : 0);
    // hmm_vma_fault(): every page of the chunk, with the same flags
    const batch = canBatchAnonFaults(mm, vma);
    for (let p = lastPage; p < faultEnd; p++) {
      if (batch) {
        // the engine faults the run of empty PTEs itself (same result as handleMmFault page by page)
        const next = eng.raw.faultAnonRange(mm.ptr, p, faultEnd, flags & FAULT_FLAG_WRITE ? 1 : 0, vma.flags & VM.WRITE ? 1 : 0);
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
      if (p > lastPage && mm.hooks.betweenFaults) callHook(mm.hooks.betweenFaults, "mm.hooks.betweenFaults", { addr: p * PAGE_SIZE, index: p - startPage });
      stats.faultedPages++;
      if (handleMmFault(mm, vma, p * PAGE_SIZE, flags) & VM_FAULT_ERROR) return EFAULT;
      if (!vma.isHugetlb && !mm.hooks.betweenFaults) {
        // the rest of a PMD that is now a present huge leaf would only see no-op faults
        // (huge_pmd_set_accessed); they are counted but not run
        const leaf = mm.leafOf(p * PAGE_SIZE);
        if (leaf.level === 1 && (leaf.entry.lo & PTE_LO.PRESENT) !== 0 && (!(flags & FAULT_FLAG_WRITE) || (leaf.entry.lo & PTE_LO.RW) !== 0)) {
          const pmdEnd = Math.min(faultEnd, (Math.floor(p / 512) + 1) * 512);
          stats.faultedPages += pmdEnd - p - 1;
          mm.stats.faults += pmdEnd - p - 1;
          p = pmdEnd - 1;
        }
      }
    }
  }
}

/** Whether faults in vma can only be do_anonymous_page() on empty PTEs or go elsewhere by themselves. */
function canBatchAnonFaults(mm: MmStruct, vma: Vma): boolean {
  if (!vma.isAnonymous || vma.isShared || vma.isHugetlb || mm.hooks.betweenFaults) return false;
  // where a THP could be created the first fault of a PMD must take the THP path
  return mm.thp === "never" || (vma.flags & VM.NOHUGEPAGE) !== 0 || (mm.thp === "madvise" && (vma.flags & VM.HUGEPAGE) === 0);
}

/** hmm_pfn_to_map_order(): log2 of the pages of the CPU mapping holding this page. */
export function hmmPfnToMapOrder(hmmPfn: bigint, profile: Profile = "v6.1"): number {
  return Number((BigInt.asUintN(64, hmmPfn) >> BigInt(profileInfo(profile).orderShift)) & BigInt(HMM_PFN_ORDER_MASK));
}
/** The pfn field of an output word (hmm_pfn & ~HMM_PFN_FLAGS), as a number. */
export function hmmPfnToPfn(hmmPfn: bigint, profile: Profile = "v6.1"): number {
  return Number(BigInt.asUintN(64, hmmPfn) & ~profileInfo(profile).pfnFlags & 0xffffffffffffffffn);
}

/** Number-only helpers on the high 32 bits of a word (PfnArray.hi(i)). */
export const hmmPfnHi = {
  isValid: (hi: number): boolean => (hi & HMM_PFN_HI.VALID) !== 0,
  isWrite: (hi: number): boolean => (hi & HMM_PFN_HI.WRITE) !== 0,
  isError: (hi: number): boolean => (hi & HMM_PFN_HI.ERROR) !== 0,
  order: (hi: number, profile: Profile = "v6.1"): number => (hi >>> (profileInfo(profile).orderShift - 32)) & HMM_PFN_ORDER_MASK,
};

/** Throws ErrnoError for a non-zero hmmRangeFault result (for callers that prefer exceptions). */
export function checkHmm(ret: number, what = "hmm_range_fault"): void {
  if (ret !== 0) throw new ErrnoError(ret, `${what} returned ${errnoName(ret)}`);
}
