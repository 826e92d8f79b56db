// Process exit and the OOM reaper (docs/semantics.md §7).
//   exit: mm.exit() — MMU_NOTIFY_RELEASE [0, ∞) to every subscription (mn_itree_release), then
//   MMU_NOTIFY_UNMAP [0, ∞) (blockable) while every VMA is zapped.
//   OOM reaper: per reapable VMA, a NON-blockable MMU_NOTIFY_UNMAP [vm_start, vm_end); a callback
//   returning false makes invalidateRangeStart return -EAGAIN and the reaper skips that VMA.
import { argMm } from "./common.js";
import { VM } from "../engine/layout.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { zapPageRange } from "../mm/zap.js";
import { MMU_NOTIFY_UNMAP } from "../mm/notifier.js";
import type { Vma } from "../mm/vma.js";

/** exit_mmap(): see Mm.exit(). */
export function exitMm(mm: MmStruct): void {
  argMm("exit_mmap", mm, false).exit();
}

/** What one __oom_reap_task_mm() pass did. */
export interface OomReapResult {
  /** True when every reapable VMA was reaped (__oom_reap_task_mm's return). */
  complete: boolean;
  /** The VMAs whose pages were unmapped. */
  reaped: Vma[];
  /** VMAs skipped because a notifier callback refused the non-blockable invalidation. */
  skipped: Vma[];
}

/**
 * __oom_reap_task_mm(): under the mmap read lock, zaps every private or anonymous VMA except
 * VM_HUGETLB / VM_PFNMAP ones, each inside a non-blockable UNMAP over the whole VMA. The VMAs
 * stay (the mm is torn down by exit later); their pages and swap slots are freed.
 */
export function oomReap(mm: MmStruct): OomReapResult {
  argMm("oomReap", mm, false);
  const res: OomReapResult = { complete: true, reaped: [], skipped: [] };
  if (mm.exited) return res;
  mm.withReadLock(() => {
    for (const v of [...mm.vmas]) {
      if (v.flags & (VM.HUGETLB | VM.PFNMAP)) continue;
      if (!v.isAnonymous && v.isShared) continue;
      const ret = mm.notifiers.invalidate(v.start, v.end, MMU_NOTIFY_UNMAP, null, { blockable: false }, () =>
        zapPageRange(mm, v, v.start, v.end),
      );
      if (ret !== 0) {
        res.complete = false;
        res.skipped.push(v);
      } else {
        res.reaped.push(v);
      }
    }
  });
  return res;
}
