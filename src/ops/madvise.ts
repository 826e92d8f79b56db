// madvise() and the page-cache operations that zap every mapping of a file (truncate, hole punch),
// with the notifier events of docs/semantics.md §7:
//   MADV_DONTNEED(_LOCKED), MADV_FREE, MADV_REMOVE / truncate / hole punch → MMU_NOTIFY_CLEAR
//   MADV_PAGEOUT → CLEAR per folio (reclaim.ts), MADV_COLLAPSE → CLEAR over the 2 MiB.
//   MADV_HUGEPAGE / NOHUGEPAGE / DONTFORK / DOFORK / WIPEONFORK / KEEPONFORK → VMA flags only.
import { argBits, argBudget, argInstance, argInt, argOptions, argULong } from "../engine/validate.js";
import { runOp } from "../mm/machine.js";
import type { Engine } from "../engine/engine.js";
import { ErrnoError } from "../engine/errors.js";
import { FAULT_FLAG_REMOTE, VM_FAULT_ERROR, handleMmFault } from "../fault/fault.js";
import { SimFile } from "../mm/file.js";
import { ERRNO, FRAME, PHYS, PMD_ORDER, PTE_LO, VM } from "../engine/layout.js";
import { type MmStruct, liveMms } from "../mm/mm-struct.js";
import { splitHugePmdAddress } from "../mm/huge-split.js";
import { splitVma } from "../mm/vma-list.js";
import { zapLeafEntry, zapPageRange } from "../mm/zap.js";
import { MMU_NOTIFY_CLEAR } from "../mm/notifier.js";
import * as pte from "../engine/pte.js";
import { type Vma, hex } from "../mm/vma.js";
import { PAGE, PMD_SIZE, alignDown, alignUp, checkedEnd, isNormalPage, lazyFreeSet, vmasIn } from "./common.js";
import { type ReclaimResult, reclaimVmaRange } from "./reclaim.js";

/** MADV_NORMAL: no special treatment. */
export const MADV_NORMAL = 0;
/** MADV_DONTNEED: zap the range now (anonymous memory reads back as zeros). */
export const MADV_DONTNEED = 4;
/** MADV_FREE: lazy free: clean anonymous pages may be dropped under reclaim. */
export const MADV_FREE = 8;
/** MADV_REMOVE: punch a hole in the shared file behind the range. */
export const MADV_REMOVE = 9;
/** MADV_DONTFORK: sets VM_DONTCOPY (the child of fork does not get the range). */
export const MADV_DONTFORK = 10;
/** MADV_DOFORK: clears VM_DONTCOPY. */
export const MADV_DOFORK = 11;
/** MADV_HUGEPAGE: sets VM_HUGEPAGE (THP under the "madvise" policy). */
export const MADV_HUGEPAGE = 14;
/** MADV_NOHUGEPAGE: sets VM_NOHUGEPAGE (no THP). */
export const MADV_NOHUGEPAGE = 15;
/** MADV_WIPEONFORK: sets VM_WIPEONFORK (the child gets zero-filled memory). */
export const MADV_WIPEONFORK = 18;
/** MADV_KEEPONFORK: clears VM_WIPEONFORK. */
export const MADV_KEEPONFORK = 19;
/** MADV_PAGEOUT: reclaim the range now (anonymous pages to swap). */
export const MADV_PAGEOUT = 21;
/** MADV_DONTNEED_LOCKED: MADV_DONTNEED that also applies to VM_LOCKED ranges. */
export const MADV_DONTNEED_LOCKED = 24;
/** MADV_COLLAPSE: collapse the range into THPs synchronously (needs the mmap write lock). */
export const MADV_COLLAPSE = 25;

/** Pages in a PMD-mapped THP (HPAGE_PMD_NR). */
const HPAGE_PMD_NR = 2 ** PMD_ORDER;
const EINVAL = -ERRNO.EINVAL;

/**
 * madvise(addr, len, advice). Throws ErrnoError like the syscall fails (EINVAL for a bad advice
 * or VMA, ENOMEM when part of the range is unmapped — after advising the mapped part, EACCES for
 * MADV_REMOVE on a non-shared-writable mapping, EAGAIN/ENOMEM from MADV_COLLAPSE).
 * DONTNEED/FREE/PAGEOUT/REMOVE take the mmap read lock; the VMA-flag advices and MADV_COLLAPSE
 * take the write lock (so they throw SimulationDeadlock while a walk holds the read lock).
 */
