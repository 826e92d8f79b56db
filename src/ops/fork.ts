// fork(): dup_mmap() / copy_page_range() (docs/semantics.md §6.1, §7 "fork").
//
// * A VMA is copied when vma_needs_copy(): it has an anon_vma, or is VM_PFNMAP / VM_MIXEDMAP /
//   VM_HUGETLB / VM_UFFD_WP. Other VMAs (shared mappings, untouched anonymous VMAs) are created
//   empty in the child and fault back in there.
// * For a copied COW mapping ((flags & (VM_SHARED|VM_MAYWRITE)) == VM_MAYWRITE) the parent gets
//   MMU_NOTIFY_PROTECTION_PAGE over [vm_start, vm_end), raised even if nothing is populated.
// * VM_DONTCOPY VMAs are not in the child; VM_WIPEONFORK VMAs are, empty and without anon_vma.
import { ErrnoError, OutOfEngineMemoryError, UseAfterFreeError } from "../engine/errors.js";
import { runOp } from "../mm/machine.js";
import { ERRNO, FRAME, PTE_LO, PTRS_PER_TABLE, SWP, VM } from "../engine/layout.js";
import type { MmStruct } from "../mm/mm-struct.js";
import type { MmOptions } from "../mm/mm-types.js";
import { forEachLeafBatched } from "../mm/leaf-walk.js";
import { MMU_NOTIFY_PROTECTION_PAGE } from "../mm/notifier.js";
import * as pte from "../engine/pte.js";
import type { Entry } from "../engine/pte.js";
import type { Vma } from "../mm/vma.js";
import { addMigrationLoc, argMm, isNormalPage, migrationLocs } from "./common.js";

const PRESENT_BITS = PTE_LO.PRESENT | PTE_LO.USER;

/** is_cow_mapping(). */
export function isCowMapping(flags: number): boolean {
  return (flags & (VM.SHARED | VM.MAYWRITE)) === VM.MAYWRITE;
}

/** vma_needs_copy() of the seed revision (hugetlb included). */
export function vmaNeedsCopy(v: Vma): boolean {
  if (v.flags & VM.WIPEONFORK) return false;
  return v.anonVma || (v.flags & (VM.PFNMAP | VM.MIXEDMAP | VM.HUGETLB | VM.UFFD_WP)) !== 0;
}

/**
 * fork(): a child Mm on the same engine with a copy of the parent's address space. Takes the
 * parent's mmap write lock (throws SimulationDeadlock while a walk holds the read lock).
 * Entries are copied as copy_page_range does; migration entries of a migration in flight are
 * copied too (write entries become read entries in parent and child, copy_nonpresent_pte) and the
 * migration completes both.
 */
export function fork<T extends MmStruct>(parent: T): T {
  argMm("fork", parent);
  let made: T | undefined;
  try {
    return forkOp(parent, (c) => (made = c));
  } catch (e) {
    // a callback threw after the child was complete: the caller never gets the child, so it goes
    if (made && !made.exited) made.exit();
    throw e;
  }
}

function forkOp<T extends MmStruct>(parent: T, made: (child: T) => void): T {
  return runOp(parent.engine, () => {
    if (parent.exited) throw new UseAfterFreeError(`fork: mm ${parent.id} has exited`);
    return parent.withWriteLock(() => {
      // the child is of the parent's class (the public Mm for Mms users created)
      const Ctor = parent.constructor as new (engine: MmStruct["engine"], opts: MmOptions) => T;
      const child = new Ctor(parent.engine, {
        levels: parent.levels,
        profile: parent.profile,
        thp: parent.thp,
        hugeZeroPage: parent.hugeZeroPage,
      });
      made(child);
      try {
        for (const v of parent.vmas) {
          if (v.flags & VM.DONTCOPY) continue;
          const cv = v.clone(v.start, v.end);
          if (v.flags & VM.WIPEONFORK) cv.anonVma = false;
          child.vmas.push(cv);
        }
        child.syncVmas();
        for (const v of parent.vmas) {
          if (!vmaNeedsCopy(v) || v.flags & VM.DONTCOPY) continue;
          const copy = (): void => copyPageRange(parent, child, v);
          if (isCowMapping(v.flags)) parent.invalidate(v.start, v.end, MMU_NOTIFY_PROTECTION_PAGE, null, copy);
          else copy();
        }
      } catch (e) {
        // dup_mmap() failed (no engine memory): the half-built child is torn down, which drops
        // every reference it took; fork fails with -ENOMEM (the parent keeps its COW protection)
        if (!(e instanceof OutOfEngineMemoryError)) throw e;
        child.exit();
        throw new ErrnoError(-ERRNO.ENOMEM, "fork: out of engine memory", { cause: e });
      }
      return child;
    });
  });
}

/**
 * copy_page_range(): the engine's copyPtes() copies runs of present PTEs of order-0 and special
 * pages; every other leaf is copied here by copyLeaf(), in address order.
 */
function copyPageRange(src: MmStruct, dst: MmStruct, v: Vma): void {
  const raw = src.engine.raw;
  const cow = isCowMapping(v.flags);
  forEachLeafBatched(
    src,
    v.start,
    v.end,
    (page, endPage) => {
      return raw.copyPtes(src.ptr, dst.ptr, page, endPage, cow ? 1 : 0, v.isShared ? 1 : 0);
    },
    (addr, level, ptr) => copyLeaf(src, dst, v, cow, addr, level, ptr),
  );
}

