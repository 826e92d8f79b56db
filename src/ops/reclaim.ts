// Reclaim / swap-out (try_to_unmap_one), MADV_FREE's lazy-free discard, and KSM merging.
//
// Events (docs/semantics.md §7): reclaim raises MMU_NOTIFY_CLEAR over [addr, min(vm_end, addr + folio_size))
// per folio mapping (after a split_huge_pmd CLEAR over 2 MiB for a PMD-mapped THP,
// TTU_SPLIT_HUGE_PMD); KSM raises CLEAR over one page to write-protect, and another to replace.
//
// Shared folios (anon pages shared with a forked child, page-cache pages mapped by several Mms)
// are unmapped from every Mm through the rmap (rmap.ts), a CLEAR in each. Pinned folios
// (references beyond mappings + page cache) are skipped, as an unsuccessful try_to_unmap would
// leave them; MADV_PAGEOUT skips shared folios like the kernel does.
import { ArgumentTypeError } from "../engine/errors.js";
import { argULong } from "../engine/validate.js";
import { runOp } from "../mm/machine.js";
import { FRAME, PTE_LO, SWP, VM } from "../engine/layout.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { splitHugePmd } from "../mm/huge-split.js";
import { MMU_NOTIFY_CLEAR } from "../mm/notifier.js";
import * as pte from "../engine/pte.js";
import type { Vma } from "../mm/vma.js";
import {
  PAGE,
  PMD_SIZE,
  checkedEnd,
  contentsKey,
  folioAt,
  isNormalPage,
  ksmStable,
  lazyFreeSet,
  vmasIn,
  type FolioView,
} from "./common.js";
import { rmapOfFolio, rmapWalk } from "../mm/rmap.js";

/** What a reclaim pass (shrink_folio_list over the range) did. */
export interface ReclaimResult {
  /** Pages whose mapping was replaced by a swap entry. */
  swappedOut: number;
  /** Clean lazy-free (MADV_FREE) pages that were discarded (PTE cleared). */
  discarded: number;
  /** Page-cache pages unmapped (they stay in the page cache). */
  unmappedFile: number;
  /** Folios that could not be reclaimed (shared, pinned, swap full, not a normal page). */
  skipped: number;
}

/**
 * Reclaims the folios mapped in [addr, addr+len) of mm (shrink_folio_list → try_to_unmap):
 * anonymous folios are swapped out (swap entries in engine.swap keep the contents), clean
 * MADV_FREE'd folios are discarded, file folios are unmapped. Needs no mmap lock, so it may run
 * from mm.hooks.betweenPasses / betweenFaults.
 */
export function reclaimPages(mm: MmStruct, addr: number, len: number): ReclaimResult {
  return runOp(mm.engine, () => {
    const end = checkedEnd(mm, addr, len, "reclaim");
    const r: ReclaimResult = { swappedOut: 0, discarded: 0, unmappedFile: 0, skipped: 0 };
    for (const v of vmasIn(mm, addr, end).vmas) {
      if (v.isHugetlb || v.flags & (VM.PFNMAP | VM.IO | VM.LOCKED)) continue;
      reclaimVmaRange(mm, v, Math.max(addr, v.start), Math.min(end, v.end), r, false);
    }
    return r;
  });
}

/**
 * The per-VMA loop shared by reclaimPages and MADV_PAGEOUT. MADV_PAGEOUT only takes folios mapped
 * once (madvise_cold_or_pageout_pte_range: "do not interfere with other mappings of this page",
 * page_mapcount() != 1 is skipped); reclaim unmaps shared folios from every Mm.
 */
export function reclaimVmaRange(
  mm: MmStruct,
  v: Vma,
  start: number,
  end: number,
  r: ReclaimResult,
  pageoutOnly: boolean,
): void {
  const addrs: number[] = [];
  mm.forEachLeaf(start, end, (a) => addrs.push(a));
  const done = new Set<number>();
  for (const a0 of addrs) {
    const a = Math.max(a0, start);
    const f = folioAt(mm, v, a);
    if (!f) continue;
    if (done.has(f.head)) continue;
    done.add(f.head);
    if (pageoutOnly && f.mapcount !== f.mappings.length) {
      r.skipped++;
      continue;
    }
    reclaimFolio(mm, v, f, r);
  }
}

