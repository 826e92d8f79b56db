// mremap() and brk(): the UNMAP events of docs/semantics.md §7.
//   shrink: MMU_NOTIFY_UNMAP over the cut tail (munmap).
//   grow in place: no event.
//   move: MMU_NOTIFY_UNMAP over [old_addr, old_addr+old_len) around move_page_tables (entries are
//   moved, not copied: no reference changes; migration entries move too and their migration
//   completes them at the new address); a THP whose destination is not 2 MiB aligned is
//   split first (CLEAR over the 2 MiB, nested); then the old range is munmapped (UNMAP again)
//   unless MREMAP_DONTUNMAP, which keeps the old VMA, empty.
//   brk shrink: UNMAP over [new_brk, old_brk) (page aligned); brk grow: no event.
import { argBits, argULong } from "../engine/validate.js";
import { doMmap } from "./mmap.js";
import { doMunmap } from "./munmap.js";
import { ErrnoError } from "../engine/errors.js";
import { ERRNO, VM } from "../engine/layout.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { pmdMigrationEntryWait, splitHugePmd, splitHugePmdAddress } from "../mm/huge-split.js";
import { getUnmappedArea, splitVma, vmaLink } from "../mm/vma-list.js";
import { MMU_NOTIFY_UNMAP } from "../mm/notifier.js";
import * as pte from "../engine/pte.js";
import type { Entry } from "../engine/pte.js";
import { MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, PROT_READ, PROT_WRITE, Vma, hex } from "../mm/vma.js";
import { PAGE, PMD_SIZE, alignUp, checkRange, migrationLocs } from "./common.js";

/** MREMAP_MAYMOVE: the mapping may move to a new address. */
export const MREMAP_MAYMOVE = 1;
/** MREMAP_FIXED: move to exactly new_address (needs MREMAP_MAYMOVE). */
export const MREMAP_FIXED = 2;
/** MREMAP_DONTUNMAP: move the pages but keep the old VMA mapped (empty). */
export const MREMAP_DONTUNMAP = 4;

const EINVAL = -ERRNO.EINVAL;

/**
 * mremap(old_addr, old_len, new_len, flags, new_addr): returns the new address. Takes the mmap
 * write lock (SimulationDeadlock while a walk holds the read lock). hugetlb VMAs are not supported.
 */
