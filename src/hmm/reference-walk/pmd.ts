// The PMD level of the reference walk: hmm_vma_walk_pmd() and walk_pmd_range(), with the huge
// and absent PMD handlers (the M rows of docs/semantics.md §3).
import { ERRNO, PMD_ORDER, SWP } from "../../engine/layout.js";
import { type Entry, isNone, isProtnone, isWrite, pfnOf, swapOffset, swapType } from "../../engine/pte.js";
import {
  PMD_PAGES,
  PMD_LEVEL,
  VALID_HI,
  WRITE_HI,
  ERROR_HI,
  pmdPresent,
  pmdTransHuge,
  pmdDevmap,
  flagsDifferFromTable,
  tableOf,
  isMigrationType,
  isDevicePrivateType,
} from "./entry.js";
import type { WalkState } from "./state.js";
import { hmmVmaHandlePte } from "./pte.js";

/** hmm_vma_handle_pmd(): a present huge PMD (THP, huge zero page, devmap), M4. */
export function hmmVmaHandlePmd(w: WalkState, addr: number, end: number, pmd: Entry): number {
  // pmd_to_hmm_pfn_flags(): protnone gives 0 (no flags and no order)
  const cpuHi = isProtnone(pmd) ? 0 : ((isWrite(pmd) ? VALID_HI | WRITE_HI : VALID_HI) | w.order(PMD_ORDER)) >>> 0;
  const required = w.hmmRangeNeedFault(addr, end, cpuHi);
  if (required !== 0) return w.hmmVmaFault(addr, end, required);
  // SPEC: pte_pfn() of the entry (x86 pmd_pfn() would also drop pfn bits 0..8 of a PSE entry)
  const pfn = pfnOf(pmd) + (addr % PMD_PAGES);
  for (let page = addr; page < end; page++) w.outPfn(w.pfnSlot(page), pfn + (page - addr), cpuHi);
  w.pagesWalked += end - addr;
  return 0;
}

/**
 * hmm_vma_handle_absent_pmd() (v6.19, M3L): (a) a device-private PMD of the range's owner is
 * reported with order 9 whatever the request; (b) another owner's is ERROR without a request,
 * faulted with one; (c) anything else absent is ERROR / -EFAULT.
 */
export function hmmVmaHandleAbsentPmd(w: WalkState, addr: number, end: number, pmd: Entry): number {
  const type = swapType(pmd);
  const devicePrivate = isDevicePrivateType(type);
  if (devicePrivate && w.owner !== 0 && w.pgmapOwner(swapOffset(pmd)) === w.owner) {
    const cpuHi = ((type === SWP.DEVICE_WRITE ? VALID_HI | WRITE_HI : VALID_HI) | w.order(PMD_ORDER)) >>> 0;
    const pfn = swapOffset(pmd) + (addr % PMD_PAGES);
    for (let page = addr; page < end; page++) w.outPfn(w.pfnSlot(page), pfn + (page - addr), cpuHi);
    w.pagesWalked += end - addr;
    return 0;
  }
  const required = w.hmmRangeNeedFault(addr, end, 0);
  if (required !== 0) return devicePrivate ? w.hmmVmaFault(addr, end, required) : -ERRNO.EFAULT;
  return w.hmmPfnsFill(addr, end, ERROR_HI);
}

/** hmm_vma_walk_pmd(): the PMD entry at pmdp covers [addr, end); M1 .. M6. */
export function hmmVmaWalkPmd(w: WalkState, pmdp: number, addr: number, end: number): number {
  const pmd = w.load64(pmdp);
  if (isNone(pmd)) return w.hmmVmaWalkHole(addr, end); // M1
  if (!pmdPresent(pmd) && isMigrationType(swapType(pmd))) {
    // M2
    if (w.hmmRangeNeedFault(addr, end, 0) !== 0) return w.migrationEntryWait(addr);
    return w.hmmPfnsFill(addr, end, 0);
  }
  if (!pmdPresent(pmd)) {
    // M3 (SEED) / M3L (v6.19)
    if (w.deviceThp) return hmmVmaHandleAbsentPmd(w, addr, end, pmd);
    if (w.hmmRangeNeedFault(addr, end, 0) !== 0) return -ERRNO.EFAULT;
    return w.hmmPfnsFill(addr, end, ERROR_HI);
  }
  if (pmdDevmap(pmd) || pmdTransHuge(pmd)) return hmmVmaHandlePmd(w, addr, end, pmd); // M4
  if (pmdBad(w, pmd)) {
    // M5
    if (w.hmmRangeNeedFault(addr, end, 0) !== 0) return -ERRNO.EFAULT;
    return w.hmmPfnsFill(addr, end, ERROR_HI);
  }
  // M6: a PTE table
  const table = tableOf(pmd);
  for (let page = addr; page < end; page++) {
    const pte = w.load64(w.entrySlot(table, 0, page));
    const r = hmmVmaHandlePte(w, page, end, pte, w.pfnSlot(page));
    if (r !== 0) return r;
  }
  w.pagesWalked += end - addr;
  return 0;
}
/** pmd_bad(): anything that is not exactly a table entry once U and A are ignored. */
export function pmdBad(w: WalkState, pmd: Entry): boolean {
  return flagsDifferFromTable(pmd, w.pmdBadIgnoredLo);
}

/** walk_pmd_range(): PMD chunks of [addr, end) in the PMD table at `table`. */
export function walkPmdRange(w: WalkState, table: number, addr: number, end: number): number {
  for (let page = addr; page < end; ) {
    const next = Math.min((Math.floor(page / PMD_PAGES) + 1) * PMD_PAGES, end);
    const r = hmmVmaWalkPmd(w, w.entrySlot(table, PMD_LEVEL, page), page, next);
    if (r !== 0) return r;
    page = next;
  }
  return 0;
}
