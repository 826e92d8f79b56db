// mprotect(2) and change_protection() (mm/mprotect.c), which NUMA hinting scans share:
// PROTECTION_VMA from the first populated PMD of each PUD chunk (v6.1) or the first populated PUD
// of each P4D chunk (v6.16), and one event over the whole range for hugetlb. docs/semantics.md §7.
import { InvalidArgumentError } from "../engine/errors.js";
import { argBits, argULong } from "../engine/validate.js";
import { runOp } from "../mm/machine.js";
import { ErrnoError } from "../engine/errors.js";
import {
  ERRNO,
  FRAME,
  P4D_SHIFT,
  PAGE_SIZE,
  PHYS,
  PROT_MODE,
  PTE_LO as PTE_BITS,
  PUD_SIZE,
  SWP,
  VM,
  levelSize,
} from "../engine/layout.js";
import { isKsmPage } from "../mm/folio.js";
import { isCowMapping } from "./fork.js";
import { profileInfo } from "../engine/profile.js";
import * as pte from "../engine/pte.js";
import type { Entry } from "../engine/pte.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { changePmdRangeSplit, splitHugePmdAddress } from "../mm/huge-split.js";
import { checkVmaSplit, splitVma } from "../mm/vma-list.js";
import { forEachLeafBatched } from "../mm/leaf-walk.js";
import { MMU_NOTIFY_PROTECTION_VMA } from "../mm/notifier.js";
import { PROT_EXEC, PROT_READ, PROT_WRITE, type Vma, hex, protToVmFlags } from "../mm/vma.js";

const PAGE = PAGE_SIZE;

/** mprotect(): PROTECTION_VMA from the first populated PMD of each PUD chunk. */
export function mprotect(mm: MmStruct, addr: number, length: number, prot: number): void {
  argULong("mprotect", "address", addr);
  argULong("mprotect", "length", length);
  argBits("mprotect", "prot", prot);
  mm.checkAlive("mprotect");
  mm.withWriteLock(() => doMprotect(mm, addr, length, prot));
}

/** mprotect() with the mmap write lock already held. */
export function doMprotect(mm: MmStruct, addr: number, length: number, prot: number): void {
  argULong("mprotect", "address", addr);
  argULong("mprotect", "length", length);
  argBits("mprotect", "prot", prot);
  mm.checkAlive("mprotect");
  mm.assertWriteLocked("mprotect");
  if (addr % PAGE !== 0) throw new ErrnoError(-ERRNO.EINVAL, `mprotect: address ${hex(addr)} is not page aligned`);
  // do_mprotect_pkey(): unknown prot bits are -EINVAL, a zero length is success
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) throw new ErrnoError(-ERRNO.EINVAL, `mprotect: bad prot ${prot}`);
  if (length === 0) return;
  if (addr + Math.ceil(length / PAGE) * PAGE > mm.taskSize + PAGE)
    throw new ErrnoError(-ERRNO.ENOMEM, "mprotect: range beyond the address space");
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) throw new ErrnoError(-ERRNO.EINVAL, `mprotect: bad prot ${prot}`);
  const end = addr + Math.ceil(length / PAGE) * PAGE;
  // every page of the range must be mapped (ENOMEM otherwise), checked before anything changes
  let cur = addr;
  for (const v of mm.vmas) {
    if (v.end <= cur || v.start >= end) continue;
    if (v.start > cur) break;
    if (prot & PROT_WRITE && !(v.flags & VM.MAYWRITE)) throw new ErrnoError(-ERRNO.EACCES, "mprotect: no VM_MAYWRITE");
    cur = v.end;
  }
  if (cur < end) throw new ErrnoError(-ERRNO.ENOMEM, `mprotect: ${hex(cur)} is not mapped`);
  const newBits = protToVmFlags(prot);
  const newFlags = (v: Vma): number => ((v.flags & ~(VM.READ | VM.WRITE | VM.EXEC)) | newBits) >>> 0;
  // mprotect_fixup(), VMA by VMA in address order: a VMA whose flags would not change is left
  // alone (no split, no THP split at its edges, no event); the others are split at the range's
  // edges and changed before the next VMA is looked at, so events come in the kernel's order
  const pieces: [number, number][] = [];
  for (const v of mm.vmas) {
    if (v.end <= addr || v.start >= end || newFlags(v) === v.flags) continue;
    pieces.push([Math.max(addr, v.start), Math.min(end, v.end)]);
  }
  // what splitVma() could refuse is checked before the first piece changes, at the edges of the
  // VMAs that change (the others are not split)
  if (pieces.length) checkVmaSplit(mm, [pieces[0][0], pieces[pieces.length - 1][1]]);
  for (const [s, e] of pieces) {
    splitHugePmdAddress(mm, s);
    splitHugePmdAddress(mm, e);
    for (const v of splitVma(mm, s, e)) {
      v.flags = newFlags(v);
      changeProtection(mm, v, v.start, v.end);
    }
  }
  mm.syncVmas();
}

