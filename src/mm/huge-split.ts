// Splitting huge mappings (__split_huge_pmd, __split_huge_pud, split_huge_pmd_address): a THP PMD
// leaf becomes a table of 512 PTEs, a file/DAX huge leaf or a PUD leaf is zapped, each inside
// MMU_NOTIFY_CLEAR over the huge page (docs/semantics.md §7, "THP split"). Operations that change
// part of a huge mapping (munmap, mprotect, mremap, madvise, migration, reclaim) split it first.
import { EngineError } from "../engine/errors.js";
import { FRAME, PHYS, PMD_SIZE, PTE_LO as PTE_BITS, PTRS_PER_TABLE, PUD_SIZE } from "../engine/layout.js";
import * as pte from "../engine/pte.js";
import type { MmStruct } from "./mm-struct.js";
import { MMU_NOTIFY_CLEAR } from "./notifier.js";
import type { Vma } from "./vma.js";
import { zapLeafEntry } from "./zap.js";

/**
 * __split_huge_pud() of a leaf PUD the walk does not report (U5): it is zapped inside
 * MMU_NOTIFY_CLEAR over its 1 GiB, after which the range is a hole. Returns nothing (nothing
 * happens when no PUD entry maps addr); throws what a notifier callback throws (after the split).
 */
export function splitHugePud(mm: MmStruct, addr: number): void {
  const haddr = addr - (addr % PUD_SIZE);
  const slot = mm.entryPtr(haddr, 2, false);
  if (slot === 0) return;
  const eng = mm.engine;
  mm.invalidate(haddr, haddr + PUD_SIZE, MMU_NOTIFY_CLEAR, null, () => {
    const e = eng.readEntry(slot);
    if (pte.isPresent(e) && !(e.lo & PTE_BITS.SPECIAL) && eng.hasStructPage(pte.pfnOf(e)) && !pte.isDevmap(e)) {
      const v = mm.vmaLookup(haddr);
      if (v) zapLeafEntry(mm, v, haddr, 2, e);
    }
    eng.writeEntry(slot, pte.NONE);
  });
}

/**
 * split_huge_pmd_address(): splits the THP mapping addr if addr falls strictly inside one (CLEAR
 * over 2 MiB), and a (devmap) PUD leaf addr falls strictly inside (split_huge_pud, CLEAR over
 * 1 GiB); what vma_adjust_trans_huge() does at a VMA boundary. Hugetlb VMAs and aligned addresses
 * are left alone. Returns nothing; throws EngineError when engine memory runs out for the new
 * page table, and what a notifier callback throws.
 */
export function splitHugePmdAddress(mm: MmStruct, addr: number): void {
  if (addr % PMD_SIZE === 0 && addr % PUD_SIZE === 0) return;
  const v = mm.vmaLookup(addr);
  if (!v || v.isHugetlb) return;
  if (addr % PMD_SIZE !== 0) pmdMigrationEntryWait(mm, addr);
  const leaf = mm.leafOf(addr);
  if (leaf.level === 2 && pte.isHugeLeaf(leaf.entry)) splitHugePud(mm, addr);
  else if (addr % PMD_SIZE !== 0 && leaf.level === 1 && (pte.isHugeLeaf(leaf.entry) || pte.isDevicePrivate(leaf.entry)))
    splitHugePmd(mm, v, addr);
}

/**
 * change_pmd_range()'s split step: splits every THP PMD leaf that [start, end) covers only partly,
 * each inside its own CLEAR over 2 MiB, before the PTEs change; hugetlb leaves are left alone.
 * Returns nothing; throws like splitHugePmd().
 */
export function changePmdRangeSplit(mm: MmStruct, start: number, end: number): void {
  if (start >= end) return;
  const partial: number[] = [];
  for (const a of [start, end]) if (a % PMD_SIZE !== 0 && !mm.vmaLookup(a)?.isHugetlb) pmdMigrationEntryWait(mm, a);
  // only the PMDs holding start and end - 1 can be covered partly: looking at those two (start
  // first, as a scan of the range would meet them) instead of visiting every leaf from the host
  // keeps mprotect and uffd-wp at the cost of their batched engine loops
  const lastPmd = end - 1 - ((end - 1) % PMD_SIZE);
  for (const a of lastPmd > start ? [start, lastPmd] : [start]) {
    const leaf = mm.leafOf(a);
    if (leaf.level !== 1 || !pte.isHugeLeaf(leaf.entry)) continue;
    const h = a - (a % PMD_SIZE);
    if (h < start || h + PMD_SIZE > end) partial.push(h);
  }
  for (const h of partial) {
    const v = mm.vmaLookup(h);
    if (v && !v.isHugetlb) splitHugePmd(mm, v, h);
  }
}

