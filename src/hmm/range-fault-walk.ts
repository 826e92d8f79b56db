// The retry loop of hmm_range_fault() as a step machine (RangeFaultWalk): one walk pass or the
// faults a pass asked for per step (docs/semantics.md §4.1). range-fault.ts drives it to the end
// (hmmRangeFault) or hands it out step by step (hmmRangeFaultBegin).
import { EngineError, SimulationDeadlock, engineCall } from "../engine/errors.js";
import { CTX, HMM_NEED_WRITE_FAULT, MEM, PAGE_SIZE, PTE_LO, PTRS_PER_TABLE, VM } from "../engine/layout.js";
import { FAULT_FLAG_REMOTE, FAULT_FLAG_WRITE, VM_FAULT_ERROR, handleMmFault } from "../fault/fault.js";
import { splitHugePud } from "../mm/huge-split.js";
import { callbackError } from "../mm/machine.js";
import type { MmStruct } from "../mm/mm-struct.js";
import type { Vma } from "../mm/vma.js";
import type { PfnArray } from "./pfns.js";
import {
  EBUSY,
  EFAULT,
  EINVAL,
  EPERM,
  type HmmRange,
  type HmmRangeFaultResult,
  type HmmRangeFaultStats,
  type WalkFn,
} from "./range.js";

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
export class RangeFaultWalk {
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

/** Runs a user hook; an exception it throws surfaces as CallbackError (the library's own typed errors as they are). */
function callHook<T>(hook: (info: T) => void, what: string, info: T): void {
  try {
    hook(info);
  } catch (e) {
    throw callbackError(what, e);
  }
}

/** Whether faults in vma can only be do_anonymous_page() on empty PTEs or go elsewhere by themselves. */
function canBatchAnonFaults(mm: MmStruct, vma: Vma): boolean {
  if (!vma.isAnonymous || vma.isShared || vma.isHugetlb || mm.hooks.betweenFaults) return false;
  // where a THP could be created the first fault of a PMD must take the THP path
  return (
    mm.thp === "never" || (vma.flags & VM.NOHUGEPAGE) !== 0 || (mm.thp === "madvise" && (vma.flags & VM.HUGEPAGE) === 0)
  );
}