/** change_protection(): rewrites entries for v's new flags; one event per PUD chunk with tables. */
export function changeProtection(mm: MmStruct, v: Vma, start: number, end: number, numa = false): void {
  // SEED starts the notifier lazily at the first populated PMD of each PUD chunk
  // (change_pmd_range); v6.12+ at the first populated PUD of each P4D chunk (change_pud_range)
  if (v.isHugetlb && !numa) {
    // hugetlb_change_protection(): one event over the whole range, populated or not
    mm.invalidate(start, end, MMU_NOTIFY_PROTECTION_VMA, null, () => {
      mm.forEachLeaf(start, end, (addr, level, ptr, e) => {
        const ne = protectEntry(mm, v, addr, level, e);
        if (ne.lo !== e.lo || ne.hi !== e.hi) mm.engine.writeEntry(ptr, ne);
      });
    });
    return;
  }
  const atPud = profileInfo(mm.profile).mprotectNotifierAtPud;
  const chunk = atPud ? 2 ** P4D_SHIFT : PUD_SIZE;
  const mode = numa ? -1 : protectMode(v);
  const raw = mm.engine.raw;
  const batch = (page: number, endPage: number): number =>
    mode < 0 ? page : raw.protectPtes(mm.ptr, page, endPage, mode);
  for (let a = start; a < end; ) {
    const chunkEnd = Math.min(end, (Math.floor(a / chunk) + 1) * chunk);
    const first = firstPopulated(mm, a, chunkEnd, atPud ? 2 : 1);
    if (first >= 0) {
      mm.invalidate(first, chunkEnd, MMU_NOTIFY_PROTECTION_VMA, null, () => {
        // change_pmd_range(): a THP the range covers only partly is split first (its own CLEAR
        // over 2 MiB, nested), so that only the covered PTEs change; then present PTEs in the
        // engine (change_pte_range), everything else entry by entry here
        changePmdRangeSplit(mm, first, chunkEnd);
        forEachLeafBatched(mm, first, chunkEnd, batch, (addr, level, ptr, e) => {
          const ne = numa ? numaEntry(mm, v, e, level) : protectEntry(mm, v, addr, level, e);
          if (ne.lo !== e.lo || ne.hi !== e.hi) mm.engine.writeEntry(ptr, ne);
        });
      });
    }
    a = chunkEnd;
  }
}

/**
 * The engine's protectPtes() mode for v's new flags, or -1 when protectEntry() needs the host (a
 * shared writable mapping asks its file about write notify).
 */
function protectMode(v: Vma): number {
  if (!(v.flags & (VM.READ | VM.WRITE | VM.EXEC))) return PROT_MODE.NONE;
  if (!(v.flags & VM.WRITE)) return PROT_MODE.READ;
  return v.isShared ? -1 : PROT_MODE.PRIVATE_WRITE;
}

/** Start of the first non-none slot at `level` (1 PMD, 2 PUD) in [a, b), -1 if none. */
function firstPopulated(mm: MmStruct, a: number, b: number, level: number): number {
  const raw = mm.engine.raw;
  const size = levelSize(level);
  for (let x = a; x < b; ) {
    const next = Math.min(b, (Math.floor(x / size) + 1) * size);
    const p = raw.entryPtr(mm.ptr, x / PAGE, level, 0) >>> 0;
    if (p !== 0 && !pte.isNone(mm.engine.readEntry(p))) return x;
    if (p === 0 && raw.entryPtrStopLevel() > level) {
      const up = raw.entryPtr(mm.ptr, x / PAGE, raw.entryPtrStopLevel(), 0) >>> 0;
      if (up !== 0 && !pte.isNone(mm.engine.readEntry(up))) return x;
    }
    x = next;
  }
  return -1;
}

/**
 * change_pte_range() / change_huge_pmd() on a writable migration entry: it loses write, and an
 * anonymous page (PageAnon) keeps its exclusivity as MIGRATION_READ_EXCLUSIVE, so that the
 * migration's end (remove_migration_ptes) gives the new page AnonExclusive back; any other page
 * gets MIGRATION_READ (docs/semantics.md §7, the mprotect row).
 */
function readableMigrationType(mm: MmStruct, pfn: number): number {
  const eng = mm.engine;
  if (!eng.hasStructPage(pfn)) return SWP.MIGRATION_READ;
  return (eng.frameFlags(eng.folioOf(pfn).head) & FRAME.ANON) !== 0 ? SWP.MIGRATION_READ_EXCLUSIVE : SWP.MIGRATION_READ;
}