export function madvise(mm: MmStruct, addr: number, len: number, advice: number): void {
  return runOp(mm.engine, () => {
    argBits("madvise", "advice", advice);
    const end = checkedEnd(mm, addr, len, "madvise");
    if (end === addr) return;
    switch (advice) {
      case MADV_DONTNEED:
      case MADV_DONTNEED_LOCKED:
        return mm.withReadLock(() =>
          perVma(mm, addr, end, (v, s, e) => dontneed(mm, v, s, e, advice === MADV_DONTNEED_LOCKED)),
        );
      case MADV_FREE:
        return mm.withReadLock(() => perVma(mm, addr, end, (v, s, e) => madvFree(mm, v, s, e)));
      case MADV_PAGEOUT:
        return mm.withReadLock(() =>
          perVma(mm, addr, end, (v, s, e) => {
            if (v.isHugetlb || v.flags & (VM.PFNMAP | VM.LOCKED)) throw new ErrnoError(EINVAL, `MADV_PAGEOUT on ${v}`);
            const r: ReclaimResult = { swappedOut: 0, discarded: 0, unmappedFile: 0, skipped: 0 };
            reclaimVmaRange(mm, v, s, e, r, true);
          }),
        );
      case MADV_REMOVE:
        return mm.withReadLock(() => perVma(mm, addr, end, (v, s, e) => madvRemove(mm, v, s, e)));
      case MADV_COLLAPSE:
        return mm.withWriteLock(() => madvCollapse(mm, addr, end));
      case MADV_HUGEPAGE:
        return setFlags(mm, addr, end, VM.HUGEPAGE, VM.NOHUGEPAGE);
      case MADV_NOHUGEPAGE:
        return setFlags(mm, addr, end, VM.NOHUGEPAGE, VM.HUGEPAGE);
      case MADV_DONTFORK:
        return setFlags(mm, addr, end, VM.DONTCOPY, 0);
      case MADV_DOFORK:
        return setFlags(mm, addr, end, 0, VM.DONTCOPY);
      case MADV_WIPEONFORK:
        return setFlags(mm, addr, end, VM.WIPEONFORK, 0, (v) => v.isAnonymous && !v.isShared);
      case MADV_KEEPONFORK:
        return setFlags(mm, addr, end, 0, VM.WIPEONFORK);
      case MADV_NORMAL:
        return;
      default:
        throw new ErrnoError(EINVAL, `madvise: unsupported advice ${advice}`);
    }
  });
}

function perVma(mm: MmStruct, start: number, end: number, f: (v: Vma, s: number, e: number) => void): void {
  const { vmas, hole } = vmasIn(mm, start, end);
  for (const v of vmas) {
    if (v.end <= start || v.start >= end || !mm.vmas.includes(v)) continue;
    f(v, Math.max(start, v.start), Math.min(end, v.end));
  }
  if (hole) throw new ErrnoError(-ERRNO.ENOMEM, `madvise: [${hex(start)}, ${hex(end)}) is not fully mapped`);
}

function setFlags(
  mm: MmStruct,
  start: number,
  end: number,
  set: number,
  clear: number,
  ok?: (v: Vma) => boolean,
): void {
  mm.withWriteLock(() => {
    const { hole } = vmasIn(mm, start, end);
    for (const v of vmasIn(mm, start, end).vmas) if (ok && !ok(v)) throw new ErrnoError(EINVAL, `madvise on ${v}`);
    // hugetlb VMAs can only be split at huge-page boundaries (splitVma throws EINVAL otherwise)
    const vmas = splitVma(mm, start, end);
    for (const v of vmas) v.flags = ((v.flags | set) & ~clear) >>> 0;
    mm.syncVmas();
    if (hole) throw new ErrnoError(-ERRNO.ENOMEM, `madvise: [${hex(start)}, ${hex(end)}) is not fully mapped`);
  });
}

/** zap_page_range_single(): CLEAR [s, e), THPs straddling the edges split (CLEAR 2 MiB, nested). */
export function zapPageRangeSingle(mm: MmStruct, v: Vma, s: number, e: number, keepAnon = false): void {
  mm.invalidate(s, e, MMU_NOTIFY_CLEAR, null, () => {
    if (!v.isHugetlb) {
      splitHugePmdAddress(mm, s);
      splitHugePmdAddress(mm, e);
    }
    if (!keepAnon) {
      zapPageRange(mm, v, s, e);
      return;
    }
    // unmap_mapping_range(even_cows = 0): private COW copies (anon pages, swap entries) survive
    mm.forEachLeaf(s, e, (a, level, ptr, en) => {
      if (pte.isRegularSwap(en)) return;
      if (isNormalPage(mm, en) && mm.engine.frameFlags(pte.pfnOf(en)) & FRAME.ANON) return;
      zapLeafEntry(mm, v, a, level, en);
      mm.engine.writeEntry(ptr, pte.NONE);
    });
  });
}

