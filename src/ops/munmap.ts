// munmap(2) (do_vmi_munmap): splits THPs and VMAs at the edges, then zaps the range inside one
// MMU_NOTIFY_UNMAP, even where nothing is populated. docs/semantics.md §7.
import { ErrnoError } from "../engine/errors.js";
import { ERRNO, PAGE_SIZE } from "../engine/layout.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { splitHugePmdAddress } from "../mm/huge-split.js";
import { splitVma } from "../mm/vma-list.js";
import { zapPageRange } from "../mm/zap.js";
import { MMU_NOTIFY_UNMAP } from "../mm/notifier.js";
import { checkRange } from "./common.js";

const PAGE = PAGE_SIZE;

/** munmap(): raises MMU_NOTIFY_UNMAP over [addr, addr+length) even where nothing is mapped. */
export function munmap(mm: MmStruct, addr: number, length: number): void {
  mm.checkAlive();
  checkRange(mm, addr, length, "munmap");
  mm.withWriteLock(() => doMunmap(mm, addr, Math.ceil(length / PAGE) * PAGE));
}

/** munmap() with the mmap write lock already held (length page aligned). */
export function doMunmap(mm: MmStruct, addr: number, length: number): void {
  mm.assertWriteLocked("munmap");
  const end = addr + length;
  if (!mm.vmas.some((v) => v.start < end && v.end > addr)) return;
  for (const v of mm.vmas) {
    if (v.isHugetlb && v.start < end && v.end > addr) {
      const sz = 2 ** v.hugeShift;
      if (Math.max(addr, v.start) % sz !== 0 || Math.min(end, v.end) % sz !== 0) {
        throw new ErrnoError(-ERRNO.EINVAL, "munmap: hugetlb range not huge-page aligned");
      }
    }
  }
  // partial THPs at the edges are split before the VMAs are (split_huge_pmd on vma_adjust)
  splitHugePmdAddress(mm, addr);
  splitHugePmdAddress(mm, end);
  const gone = splitVma(mm, addr, end);
  mm.invalidate(addr, end, MMU_NOTIFY_UNMAP, null, () => {
    for (const v of gone) zapPageRange(mm, v, v.start, v.end);
  });
  for (const v of gone) mm.vmas.splice(mm.vmas.indexOf(v), 1);
  mm.syncVmas();
  mm.releaseOrphanFiles(gone);
  mm.engine.raw.pruneTables(mm.ptr, addr / PAGE, end / PAGE);
}
