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

/**
 * vmf_insert_pfn() / vmf_insert_mixed() (insert_pfn()): a special PTE for a raw pfn (no struct
 * page used), writable when `write` and the VMA has VM_WRITE.
 *
 * A PTE that is already occupied is left as it is, as insert_pfn() does (the fault handler then
 * reports VM_FAULT_NOPAGE: somebody else filled the slot first). With `write` (the mkwrite form,
 * vmf_insert_mixed_mkwrite()) an occupied PTE that maps the same pfn is made young, dirty and, when
 * the VMA allows it, writable in place; one mapping another pfn stays untouched.
 * See docs/semantics.md §3.5 (row P14) and docs/drivers.md.
 *
 * @throws ErrnoError -EINVAL when `addr` is not in a VM_PFNMAP / VM_MIXEDMAP VMA.
 */
export function insertPfn(mm: MmStruct, addr: number, pfn: number, write = false): void {
  checkInsertArgs("insertPfn", mm, addr, pfn);
  const vma = mm.vmaLookup(addr);
  if (!vma || !(vma.flags & (VM.PFNMAP | VM.MIXEDMAP)))
    throw new ErrnoError(-ERRNO.EINVAL, `insert_pfn at ${hex(addr)}: not a PFNMAP/MIXEDMAP VMA`);
  const p = mm.entryPtr(addr, 0, true);
  const old = mm.engine.readEntry(p);
  if (!pte.isNone(old)) {
    if (write && pte.isPresent(old) && pte.pfnOf(old) === pfn) {
      const rw = (vma.flags & VM.WRITE) !== 0 ? PTE_LO.RW : 0;
      mm.engine.writeEntry(p, { lo: (old.lo | PTE_LO.ACCESSED | PTE_LO.DIRTY | rw) >>> 0, hi: old.hi });
    }
    return;
  }
  mm.engine.writeEntry(p, pte.mk.page(pfn, write && (vma.flags & VM.WRITE) !== 0, PTE_LO.SPECIAL));
}

/**
 * vm_insert_page(): a normal (refcounted) page, read-only, in a driver's VMA. Like the kernel it
 * marks the VMA VM_MIXEDMAP if it is not yet (a VM_PFNMAP VMA is refused: -EINVAL).
 *
 * @throws ErrnoError -EFAULT when no VMA holds `addr`; -EINVAL for a VM_PFNMAP VMA or a pfn
 *   without a struct page; -EBUSY when the PTE is already occupied (insert_page() never replaces
 *   an entry). Checked before anything changes, so a refused call leaves the VMA flags as they were.
 */
export function insertPage(mm: MmStruct, addr: number, pfn: number): void {
  checkInsertArgs("insertPage", mm, addr, pfn);
  const vma = mm.vmaLookup(addr);
  if (!vma) throw new ErrnoError(-ERRNO.EFAULT, `vm_insert_page at ${hex(addr)}: no VMA`);
  if (vma.flags & VM.PFNMAP)
    throw new ErrnoError(-ERRNO.EINVAL, `vm_insert_page at ${hex(addr)}: a VM_PFNMAP VMA takes no pages`);
  if (!mm.engine.hasStructPage(pfn))
    throw new ErrnoError(-ERRNO.EINVAL, `vm_insert_page: pfn ${pfn} has no struct page`);
  const p = mm.entryPtr(addr, 0, true);
  if (!pte.isNone(mm.engine.readEntry(p)))
    throw new ErrnoError(-ERRNO.EBUSY, `vm_insert_page at ${hex(addr)}: the PTE is already occupied`);
  if (!(vma.flags & VM.MIXEDMAP)) {
    vma.flags = (vma.flags | VM.MIXEDMAP) >>> 0;
    mm.syncVmas();
  }
  mm.engine.getPage(pfn);
  mm.engine.setMapcount(pfn, mm.engine.mapcount(pfn) + 1);
  mm.engine.writeEntry(p, pte.mk.page(pfn, false));
}