function dontneed(mm: MmStruct, v: Vma, s: number, e: number, locked: boolean): void {
  if (v.flags & VM.PFNMAP || (!locked && v.flags & VM.LOCKED)) throw new ErrnoError(EINVAL, `MADV_DONTNEED on ${v}`);
  if (v.isHugetlb) {
    const sz = 2 ** v.hugeShift;
    if (s % sz !== 0) throw new ErrnoError(EINVAL, `MADV_DONTNEED: ${hex(s)} not huge-page aligned`);
    e = alignDown(e, sz);
    if (e <= s) return;
  }
  zapPageRangeSingle(mm, v, s, e);
}

function madvFree(mm: MmStruct, v: Vma, s: number, e: number): void {
  if (!v.isAnonymous || v.isShared || v.flags & (VM.LOCKED | VM.PFNMAP))
    throw new ErrnoError(EINVAL, `MADV_FREE on ${v}`);
  const eng = mm.engine;
  const lazy = lazyFreeSet(eng);
  mm.invalidate(s, e, MMU_NOTIFY_CLEAR, null, () => {
    // madvise_free_huge_pmd(): a THP not fully covered is split
    splitHugePmdAddress(mm, s);
    splitHugePmdAddress(mm, e);
    mm.forEachLeaf(s, e, (_a, level, ptr, en) => {
      if (pte.isRegularSwap(en)) {
        mm.swap.free(pte.swapOffset(en));
        eng.writeEntry(ptr, pte.NONE);
        return;
      }
      if (!isNormalPage(mm, en) || level > 1) return;
      const pfn = pte.pfnOf(en);
      const { head, order } = eng.folioOf(pfn);
      // only folios mapped once; PTE-mapped large folios are left alone (the kernel would split them)
      if (level === 0 && order !== 0) return;
      if (eng.mapcount(head) !== 1 || eng.refcount(head) !== 1 || !(eng.frameFlags(head) & FRAME.ANON)) return;
      eng.writeEntry(ptr, { lo: (en.lo & ~(PTE_LO.DIRTY | PTE_LO.ACCESSED)) >>> 0, hi: en.hi });
      lazy.add(head);
    });
  });
}

function madvRemove(mm: MmStruct, v: Vma, s: number, e: number): void {
  if (v.flags & VM.LOCKED) throw new ErrnoError(EINVAL, `MADV_REMOVE on ${v}`);
  if (!v.file) throw new ErrnoError(EINVAL, `MADV_REMOVE on ${v}: not a file mapping`);
  if ((v.flags & (VM.SHARED | VM.WRITE)) !== (VM.SHARED | VM.WRITE))
    throw new ErrnoError(-ERRNO.EACCES, `MADV_REMOVE on ${v}`);
  punchHole(mm.engine, v.file, v.pageIndex(s) * PAGE, e - s);
}

// ---- MADV_COLLAPSE / khugepaged -------------------------------------------------------------------

function madvCollapse(mm: MmStruct, start: number, end: number): void {
  const { vmas, hole } = vmasIn(mm, start, end);
  let failed = 0;
  for (const v of vmas) {
    if (!v.isAnonymous || v.isShared || v.flags & VM.NOHUGEPAGE) throw new ErrnoError(EINVAL, `MADV_COLLAPSE on ${v}`);
    for (let h = alignUp(Math.max(start, v.start), PMD_SIZE); h + PMD_SIZE <= Math.min(end, v.end); h += PMD_SIZE) {
      const r = collapseHugePage(mm, h);
      if (r !== 0) failed = r;
    }
  }
  if (hole) throw new ErrnoError(-ERRNO.ENOMEM, "MADV_COLLAPSE: range not fully mapped");
  if (failed) throw new ErrnoError(failed, "MADV_COLLAPSE: some ranges could not be collapsed");
}

