// Write-protecting operations that keep the pages mapped (docs/semantics.md §7):
//   writeback of shared file pages (page_mkclean)  → MMU_NOTIFY_PROTECTION_PAGE [addr, addr + folio_size)
//                                                     per shared VMA covering the page, in every Mm
//   /proc/pid/clear_refs = 4 (soft-dirty clear)    → MMU_NOTIFY_SOFT_DIRTY [0, ∞) (the kernel's [0, -1UL))
// Neither changes which page is mapped: the next write faults (do_wp_page) and makes the entry
// writable again in place without a notifier.
import { argInstance } from "../engine/validate.js";
import { runOp } from "../mm/machine.js";
import type { Engine } from "../engine/engine.js";
import { ErrnoError } from "../engine/errors.js";
import { SimFile } from "../mm/file.js";
import { ERRNO, PTE_LO, SWP, VM } from "../engine/layout.js";
import { type MmStruct, liveMms } from "../mm/mm-struct.js";
import { MMU_NOTIFY_PROTECTION_PAGE, MMU_NOTIFY_SOFT_DIRTY } from "../mm/notifier.js";
import * as pte from "../engine/pte.js";
import { PAGE } from "./common.js";

/** What writeback (e.g. msync(MS_SYNC) / writeFile) did. */
export interface WritebackResult {
  /** Dirty page-cache pages that were cleaned (written back). */
  cleaned: number;
  /** page_mkclean() invalidations raised (one per shared VMA covering a cleaned, mapped page). */
  invalidations: number;
}

/**
 * Writeback of a file's dirty page-cache pages (folio_clear_dirty_for_io → page_mkclean): a page is
 * dirty when some PTE mapping it is dirty (the simulator keeps no folio dirty bit). For each dirty
 * page that is mapped, every VM_SHARED VMA of every live Mm that covers its file index gets
 * MMU_NOTIFY_PROTECTION_PAGE over [addr, min(vm_end, addr + PAGE)) — raised even where the page is
 * not mapped, as page_vma_mkclean_one() starts the range before the walk — and its PTE there is
 * write-protected and cleaned. Private mappings are not touched (invalid_mkclean_vma). Takes no
 * mmap lock (writeback runs with the folio locked only), so it may run from mm.hooks.
 */
export function writebackFile(engine: Engine, file: SimFile): WritebackResult {
  argInstance("writebackFile", "file", file, SimFile, "a SimFile");
  return runOp(engine, () => {
    const res: WritebackResult = { cleaned: 0, invalidations: 0 };
    const mms = liveMms(engine);
    for (const [index, pfn] of [...file.pageCache].sort((x, y) => x[0] - y[0])) {
      const maps: { mm: MmStruct; addr: number; end: number; shared: boolean; ptr: number }[] = [];
      let dirty = false;
      for (const mm of mms) {
        for (const v of mm.vmas) {
          if (v.file !== file || index < v.pgoff || index >= v.pgoff + v.pages) continue;
          const addr = v.start + (index - v.pgoff) * PAGE;
          const leaf = mm.leafOf(addr);
          const mapped = leaf.level === 0 && pte.isPresent(leaf.entry) && pte.pfnOf(leaf.entry) === pfn;
          if (mapped && leaf.entry.lo & PTE_LO.DIRTY) dirty = true;
          if (v.isShared)
            maps.push({ mm, addr, end: Math.min(v.end, addr + PAGE), shared: true, ptr: mapped ? leaf.ptr : 0 });
        }
      }
      if (!dirty) continue;
      res.cleaned++;
      // page_mkclean(): only for a mapped folio (it is, it has a dirty PTE)
      for (const m of maps) {
        res.invalidations++;
        m.mm.invalidate(m.addr, m.end, MMU_NOTIFY_PROTECTION_PAGE, null, () => {
          if (m.ptr === 0) return;
          const cur = engine.readEntry(m.ptr);
          if (!pte.isPresent(cur) || pte.pfnOf(cur) !== pfn) return;
          if (!(cur.lo & (PTE_LO.RW | PTE_LO.DIRTY))) return;
          engine.writeEntry(m.ptr, { lo: (cur.lo & ~(PTE_LO.RW | PTE_LO.DIRTY)) >>> 0, hi: cur.hi });
        });
      }
    }
    return res;
  });
}

