// The page-fault model: handle_mm_fault() and the paths hmm_range_fault() can reach (docs/semantics.md §5).
// Each path changes the page table the way the kernel does and raises the notifier the kernel
// raises (CLEAR for a COW break or zero-page upgrade, EXCLUSIVE/CLEAR for exclusive restore, none
// for faults that only populate).
import { FRAME, PAGE_SIZE, PHYS, PMD_ORDER, PMD_SHIFT, PTE_LO, SWP, VM, PMD_SIZE, PUD_SIZE } from "../engine/layout.js";
import { MMU_NOTIFY_CLEAR, MMU_NOTIFY_EXCLUSIVE } from "../mm/notifier.js";
import { profileInfo } from "../engine/profile.js";
import * as pte from "../engine/pte.js";
import type { Entry } from "../engine/pte.js";
import type { MmStruct } from "../mm/mm-struct.js";
import type { Vma } from "../mm/vma.js";

// include/linux/mm_types.h (v6.1)
/** VM_FAULT_OOM: no memory for the page or a page table. */
export const VM_FAULT_OOM = 0x000001;
/** VM_FAULT_SIGBUS: the access cannot be satisfied (e.g. beyond the end of a file, hugetlb pool empty). */
export const VM_FAULT_SIGBUS = 0x000002;
/** VM_FAULT_MAJOR: the fault needed I/O (swap-in). */
export const VM_FAULT_MAJOR = 0x000004;
/** VM_FAULT_HWPOISON: the page is poisoned (memory failure). */
export const VM_FAULT_HWPOISON = 0x000010;
/** VM_FAULT_HWPOISON_LARGE: a poisoned huge page. */
export const VM_FAULT_HWPOISON_LARGE = 0x000020;
/** VM_FAULT_SIGSEGV: no valid mapping for the access. */
export const VM_FAULT_SIGSEGV = 0x000040;
export const VM_FAULT_NOPAGE = 0x000100;
export const VM_FAULT_LOCKED = 0x000200;
export const VM_FAULT_RETRY = 0x000400;
/** VM_FAULT_FALLBACK: a huge-page fault fell back to base pages. */
export const VM_FAULT_FALLBACK = 0x000800;
export const VM_FAULT_DONE_COW = 0x001000;
export const VM_FAULT_COMPLETED = 0x004000;
/** VM_FAULT_ERROR: the bits that make a fault fail (hmm_range_fault then returns -EFAULT; docs/semantics.md §5.7). */
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON |
  VM_FAULT_HWPOISON_LARGE | VM_FAULT_FALLBACK;

/** FAULT_FLAG_WRITE: a write fault. */
export const FAULT_FLAG_WRITE = 0x01;
export const FAULT_FLAG_MKWRITE = 0x02;
export const FAULT_FLAG_ALLOW_RETRY = 0x04;
/** FAULT_FLAG_USER: the fault came from user space. */
export const FAULT_FLAG_USER = 0x40;
/** FAULT_FLAG_REMOTE: the fault is on behalf of another mm (what hmm_range_fault sets). */
export const FAULT_FLAG_REMOTE = 0x80;

const NAMES: [number, string][] = [
  [VM_FAULT_OOM, "VM_FAULT_OOM"], [VM_FAULT_SIGBUS, "VM_FAULT_SIGBUS"], [VM_FAULT_MAJOR, "VM_FAULT_MAJOR"],
  [VM_FAULT_HWPOISON, "VM_FAULT_HWPOISON"], [VM_FAULT_HWPOISON_LARGE, "VM_FAULT_HWPOISON_LARGE"],
  [VM_FAULT_SIGSEGV, "VM_FAULT_SIGSEGV"], [VM_FAULT_NOPAGE, "VM_FAULT_NOPAGE"],
  [VM_FAULT_FALLBACK, "VM_FAULT_FALLBACK"], [VM_FAULT_DONE_COW, "VM_FAULT_DONE_COW"],
];
/** "VM_FAULT_SIGBUS|..." for a result, "0" for success. */
export function vmFaultString(r: number): string {
  const s = NAMES.filter(([b]) => r & b).map(([, n]) => n);
  return s.length ? s.join("|") : "0";
}