/**
 * collapse_huge_page() of the 2 MiB at haddr (khugepaged and MADV_COLLAPSE): swap entries are
 * swapped in first (no notifier); then, inside MMU_NOTIFY_CLEAR [haddr, haddr+2 MiB), the 512
 * PTEs (present anonymous pages, zero pages or none) are replaced by one THP PMD holding a copy of
 * their contents; the old pages and the PTE table are freed. Returns 0, or -EAGAIN (an entry that
 * cannot be collapsed: device-private, migration, special…), -ENOMEM (no THP), -EINVAL.
 * The caller holds the mmap write lock (collapse_huge_page takes it).
 */
export function collapseHugePage(mm: MmStruct, haddr: number): number {
  return runOp(mm.engine, () => {
    argULong("collapseHugePage", "haddr", haddr);
    mm.checkAlive("collapseHugePage");
    const eng = mm.engine;
    const v = mm.vmaLookup(haddr);
    if (haddr % PMD_SIZE !== 0 || !v || !v.isAnonymous || v.isShared || haddr + PMD_SIZE > v.end || v.start > haddr)
      return EINVAL;
    const top = mm.leafOf(haddr);
    if (top.level === 1 && pte.isHugeLeaf(top.entry)) return 0; // already a THP
    if (top.level >= 1) return -ERRNO.EAGAIN;
    // __collapse_huge_page_swapin()
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      const a = haddr + i * PAGE;
      const l = mm.leafOf(a);
      if (l.level === 0 && pte.isRegularSwap(l.entry)) {
        if (handleMmFault(mm, v, a, FAULT_FLAG_REMOTE) & VM_FAULT_ERROR) return -ERRNO.EAGAIN;
      }
    }
    // __collapse_huge_page_isolate(): every PTE must be none, the zero page or a normal anon page
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      const l = mm.leafOf(haddr + i * PAGE);
      if (l.level < 0 || pte.isNone(l.entry)) continue;
      if (l.level !== 0) return -ERRNO.EAGAIN;
      const en = l.entry;
      if (pte.isPresent(en) && !pte.isProtnone(en) && pte.pfnOf(en) === PHYS.ZERO_PFN) continue;
      if (!isNormalPage(mm, en) || pte.isProtnone(en)) return -ERRNO.EAGAIN;
      if (!(eng.frameFlags(pte.pfnOf(en)) & FRAME.ANON)) return -ERRNO.EAGAIN;
    }
    const thp = eng.allocFrames(PMD_ORDER, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
    if (thp === 0) return -ERRNO.ENOMEM;
    mm.invalidate(haddr, haddr + PMD_SIZE, MMU_NOTIFY_CLEAR, null, () => {
      for (let i = 0; i < HPAGE_PMD_NR; i++) {
        const a = haddr + i * PAGE;
        const l = mm.leafOf(a);
        if (l.level === 0 && !pte.isNone(l.entry)) {
          const pfn = pte.pfnOf(l.entry);
          if (isNormalPage(mm, l.entry)) {
            eng.copyFrame(pfn, thp + i);
            eng.setMapcount(pfn, Math.max(0, eng.mapcount(pfn) - 1));
            eng.putPage(pfn);
          } else {
            eng.clearFrame(thp + i);
          }
          eng.writeEntry(l.ptr, pte.NONE);
        } else {
          eng.clearFrame(thp + i);
        }
      }
      // pmdp_collapse_flush() + pte_free(): the empty PTE table goes
      eng.raw.pruneTables(mm.ptr, haddr / PAGE, (haddr + PMD_SIZE) / PAGE);
      const pmdp = mm.entryPtr(haddr, 1, true);
      eng.setMapcount(thp, 1);
      eng.writeEntry(pmdp, pte.mk.huge(thp, (v.flags & VM.WRITE) !== 0, PTE_LO.DIRTY));
    });
    v.anonVma = true;
    return 0;
  });
}

/** Options of one khugepaged scan pass (the /sys/kernel/mm/transparent_hugepage/khugepaged knobs). */
export interface KhugepagedOptions {
  /** khugepaged/pages_to_scan: pages examined in this pass (default 4096 = 8 PMD ranges). */
  maxPages?: number;
  /** khugepaged/max_ptes_none (default 511): none or zero-page PTEs allowed in a range. */
  maxPtesNone?: number;
  /** khugepaged/max_ptes_swap (default 64): swap entries allowed (swapped in before collapse). */
  maxPtesSwap?: number;
  /** khugepaged/max_ptes_shared (default 256): pages mapped by another Mm too. */
  maxPtesShared?: number;
}

