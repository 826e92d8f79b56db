// do_numa_page() (docs/semantics.md §5.2): a NUMA-hinting (protnone) entry gets its protection back.
import * as pte from "../engine/pte.js";
import { PAGE_SIZE, FRAME, PTE_LO } from "../engine/layout.js";
import { MMU_NOTIFY_CLEAR } from "../mm/notifier.js";
import type { Entry } from "../engine/pte.js";
import type { MmStruct } from "../mm/mm-struct.js";

const PAGE = PAGE_SIZE;

/**
 * do_numa_page(): restores the protection the NUMA-hinting scan removed (no notifier); with
 * numaMigrateOnFault an exclusive 4 KiB anonymous page first moves to a new frame (CLEAR).
 */
export function restoreNuma(mm: MmStruct, ptr: number, e: Entry, addr = -1): number {
  const eng = mm.engine;
  const pfn = pte.pfnOf(e);
  // only the flag bits are carried over: the pfn field of a protnone entry is stored inverted
  const lo = (e.lo & pte.FLAGS_LO & ~PTE_LO.PROTNONE) | PTE_LO.PRESENT | PTE_LO.ACCESSED;
  if (
    mm.numaMigrateOnFault &&
    addr >= 0 &&
    !(e.lo & PTE_LO.SPECIAL) &&
    eng.hasStructPage(pfn) &&
    eng.frameFlags(pfn) & FRAME.ANON &&
    eng.folioOf(pfn).order === 0 &&
    eng.refcount(pfn) === 1
  ) {
    const npfn = eng.allocFrames(0, eng.frameFlags(pfn));
    if (npfn !== 0) {
      const old = pfn;
      eng.copyFrame(old, npfn);
      mm.invalidate(addr, addr + PAGE, MMU_NOTIFY_CLEAR, null, () => {
        eng.setMapcount(npfn, 1);
        eng.writeEntry(ptr, pte.mkPfnEntry(npfn, lo >>> 0, e.hi & pte.FLAGS_HI));
        eng.setMapcount(old, 0);
        eng.putPage(old);
      });
      return 0;
    }
  }
  eng.writeEntry(ptr, pte.mkPfnEntry(pfn, lo >>> 0, e.hi & pte.FLAGS_HI));
  return 0;
}