/** What a device's migrateToRam callback receives (struct vm_fault). */
export interface VmFault {
  /** The address space that faulted. */
  mm: MmStruct;
  /** The VMA containing the address. */
  vma: Vma;
  /** The faulting byte address (page-aligned). */
  address: number;
  /** FAULT_FLAG_* bits. */
  flags: number;
  /** The device-private page that was touched. */
  page: number;
}

const PAGE = PAGE_SIZE;
const PAGE_BITS = PTE_LO.PRESENT | PTE_LO.USER;

/** handle_mm_fault(vma, addr, flags): returns VM_FAULT_* bits (0 on success). */
export function handleMmFault(mm: MmStruct, vma: Vma, addr: number, flags: number): number {
  mm.stats.faults++;
  const write = (flags & FAULT_FLAG_WRITE) !== 0;
  // sanitize_fault_flags()
  if (write && (!(vma.flags & VM.MAYWRITE) || (!(vma.flags & VM.WRITE) && vma.isShared))) return VM_FAULT_SIGSEGV;
  if (vma.isHugetlb) return hugetlbFault(mm, vma, addr, write);
  return handleFault(mm, vma, addr - (addr % PAGE), write, flags);
}

function handleFault(mm: MmStruct, vma: Vma, addr: number, write: boolean, flags: number): number {
  const eng = mm.engine;
  // PUD level: only DAX-style devmap leaves exist; a write to a read-only one splits it
  const pudp = mm.entryPtr(addr, 2, true);
  if (pudp === 0) return VM_FAULT_OOM;
  const pud = eng.readEntry(pudp);
  if (pte.isHugeLeaf(pud)) {
    if (!write || pte.isWrite(pud)) return 0;
    // wp_huge_pud() -> __split_huge_pud(): the leaf is zapped inside CLEAR [haddr, haddr + 1 GiB)
    const haddr = addr - (addr % PUD_SIZE);
    mm.invalidate(haddr, haddr + PUD_SIZE, MMU_NOTIFY_CLEAR, null, () => eng.writeEntry(pudp, pte.NONE));
  }
  const pmdp = mm.entryPtr(addr, 1, true);
  if (pmdp === 0) return VM_FAULT_OOM;
  let pmd = eng.readEntry(pmdp);
  if (pte.isNone(pmd) && thpAllowed(mm, vma, addr)) {
    const r = createHugePmd(mm, vma, addr, write, pmdp);
    if (!(r & VM_FAULT_FALLBACK)) return r;
    pmd = eng.readEntry(pmdp);
  } else if (pte.isDevicePrivate(pmd)) {
    // do_huge_pmd_device_private() (v6.19): the device's migrate_to_ram with the faulting subpage
    const page = pte.swapOffset(pmd) + (addr % PMD_SIZE) / PAGE;
    const pgmap = eng.pgmaps.get(eng.frameAux(page));
    if (!pgmap?.migrateToRam) return VM_FAULT_SIGBUS;
    return pgmap.migrateToRam({ mm, vma, address: addr, flags, page });
  } else if (pte.isSwapLike(pmd)) {
    if (pte.isMigration(pmd)) mm.waitMigration(addr);
    return 0;
  } else if (pte.isHugeLeaf(pmd)) {
    if (pte.isProtnone(pmd)) return restoreNuma(mm, pmdp, pmd);
    if (!write || pte.isWrite(pmd)) return 0;
    const r = wpHugePmd(mm, vma, addr, pmdp, pmd);
    if (!(r & VM_FAULT_FALLBACK)) return r;
  }
  const ptep = mm.entryPtr(addr, 0, true);
  if (ptep === 0) return VM_FAULT_OOM;
  return handlePteFault(mm, vma, addr, write, flags, ptep);
}

function thpAllowed(mm: MmStruct, vma: Vma, addr: number): boolean {
  if (!vma.isAnonymous || vma.flags & VM.NOHUGEPAGE || mm.thp === "never") return false;
  if (mm.thp === "madvise" && !(vma.flags & VM.HUGEPAGE)) return false;
  const haddr = addr - (addr % PMD_SIZE);
  return haddr >= vma.start && haddr + PMD_SIZE <= vma.end;
}