/**
 * pmd_migration_entry_wait() before a split: a THP whose PMD is a migration entry cannot be split
 * into PTE migration entries here (the pending migration tracks it as one PMD), so the migration
 * is completed first, as if it had finished just before the split, which then splits the new THP.
 * No event is lost: completing a migration raises none. Returns nothing; throws
 * SimulationDeadlock when no migration is in flight for the entry.
 */
export function pmdMigrationEntryWait(mm: MmStruct, addr: number): void {
  const leaf = mm.leafOf(addr);
  if (leaf.level === 1 && pte.isMigration(leaf.entry)) mm.waitMigration(addr);
}

/**
 * __split_huge_pmd(): the PMD leaf mapping addr becomes a table of 512 PTEs, inside a CLEAR over
 * its 2 MiB (see splitHugePmdLocked for what each kind of leaf becomes). Returns nothing; throws
 * EngineError when engine memory runs out for the table, and what a notifier callback throws.
 */
export function splitHugePmd(mm: MmStruct, v: Vma, addr: number): void {
  const haddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  mm.invalidate(haddr, haddr + PMD_SIZE, MMU_NOTIFY_CLEAR, null, () => splitHugePmdLocked(mm, v, haddr));
}

/**
 * __split_huge_pmd_locked(): the split itself, for callers already inside an invalidation. An
 * anonymous THP (or the huge zero page) becomes 512 PTEs of the same bits, every subpage mapped
 * once and inheriting the head's AnonExclusive state; a file or DAX huge leaf is zapped (it
 * faults back in as PTEs); a device-private PMD (v6.19) becomes 512 device-private PTEs.
 * Returns nothing (nothing happens without a huge PMD at haddr); throws EngineError when engine
 * memory runs out for the table.
 */
export function splitHugePmdLocked(mm: MmStruct, v: Vma, haddr: number): void {
  const eng = mm.engine;
  const slot = mm.entryPtr(haddr, 1, false);
  if (slot === 0) return;
  const e = eng.readEntry(slot);
  if (pte.isDevicePrivate(e)) {
    // every device page already holds its own reference and mapping
    const table = eng.raw.installTable(mm.ptr, slot) >>> 0;
    if (table === 0) throw new EngineError("out of engine memory splitting a device-private PMD");
    const w = pte.isWritableSwapLike(e);
    for (let i = 0; i < PTRS_PER_TABLE; i++)
      eng.writeEntry(table + i * 8, pte.mk.devicePrivate(pte.swapOffset(e) + i, w));
    return;
  }
  if (!pte.isHugeLeaf(e)) return;
  const pfn = pte.pfnOf(e);
  const isZero = pfn === PHYS.HUGE_ZERO_PFN;
  if (!isZero && (!v.isAnonymous || pte.isDevmap(e))) {
    eng.writeEntry(slot, pte.NONE);
    if (eng.hasStructPage(pfn) && !pte.isDevmap(e)) eng.putPage(pfn);
    return;
  }
  const table = eng.raw.installTable(mm.ptr, slot) >>> 0;
  if (table === 0) throw new EngineError("out of engine memory splitting a huge PMD");
  const keepLo =
    e.lo &
    (PTE_BITS.RW |
      PTE_BITS.DIRTY |
      PTE_BITS.ACCESSED |
      PTE_BITS.SOFT_DIRTY |
      PTE_BITS.UFFD_WP |
      PTE_BITS.PROTNONE |
      PTE_BITS.PRESENT);
  for (let i = 0; i < PTRS_PER_TABLE; i++) {
    const ne = isZero ? pte.mk.zero(PHYS.ZERO_PFN) : pte.mkPfnEntry(pfn + i, PTE_BITS.USER | keepLo);
    eng.writeEntry(table + i * 8, ne);
  }
  if (!isZero) {
    eng.setRefcount(pfn, eng.refcount(pfn) + PTRS_PER_TABLE - 1);
    // this PMD mapping (counted on the head) becomes one PTE mapping of every subpage; other
    // mappings of the folio (another Mm's PMD after fork) keep their counts
    const excl = eng.frameFlags(pfn) & FRAME.ANON_EXCLUSIVE;
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      if (i > 0) eng.setMapcount(pfn + i, eng.mapcount(pfn + i) + 1);
      eng.setFrameFlags(pfn + i, (eng.frameFlags(pfn + i) & ~FRAME.ANON_EXCLUSIVE) | excl);
    }
  }
}