function protectEntry(mm: MmStruct, v: Vma, _addr: number, _level: number, e: Entry): Entry {
  if (pte.isSwapLike(e)) {
    // writable migration / device-private / device-exclusive entries become readable
    if (!pte.isWritableSwapLike(e)) return e;
    const t = pte.swapType(e);
    const off = pte.swapOffset(e);
    const rt =
      t === SWP.MIGRATION_WRITE
        ? readableMigrationType(mm, off)
        : t === SWP.DEVICE_WRITE
          ? SWP.DEVICE_READ
          : SWP.DEVICE_EXCLUSIVE_READ;
    return pte.mkSwapEntry(rt, off, e.lo & pte.SWP_FLAGS_LO);
  }
  if (!pte.isPresent(e)) return e;
  const pfn = pte.pfnOf(e);
  const keepLo =
    e.lo &
    (PTE_BITS.SPECIAL | PTE_BITS.DIRTY | PTE_BITS.ACCESSED | PTE_BITS.PSE | PTE_BITS.SOFT_DIRTY | PTE_BITS.UFFD_WP);
  if (!(v.flags & VM.READ) && !(v.flags & VM.WRITE) && !(v.flags & VM.EXEC)) {
    return pte.mkPfnEntry(pfn, PTE_BITS.PROTNONE | PTE_BITS.USER | keepLo, e.hi & pte.FLAGS_HI);
  }
  let write = false;
  // a uffd-wp protected entry stays read-only until userfaultfd lifts the protection
  if (v.flags & VM.WRITE && !(e.lo & PTE_BITS.UFFD_WP)) {
    if (v.isShared) {
      write = !(v.file?.wantsWriteNotify ?? false) || (e.lo & PTE_BITS.DIRTY) !== 0;
    } else if (!(e.lo & PTE_BITS.SPECIAL) && mm.engine.hasStructPage(pfn)) {
      const f = mm.engine.frameFlags(pfn);
      write = (f & FRAME.ANON) !== 0 && (f & FRAME.ANON_EXCLUSIVE) !== 0;
    }
  }
  return pte.mkPfnEntry(
    pfn,
    PTE_BITS.PRESENT | PTE_BITS.USER | keepLo | (write ? PTE_BITS.RW : 0),
    e.hi & pte.FLAGS_HI,
  );
}

function numaEntry(mm: MmStruct, v: Vma, e: Entry, level: number): Entry {
  if (!pte.isPresent(e) || pte.isProtnone(e) || e.lo & PTE_BITS.SPECIAL) return e;
  const pfn = pte.pfnOf(e);
  const eng = mm.engine;
  // change_pte_range(prot_numa) / change_huge_pmd(): no normal page (zero pages), device pages
  if (pfn === PHYS.ZERO_PFN || pfn === PHYS.HUGE_ZERO_PFN || !eng.hasStructPage(pfn)) return e;
  if (eng.frameFlags(pfn) & (FRAME.DEVICE_PRIVATE | FRAME.RESERVED)) return e;
  if (level === 0) {
    // KSM pages, and COW-shared pages of a COW mapping (page_count != 1), are skipped
    if (isKsmPage(eng, pfn)) return e;
    if (isCowMapping(v.flags) && eng.refcount(eng.folioOf(pfn).head) !== 1) return e;
  }
  const keepLo =
    e.lo & (PTE_BITS.RW | PTE_BITS.DIRTY | PTE_BITS.ACCESSED | PTE_BITS.PSE | PTE_BITS.SOFT_DIRTY | PTE_BITS.UFFD_WP);
  return pte.mkPfnEntry(pfn, PTE_BITS.PROTNONE | PTE_BITS.USER | keepLo, e.hi & pte.FLAGS_HI);
}

/** change_prot_numa(): makes the populated entries of [start, end) protnone (NUMA hinting). */
export function numaHintingScan(mm: MmStruct, start: number, end: number): void {
  return runOp(mm.engine, () => {
    argULong("numaHintingScan", "start", start);
    argULong("numaHintingScan", "end", end);
    mm.checkAlive("numaHintingScan");
    if (start % PAGE !== 0 || end % PAGE !== 0)
      throw new InvalidArgumentError("numaHintingScan", "start and end", "must be page aligned");
    for (const v of mm.vmas) {
      if (v.end <= start || v.start >= end || v.isHugetlb || !v.isAnonymous) continue;
      changeProtection(mm, v, Math.max(start, v.start), Math.min(end, v.end), true);
    }
  });
}