export function mremap(
  mm: MmStruct,
  oldAddr: number,
  oldLen: number,
  newLen: number,
  flags = 0,
  newAddr?: number,
): number {
  argULong("mremap", "oldAddr", oldAddr);
  argULong("mremap", "oldLen", oldLen);
  argULong("mremap", "newLen", newLen);
  argBits("mremap", "flags", flags);
  if (newAddr !== undefined) argULong("mremap", "newAddr", newAddr);
  mm.checkAlive("mremap");
  if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
    throw new ErrnoError(EINVAL, `mremap: bad flags ${flags}`);
  if (oldAddr % PAGE !== 0 || !Number.isSafeInteger(oldAddr))
    throw new ErrnoError(EINVAL, "mremap: unaligned old address");
  if ((flags & MREMAP_FIXED || flags & MREMAP_DONTUNMAP) && !(flags & MREMAP_MAYMOVE))
    throw new ErrnoError(EINVAL, "mremap: FIXED/DONTUNMAP need MAYMOVE");
  oldLen = alignUp(oldLen, PAGE);
  newLen = alignUp(newLen, PAGE);
  if (newLen <= 0) throw new ErrnoError(EINVAL, "mremap: zero new length");
  if (flags & MREMAP_DONTUNMAP && oldLen !== newLen)
    throw new ErrnoError(EINVAL, "mremap: DONTUNMAP needs old_len == new_len");
  // old_len 0 duplicates a shared mapping in the kernel; only with MREMAP_MAYMOVE and VM_SHARED
  if (oldLen === 0) throw new ErrnoError(EINVAL, "mremap: old_len 0 (duplicating a shared mapping) is not modelled");
  if (newLen > mm.taskSize || oldAddr + oldLen > mm.taskSize + PAGE)
    throw new ErrnoError(EINVAL, "mremap: range beyond the address space");
  if (mm.exited) throw new ErrnoError(EINVAL, "mremap: the mm has exited");
  return mm.withWriteLock(() => {
    const v = mm.vmaLookup(oldAddr);
    if (!v || oldAddr + oldLen > v.end)
      throw new ErrnoError(-ERRNO.EFAULT, `mremap: [${hex(oldAddr)}, +${oldLen}) is not one mapping`);
    if (v.isHugetlb) throw new ErrnoError(EINVAL, "mremap of hugetlb mappings is not modelled");
    if (flags & MREMAP_DONTUNMAP && (!v.isAnonymous || v.isShared))
      throw new ErrnoError(EINVAL, "mremap: DONTUNMAP needs a private anonymous mapping");
    if (flags & MREMAP_FIXED) {
      const na = newAddr ?? -1;
      if (na % PAGE !== 0 || na < 0) throw new ErrnoError(EINVAL, "mremap: bad new address");
      if (na < oldAddr + oldLen && na + newLen > oldAddr)
        throw new ErrnoError(EINVAL, "mremap: new range overlaps the old one");
      checkRange(mm, na, newLen, "mremap");
      doMunmap(mm, na, newLen);
      if (oldLen > newLen) {
        doMunmap(mm, oldAddr + newLen, oldLen - newLen);
        oldLen = newLen;
      }
      moveVma(mm, oldAddr, oldLen, na, newLen, (flags & MREMAP_DONTUNMAP) !== 0);
      return na;
    }
    if (newLen < oldLen) {
      doMunmap(mm, oldAddr + newLen, oldLen - newLen);
      return oldAddr;
    }
    if (newLen === oldLen && !(flags & MREMAP_DONTUNMAP)) return oldAddr;
    if (!(flags & MREMAP_DONTUNMAP) && oldAddr + oldLen === v.end) {
      const grownEnd = oldAddr + newLen;
      const free = !mm.vmas.some((x) => x !== v && x.start < grownEnd && x.end > v.end) && grownEnd <= mm.taskSize;
      if (free) {
        if (v.flags & VM.DONTEXPAND) throw new ErrnoError(-ERRNO.EFAULT, "mremap: VM_DONTEXPAND mapping cannot grow");
        v.end = grownEnd;
        mm.syncVmas();
        return oldAddr;
      }
    }
    if (!(flags & MREMAP_MAYMOVE)) throw new ErrnoError(-ERRNO.ENOMEM, "mremap: cannot grow in place");
    const na = getUnmappedArea(mm, newLen, v.isAnonymous && newLen >= PMD_SIZE ? PMD_SIZE : PAGE);
    moveVma(mm, oldAddr, oldLen, na, newLen, (flags & MREMAP_DONTUNMAP) !== 0);
    return na;
  });
}

