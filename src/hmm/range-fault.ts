// hmm_range_fault(): the checks before the walk and the retry loop around it (docs/semantics.md §4.1),
// run to the end (hmmRangeFault) or step by step (hmmRangeFaultBegin). The step machine is in
// range-fault-walk.ts, struct hmm_range and the return codes in range.ts, the word decoders in
// pfn-decode.ts; all are exported from here.
import {
  ArgumentTypeError,
  InvalidArgumentError,
  OutOfEngineMemoryError,
  UseAfterFreeError,
} from "../engine/errors.js";
import { argBudget, argEnum, argInt, argOptions, argULong } from "../engine/validate.js";
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, PAGE_SIZE } from "../engine/layout.js";
import { type MmStruct, mmOfNotifier } from "../mm/mm-struct.js";
import { MmuIntervalNotifier } from "../mm/notifier.js";
import { PfnArray } from "./pfns.js";
import { createReferenceWalker } from "./reference-walk.js";
export * from "./range.js";
export * from "./pfn-decode.js";
export { HMM_STEP_FAULT, HMM_STEP_PASS, type HmmStepResult } from "./range-fault-walk.js";
import { HMM_STEP_FAULT, HMM_STEP_PASS, type HmmStepResult, RangeFaultWalk } from "./range-fault-walk.js";
import {
  EBUSY,
  EFAULT,
  EINVAL,
  type HmmRange,
  type HmmRangeFaultOptions,
  type HmmRangeFaultResult,
  type HmmRangeFaultStats,
  type WalkFn,
  lastHmmStats,
} from "./range.js";

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
