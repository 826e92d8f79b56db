// do_swap_page() (docs/semantics.md §5.5): swap, migration, device-private and device-exclusive entries.
import * as pte from "../engine/pte.js";
import { PAGE_SIZE, FRAME, PTE_LO, SWP, VM } from "../engine/layout.js";
import { MMU_NOTIFY_CLEAR, MMU_NOTIFY_EXCLUSIVE } from "../mm/notifier.js";
import { profileInfo } from "../engine/profile.js";
import type { Entry } from "../engine/pte.js";
import type { MmStruct } from "../mm/mm-struct.js";
import type { Vma } from "../mm/vma.js";
import { VM_FAULT_HWPOISON, VM_FAULT_OOM, VM_FAULT_SIGBUS } from "./codes.js";
import { doAnonymousPage } from "./anon.js";
import { doFault } from "./file.js";
import { doWpPage } from "./wp.js";

const PAGE = PAGE_SIZE;
const PAGE_BITS = PTE_LO.PRESENT | PTE_LO.USER;

/** do_swap_page(): every non-present PTE kind. */
export function doSwapPage(
  mm: MmStruct,
  vma: Vma,
  addr: number,
  write: boolean,
  flags: number,
  ptep: number,
  e: Entry,
): number {
  const eng = mm.engine;
  if (pte.isMigration(e)) {
    mm.waitMigration(addr);
    return 0;
  }
  if (pte.isDeviceExclusive(e)) return removeDeviceExclusiveEntry(mm, vma, addr, ptep, e);
  if (pte.isDevicePrivate(e)) {
    const page = pte.swapOffset(e);
    const pgmap = eng.pgmaps.get(eng.frameAux(page));
    if (!pgmap?.migrateToRam) return VM_FAULT_SIGBUS;
    return pgmap.migrateToRam({ mm, vma, address: addr, flags, page });
  }
  if (pte.isHwpoison(e)) return VM_FAULT_HWPOISON;
  if (pte.isMarker(e)) {
    const bits = pte.swapOffset(e);
    if (bits & SWP.MARKER_SWAPIN_ERROR) return VM_FAULT_SIGBUS;
    if (bits & SWP.MARKER_UFFD_WP) {
      // the marker is dropped and the now-empty PTE faults like any none entry (handle_pte_fault)
      eng.writeEntry(ptep, pte.NONE);
      return vma.isAnonymous ? doAnonymousPage(mm, vma, addr, write, ptep) : doFault(mm, vma, addr, write, ptep);
    }
    return VM_FAULT_SIGBUS;
  }
  if (!pte.isRegularSwap(e)) return VM_FAULT_SIGBUS;
  // swap-in: read the slot into a new page; no notifier
  const slot = pte.swapOffset(e);
  const swap = mm.engine.swap;
  if (!swap.has(slot) || swap.badSlots.has(slot)) return VM_FAULT_SIGBUS;
  const pfn = eng.allocFrames(0, FRAME.ANON);
  if (pfn === 0) return VM_FAULT_OOM;
  const data = swap.read(slot);
  if (data) eng.writeFrame(pfn, 0, data);
  const exclusive = (e.lo & Number(SWP.EXCLUSIVE)) !== 0 || swap.refs(slot) === 1;
  swap.free(slot);
  eng.setMapcount(pfn, 1);
  vma.anonVma = true;
  let writable = false;
  if (exclusive) {
    eng.setFrameFlags(pfn, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
    const canWrite = (vma.flags & VM.WRITE) !== 0;
    writable = canWrite && (write || profileInfo(mm.profile).swapinWritableOnRead);
  }
  eng.writeEntry(ptep, pte.mk.page(pfn, false, writable ? PTE_LO.RW | (write ? PTE_LO.DIRTY : 0) : 0));
  if (write && !writable) return doWpPage(mm, vma, addr, ptep, eng.readEntry(ptep));
  return 0;
}

/** remove_device_exclusive_entry(): EXCLUSIVE (SEED) or CLEAR (late) over the page, owner NULL. */
export function removeDeviceExclusiveEntry(mm: MmStruct, vma: Vma, addr: number, ptep: number, e: Entry): number {
  const event = profileInfo(mm.profile).exclusiveRestoreClear ? MMU_NOTIFY_CLEAR : MMU_NOTIFY_EXCLUSIVE;
  mm.invalidate(addr, addr + PAGE, event, null, () => {
    const cur = mm.engine.readEntry(ptep);
    if (cur.lo !== e.lo || cur.hi !== e.hi) return;
    const pfn = pte.swapOffset(e);
    const w = pte.swapType(e) === SWP.DEVICE_EXCLUSIVE_WRITE && (vma.flags & VM.WRITE) !== 0;
    mm.engine.writeEntry(ptep, pte.mkPfnEntry(pfn, PAGE_BITS | (w ? PTE_LO.RW : 0)));
  });
  return 0;
}
