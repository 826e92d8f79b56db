// hugetlb VMAs in the reference walk: walk_hugetlb_range(), huge_pte_offset() and
// hmm_vma_walk_hugetlb_entry() (the H rows of docs/semantics.md §3).
import { MEM, PAGE_SHIFT, PUD_SHIFT } from "../../engine/layout.js";
import { isPresent, isProtnone, isTable, isWrite, pfnOf } from "../../engine/pte.js";
import { PMD_LEVEL, PUD_LEVEL, VALID_HI, WRITE_HI, upperPresent, tableOf } from "./entry.js";
import type { WalkState } from "./state.js";

/** huge_pte_offset(): the PUD slot (PUD-sized pages) or PMD slot of a hugetlb page, 0 if none. */
export function hugePteOffset(w: WalkState, page: number, hugeShift: number): number {
  const levels = w.i32[(w.mm + MEM.MM_LEVELS) >>> 2];
  let table = w.u32[(w.mm + MEM.MM_ROOT) >>> 2];
  for (let level = levels - 1; level >= PUD_LEVEL; level--) {
    const slot = w.entrySlot(table, level, page);
    if (level === PUD_LEVEL) {
      if (hugeShift === PUD_SHIFT) return slot;
      const pud = w.load64(slot);
      if (!upperPresent(pud) || !isTable(pud)) return 0;
      return w.entrySlot(tableOf(pud), PMD_LEVEL, page);
    }
    const e = w.load64(slot);
    if (!upperPresent(e)) return 0;
    table = tableOf(e);
  }
  return 0;
}

/** hmm_vma_walk_hugetlb_entry() for one huge page chunk [addr, end): H2 .. H5. */
export function hmmVmaWalkHugetlbEntry(
  w: WalkState,
  ptep: number,
  hugePages: number,
  hugeOrder: number,
  addr: number,
  end: number,
): number {
  const entry = w.load64(ptep);
  // pte_to_hmm_pfn_flags() | hmm_pfn_flags_order(huge_page_order(h)): the order is always there
  const cpuHi =
    ((!isPresent(entry) || isProtnone(entry) ? 0 : isWrite(entry) ? VALID_HI | WRITE_HI : VALID_HI) |
      w.order(hugeOrder)) >>>
    0;
  // QUIRK: the first page's request decides for the whole huge page
  const required = w.hmmPteNeedFault(w.requestHi(addr), cpuHi);
  if (required !== 0) return w.hmmVmaFault(addr, end, required);
  const pfn = pfnOf(entry) + (addr % hugePages);
  for (let page = addr; page < end; page++) w.outPfn(w.pfnSlot(page), pfn + (page - addr), cpuHi);
  w.pagesWalked += end - addr;
  return 0;
}

/** walk_hugetlb_range(): each huge page of [addr, end). */
export function walkHugetlbRange(w: WalkState, addr: number, end: number, hugeShift: number): number {
  if (hugeShift < PAGE_SHIFT || hugeShift > 52) {
    throw new RangeError(`reference walker: unsupported hugetlb page shift ${hugeShift}`);
  }
  const hugeOrder = hugeShift - PAGE_SHIFT;
  const hugePages = 2 ** hugeOrder;
  for (let page = addr; page < end; ) {
    const base = page - (page % hugePages);
    const next = Math.min(base + hugePages, end);
    const ptep = hugePteOffset(w, base, hugeShift);
    const r =
      ptep === 0
        ? w.hmmVmaWalkHole(page, next) // H1
        : hmmVmaWalkHugetlbEntry(w, ptep, hugePages, hugeOrder, page, next);
    if (r !== 0) return r;
    page = next;
  }
  return 0;
}