/** /proc/PID/clear_refs value 1: clear the referenced bits of every page. */
export const CLEAR_REFS_ALL = 1;
/** clear_refs value 2: anonymous pages only. */
export const CLEAR_REFS_ANON = 2;
/** clear_refs value 3: file-mapped pages only. */
export const CLEAR_REFS_MAPPED = 3;
/** clear_refs value 4: clear soft-dirty bits (write-protects PTEs: MMU_NOTIFY_SOFT_DIRTY). */
export const CLEAR_REFS_SOFT_DIRTY = 4;
/** clear_refs value 5: reset the peak RSS. */
export const CLEAR_REFS_MM_HIWATER_RSS = 5;

/**
 * Writing `type` to /proc/pid/clear_refs (clear_refs_write), under the mmap write lock (throws
 * SimulationDeadlock while a walk holds the read lock).
 *   4 (soft-dirty): VM_SOFTDIRTY is cleared from every VMA, then inside MMU_NOTIFY_SOFT_DIRTY
 *     [0, ∞) every present PTE / huge PMD (not hugetlb, not VM_PFNMAP) is write-protected and
 *     loses its soft-dirty bit, and swap-like entries lose SWP_SOFT_DIRTY. Raised even when
 *     nothing is populated.
 *   1 / 2 / 3: the young (accessed) bit of all / anonymous / file-mapped pages is cleared; no
 *     notifier (ptep_test_and_clear_young).
 *   5: resets the RSS high-water mark: no page-table change.
 */
export function clearRefs(mm: MmStruct, type: number): void {
  return runOp(mm.engine, () => {
    if (!Number.isInteger(type) || type < CLEAR_REFS_ALL || type > CLEAR_REFS_MM_HIWATER_RSS) {
      throw new ErrnoError(-ERRNO.EINVAL, `clear_refs: bad type ${type}`);
    }
    if (mm.exited) throw new ErrnoError(-ERRNO.EINVAL, "clear_refs: the mm has exited");
    if (type === CLEAR_REFS_MM_HIWATER_RSS) return;
    mm.withWriteLock(() => {
      const eng = mm.engine;
      const walk = (): void => {
        for (const v of mm.vmas) {
          if (v.isHugetlb || v.flags & VM.PFNMAP) continue;
          if (type === CLEAR_REFS_ANON && !v.isAnonymous) continue;
          if (type === CLEAR_REFS_MAPPED && v.isAnonymous) continue;
          mm.forEachLeaf(v.start, v.end, (_a, level, ptr, e) => {
            if (level > 1) return;
            let lo = e.lo;
            if (type === CLEAR_REFS_SOFT_DIRTY) {
              if (pte.isPresent(e)) lo &= ~(PTE_LO.RW | PTE_LO.SOFT_DIRTY);
              else if (pte.isSwapLike(e)) lo &= ~Number(SWP.SOFT_DIRTY);
            } else if (pte.isPresent(e)) {
              lo &= ~PTE_LO.ACCESSED;
            }
            if (lo >>> 0 !== e.lo) eng.writeEntry(ptr, { lo: lo >>> 0, hi: e.hi });
          });
        }
      };
      if (type !== CLEAR_REFS_SOFT_DIRTY) return walk();
      for (const v of mm.vmas) v.flags = (v.flags & ~VM.SOFTDIRTY) >>> 0;
      mm.syncVmas();
      mm.invalidate(0, Infinity, MMU_NOTIFY_SOFT_DIRTY, null, walk);
    });
  });
}
