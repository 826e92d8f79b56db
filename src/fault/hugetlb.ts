// hugetlb_fault() (docs/semantics.md §5.6).
import * as pte from "../engine/pte.js";
import { FRAME, PMD_SHIFT, PTE_LO, VM } from "../engine/layout.js";
import { MMU_NOTIFY_CLEAR } from "../mm/notifier.js";
import type { MmStruct } from "../mm/mm-struct.js";
import type { Vma } from "../mm/vma.js";
import { VM_FAULT_HWPOISON_LARGE, VM_FAULT_OOM, VM_FAULT_SIGBUS } from "./codes.js";
import { isReusable } from "./wp.js";

/** hugetlb_fault(): pool allocation, hugetlb COW, migration wait, hwpoison. */
export function hugetlbFault(mm: MmStruct, vma: Vma, addr: number, write: boolean): number {
  const eng = mm.engine;
  const shift = vma.hugeShift;
  const size = 2 ** shift;
  const haddr = addr - (addr % size);
  const level = shift === PMD_SHIFT ? 1 : 2;
  const slot = mm.entryPtr(haddr, level, true);
  if (slot === 0) return VM_FAULT_OOM;
  const e = eng.readEntry(slot);
  const order = shift - 12;
  if (pte.isNone(e)) {
    // hugetlb_no_page(): a shared mapping finds or adds the page in the hugetlbfs page cache
    let pfn = 0;
    const index = vma.pageIndex(haddr) / 2 ** order;
    const cached = vma.isShared ? vma.file?.pageCache.get(index) : undefined;
    if (cached !== undefined) {
      pfn = cached;
      eng.getPage(pfn);
    } else {
      const free = eng.hugetlbFree.get(shift) ?? 0;
      if (free <= 0) return VM_FAULT_SIGBUS;
      pfn = eng.allocFrames(order, FRAME.HUGETLB | (vma.isShared ? FRAME.FILE : FRAME.ANON | FRAME.ANON_EXCLUSIVE));
      if (pfn === 0) return VM_FAULT_OOM;
      eng.hugetlbFree.set(shift, free - 1);
      if (vma.isShared && vma.file) {
        vma.file.pageCache.set(index, pfn);
        eng.getPage(pfn);
      }
    }
    eng.setMapcount(pfn, eng.mapcount(pfn) + 1);
    const w = (vma.flags & VM.WRITE) !== 0 && (vma.isShared || write);
    eng.writeEntry(slot, pte.mk.huge(pfn, w, w ? PTE_LO.DIRTY : 0));
    return 0;
  }
  if (pte.isMigration(e)) {
    mm.waitMigration(haddr);
    return 0;
  }
  if (pte.isHwpoison(e)) return VM_FAULT_HWPOISON_LARGE;
  if (!pte.isPresent(e)) return VM_FAULT_SIGBUS;
  if (!write || pte.isWrite(e)) return 0;
  // hugetlb_wp(): reuse an exclusive page, else copy inside CLEAR over the huge page
  const pfn = pte.pfnOf(e);
  if (vma.isShared || isReusable(mm, pfn)) {
    eng.writeEntry(slot, pte.mkPfnEntry(pfn, e.lo | PTE_LO.RW | PTE_LO.DIRTY, e.hi));
    return 0;
  }
  const free = eng.hugetlbFree.get(shift) ?? 0;
  if (free <= 0) return VM_FAULT_SIGBUS;
  const npfn = eng.allocFrames(order, FRAME.HUGETLB | FRAME.ANON | FRAME.ANON_EXCLUSIVE);
  if (npfn === 0) return VM_FAULT_OOM;
  eng.hugetlbFree.set(shift, free - 1);
  for (let i = 0; i < 2 ** order; i++) eng.copyFrame(pfn + i, npfn + i);
  mm.invalidate(haddr, haddr + size, MMU_NOTIFY_CLEAR, null, () => {
    eng.setMapcount(npfn, 1);
    eng.writeEntry(slot, pte.mk.huge(npfn, true, PTE_LO.DIRTY));
    eng.setMapcount(pfn, Math.max(0, eng.mapcount(pfn) - 1));
    eng.putHugetlbPage(pfn, shift);
  });
  return 0;
}
