// The levels above the PMD in the reference walk: hmm_vma_walk_pud() (the U rows of
// docs/semantics.md §3) and walk_pgd_range() / walk_p4d_range() / walk_pud_range().
import { CTX, ERRNO, MEM, PUD_ORDER } from "../../engine/layout.js";
import { NONE, isNone, isTable, isWrite, pfnOf } from "../../engine/pte.js";
import {
  PUD_PAGES,
  PUD_LEVEL,
  pagesPerEntry,
  VALID_HI,
  WRITE_HI,
  ERROR_HI,
  pudTransHuge,
  pudDevmap,
  upperBad,
  pudHuge,
  upperPresent,
  tableOf,
} from "./entry.js";
import type { WalkState } from "./state.js";
import { walkPmdRange } from "./pmd.js";

/**
 * hmm_vma_walk_pud() together with what walk_pud_range() does around it for one PUD entry
 * covering [addr, end): U1 .. U5.
 */
export function hmmVmaWalkPud(w: WalkState, pudp: number, addr: number, end: number): number {
  const pud = w.load64(pudp);
  if (isNone(pud)) return w.hmmVmaWalkHole(addr, end); // U1
  if (pudTransHuge(pud) || pudDevmap(pud) || (w.noDevmap && pudHuge(pud))) {
    // pud_trans_huge_lock() succeeded: HMM looks at the entry itself
    if (pudHuge(pud) && (w.noDevmap || pudDevmap(pud))) {
      if (!upperPresent(pud)) return w.hmmVmaWalkHole(addr, end); // U4
      // U3 (SEED: devmap leaves only; v6.19: every leaf)
      const cpuHi = ((isWrite(pud) ? VALID_HI | WRITE_HI : VALID_HI) | w.order(PUD_ORDER)) >>> 0;
      const required = w.hmmRangeNeedFault(addr, end, cpuHi);
      if (required !== 0) return w.hmmVmaFault(addr, end, required);
      const pfn = pfnOf(pud) + (addr % PUD_PAGES);
      for (let page = addr; page < end; page++) w.outPfn(w.pfnSlot(page), pfn + (page - addr), cpuHi);
      w.pagesWalked += end - addr;
      return 0;
    }
    // U5: ACTION_SUBTREE on a trans-huge (or non-huge devmap) PUD: split_huge_pud() zaps it
    // inside MMU_NOTIFY_CLEAR; the host does that and resumes the walk here, which then finds a
    // hole (walk_pud_range()'s "goto again").
    w.last = addr;
    w.storeCtxI32(CTX.ACTION, CTX.ACTION_SPLIT_PUD);
    w.f64[(MEM.WALK_CTX + CTX.FAULT_END) >>> 3] = end;
    return -ERRNO.EBUSY;
  }
  if (!isTable(pud)) {
    // SPEC: no row; a PUD that is neither a table nor a leaf HMM knows is reported like a bad PMD
    if (w.hmmRangeNeedFault(addr, end, 0) !== 0) return -ERRNO.EFAULT;
    return w.hmmPfnsFill(addr, end, ERROR_HI);
  }
  return walkPmdRange(w, tableOf(pud), addr, end); // U2
}

/**
 * walk_pgd_range() / walk_p4d_range() / walk_pud_range(): the chunks of [addr, end) in the table
 * at `table`, which sits at paging `level` (4 = PGD of a 5-level table, 3 = P4D or 4-level PGD,
 * 2 = PUD).
 */
export function walkUpperRange(w: WalkState, table: number, level: number, addr: number, end: number): number {
  const span = pagesPerEntry(level);
  for (let page = addr; page < end; ) {
    const next = Math.min((Math.floor(page / span) + 1) * span, end);
    const slot = w.entrySlot(table, level, page);
    let r: number;
    if (level === PUD_LEVEL) {
      r = hmmVmaWalkPud(w, slot, page, next);
    } else {
      let e = w.load64(slot);
      if (!isNone(e) && upperBad(e)) {
        // pgd_none_or_clear_bad() / p4d_none_or_clear_bad(): cleared and walked as a hole
        w.store64(slot, NONE);
        e = NONE;
      }
      r = isNone(e) ? w.hmmVmaWalkHole(page, next) : walkUpperRange(w, tableOf(e), level - 1, page, next);
    }
    if (r !== 0) return r;
    page = next;
  }
  return 0;
}
export function walkPgdRange(w: WalkState, addr: number, end: number): number {
  const root = w.u32[(w.mm + MEM.MM_ROOT) >>> 2];
  const levels = w.i32[(w.mm + MEM.MM_LEVELS) >>> 2];
  return walkUpperRange(w, root, levels - 1, addr, end);
}
