// do_anonymous_page() (docs/semantics.md §5.2): the zero page on read, a new exclusive page on write.
import * as pte from "../engine/pte.js";
import { FRAME, PHYS, VM } from "../engine/layout.js";
import type { MmStruct } from "../mm/mm-struct.js";
import type { Vma } from "../mm/vma.js";
import { VM_FAULT_OOM, VM_FAULT_SIGBUS } from "./codes.js";

/** do_anonymous_page(): the zero page on read, a zeroed exclusive page on write. No notifier. */
export function doAnonymousPage(mm: MmStruct, vma: Vma, _addr: number, write: boolean, ptep: number): number {
  const eng = mm.engine;
  if (vma.isShared) return VM_FAULT_SIGBUS;
  if (!write) {
    eng.writeEntry(ptep, pte.mk.zero(PHYS.ZERO_PFN));
    return 0;
  }
  const pfn = eng.allocFrames(0, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
  if (pfn === 0) return VM_FAULT_OOM;
  vma.anonVma = true;
  eng.setMapcount(pfn, 1);
  eng.writeEntry(ptep, pte.mk.page(pfn, (vma.flags & VM.WRITE) !== 0));
  return 0;
}