/** move_vma(): new VMA, move_page_tables() inside UNMAP of the old range, then unmap the old. */
function moveVma(
  mm: MmStruct,
  oldAddr: number,
  oldLen: number,
  newAddr: number,
  newLen: number,
  dontUnmap: boolean,
): void {
  const eng = mm.engine;
  const oldEnd = oldAddr + oldLen;
  // vma_adjust() splits THPs straddling the edges of the old range (CLEAR 2 MiB each)
  splitHugePmdAddress(mm, oldAddr);
  splitHugePmdAddress(mm, oldEnd);
  // a THP under migration whose destination is not PMD aligned is completed first, so that it
  // can be split below like any THP (a PMD migration entry cannot land at an unaligned address)
  if ((newAddr - oldAddr) % PMD_SIZE !== 0) {
    const migrating: number[] = [];
    mm.forEachLeaf(oldAddr, oldEnd, (a, level, _p, e) => void (level === 1 && pte.isMigration(e) && migrating.push(a)));
    for (const a of migrating) pmdMigrationEntryWait(mm, a);
  }
  const [old] = splitVma(mm, oldAddr, oldEnd);
  const nv = new Vma(newAddr, newAddr + newLen, old.flags, old.pgoff, old.file, old.device, old.hugeShift);
  nv.anonVma = old.anonVma;
  vmaLink(mm, nv);
  mm.syncVmas();
  mm.invalidate(oldAddr, oldEnd, MMU_NOTIFY_UNMAP, null, () => {
    // a THP whose destination is not PMD aligned is split (CLEAR over its 2 MiB)
    const huge: number[] = [];
    mm.forEachLeaf(oldAddr, oldEnd, (a, level, _p, e) => {
      // (v6.19: a device-private PMD too)
      if (level === 1 && (pte.isHugeLeaf(e) || pte.isDevicePrivate(e)) && (newAddr + (a - oldAddr)) % PMD_SIZE !== 0)
        huge.push(a);
    });
    for (const a of huge) splitHugePmd(mm, old, a);
    const leaves: { a: number; level: number; ptr: number; e: Entry }[] = [];
    mm.forEachLeaf(oldAddr, oldEnd, (a, level, ptr, e) => leaves.push({ a, level, ptr, e }));
    for (const { a, level, ptr, e } of leaves) {
      const dst = mm.entryPtr(newAddr + (a - oldAddr), level, true);
      eng.writeEntry(dst, e);
      eng.writeEntry(ptr, pte.NONE);
      if (pte.isMigration(e)) {
        // a pending migration finds its moved entry at the new address
        const loc = migrationLocs(eng)
          .get(pte.swapOffset(e))
          ?.find((l) => l.mm === mm && l.addr === a && l.level === level);
        if (loc) loc.addr = newAddr + (a - oldAddr);
      }
    }
  });
  eng.raw.pruneTables(mm.ptr, oldAddr / PAGE, oldEnd / PAGE);
  if (dontUnmap) {
    // the old VMA stays, empty; new faults there get fresh pages
    old.flags = (old.flags & ~VM.ACCOUNT) >>> 0;
    mm.syncVmas();
  } else {
    doMunmap(mm, oldAddr, oldLen);
  }
}

// ---- brk ------------------------------------------------------------------------------------------

const brkState = new WeakMap<MmStruct, { start: number; brk: number }>();
/** Where the heap starts for an Mm that never called brkInit (like a randomised start_brk). */
export const DEFAULT_BRK_BASE = 0x5555_5600_0000;

/** Sets start_brk (page aligned) for mm; the heap is empty. */
export function brkInit(mm: MmStruct, base = DEFAULT_BRK_BASE): void {
  argULong("brkInit", "base", base);
  if (base % PAGE !== 0) throw new ErrnoError(EINVAL, "brk base must be page aligned");
  brkState.set(mm, { start: base, brk: base });
}

/**
 * brk(newBrk): returns the resulting program break (the old one when refused, like the syscall).
 * Growing maps anonymous memory (extending the heap VMA, no event); shrinking munmaps
 * [PAGE_ALIGN(newBrk), PAGE_ALIGN(oldBrk)) — MMU_NOTIFY_UNMAP. Takes the mmap write lock.
 */
export function brk(mm: MmStruct, newBrk?: number): number {
  if (newBrk !== undefined) argULong("brk", "newBrk", newBrk);
  mm.checkAlive("brk");
  let st = brkState.get(mm);
  if (!st) {
    brkInit(mm);
    st = brkState.get(mm)!;
  }
  const s = st;
  if (newBrk === undefined || newBrk < s.start || alignUp(newBrk, PAGE) > mm.taskSize) return s.brk;
  return mm.withWriteLock(() => {
    const oldTop = alignUp(s.brk, PAGE);
    const newTop = alignUp(newBrk, PAGE);
    if (newTop < oldTop) {
      doMunmap(mm, newTop, oldTop - newTop);
    } else if (newTop > oldTop) {
      if (mm.vmas.some((x) => x.start < newTop && x.end > oldTop)) return s.brk;
      const heap = oldTop > s.start ? mm.vmaLookup(oldTop - PAGE) : undefined;
      if (heap && heap.end === oldTop && heap.isAnonymous && !heap.isShared && heap.start >= s.start) {
        heap.end = newTop;
        mm.syncVmas();
      } else {
        doMmap(mm, {
          addr: oldTop,
          length: newTop - oldTop,
          prot: PROT_READ | PROT_WRITE,
          flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
        });
      }
    }
    s.brk = newBrk;
    return s.brk;
  });
}
