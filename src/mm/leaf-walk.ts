// The host side of a page-table walk over populated leaves: the engine finds the next populated
// entry (nextPopulated) and the host visits it. It needs only an address space's engine and
// page-table root (PageTableRef), so MmStruct and the zap code use it alike without an import
// cycle.
import type { Engine } from "../engine/engine.js";
import { PAGE_SIZE, levelPages } from "../engine/layout.js";
import type { Entry } from "../engine/pte.js";

/** An address space's page table: the engine whose memory holds it and its root (an MmStruct is one). */
export interface PageTableRef {
  /** The simulated machine whose memory holds the page table. */
  readonly engine: Engine;
  /** Address of the page-table root in engine memory. */
  readonly ptr: number;
}

/** The callback of a leaf walk: the leaf's address, level (0 PTE, 1 PMD, 2 PUD...), entry address and entry. */
export type LeafVisitor = (addr: number, level: number, ptr: number, e: Entry) => void;

/**
 * walk_page_range() over populated leaves: calls f for every non-none leaf entry of [start, end)
 * (a PTE, a huge leaf or a swap-like entry) in address order (MmStruct.forEachLeaf). Its own loop
 * rather than forEachLeafBatched with a no-op batch: that costs an extra call per leaf on the
 * walks the operations run most. Returns nothing; throws only what f throws.
 */
export function forEachLeaf(mm: PageTableRef, start: number, end: number, f: LeafVisitor): void {
  const eng = mm.engine;
  const raw = eng.raw;
  let page = start / PAGE_SIZE;
  const endPage = end / PAGE_SIZE;
  while (page < endPage) {
    page = raw.nextPopulated(mm.ptr, page, endPage);
    if (page >= endPage) break;
    const level = raw.entryPtrStopLevel();
    const ptr = raw.entryPtr(mm.ptr, page, level, 0) >>> 0;
    f(page * PAGE_SIZE, level, ptr, eng.readEntry(ptr));
    page = (Math.floor(page / levelPages(level)) + 1) * levelPages(level);
  }
}

/**
 * The leaf loop of walk_page_range() / unmap_page_range() / change_protection_range(), with a
 * batched engine loop in front: `batch(page, endPage)` handles a run of entries itself and
 * returns the first page it leaves to the host (endPage when none); that leaf (the next non-none
 * entry: a PTE, a huge leaf or a swap-like entry) goes to f, then the batch resumes after it.
 * f sees the leaves forEachLeaf() would give it, minus those the batch handled. Returns nothing;
 * throws only what batch or f throw.
 */
export function forEachLeafBatched(
  mm: PageTableRef,
  start: number,
  end: number,
  batch: (page: number, endPage: number) => number,
  f: LeafVisitor,
): void {
  const eng = mm.engine;
  const raw = eng.raw;
  const endPage = end / PAGE_SIZE;
  let page = start / PAGE_SIZE;
  while (page < endPage) {
    page = batch(page, endPage);
    if (page >= endPage) break;
    page = raw.nextPopulated(mm.ptr, page, endPage);
    if (page >= endPage) break;
    const level = raw.entryPtrStopLevel();
    const ptr = raw.entryPtr(mm.ptr, page, level, 0) >>> 0;
    f(page * PAGE_SIZE, level, ptr, eng.readEntry(ptr));
    page = (Math.floor(page / levelPages(level)) + 1) * levelPages(level);
  }
}
