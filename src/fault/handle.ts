// handle_mm_fault() and handle_pte_fault(): the dispatch to the paths of docs/semantics.md §5.1-§5.2.
import * as pte from "../engine/pte.js";
import { OutOfEngineMemoryError } from "../engine/errors.js";
import { PAGE_SIZE, PMD_SIZE, PTE_LO, PUD_SIZE, VM } from "../engine/layout.js";
import { MMU_NOTIFY_CLEAR } from "../mm/notifier.js";
import type { MmStruct } from "../mm/mm-struct.js";
import type { Vma } from "../mm/vma.js";
import { doAnonymousPage } from "./anon.js";
import { FAULT_FLAG_WRITE, VM_FAULT_FALLBACK, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV } from "./codes.js";
import { doFault } from "./file.js";
import { createHugePmd, thpAllowed, wpHugePmd } from "./huge.js";
import { hugetlbFault } from "./hugetlb.js";
import { restoreNuma } from "./numa.js";
import { doSwapPage } from "./swap.js";
import { doWpPage } from "./wp.js";

const PAGE = PAGE_SIZE;

/** handle_mm_fault(vma, addr, flags): returns VM_FAULT_* bits (0 on success). */
export function handleMmFault(mm: MmStruct, vma: Vma, addr: number, flags: number): number {
  mm.stats.faults++;
  const write = (flags & FAULT_FLAG_WRITE) !== 0;
  // sanitize_fault_flags()
  if (write && (!(vma.flags & VM.MAYWRITE) || (!(vma.flags & VM.WRITE) && vma.isShared))) return VM_FAULT_SIGSEGV;
  try {
    if (vma.isHugetlb) return hugetlbFault(mm, vma, addr, write);
    return handleFault(mm, vma, addr - (addr % PAGE), write, flags);
  } catch (e) {
    // no engine memory for a page table: the fault fails like an allocation failure (OOM)
    if (e instanceof OutOfEngineMemoryError) return VM_FAULT_OOM;
    throw e;
  }
}

export function handleFault(mm: MmStruct, vma: Vma, addr: number, write: boolean, flags: number): number {
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

/** handle_pte_fault(). */
export function handlePteFault(
  mm: MmStruct,
  vma: Vma,
  addr: number,
  write: boolean,
  flags: number,
  ptep: number,
): number {
  const eng = mm.engine;
  const e = eng.readEntry(ptep);
  if (pte.isNone(e))
    return vma.isAnonymous ? doAnonymousPage(mm, vma, addr, write, ptep) : doFault(mm, vma, addr, write, ptep);
  if (!pte.isPresent(e)) return doSwapPage(mm, vma, addr, write, flags, ptep, e);
  if (pte.isProtnone(e)) {
    const r = restoreNuma(mm, ptep, e, addr);
    if (r || !write) return r;
    return handlePteFault(mm, vma, addr, write, flags, ptep);
  }
  // a write to a uffd-wp protected PTE is for the userfaultfd, which HMM's faults cannot wait for
  if (write && e.lo & PTE_LO.UFFD_WP && vma.flags & VM.UFFD_WP) return VM_FAULT_SIGBUS;
  if (write && !pte.isWrite(e)) return doWpPage(mm, vma, addr, ptep, e);
  const young = e.lo | PTE_LO.ACCESSED | (write ? PTE_LO.DIRTY : 0);
  if (young !== e.lo) eng.writeEntry(ptep, { lo: young >>> 0, hi: e.hi });
  return 0;
}
