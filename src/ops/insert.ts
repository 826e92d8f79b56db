// Device mappings filled by the driver's mmap: vmf_insert_pfn / vmf_insert_mixed (special PTEs,
// no struct page) and vm_insert_page (a refcounted page in a VM_MIXEDMAP VMA).
import { ErrnoError } from "../engine/errors.js";
import { ERRNO, PTE_LO, VM } from "../engine/layout.js";
import * as pte from "../engine/pte.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { hex } from "../mm/vma.js";
import { argInt, argULong } from "../engine/validate.js";

/** An address and a pfn (below the pfn space's end), on a live mm. */
function checkInsertArgs(fn: string, mm: MmStruct, addr: number, pfn: number): void {
  argULong(fn, "addr", addr);
  argInt(fn, "pfn", pfn, 0, 2 ** 40 - 1);
  mm.checkAlive(fn);
}

/** vmf_insert_pfn() / vmf_insert_mixed(): a special PTE for a raw pfn (no struct page used). */
export function insertPfn(mm: MmStruct, addr: number, pfn: number, write = false): void {
  checkInsertArgs("insertPfn", mm, addr, pfn);
  const vma = mm.vmaLookup(addr);
  if (!vma || !(vma.flags & (VM.PFNMAP | VM.MIXEDMAP))) throw new ErrnoError(-ERRNO.EINVAL, `insert_pfn at ${hex(addr)}: not a PFNMAP/MIXEDMAP VMA`);
  const p = mm.entryPtr(addr, 0, true);
  mm.engine.writeEntry(p, pte.mk.page(pfn, write && (vma.flags & VM.WRITE) !== 0, PTE_LO.SPECIAL));
}

/**
 * vm_insert_page(): a normal (refcounted) page, read-only, in a driver's VMA. Like the kernel it
 * marks the VMA VM_MIXEDMAP if it is not yet (a VM_PFNMAP VMA is refused: -EINVAL).
 */
export function insertPage(mm: MmStruct, addr: number, pfn: number): void {
  checkInsertArgs("insertPage", mm, addr, pfn);
  const vma = mm.vmaLookup(addr);
  if (!vma) throw new ErrnoError(-ERRNO.EFAULT, `vm_insert_page at ${hex(addr)}: no VMA`);
  if (vma.flags & VM.PFNMAP) throw new ErrnoError(-ERRNO.EINVAL, `vm_insert_page at ${hex(addr)}: a VM_PFNMAP VMA takes no pages`);
  if (!mm.engine.hasStructPage(pfn)) throw new ErrnoError(-ERRNO.EINVAL, `vm_insert_page: pfn ${pfn} has no struct page`);
  if (!(vma.flags & VM.MIXEDMAP)) {
    vma.flags = (vma.flags | VM.MIXEDMAP) >>> 0;
    mm.syncVmas();
  }
  const p = mm.entryPtr(addr, 0, true);
  mm.engine.getPage(pfn);
  mm.engine.setMapcount(pfn, mm.engine.mapcount(pfn) + 1);
  mm.engine.writeEntry(p, pte.mk.page(pfn, false));
}

