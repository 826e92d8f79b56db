// File-backed faults (docs/semantics.md §5.2): the page cache, do_fault (read / COW / shared) and fault-around.
import * as pte from "../engine/pte.js";
import { PAGE_SIZE, FRAME, PMD_SIZE, PTE_LO, VM } from "../engine/layout.js";
import type { MmStruct } from "../mm/mm-struct.js";
import type { Vma } from "../mm/vma.js";
import { VM_FAULT_OOM, VM_FAULT_SIGBUS } from "./codes.js";

const PAGE = PAGE_SIZE;
const PAGE_BITS = PTE_LO.PRESENT | PTE_LO.USER;

/** The page-cache page of a file index, read in if needed; 0 when beyond EOF, -1 on OOM. */
export function pageCachePage(mm: MmStruct, vma: Vma, index: number): number {
  const file = vma.file!;
  if (index >= file.pages) return 0;
  let pfn = file.pageCache.get(index);
  if (pfn !== undefined) {
    // filemap_fault() locks the folio: one under migration is waited for (the migration
    // completes and the cache then holds the new folio)
    const mig = mm.engine.pendingMigrations.get(pfn);
    if (mig === undefined) return pfn;
    mig.finish();
    pfn = file.pageCache.get(index);
    if (pfn !== undefined) return pfn;
  }
  pfn = mm.engine.allocFrames(0, FRAME.FILE);
  if (pfn === 0) return -1;
  if (file.initial && index * PAGE < file.initial.length) {
    mm.engine.writeFrame(
      pfn,
      0,
      file.initial.subarray(index * PAGE, Math.min(file.initial.length, (index + 1) * PAGE)),
    );
  }
  file.pageCache.set(index, pfn);
  return pfn;
}

/** Whether a read fault maps a shared page writable (vm_page_prot without write-notify). */
export function sharedWritableOnRead(vma: Vma): boolean {
  return vma.isShared && (vma.flags & VM.WRITE) !== 0 && !(vma.file?.wantsWriteNotify ?? true);
}

export function mapFilePage(mm: MmStruct, ptep: number, pfn: number, write: boolean, dirty: boolean): void {
  mm.engine.getPage(pfn);
  mm.engine.setMapcount(pfn, mm.engine.mapcount(pfn) + 1);
  mm.engine.writeEntry(
    ptep,
    pte.mkPfnEntry(pfn, PAGE_BITS | PTE_LO.ACCESSED | (write ? PTE_LO.RW : 0) | (dirty ? PTE_LO.DIRTY : 0)),
  );
}

/** do_fault(): read (with fault-around), COW or shared fault of a file page. */
export function doFault(mm: MmStruct, vma: Vma, addr: number, write: boolean, ptep: number): number {
  const eng = mm.engine;
  if (!vma.file) return VM_FAULT_SIGBUS; // no ->fault (device mappings are populated by insert)
  const index = vma.pageIndex(addr);
  const src = pageCachePage(mm, vma, index);
  if (src === 0) return VM_FAULT_SIGBUS;
  if (src < 0) return VM_FAULT_OOM;
  if (!write) {
    faultAround(mm, vma, addr);
    if (pte.isNone(eng.readEntry(ptep))) mapFilePage(mm, ptep, src, sharedWritableOnRead(vma), false);
    return 0;
  }
  if (!vma.isShared) {
    // do_cow_fault(): a private copy, exclusive and writable
    const pfn = eng.allocFrames(0, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
    if (pfn === 0) return VM_FAULT_OOM;
    vma.anonVma = true;
    eng.copyFrame(src, pfn);
    eng.setMapcount(pfn, 1);
    eng.writeEntry(ptep, pte.mk.page(pfn, (vma.flags & VM.WRITE) !== 0));
    return 0;
  }
  mapFilePage(mm, ptep, src, true, true);
  return 0;
}

/** do_fault_around(): maps cached neighbours (16-page aligned window) read-only. */
export function faultAround(mm: MmStruct, vma: Vma, addr: number): void {
  const eng = mm.engine;
  const win = 16 * PAGE;
  const start = Math.max(vma.start, addr - (addr % win), addr - (addr % PMD_SIZE));
  const end = Math.min(vma.end, addr - (addr % win) + win, addr - (addr % PMD_SIZE) + PMD_SIZE);
  for (let a = start; a < end; a += PAGE) {
    const pfn = vma.file!.pageCache.get(vma.pageIndex(a));
    // filemap_map_pages() only trylocks: a folio under migration is skipped
    if (pfn === undefined || eng.pendingMigrations.has(pfn)) continue;
    const p = mm.entryPtr(a, 0, false);
    if (p === 0 || !pte.isNone(eng.readEntry(p))) continue;
    mapFilePage(mm, p, pfn, sharedWritableOnRead(vma), false);
  }
}