/** do_huge_pmd_anonymous_page(): huge zero page on read, a fresh THP on write. */
function createHugePmd(mm: MmStruct, vma: Vma, _addr: number, write: boolean, pmdp: number): number {
  const eng = mm.engine;
  vma.anonVma = true;
  if (!write && mm.hugeZeroPage) {
    eng.writeEntry(pmdp, pte.mk.huge(PHYS.HUGE_ZERO_PFN, false, PTE_LO.SPECIAL));
    return 0;
  }
  const pfn = eng.allocFrames(PMD_ORDER, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
  if (pfn === 0) return VM_FAULT_FALLBACK;
  eng.setMapcount(pfn, 1);
  eng.writeEntry(pmdp, pte.mk.huge(pfn, (vma.flags & VM.WRITE) !== 0, PTE_LO.DIRTY));
  return 0;
}

/** do_huge_pmd_wp_page(): reuse an exclusive THP, else split (CLEAR 2 MiB) and fall back to PTEs. */
function wpHugePmd(mm: MmStruct, vma: Vma, addr: number, pmdp: number, pmd: Entry): number {
  const eng = mm.engine;
  const pfn = pte.pfnOf(pmd);
  if (pfn !== PHYS.HUGE_ZERO_PFN && vma.isAnonymous && isReusable(mm, pfn)) {
    eng.writeEntry(pmdp, pte.mkPfnEntry(pfn, pmd.lo | PTE_LO.RW | PTE_LO.DIRTY, pmd.hi));
    return 0;
  }
  mm.splitHugePmd(vma, addr);
  return VM_FAULT_FALLBACK;
}

function isReusable(mm: MmStruct, pfn: number): boolean {
  const eng = mm.engine;
  const f = eng.frameFlags(pfn);
  if (!(f & FRAME.ANON)) return false;
  if (f & FRAME.ANON_EXCLUSIVE) return true;
  const { head } = eng.folioOf(pfn);
  return eng.refcount(head) === 1;
}

/** handle_pte_fault(). */
function handlePteFault(mm: MmStruct, vma: Vma, addr: number, write: boolean, flags: number, ptep: number): number {
  const eng = mm.engine;
  const e = eng.readEntry(ptep);
  if (pte.isNone(e)) return vma.isAnonymous ? doAnonymousPage(mm, vma, addr, write, ptep) : doFault(mm, vma, addr, write, ptep);
  if (!pte.isPresent(e)) return doSwapPage(mm, vma, addr, write, flags, ptep, e);
  if (pte.isProtnone(e)) {
    const r = restoreNuma(mm, ptep, e, addr);
    if (r || !write) return r;
    return handlePteFault(mm, vma, addr, write, flags, ptep);
  }
  // a write to a uffd-wp protected PTE is for the userfaultfd, which HMM's faults cannot wait for
  if (write && (e.lo & PTE_LO.UFFD_WP) && (vma.flags & VM.UFFD_WP)) return VM_FAULT_SIGBUS;
  if (write && !pte.isWrite(e)) return doWpPage(mm, vma, addr, ptep, e);
  const young = e.lo | PTE_LO.ACCESSED | (write ? PTE_LO.DIRTY : 0);
  if (young !== e.lo) eng.writeEntry(ptep, { lo: young >>> 0, hi: e.hi });
  return 0;
}

/** do_anonymous_page(): the zero page on read, a zeroed exclusive page on write. No notifier. */
function doAnonymousPage(mm: MmStruct, vma: Vma, _addr: number, write: boolean, ptep: number): number {
  const eng = mm.engine;
  if (vma.isShared) return VM_FAULT_SIGBUS;
  if (!write) {
    eng.writeEntry(ptep, pte.mk.zero(PHYS.ZERO_PFN));
    return 0;
  }
  const pfn = eng.allocFrames(0, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
  if (pfn === 0) return VM_FAULT_OOM;
  vma.anonVma = true;
  eng.setMapcount(pfn, 1);
  eng.writeEntry(ptep, pte.mk.page(pfn, (vma.flags & VM.WRITE) !== 0));
  return 0;
}

/** The page-cache page of a file index, read in if needed; 0 when beyond EOF, -1 on OOM. */
function pageCachePage(mm: MmStruct, vma: Vma, index: number): number {
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
    mm.engine.writeFrame(pfn, 0, file.initial.subarray(index * PAGE, Math.min(file.initial.length, (index + 1) * PAGE)));
  }
  file.pageCache.set(index, pfn);
  return pfn;
}

/** Whether a read fault maps a shared page writable (vm_page_prot without write-notify). */
function sharedWritableOnRead(vma: Vma): boolean {
  return vma.isShared && (vma.flags & VM.WRITE) !== 0 && !(vma.file?.wantsWriteNotify ?? true);
}

function mapFilePage(mm: MmStruct, ptep: number, pfn: number, write: boolean, dirty: boolean): void {
  mm.engine.getPage(pfn);
  mm.engine.setMapcount(pfn, mm.engine.mapcount(pfn) + 1);
  mm.engine.writeEntry(ptep, pte.mkPfnEntry(pfn, PAGE_BITS | PTE_LO.ACCESSED | (write ? PTE_LO.RW : 0) | (dirty ? PTE_LO.DIRTY : 0)));
}

/** do_fault(): read (with fault-around), COW or shared fault of a file page. */
function doFault(mm: MmStruct, vma: Vma, addr: number, write: boolean, ptep: number): number {
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
function faultAround(mm: MmStruct, vma: Vma, addr: number): void {
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

/**
 * do_numa_page(): restores the protection the NUMA-hinting scan removed (no notifier); with
 * numaMigrateOnFault an exclusive 4 KiB anonymous page first moves to a new frame (CLEAR).
 */
function restoreNuma(mm: MmStruct, ptr: number, e: Entry, addr = -1): number {
  const eng = mm.engine;
  const pfn = pte.pfnOf(e);
  // only the flag bits are carried over: the pfn field of a protnone entry is stored inverted
  const lo = (e.lo & pte.FLAGS_LO & ~PTE_LO.PROTNONE) | PTE_LO.PRESENT | PTE_LO.ACCESSED;
  if (mm.numaMigrateOnFault && addr >= 0 && !(e.lo & PTE_LO.SPECIAL) && eng.hasStructPage(pfn) &&
      (eng.frameFlags(pfn) & FRAME.ANON) && eng.folioOf(pfn).order === 0 && eng.refcount(pfn) === 1) {
    const npfn = eng.allocFrames(0, eng.frameFlags(pfn));
    if (npfn !== 0) {
      const old = pfn;
      eng.copyFrame(old, npfn);
      mm.invalidate(addr, addr + PAGE, MMU_NOTIFY_CLEAR, null, () => {
        eng.setMapcount(npfn, 1);
        eng.writeEntry(ptr, pte.mkPfnEntry(npfn, lo >>> 0, e.hi & pte.FLAGS_HI));
        eng.setMapcount(old, 0);
        eng.putPage(old);
      });
      return 0;
    }
  }
  eng.writeEntry(ptr, pte.mkPfnEntry(pfn, lo >>> 0, e.hi & pte.FLAGS_HI));
  return 0;
}

/** do_wp_page(): reuse in place (no notifier) or copy (CLEAR over the page). */
function doWpPage(mm: MmStruct, vma: Vma, addr: number, ptep: number, e: Entry): number {
  const eng = mm.engine;
  const pfn = pte.pfnOf(e);
  const normal = !(e.lo & PTE_LO.SPECIAL) && eng.hasStructPage(pfn);
  if (vma.isShared && (vma.flags & VM.MAYSHARE)) {
    // wp_page_shared() / wp_pfn_shared(): writable in place (pte_mkdirty also sets soft-dirty)
    eng.writeEntry(ptep, { lo: (e.lo | PTE_LO.RW | PTE_LO.DIRTY | PTE_LO.ACCESSED | PTE_LO.SOFT_DIRTY) >>> 0, hi: e.hi });
    return 0;
  }
  if (normal && isReusable(mm, pfn)) {
    eng.setFrameFlags(pfn, eng.frameFlags(pfn) | FRAME.ANON_EXCLUSIVE);
    eng.writeEntry(ptep, { lo: (e.lo | PTE_LO.RW | PTE_LO.DIRTY | PTE_LO.ACCESSED | PTE_LO.SOFT_DIRTY) >>> 0, hi: e.hi });
    return 0;
  }
  return wpPageCopy(mm, vma, addr, ptep, e, normal);
}

/** wp_page_copy(): a new exclusive page replaces the old mapping inside CLEAR [addr, addr+4K). */
function wpPageCopy(mm: MmStruct, vma: Vma, addr: number, ptep: number, e: Entry, normal: boolean): number {
  const eng = mm.engine;
  const old = pte.pfnOf(e);
  const pfn = eng.allocFrames(0, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
  if (pfn === 0) return VM_FAULT_OOM;
  if (old !== PHYS.ZERO_PFN) eng.copyFrame(old, pfn);
  vma.anonVma = true;
  mm.invalidate(addr, addr + PAGE, MMU_NOTIFY_CLEAR, null, () => {
    eng.setMapcount(pfn, 1);
    eng.writeEntry(ptep, pte.mk.page(pfn, (vma.flags & VM.WRITE) !== 0));
    if (normal && old !== PHYS.ZERO_PFN) {
      eng.setMapcount(old, Math.max(0, eng.mapcount(old) - 1));
      eng.putPage(old);
    }
  });
  return 0;
}

/** do_swap_page(): every non-present PTE kind. */
function doSwapPage(mm: MmStruct, vma: Vma, addr: number, write: boolean, flags: number, ptep: number, e: Entry): number {
  const eng = mm.engine;
  if (pte.isMigration(e)) {
    mm.waitMigration(addr);
    return 0;
  }
  if (pte.isDeviceExclusive(e)) return removeDeviceExclusiveEntry(mm, vma, addr, ptep, e);
  if (pte.isDevicePrivate(e)) {
    const page = pte.swapOffset(e);
    const pgmap = eng.pgmaps.get(eng.frameAux(page));
    if (!pgmap?.migrateToRam) return VM_FAULT_SIGBUS;
    return pgmap.migrateToRam({ mm, vma, address: addr, flags, page });
  }
  if (pte.isHwpoison(e)) return VM_FAULT_HWPOISON;
  if (pte.isMarker(e)) {
    const bits = pte.swapOffset(e);
    if (bits & SWP.MARKER_SWAPIN_ERROR) return VM_FAULT_SIGBUS;
    if (bits & SWP.MARKER_UFFD_WP) {
      eng.writeEntry(ptep, pte.NONE);
      return handlePteFault(mm, vma, addr, write, flags, ptep);
    }
    return VM_FAULT_SIGBUS;
  }
  if (!pte.isRegularSwap(e)) return VM_FAULT_SIGBUS;
  // swap-in: read the slot into a new page; no notifier
  const slot = pte.swapOffset(e);
  const swap = mm.engine.swap;
  if (!swap.has(slot) || swap.badSlots.has(slot)) return VM_FAULT_SIGBUS;
  const pfn = eng.allocFrames(0, FRAME.ANON);
  if (pfn === 0) return VM_FAULT_OOM;
  const data = swap.read(slot);
  if (data) eng.writeFrame(pfn, 0, data);
  const exclusive = (e.lo & Number(SWP.EXCLUSIVE)) !== 0 || swap.refs(slot) === 1;
  swap.free(slot);
  eng.setMapcount(pfn, 1);
  vma.anonVma = true;
  let writable = false;
  if (exclusive) {
    eng.setFrameFlags(pfn, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
    const canWrite = (vma.flags & VM.WRITE) !== 0;
    writable = canWrite && (write || profileInfo(mm.profile).swapinWritableOnRead);
  }
  eng.writeEntry(ptep, pte.mk.page(pfn, false, writable ? PTE_LO.RW | (write ? PTE_LO.DIRTY : 0) : 0));
  if (write && !writable) return doWpPage(mm, vma, addr, ptep, eng.readEntry(ptep));
  return 0;
}

/** remove_device_exclusive_entry(): EXCLUSIVE (SEED) or CLEAR (late) over the page, owner NULL. */
function removeDeviceExclusiveEntry(mm: MmStruct, vma: Vma, addr: number, ptep: number, e: Entry): number {
  const event = profileInfo(mm.profile).exclusiveRestoreClear ? MMU_NOTIFY_CLEAR : MMU_NOTIFY_EXCLUSIVE;
  mm.invalidate(addr, addr + PAGE, event, null, () => {
    const cur = mm.engine.readEntry(ptep);
    if (cur.lo !== e.lo || cur.hi !== e.hi) return;
    const pfn = pte.swapOffset(e);
    const w = pte.swapType(e) === SWP.DEVICE_EXCLUSIVE_WRITE && (vma.flags & VM.WRITE) !== 0;
    mm.engine.writeEntry(ptep, pte.mkPfnEntry(pfn, PAGE_BITS | (w ? PTE_LO.RW : 0)));
  });
  return 0;
}

/** hugetlb_fault(): pool allocation, hugetlb COW, migration wait, hwpoison. */
function hugetlbFault(mm: MmStruct, vma: Vma, addr: number, write: boolean): number {
  const eng = mm.engine;
  const shift = vma.hugeShift;
  const size = 2 ** shift;
  const haddr = addr - (addr % size);
  const level = shift === PMD_SHIFT ? 1 : 2;
  const slot = mm.entryPtr(haddr, level, true);
  if (slot === 0) return VM_FAULT_OOM;
  const e = eng.readEntry(slot);
  const order = shift - 12;
  if (pte.isNone(e)) {
    // hugetlb_no_page(): a shared mapping finds or adds the page in the hugetlbfs page cache
    let pfn = 0;
    const index = vma.pageIndex(haddr) / 2 ** order;
    const cached = vma.isShared ? vma.file?.pageCache.get(index) : undefined;
    if (cached !== undefined) {
      pfn = cached;
      eng.getPage(pfn);
    } else {
      const free = eng.hugetlbFree.get(shift) ?? 0;
      if (free <= 0) return VM_FAULT_SIGBUS;
      pfn = eng.allocFrames(order, FRAME.HUGETLB | (vma.isShared ? FRAME.FILE : FRAME.ANON | FRAME.ANON_EXCLUSIVE));
      if (pfn === 0) return VM_FAULT_OOM;
      eng.hugetlbFree.set(shift, free - 1);
      if (vma.isShared && vma.file) {
        vma.file.pageCache.set(index, pfn);
        eng.getPage(pfn);
      }
    }
    eng.setMapcount(pfn, eng.mapcount(pfn) + 1);
    const w = (vma.flags & VM.WRITE) !== 0 && (vma.isShared || write);
    eng.writeEntry(slot, pte.mk.huge(pfn, w, w ? PTE_LO.DIRTY : 0));
    return 0;
  }
  if (pte.isMigration(e)) {
    mm.waitMigration(haddr);
    return 0;
  }
  if (pte.isHwpoison(e)) return VM_FAULT_HWPOISON_LARGE;
  if (!pte.isPresent(e)) return VM_FAULT_SIGBUS;
  if (!write || pte.isWrite(e)) return 0;
  // hugetlb_wp(): reuse an exclusive page, else copy inside CLEAR over the huge page
  const pfn = pte.pfnOf(e);
  if (vma.isShared || isReusable(mm, pfn)) {
    eng.writeEntry(slot, pte.mkPfnEntry(pfn, e.lo | PTE_LO.RW | PTE_LO.DIRTY, e.hi));
    return 0;
  }
  const free = eng.hugetlbFree.get(shift) ?? 0;
  if (free <= 0) return VM_FAULT_SIGBUS;
  const npfn = eng.allocFrames(order, FRAME.HUGETLB | FRAME.ANON | FRAME.ANON_EXCLUSIVE);
  if (npfn === 0) return VM_FAULT_OOM;
  eng.hugetlbFree.set(shift, free - 1);
  for (let i = 0; i < 2 ** order; i++) eng.copyFrame(pfn + i, npfn + i);
  mm.invalidate(haddr, haddr + size, MMU_NOTIFY_CLEAR, null, () => {
    eng.setMapcount(npfn, 1);
    eng.writeEntry(slot, pte.mk.huge(npfn, true, PTE_LO.DIRTY));
    eng.setMapcount(pfn, Math.max(0, eng.mapcount(pfn) - 1));
    eng.putHugetlbPage(pfn, shift);
  });
  return 0;
}