/** What one khugepaged pass did. */
export interface KhugepagedResult {
  /** haddr of each 2 MiB range collapsed into a THP (each raised CLEAR [haddr, haddr + 2 MiB)). */
  collapsed: number[];
  /** Pages examined (512 per PMD range looked at). */
  scanned: number;
}

/**
 * One khugepaged pass over mm (khugepaged_scan_mm_slot → hpage_collapse_scan_pmd →
 * collapse_huge_page): every PMD-aligned 2 MiB range inside an anonymous private VMA where THP is
 * enabled (thp "always", or "madvise" with MADV_HUGEPAGE; not MADV_NOHUGEPAGE) whose PMD points
 * to a PTE table is collapsed when its PTEs are only none / zero page (at most maxPtesNone), regular
 * swap entries (at most maxPtesSwap), and present anonymous pages (at most maxPtesShared of them
 * mapped more than once), with at least one writable PTE (SCAN_PAGE_RO) and at least one present
 * page (SCAN_EXCEED_NONE_PTE when all are none). Each collapse raises CLEAR [haddr, haddr + 2 MiB)
 * (collapseHugePage). Takes the mmap write lock like collapse_huge_page.
 */
export function khugepagedScan(mm: MmStruct, opts: KhugepagedOptions = {}): KhugepagedResult {
  return runOp(mm.engine, () => {
    argOptions("khugepagedScan", "opts", opts);
    mm.checkAlive("khugepagedScan");
    const maxPages = argBudget("khugepagedScan", "opts.maxPages", opts.maxPages === undefined ? 4096 : opts.maxPages);
    const maxNone = argInt(
      "khugepagedScan",
      "opts.maxPtesNone",
      opts.maxPtesNone === undefined ? HPAGE_PMD_NR - 1 : opts.maxPtesNone,
      0,
      HPAGE_PMD_NR - 1,
    );
    const maxSwap = argInt(
      "khugepagedScan",
      "opts.maxPtesSwap",
      opts.maxPtesSwap === undefined ? 64 : opts.maxPtesSwap,
      0,
      HPAGE_PMD_NR - 1,
    );
    const maxShared = argInt(
      "khugepagedScan",
      "opts.maxPtesShared",
      opts.maxPtesShared === undefined ? 256 : opts.maxPtesShared,
      0,
      HPAGE_PMD_NR,
    );
    const res: KhugepagedResult = { collapsed: [], scanned: 0 };
    if (mm.exited || mm.thp === "never") return res;
    return mm.withWriteLock(() => {
      const eng = mm.engine;
      for (const v of [...mm.vmas]) {
        if (!v.isAnonymous || v.isShared || v.isHugetlb || v.flags & VM.NOHUGEPAGE) continue;
        if (mm.thp === "madvise" && !(v.flags & VM.HUGEPAGE)) continue;
        for (let h = alignUp(v.start, PMD_SIZE); h + PMD_SIZE <= v.end; h += PMD_SIZE) {
          if (res.scanned + HPAGE_PMD_NR > maxPages) return res;
          const top = mm.leafOf(h);
          if (top.level !== 0 && top.level !== -1) continue; // already huge (or a PMD entry)
          if (top.level === -1) continue; // no page table: nothing to collapse
          res.scanned += HPAGE_PMD_NR;
          let none = 0,
            swap = 0,
            shared = 0,
            writable = 0,
            ok = true;
          for (let i = 0; i < HPAGE_PMD_NR && ok; i++) {
            const l = mm.leafOf(h + i * PAGE);
            const en = l.entry;
            if (
              l.level < 0 ||
              pte.isNone(en) ||
              (pte.isPresent(en) && !pte.isProtnone(en) && pte.pfnOf(en) === PHYS.ZERO_PFN)
            ) {
              if (++none > maxNone) ok = false;
              continue;
            }
            if (pte.isRegularSwap(en)) {
              if (++swap > maxSwap) ok = false;
              continue;
            }
            if (!isNormalPage(mm, en) || pte.isProtnone(en) || !(eng.frameFlags(pte.pfnOf(en)) & FRAME.ANON)) {
              ok = false;
              continue;
            }
            if (eng.mapcount(pte.pfnOf(en)) > 1 && ++shared > maxShared) ok = false;
            if (pte.isWrite(en)) writable++;
          }
          if (!ok || none === HPAGE_PMD_NR || writable === 0) continue;
          if (collapseHugePage(mm, h) === 0) res.collapsed.push(h);
        }
      }
      return res;
    });
  });
}

