// Write-protect faults on PTEs (docs/semantics.md §5.4): do_wp_page reuses an exclusive page or copies it.
import * as pte from "../engine/pte.js";
import { PAGE_SIZE, FRAME, PHYS, PTE_LO, VM } from "../engine/layout.js";
import { MMU_NOTIFY_CLEAR } from "../mm/notifier.js";
import type { Entry } from "../engine/pte.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { isKsmPage } from "../mm/folio.js";
import type { Vma } from "../mm/vma.js";
import { VM_FAULT_OOM } from "./codes.js";

const PAGE = PAGE_SIZE;

export function isReusable(mm: MmStruct, pfn: number): boolean {
  const eng = mm.engine;
  const f = eng.frameFlags(pfn);
  if (!(f & FRAME.ANON)) return false;
  if (f & FRAME.ANON_EXCLUSIVE) return true;
  // a KSM page is shared by content, not by reference count: its last mapping must copy too,
  // or a writable PTE would map a stable-tree page that later merges map again (§5.4)
  if (isKsmPage(eng, pfn)) return false;
  const { head } = eng.folioOf(pfn);
  return eng.refcount(head) === 1;
}

/** do_wp_page(): reuse in place (no notifier) or copy (CLEAR over the page). */
export function doWpPage(mm: MmStruct, vma: Vma, addr: number, ptep: number, e: Entry): number {
  const eng = mm.engine;
  const pfn = pte.pfnOf(e);
  const normal = !(e.lo & PTE_LO.SPECIAL) && eng.hasStructPage(pfn);
  if (vma.isShared && vma.flags & VM.MAYSHARE) {
    // wp_page_shared() / wp_pfn_shared(): writable in place (pte_mkdirty also sets soft-dirty)
    eng.writeEntry(ptep, {
      lo: (e.lo | PTE_LO.RW | PTE_LO.DIRTY | PTE_LO.ACCESSED | PTE_LO.SOFT_DIRTY) >>> 0,
      hi: e.hi,
    });
    return 0;
  }
  if (normal && isReusable(mm, pfn)) {
    eng.setFrameFlags(pfn, eng.frameFlags(pfn) | FRAME.ANON_EXCLUSIVE);
    eng.writeEntry(ptep, {
      lo: (e.lo | PTE_LO.RW | PTE_LO.DIRTY | PTE_LO.ACCESSED | PTE_LO.SOFT_DIRTY) >>> 0,
      hi: e.hi,
    });
    return 0;
  }
  return wpPageCopy(mm, vma, addr, ptep, e, normal);
}

/** wp_page_copy(): a new exclusive page replaces the old mapping inside CLEAR [addr, addr+4K). */
export function wpPageCopy(mm: MmStruct, vma: Vma, addr: number, ptep: number, e: Entry, normal: boolean): number {
  const eng = mm.engine;
  const old = pte.pfnOf(e);
  const pfn = eng.allocFrames(0, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
  if (pfn === 0) return VM_FAULT_OOM;
  if (old !== PHYS.ZERO_PFN) eng.copyFrame(old, pfn);
  vma.anonVma = true;
  mm.invalidate(addr, addr + PAGE, MMU_NOTIFY_CLEAR, null, () => {
    eng.setMapcount(pfn, 1);
    eng.writeEntry(ptep, pte.mk.page(pfn, (vma.flags & VM.WRITE) !== 0));
    if (normal && old !== PHYS.ZERO_PFN) {
      eng.setMapcount(old, Math.max(0, eng.mapcount(old) - 1));
      eng.putPage(old);
    }
  });
  return 0;
}
