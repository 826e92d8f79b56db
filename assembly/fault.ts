// A batched do_anonymous_page() for the common case of hmm_vma_fault() over an anonymous private
// VMA: one call faults a run of pages whose PTEs are none, exactly as the host's fault model would
// (zero page on read, a new exclusive page on write, no notifier), and stops at the first page that
// needs anything else so the host can take it through handleMmFault().
import {
  FRAME_ANON, FRAME_ANON_EXCLUSIVE, META_OFF_MAPCOUNT, PAGE_SHIFT, PTE_ACCESSED, PTE_DIRTY,
  PTE_PRESENT, PTE_RW, PTE_SPECIAL, PTE_USER, ZERO_PFN,
} from "./layout";
import { frameAllocOrder0, lastMeta } from "./frames";
import { entryPtr, entryPtrStopLevel } from "./pgtable";

/** Pages faulted by the last faultAnonRange() call. */
let faulted: i32 = 0;
export function faultAnonFaulted(): i32 {
  return faulted;
}

/**
 * Faults pages [startPage, endPage) of mm. Returns the first page it did not handle (endPage when
 * all were handled), or -1 when RAM or linear memory ran out (VM_FAULT_OOM at that page, which is
 * then left as it was: faultAnonFaulted() tells how many pages before it were done).
 */
export function faultAnonRange(mm: usize, startPage: f64, endPage: f64, write: bool, vmaWrite: bool): f64 {
  faulted = 0;
  let page = startPage;
  let slot: usize = 0;
  while (page < endPage) {
    // one table descent per PTE table, then consecutive slots
    if (slot == 0 || ((<u64>page) & 511) == 0) {
      slot = entryPtr(mm, page, 0, true);
      // out of memory, or a huge / non-present entry above: the latter is the host's to handle
      if (slot == 0) return entryPtrStopLevel() < 0 ? -1 : page;
    } else {
      slot += 8;
    }
    if (load<u64>(slot) != 0) return page;
    let e: u64;
    if (!write) {
      e = (<u64>ZERO_PFN << PAGE_SHIFT) | PTE_PRESENT | PTE_USER | PTE_ACCESSED | PTE_SPECIAL;
    } else {
      let pfn = frameAllocOrder0(FRAME_ANON | FRAME_ANON_EXCLUSIVE);
      if (pfn == 0) return -1;
      store<u16>(lastMeta + META_OFF_MAPCOUNT, 1);
      e = (<u64>pfn << PAGE_SHIFT) | PTE_PRESENT | PTE_USER | PTE_ACCESSED |
        (vmaWrite ? PTE_RW | PTE_DIRTY : 0);
    }
    store<u64>(slot, e);
    faulted++;
    page += 1;
  }
  return page;
}