// ---- truncate / hole punch (unmap_mapping_range for every mm mapping the file) -------------------

/**
 * unmap_mapping_range(): for every live Mm on the engine and every VMA mapping `file`, zaps the VA
 * span of file pages [first, last) inside MMU_NOTIFY_CLEAR over that span. With evenCows false,
 * private COW copies survive (hole punch); truncate passes true.
 */
export function unmapMappingRange(engine: Engine, file: SimFile, first: number, last: number, evenCows: boolean): void {
  for (const mm of liveMms(engine)) {
    for (const v of [...mm.vmas]) {
      if (v.file !== file) continue;
      const lo = Math.max(first, v.pgoff);
      const hi = Math.min(last, v.pgoff + v.pages);
      if (lo >= hi) continue;
      zapPageRangeSingle(mm, v, v.start + (lo - v.pgoff) * PAGE, v.start + (hi - v.pgoff) * PAGE, !evenCows);
    }
  }
}

function dropCachePages(engine: Engine, file: SimFile, first: number, last: number): void {
  for (const [idx, pfn] of [...file.pageCache]) {
    if (idx < first || idx >= last) continue;
    file.pageCache.delete(idx);
    engine.putPage(pfn);
  }
}

function zeroCached(engine: Engine, file: SimFile, from: number, to: number): void {
  for (let off = from; off < to; ) {
    const idx = Math.floor(off / PAGE);
    const n = Math.min(to, (idx + 1) * PAGE) - off;
    const pfn = file.pageCache.get(idx);
    if (pfn !== undefined) engine.writeFrame(pfn, off % PAGE, new Uint8Array(n));
    off += n;
  }
}

/**
 * truncate(2) / ftruncate to `newSize` (truncate_setsize + truncate_pagecache): every mapping of the
 * pages beyond EOF is zapped — CLEAR per mapping VMA over the span of the offsets from
 * round_up(newSize) to the VMA's end, raised twice as truncate_pagecache() calls
 * unmap_mapping_range() before and after dropping the pages — the page cache is trimmed and
 * the tail of a partial last page zeroed. Later faults there get SIGBUS. Takes no mmap lock.
 * hugetlbfs files are not supported.
 */
export function truncateFile(engine: Engine, file: SimFile, newSize: number): void {
  return runOp(engine, () => {
    argInstance("truncateFile", "file", file, SimFile, "a SimFile");
    argInt("truncateFile", "newSize", newSize);
    if (file.kind === "hugetlbfs") throw new ErrnoError(EINVAL, "truncate of hugetlbfs files is not modelled");
    const old = file.size;
    file.size = newSize;
    if (newSize >= old) return;
    const holeBegin = Math.ceil(newSize / PAGE);
    unmapMappingRange(engine, file, holeBegin, Infinity, true);
    dropCachePages(engine, file, holeBegin, Infinity);
    zeroCached(engine, file, newSize, holeBegin * PAGE);
    unmapMappingRange(engine, file, holeBegin, Infinity, true);
  });
}

/**
 * fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) (also what MADV_REMOVE does): the whole
 * pages of [offset, offset+len) are unmapped from every mapping (CLEAR per mapping VMA span,
 * private COW copies kept) and dropped from the page cache; partial pages are zeroed. The file's
 * `initial` bytes in the hole are zeroed too (so refaults read zeros). Takes no mmap lock.
 */
export function punchHole(engine: Engine, file: SimFile, offset: number, len: number): void {
  return runOp(engine, () => {
    argInstance("punchHole", "file", file, SimFile, "a SimFile");
    argInt("punchHole", "offset", offset);
    argInt("punchHole", "len", len);
    if (len <= 0) throw new ErrnoError(EINVAL, "punch hole: bad range");
    if (file.kind === "hugetlbfs") throw new ErrnoError(EINVAL, "hole punch of hugetlbfs files is not modelled");
    const end = Math.min(offset + len, Math.max(file.size, offset));
    const first = Math.ceil(offset / PAGE);
    const last = Math.floor(end / PAGE);
    if (first < last) {
      unmapMappingRange(engine, file, first, last, false);
      dropCachePages(engine, file, first, last);
    }
    zeroCached(engine, file, offset, Math.min(end, first * PAGE));
    if (last * PAGE < end && last >= first) zeroCached(engine, file, Math.max(last * PAGE, offset), end);
    if (file.initial) file.initial.fill(0, Math.min(offset, file.initial.length), Math.min(end, file.initial.length));
  });
}