/**
 * shrink_folio_list() for one folio mapped in v: try_to_unmap() over the rmap, i.e. in every VMA
 * of every Mm mapping it, CLEAR [addr, min(vm_end, addr + folio_size)) and the mapping replaced
 * (by a swap entry for anonymous folios, one swap slot per page shared by all its mappings).
 */
export function reclaimFolio(mm: MmStruct, v: Vma, f0: FolioView, r: ReclaimResult): boolean {
  const eng = mm.engine;
  const first = f0.mappings[0];
  let rm = first ? rmapWalk(mm, v, first.addr) : null;
  if (!rm) {
    r.skipped++;
    return false;
  }
  const head = rm.head;
  const flags = eng.frameFlags(head);
  const anon = (flags & FRAME.ANON) !== 0;
  if (!anon && !rm.file) {
    r.skipped++;
    return false;
  }
  const cacheRefs = anon ? 0 : 1;
  if (rm.busy || eng.pendingMigrations.has(head) || eng.refcount(head) !== rm.mappings + cacheRefs) {
    r.skipped++;
    return false;
  }
  // TTU_SPLIT_HUGE_PMD: PMD mappings are split first (CLEAR over the 2 MiB, in their Mm)
  const pmdHits = rm.hits.filter((h) => h.view.mappings.some((m) => m.level === 1));
  if (pmdHits.length > 0) {
    for (const h of pmdHits) splitHugePmd(h.mm, h.vma, h.view.addr);
    rm = rmapOfFolio(eng, head, rm.order, rm.file);
    if (rm.hits.length === 0) {
      r.skipped++;
      return false;
    }
  }
  const lazy = lazyFreeSet(eng);
  const isLazy =
    anon &&
    lazy.has(head) &&
    rm.mappings === 1 &&
    rm.hits.every((h) => h.view.mappings.every((m) => (eng.readEntry(m.ptr).lo & PTE_LO.DIRTY) === 0));
  const slots = new Map<number, number>();
  if (anon && !isLazy) {
    // add_to_swap(): a slot per page; a full device fails the whole folio
    const pages = new Set(rm.hits.flatMap((h) => h.view.mappings.map((m) => m.sub)));
    if (mm.swap.capacity - mm.swap.used < pages.size) {
      r.skipped++;
      return false;
    }
  }
  for (const h of rm.hits) {
    const f = h.view;
    h.mm.invalidate(f.addr, f.end, MMU_NOTIFY_CLEAR, null, () => {
      for (const m of f.mappings) {
        const cur = eng.readEntry(m.ptr);
        const pfn = head + m.sub;
        if (anon && !isLazy) {
          let slot = slots.get(m.sub);
          if (slot === undefined) {
            // a page never written has no contents: its slot costs no host memory either
            slot = mm.swap.store(eng.frameContents(pfn));
            slots.set(m.sub, slot);
          } else {
            mm.swap.dup(slot);
          }
          const exclusive = (eng.frameFlags(pfn) & FRAME.ANON_EXCLUSIVE) !== 0;
          const swp = pte.mk.swap(mm.swap.type, slot, exclusive);
          // soft-dirty / uffd-wp of the PTE survive in the swap PTE
          let lo = swp.lo;
          if (cur.lo & PTE_LO.SOFT_DIRTY) lo |= Number(SWP.SOFT_DIRTY);
          if (cur.lo & PTE_LO.UFFD_WP) lo |= Number(SWP.UFFD_WP);
          eng.writeEntry(m.ptr, { lo: lo >>> 0, hi: swp.hi });
          r.swappedOut++;
        } else {
          eng.writeEntry(m.ptr, pte.NONE);
          if (isLazy) r.discarded++;
          else r.unmappedFile++;
        }
        eng.setMapcount(pfn, Math.max(0, eng.mapcount(pfn) - 1));
        eng.putPage(pfn);
      }
    });
  }
  lazy.delete(head);
  return true;
}

// ---- KSM -----------------------------------------------------------------------------------------

