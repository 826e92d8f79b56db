// struct hmm_range and what hmm_range_fault() returns (include/linux/hmm.h): the types, the errno
// literals and the flag constants drivers use with hmmRangeFault() (docs/semantics.md §2, §8).
import type { WalkEngine } from "../engine/engine.js";
import {
  ERRNO,
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
} from "../engine/layout.js";
import { profileInfo } from "../engine/profile.js";
import type { RawExports } from "../engine/wasm.js";
import type { MmuIntervalNotifier } from "../mm/notifier.js";
import type { PfnArray } from "./pfns.js";

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