function copyLeaf(src: MmStruct, dst: MmStruct, v: Vma, cow: boolean, addr: number, level: number, ptr: number): void {
  const eng = src.engine;
  let e = eng.readEntry(ptr);
  if (pte.isNone(e)) return;
  // a THP of a file mapping is not copied (the child refaults it), copy_huge_pmd()
  if (level === 1 && !v.isHugetlb && !v.isAnonymous && pte.isPresent(e)) return;
  if (pte.isDeviceExclusive(e)) {
    // try_restore_exclusive_pte(): the parent gets its present PTE back, then it is copied as one
    const pfn = pte.swapOffset(e);
    const w = pte.swapType(e) === SWP.DEVICE_EXCLUSIVE_WRITE && (v.flags & VM.WRITE) !== 0;
    e = pte.mkPfnEntry(pfn, PRESENT_BITS | PTE_LO.ACCESSED | (w ? PTE_LO.RW | PTE_LO.DIRTY : 0));
    eng.writeEntry(ptr, e);
  }
  const { parentEntry, childEntry } = pte.isPresent(e)
    ? copyPresent(src, v, cow, e)
    : copyNonPresent(src, v, cow, e, level);
  if (parentEntry.lo !== e.lo || parentEntry.hi !== e.hi) eng.writeEntry(ptr, parentEntry);
  const cptr = dst.entryPtr(addr, level, true);
  eng.writeEntry(cptr, childEntry);
  if (pte.isMigration(e)) {
    // the child's copy of a migration entry of a pending migration is completed with it
    // (remove_migration_ptes finds it through the rmap); it holds its own reference
    const pfn = pte.swapOffset(e);
    const loc = migrationLocs(eng)
      .get(pfn)
      ?.find((l) => l.mm === src && l.addr === addr && l.level === level);
    if (loc) {
      eng.getPage(pfn);
      addMigrationLoc(eng, pfn, { mm: dst, addr, level, entry0: loc.entry0 });
    }
  }
}

function copyPresent(mm: MmStruct, v: Vma, cow: boolean, e: Entry): { parentEntry: Entry; childEntry: Entry } {
  const eng = mm.engine;
  // a device-coherent page is a normal page to the CPU (vm_normal_page()): it is referenced too
  if (isNormalPage(mm, e) || (pte.isPresent(e) && !pte.isSpecial(e) && eng.isDeviceCoherent(pte.pfnOf(e)))) {
    const pfn = pte.pfnOf(e);
    eng.getPage(pfn);
    eng.setMapcount(pfn, eng.mapcount(pfn) + 1);
    // page_try_dup_anon_rmap(): the page (every page of a PMD-mapped folio) is no longer exclusive
    const n = (e.lo & PTE_LO.PSE) !== 0 ? 2 ** eng.folioOf(pfn).order : 1;
    for (let i = 0; i < n; i++) {
      const f = eng.frameFlags(pfn + i);
      if (f & FRAME.ANON_EXCLUSIVE) eng.setFrameFlags(pfn + i, f & ~FRAME.ANON_EXCLUSIVE);
    }
  }
  let parentEntry = e;
  let lo = e.lo;
  if (cow && pte.isWrite(e)) {
    lo = (lo & ~PTE_LO.RW) >>> 0;
    parentEntry = { lo, hi: e.hi };
  }
  if (v.isShared) lo &= ~PTE_LO.DIRTY;
  lo &= ~(PTE_LO.ACCESSED | PTE_LO.UFFD_WP);
  // pte_mkold() does not apply to PMD leaves' PSE etc.; keep the rest
  return { parentEntry, childEntry: { lo: lo >>> 0, hi: e.hi } };
}

function copyNonPresent(
  mm: MmStruct,
  _v: Vma,
  cow: boolean,
  e: Entry,
  level = 0,
): { parentEntry: Entry; childEntry: Entry } {
  const eng = mm.engine;
  const EXCL = Number(SWP.EXCLUSIVE);
  if (pte.isRegularSwap(e)) {
    mm.swap.dup(pte.swapOffset(e));
    // the swap entry is shared from now on: SWP_EXCLUSIVE is cleared in parent and child
    const shared = { lo: (e.lo & ~EXCL) >>> 0, hi: e.hi };
    return { parentEntry: shared, childEntry: shared };
  }
  if (pte.isMigration(e)) {
    const pfn = pte.swapOffset(e);
    if (eng.hasStructPage(pfn)) eng.setMapcount(pfn, eng.mapcount(pfn) + 1);
    if (cow && pte.swapType(e) !== SWP.MIGRATION_READ) {
      const r = pte.mk.migration(pfn, false);
      return { parentEntry: r, childEntry: r };
    }
    return { parentEntry: e, childEntry: e };
  }
  if (pte.isDevicePrivate(e)) {
    const pfn = pte.swapOffset(e);
    // a PMD-level entry (v6.19 device THP) maps 512 device pages, each with its own counts
    for (let i = 0; i < (level === 1 ? PTRS_PER_TABLE : 1); i++) {
      eng.setRefcount(pfn + i, eng.refcount(pfn + i) + 1);
      eng.setMapcount(pfn + i, eng.mapcount(pfn + i) + 1);
    }
    if (cow && pte.isWritableSwapLike(e)) {
      const r = pte.mk.devicePrivate(pfn, false);
      return { parentEntry: r, childEntry: r };
    }
    return { parentEntry: e, childEntry: e };
  }
  // hwpoison entries and PTE markers are copied as they are
  return { parentEntry: e, childEntry: e };
}