/** What one KSM merge pass did. */
export interface KsmResult {
  /** Pages now mapping a KSM page (including the ones that became KSM pages). */
  merged: number;
  /** Frames freed by merging. */
  freed: number;
}

/**
 * KSM: merges the anonymous pages at `addrs` whose contents are identical (or identical to an
 * existing KSM page). Each page is write-protected inside CLEAR [a, a+4K) (write_protect_page);
 * every duplicate is then replaced by the KSM page inside another CLEAR [a, a+4K) (replace_page).
 * Only order-0 pages without extra references are merged (ksmd skips large folios and pinned
 * pages); a page shared with another Mm after fork is merged in this Mm only (KSM works per
 * mapping: the other Mm keeps mapping it, read-only, and no event is raised there).
 * VM_MERGEABLE is not required (the caller chose the pages).
 */
export function ksmMerge(mm: MmStruct, addrs: number[]): KsmResult {
  if (!Array.isArray(addrs)) throw new ArgumentTypeError("ksmMerge", "addrs", "must be an array of addresses", addrs);
  addrs.forEach((a, i) => argULong("ksmMerge", `addrs[${i}]`, a));
  mm.checkAlive("ksmMerge");
  return runOp(mm.engine, () => {
    const eng = mm.engine;
    const stable = ksmStable(eng);
    const res: KsmResult = { merged: 0, freed: 0 };
    const groups = new Map<string, number[]>();
    const isKsm = new Set(stable.values());
    for (const a of addrs) {
      const v = mm.vmaLookup(a);
      if (!v?.isAnonymous || v.isShared) continue;
      const leaf = mm.leafOf(a);
      if (leaf.level !== 0 || !isNormalPage(mm, leaf.entry)) continue;
      const pfn = pte.pfnOf(leaf.entry);
      const { order } = eng.folioOf(pfn);
      // write_protect_page(): no references beyond the mappings (a page shared with a forked child
      // is fine: only this mapping is replaced, the other Mm keeps the old page)
      if (order !== 0 || eng.mapcount(pfn) < 1 || eng.refcount(pfn) !== eng.mapcount(pfn)) continue;
      if (isKsm.has(pfn)) continue; // already merged
      const key = contentsKey(eng, pfn);
      const g = groups.get(key) ?? [];
      if (!g.includes(a - (a % PAGE))) g.push(a - (a % PAGE));
      groups.set(key, g);
    }
    for (const [key, list] of groups) {
      let ksm = stable.get(key);
      if (ksm !== undefined && (!eng.hasStructPage(ksm) || eng.refcount(ksm) === 0 || contentsKey(eng, ksm) !== key)) {
        stable.delete(key);
        ksm = undefined;
      }
      if (ksm === undefined && list.length < 2) continue;
      for (const a of list) {
        const leaf = mm.leafOf(a);
        const pfn = pte.pfnOf(leaf.entry);
        // write_protect_page()
        mm.invalidate(a, a + PAGE, MMU_NOTIFY_CLEAR, null, () => {
          const cur = eng.readEntry(leaf.ptr);
          eng.writeEntry(leaf.ptr, { lo: (cur.lo & ~(PTE_LO.RW | PTE_LO.DIRTY)) >>> 0, hi: cur.hi });
        });
        if (ksm === undefined) {
          // the first page becomes the KSM page (stable node)
          ksm = pfn;
          stable.set(key, ksm);
          eng.setFrameFlags(pfn, eng.frameFlags(pfn) & ~FRAME.ANON_EXCLUSIVE);
          res.merged++;
          continue;
        }
        // replace_page()
        const k = ksm;
        mm.invalidate(a, a + PAGE, MMU_NOTIFY_CLEAR, null, () => {
          eng.getPage(k);
          eng.setMapcount(k, eng.mapcount(k) + 1);
          eng.writeEntry(leaf.ptr, pte.mk.page(k, false));
          eng.setMapcount(pfn, Math.max(0, eng.mapcount(pfn) - 1));
          if (eng.refcount(pfn) === 1) res.freed++;
          eng.putPage(pfn);
        });
        res.merged++;
      }
    }
    return res;
  });
}

export { PMD_SIZE };
