// Tearing down mappings (zap_page_range, zap_pte_range): the entries of a range are cleared and
// what each held (a page reference, a swap slot, a device page) is released. No notifier event is
// raised here: every caller wraps the zap in the invalidation its operation raises
// (docs/semantics.md §7). The functions need only the engine and the page-table root of an
// address space (PageTableRef), so MmStruct can use them (exit_mmap) without an import cycle.
import { FRAME, PAGE_SHIFT, PTE_LO as PTE_BITS, PTRS_PER_TABLE } from "../engine/layout.js";
import * as pte from "../engine/pte.js";
import type { Entry } from "../engine/pte.js";
import { type PageTableRef, forEachLeafBatched } from "./leaf-walk.js";
import { machineState } from "./machine.js";
import type { Vma } from "./vma.js";

/**
 * zap_page_range(): drops whatever maps [start, end) of v, without events; a huge leaf in the
 * range must lie wholly inside it (callers split the edges first). The engine's zapPtes() clears
 * runs of PTEs whose release needs no host state (order-0 pages, special entries); every other
 * leaf goes through zapLeafEntry(). Returns nothing; throws nothing for a valid range.
 */
export function zapPageRange(mm: PageTableRef, v: Vma, start: number, end: number): void {
  const eng = mm.engine;
  const raw = eng.raw;
  // A frame the engine frees bypasses putPage(): its materialised contents and the machine's
  // page state (MADV_FREE folios, the KSM stable tree, which putPage's free listeners forget)
  // would outlive it. While any of those exist, pages at their last reference go to putPage().
  const m = machineState(eng);
  const stopAtFree = eng.materialisedFrames() > 0 || m.lazyFree.size > 0 || m.ksmStable.size > 0 ? 1 : 0;
  forEachLeafBatched(
    mm,
    start,
    end,
    (page, endPage) => raw.zapPtes(mm.ptr, page, endPage, stopAtFree),
    (addr, level, ptr, e) => {
      zapLeafEntry(mm, v, addr, level, e);
      eng.writeEntry(ptr, pte.NONE);
    },
  );
}

/**
 * zap_pte_range() for one leaf entry: releases what e holds (the mapping and reference of a page,
 * hugetlb pages back to their pool; a swap slot; a device-private or device-exclusive page's
 * mapping and reference; a migration entry's mapping) without clearing the entry itself.
 * Special and reserved frames hold nothing. Returns nothing; throws nothing.
 */
export function zapLeafEntry(mm: PageTableRef, v: Vma, addr: number, level: number, e: Entry): void {
  const eng = mm.engine;
  if (pte.isPresent(e)) {
    const pfn = pte.pfnOf(e);
    if (e.lo & PTE_BITS.SPECIAL || !eng.hasStructPage(pfn)) return;
    if ((eng.frameFlags(pfn) & FRAME.RESERVED) !== 0) return;
    eng.setMapcount(pfn, Math.max(0, eng.mapcount(pfn) - 1));
    if (eng.frameFlags(pfn) & FRAME.HUGETLB) {
      // a hugetlb page goes back to its pool, not to the page allocator
      const { order } = eng.folioOf(pfn);
      eng.putHugetlbPage(pfn, order + PAGE_SHIFT);
    } else {
      eng.putPage(pfn);
    }
    return;
  }
  if (pte.isRegularSwap(e)) {
    eng.swap.free(pte.swapOffset(e));
    return;
  }
  if (pte.isDevicePrivate(e) && level === 1) {
    // a PMD-level device-private entry (v6.19) maps a table's worth (512) of device pages, each holding a reference
    for (let i = 0; i < PTRS_PER_TABLE; i++)
      zapLeafEntry(mm, v, addr, 0, pte.mk.devicePrivate(pte.swapOffset(e) + i, false));
    return;
  }
  if (pte.isDevicePrivate(e) || pte.isDeviceExclusive(e) || pte.isMigration(e)) {
    const pfn = pte.swapOffset(e);
    if (!eng.hasStructPage(pfn)) return;
    eng.setMapcount(pfn, Math.max(0, eng.mapcount(pfn) - 1));
    if (pte.isDevicePrivate(e)) {
      eng.devicePagePut(pfn);
    } else if (!pte.isMigration(e)) {
      eng.putPage(pfn);
    }
  }
}
