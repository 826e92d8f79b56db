// THP at fault time (docs/semantics.md §5.3-§5.4): create_huge_pmd / do_huge_pmd_anonymous_page and the
// huge-PMD write-protect fault.
import * as pte from "../engine/pte.js";
import { FRAME, PHYS, PMD_ORDER, PMD_SIZE, PTE_LO, VM } from "../engine/layout.js";
import type { Entry } from "../engine/pte.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { splitHugePmd } from "../mm/huge-split.js";
import type { Vma } from "../mm/vma.js";
import { VM_FAULT_FALLBACK } from "./codes.js";
import { isReusable } from "./wp.js";

export function thpAllowed(mm: MmStruct, vma: Vma, addr: number): boolean {
  if (!vma.isAnonymous || vma.flags & VM.NOHUGEPAGE || mm.thp === "never") return false;
  if (mm.thp === "madvise" && !(vma.flags & VM.HUGEPAGE)) return false;
  const haddr = addr - (addr % PMD_SIZE);
  return haddr >= vma.start && haddr + PMD_SIZE <= vma.end;
}

/** do_huge_pmd_anonymous_page(): huge zero page on read, a fresh THP on write. */
export function createHugePmd(mm: MmStruct, vma: Vma, _addr: number, write: boolean, pmdp: number): number {
  const eng = mm.engine;
  vma.anonVma = true;
  if (!write && mm.hugeZeroPage) {
    eng.writeEntry(pmdp, pte.mk.huge(PHYS.HUGE_ZERO_PFN, false, PTE_LO.SPECIAL));
    return 0;
  }
  const pfn = eng.allocFrames(PMD_ORDER, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
  if (pfn === 0) return VM_FAULT_FALLBACK;
  eng.setMapcount(pfn, 1);
  eng.writeEntry(pmdp, pte.mk.huge(pfn, (vma.flags & VM.WRITE) !== 0, PTE_LO.DIRTY));
  return 0;
}

/** do_huge_pmd_wp_page(): reuse an exclusive THP, else split (CLEAR 2 MiB) and fall back to PTEs. */
export function wpHugePmd(mm: MmStruct, vma: Vma, addr: number, pmdp: number, pmd: Entry): number {
  const eng = mm.engine;
  const pfn = pte.pfnOf(pmd);
  if (pfn !== PHYS.HUGE_ZERO_PFN && vma.isAnonymous && isReusable(mm, pfn)) {
    eng.writeEntry(pmdp, pte.mkPfnEntry(pfn, pmd.lo | PTE_LO.RW | PTE_LO.DIRTY, pmd.hi));
    return 0;
  }
  splitHugePmd(mm, vma, addr);
  return VM_FAULT_FALLBACK;
}
