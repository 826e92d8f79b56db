// get_user_pages() / pin_user_pages() (mm/gup.c): take references on the pages behind a user
// range, faulting them in like a CPU access would. What HMM tests observe of it: a device-private
// page is never returned (the fault migrates it back through migrate_to_ram first), and a
// FOLL_LONGTERM pin moves a device-coherent page to system memory before pinning it
// (check_and_migrate_movable_pages), because device memory cannot be pinned for long.
import { ERRNO, FRAME, PAGE_SIZE, VM } from "../engine/layout.js";
import * as pte from "../engine/pte.js";
import { FAULT_FLAG_REMOTE, FAULT_FLAG_WRITE, VM_FAULT_ERROR, handleMmFault } from "../fault/fault.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { MMU_NOTIFY_CLEAR } from "../mm/notifier.js";

const PAGE = PAGE_SIZE;

/** gup_flags (include/linux/mm.h of the seed kernel). */
export const FOLL_WRITE = 0x01;
/** FOLL_GET: take a page reference (get_user_pages). */
export const FOLL_GET = 0x04;
/** FOLL_FORCE: ignore missing VM_WRITE/VM_READ permission where ptrace could (COW-breaks a private mapping). */
export const FOLL_FORCE = 0x10;
/** FOLL_LONGTERM: a long-term pin (migrates pages out of movable / device memory first). */
export const FOLL_LONGTERM = 0x10000;
/** FOLL_PIN: pin_user_pages() semantics (counted as a pin, not a plain reference). */
export const FOLL_PIN = 0x40000;

/** What a GUP call returns: pages taken (or a negative errno when the first one fails) and their pfns. */
export interface GupResult {
  /** Pages taken, or a negative errno when the first page fails. */
  ret: number;
  /** The pfns of the pages taken, one per page. */
  pages: number[];
}

/** check_vma_flags(): the access GUP is asked for must be allowed by the VMA. */
function checkVmaFlags(flags: number, gupFlags: number): boolean {
  if (flags & (VM.IO | VM.PFNMAP)) return false;
  if (gupFlags & FOLL_WRITE)
    return (flags & VM.WRITE) !== 0 || ((gupFlags & FOLL_FORCE) !== 0 && (flags & VM.MAYWRITE) !== 0);
  return (flags & VM.READ) !== 0 || ((gupFlags & FOLL_FORCE) !== 0 && (flags & VM.MAYREAD) !== 0);
}

/**
 * migrate_device_coherent_page(): a device-coherent page mapped at addr moves to a new system
 * page (inside MMU_NOTIFY_CLEAR over the page, as try_to_migrate does). Returns the new pfn or 0.
 */
function migrateDeviceCoherentPage(mm: MmStruct, addr: number, pfn: number): number {
  const eng = mm.engine;
  const dpfn = eng.allocFrames(0, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
  if (dpfn === 0) return 0;
  eng.copyFrame(pfn, dpfn);
  mm.invalidate(addr, addr + PAGE, MMU_NOTIFY_CLEAR, null, () => {
    const leaf = mm.leafOf(addr);
    eng.writeEntry(leaf.ptr, pte.mk.page(dpfn, pte.isWrite(leaf.entry)));
    eng.setMapcount(dpfn, 1);
    eng.setMapcount(pfn, Math.max(0, eng.mapcount(pfn) - 1));
    eng.putPage(pfn);
  });
  return dpfn;
}

/**
 * __get_user_pages(): for each page of [start, start + nrPages * 4096), fault it in (write if
 * FOLL_WRITE) until the CPU table maps it with the access asked for, then take a reference.
 * Stops at the first page that fails; returns the count taken, or the errno if none was.
 */
function gupInternal(mm: MmStruct, start: number, nrPages: number, gupFlags: number): GupResult {
  if (!Number.isSafeInteger(start) || start % PAGE !== 0) return { ret: -ERRNO.EINVAL, pages: [] };
  if (!Number.isInteger(nrPages) || nrPages < 0) return { ret: -ERRNO.EINVAL, pages: [] };
  mm.checkAlive();
  const write = (gupFlags & FOLL_WRITE) !== 0;
  const pages: number[] = [];
  const fail = (errno: number): GupResult => ({ ret: pages.length || errno, pages });
  return mm.withReadLock(() => {
    for (let i = 0; i < nrPages; i++) {
      const addr = start + i * PAGE;
      const vma = mm.vmaLookup(addr);
      if (!vma || !checkVmaFlags(vma.flags, gupFlags)) return fail(-ERRNO.EFAULT);
      let t = mm.translate(addr, write);
      for (let tries = 0; !t && tries < 8; tries++) {
        // faultin_page(): a device-private entry faults through migrate_to_ram
        if (handleMmFault(mm, vma, addr, FAULT_FLAG_REMOTE | (write ? FAULT_FLAG_WRITE : 0)) & VM_FAULT_ERROR)
          return fail(-ERRNO.EFAULT);
        t = mm.translate(addr, write);
      }
      if (!t) return fail(-ERRNO.EFAULT);
      let pfn = t.pfn;
      if (gupFlags & FOLL_LONGTERM && mm.engine.isDeviceCoherent(pfn)) {
        pfn = migrateDeviceCoherentPage(mm, addr, pfn);
        if (pfn === 0) return fail(-ERRNO.ENOMEM);
      }
      mm.engine.getPage(pfn);
      pages.push(pfn);
    }
    return { ret: pages.length, pages };
  });
}

/** get_user_pages(): references (FOLL_GET) on nrPages pages from start; release with putUserPages. */
export function getUserPages(mm: MmStruct, start: number, nrPages: number, gupFlags = 0): GupResult {
  return gupInternal(mm, start, nrPages, (gupFlags | FOLL_GET) & ~FOLL_PIN);
}

/** pin_user_pages() (FOLL_PIN; FOLL_LONGTERM for long-lived pins); release with unpinUserPages. */
export function pinUserPages(mm: MmStruct, start: number, nrPages: number, gupFlags = 0): GupResult {
  return gupInternal(mm, start, nrPages, (gupFlags | FOLL_PIN) & ~FOLL_GET);
}

/** put_page() on every page a getUserPages call returned. */
export function putUserPages(mm: MmStruct, pages: readonly number[]): void {
  for (const pfn of pages) mm.engine.putPage(pfn);
}

/** unpin_user_pages(). */
export function unpinUserPages(mm: MmStruct, pages: readonly number[]): void {
  putUserPages(mm, pages);
}
