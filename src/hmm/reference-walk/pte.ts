// The PTE level of the reference walk: hmm_vma_handle_pte(), one page of a PTE table (the P rows
// of docs/semantics.md §3).
import { ERRNO, PHYS, SWP } from "../../engine/layout.js";
import {
  type Entry,
  isDevmap,
  isNone,
  isPresent,
  isProtnone,
  isSpecial,
  isWrite,
  pfnOf,
  swapOffset,
  swapType,
} from "../../engine/pte.js";
import { VALID_HI, WRITE_HI, ERROR_HI, isMigrationType, isDevicePrivateType, isDeviceExclusiveType } from "./entry.js";
import type { WalkState } from "./state.js";

/** hmm_vma_handle_pte(): one page; `end` is the end of the PMD chunk (faults go up to it). */
export function hmmVmaHandlePte(w: WalkState, addr: number, end: number, pte: Entry, p: number): number {
  const reqHi = w.u32[(p >>> 2) + 1];

  // P1: pte_none_mostly(): none, or a PTE marker (SEED)
  if (isNone(pte)) return hmmPteNone(w, addr, end, reqHi, p);
  if (!isPresent(pte)) {
    const type = swapType(pte);
    if (type === SWP.PTE_MARKER) return hmmPteNone(w, addr, end, reqHi, p);

    // P2: a device-private entry of the range's owner is reported, never faulted
    if (isDevicePrivateType(type)) {
      const pfn = swapOffset(pte);
      if (w.owner !== 0 && w.pgmapOwner(pfn) === w.owner) {
        w.outPfn(p, pfn, type === SWP.DEVICE_WRITE ? VALID_HI | WRITE_HI : VALID_HI);
        return 0;
      }
    }
    // P3: anything else without a request is "faultable"
    const required = w.hmmPteNeedFault(reqHi, 0);
    if (required === 0) {
      w.out(p, 0, 0);
      return 0;
    }
    if (type < SWP.MAX_SWAPFILES) return w.hmmVmaFault(addr, end, required); // P4 swap
    if (isDevicePrivateType(type)) return w.hmmVmaFault(addr, end, required); // P5 other owner
    if (isDeviceExclusiveType(type)) return w.hmmVmaFault(addr, end, required); // P6
    if (isMigrationType(type)) return w.migrationEntryWait(addr); // P7
    return -ERRNO.EFAULT; // P8 hwpoison and the rest
  }

  // present (or protnone): P9 .. P14
  const cpuHi = isProtnone(pte) ? 0 : isWrite(pte) ? (VALID_HI | WRITE_HI) >>> 0 : VALID_HI;
  const required = w.hmmPteNeedFault(reqHi, cpuHi);
  if (required !== 0) return w.hmmVmaFault(addr, end, required);
  const pfn = pfnOf(pte);
  // vm_normal_page() is NULL for special entries and for pfns without a struct page
  const normal = !isSpecial(pte) && pfn <= w.highestMemmapPfn;
  // SPEC: the !pte_devmap() exemption (P13) applies in both profiles (LATE is only a layout here)
  if (!normal && (w.noDevmap || !isDevmap(pte)) && pfn !== PHYS.ZERO_PFN) {
    if (w.hmmPteNeedFault(reqHi, 0) !== 0) return -ERRNO.EFAULT; // P14
    w.out(p, 0, ERROR_HI);
    return 0;
  }
  w.outPfn(p, pfn, cpuHi);
  return 0;
}
/** The pte_none() branch of hmm_vma_handle_pte(). */
export function hmmPteNone(w: WalkState, addr: number, end: number, reqHi: number, p: number): number {
  const required = w.hmmPteNeedFault(reqHi, 0);
  if (required !== 0) return w.hmmVmaFault(addr, end, required);
  w.out(p, 0, 0);
  return 0;
}
