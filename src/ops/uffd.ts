// userfaultfd write protection (UFFDIO_REGISTER_MODE_WP + UFFDIO_WRITEPROTECT), enough of it for the
// mirror's point of view: write-protecting raises PROTECTION_VMA over the requested range and makes
// the PTEs read-only with the uffd-wp bit; a write fault on such a PTE goes to the userfaultfd,
// which a fault without FAULT_FLAG_ALLOW_RETRY (HMM's) cannot wait for: VM_FAULT_SIGBUS.
import { argBool } from "../engine/validate.js";
import { runOp } from "../mm/machine.js";
import { ErrnoError } from "../engine/errors.js";
import { ERRNO, PAGE_SIZE, PTE_LO, VM } from "../engine/layout.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { changePmdRangeSplit } from "../mm/huge-split.js";
import { splitVma } from "../mm/vma-list.js";
import { MMU_NOTIFY_PROTECTION_VMA } from "../mm/notifier.js";
import { checkRange } from "./common.js";
import * as pte from "../engine/pte.js";

/** UFFDIO_REGISTER with UFFDIO_REGISTER_MODE_WP: marks the VMAs of [start, start+len) VM_UFFD_WP. */
export function uffdRegisterWp(mm: MmStruct, start: number, len: number): void {
  mm.withWriteLock(() => {
    checkRange(mm, start, len, "UFFDIO_REGISTER");
    const end = start + len;
    // every VMA is checked before the first split (userfaultfd_register validates, then splits)
    for (const v of mm.vmas) {
      if (v.end <= start || v.start >= end) continue;
      if (!v.isAnonymous && !v.isHugetlb && v.file?.kind !== "shmem") {
        throw new ErrnoError(-ERRNO.EINVAL, "UFFDIO_REGISTER_MODE_WP: anonymous, shmem or hugetlb memory only");
      }
    }
    for (const v of splitVma(mm, start, end)) v.flags = (v.flags | VM.UFFD_WP) >>> 0;
    mm.syncVmas();
  });
}

/**
 * UFFDIO_WRITEPROTECT: with `protect`, present PTEs of [start, start+len) lose write access and get
 * the uffd-wp bit; without it, the bit is cleared (write access comes back with the next write
 * fault). Raises MMU_NOTIFY_PROTECTION_VMA over the requested range.
 */
export function uffdWriteprotect(mm: MmStruct, start: number, len: number, protect: boolean): void {
  argBool("uffdWriteprotect", "protect", protect);
  return runOp(mm.engine, () => {
    checkRange(mm, start, len, "UFFDIO_WRITEPROTECT");
    const end = start + len;
    for (let a = start; a < end; a += PAGE_SIZE) {
      const v = mm.vmaLookup(a);
      if (!v || !(v.flags & VM.UFFD_WP))
        throw new ErrnoError(
          -ERRNO.ENOENT,
          `UFFDIO_WRITEPROTECT: ${a.toString(16)} is not registered for write protection`,
        );
    }
    for (const v of mm.vmas) {
      if (
        v.isHugetlb &&
        v.start < end &&
        v.end > start &&
        (start % 2 ** v.hugeShift !== 0 || end % 2 ** v.hugeShift !== 0)
      ) {
        throw new ErrnoError(-ERRNO.EINVAL, "UFFDIO_WRITEPROTECT: range not aligned to the hugetlb page size");
      }
    }
    mm.invalidate(start, end, MMU_NOTIFY_PROTECTION_VMA, null, () => {
      // change_protection(): a THP covered only partly is split first (nested CLEAR)
      changePmdRangeSplit(mm, start, end);
      mm.forEachLeaf(start, end, (_addr, _level, ptr, e) => {
        if (!pte.isPresent(e)) return;
        const lo = protect ? (e.lo & ~PTE_LO.RW) | PTE_LO.UFFD_WP : e.lo & ~PTE_LO.UFFD_WP;
        mm.engine.writeEntry(ptr, { lo: lo >>> 0, hi: e.hi });
      });
    });
  });
}
