// The reference walker's view of an entry (docs/semantics.md §2): the table geometry derived from
// the layout constants, the entry and hmm_pfns bits as 32-bit halves (computed once, never per
// page), and the x86-64 entry predicates as assembly/pgtable.ts models them.
import { HMM_PFN_HI, PAGE_SHIFT, PMD_SHIFT, PTE, PTE_HI, PTE_LO, PUD_SHIFT, SWP } from "../../engine/layout.js";
import { type Entry, isDevmap, isNone } from "../../engine/pte.js";

// ---- geometry, derived from the layout constants ------------------------------------------

export const TWO32 = 2 ** 32;
const INDEX_BITS = PMD_SHIFT - PAGE_SHIFT; // entries per table = 1 << INDEX_BITS
export const ENTRIES_PER_TABLE = 2 ** INDEX_BITS;
export const ENTRY_BYTES = 8;
export const PMD_PAGES = 2 ** (PMD_SHIFT - PAGE_SHIFT);
export const PUD_PAGES = 2 ** (PUD_SHIFT - PAGE_SHIFT);
/** Paging levels: 0 = PTE, 1 = PMD, 2 = PUD, 3 = P4D (the PGD of a 4-level table), 4 = PGD. */
export const PMD_LEVEL = 1;
export const PUD_LEVEL = 2;
/** Pages mapped by one entry of a table at `level`. */
export function pagesPerEntry(level: number): number {
  return 2 ** (INDEX_BITS * level);
}

// ---- entry bits as 32-bit halves (computed once, never per page) -----------------------------

export const lo32 = (v: bigint): number => Number(v & 0xffffffffn) >>> 0;
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffffffffn) >>> 0;
const PFN_MASK_LO = lo32(PTE.PFN_MASK);
const PFN_MASK_HI = hi32(PTE.PFN_MASK);
/** Everything that is not pfn: what pmd_flags() / pgd_flags() look at. */
const FLAGS_LO = ~PFN_MASK_LO >>> 0;
const FLAGS_HI = ~PFN_MASK_HI >>> 0;
const TABLE_FLAGS_LO = lo32(PTE.TABLE_FLAGS);
const TABLE_FLAGS_HI = hi32(PTE.TABLE_FLAGS);
const P = PTE_LO.PRESENT;
const PROTNONE = PTE_LO.PROTNONE;
const PSE = PTE_LO.PSE;
const DEVMAP_HI = PTE_HI.DEVMAP;

export const VALID_HI = HMM_PFN_HI.VALID;
export const WRITE_HI = HMM_PFN_HI.WRITE;
export const ERROR_HI = HMM_PFN_HI.ERROR;
export const REQ_FAULT_HI = VALID_HI; // HMM_PFN_REQ_FAULT == HMM_PFN_VALID
export const REQ_WRITE_HI = WRITE_HI; // HMM_PFN_REQ_WRITE == HMM_PFN_WRITE

// ---- x86-64 entry predicates (arch/x86/include/asm/pgtable.h as modelled by assembly/pgtable.ts) --

/** pmd_present(): P, PROTNONE or PSE (a huge PMD being split is still present). */
export function pmdPresent(e: Entry): boolean {
  return (e.lo & (P | PROTNONE | PSE)) !== 0;
}
/** pmd_trans_huge() / pud_trans_huge(): PSE without DEVMAP. */
export function pmdTransHuge(e: Entry): boolean {
  return (e.lo & PSE) !== 0 && (e.hi & DEVMAP_HI) === 0;
}
export const pudTransHuge = pmdTransHuge;
/** pmd_devmap() / pud_devmap(). */
export const pmdDevmap = isDevmap;
export const pudDevmap = isDevmap;
/** The flags of `e` differ from those of a table entry once the `ignoredLo` bits are masked out. */
export function flagsDifferFromTable(e: Entry, ignoredLo: number): boolean {
  const lo = (e.lo & FLAGS_LO & ~ignoredLo) >>> 0;
  const hi = (e.hi & FLAGS_HI) >>> 0;
  return lo !== (TABLE_FLAGS_LO & ~ignoredLo) >>> 0 || hi !== (TABLE_FLAGS_HI & FLAGS_HI) >>> 0;
}
/** pgd_bad() / p4d_bad(): anything but a table entry once U is ignored. */
export function upperBad(e: Entry): boolean {
  return flagsDifferFromTable(e, PTE_LO.USER);
}
/** pud_huge() on x86: non-none and not a plain present table entry (P without PSE). */
export function pudHuge(e: Entry): boolean {
  return !isNone(e) && (e.lo & (P | PSE)) !== P;
}
/** pud_present() / p4d_present() / pgd_present(): the P bit. */
export function upperPresent(e: Entry): boolean {
  return (e.lo & P) !== 0;
}
/** Linear-memory address of the table an entry points to (the pfn field, truncated to 32 bits). */
export function tableOf(e: Entry): number {
  return (e.lo & PFN_MASK_LO) >>> 0;
}
export function isMigrationType(t: number): boolean {
  return t >= SWP.MIGRATION_READ && t <= SWP.MIGRATION_WRITE;
}
export function isDevicePrivateType(t: number): boolean {
  return t === SWP.DEVICE_WRITE || t === SWP.DEVICE_READ;
}
export function isDeviceExclusiveType(t: number): boolean {
  return t === SWP.DEVICE_EXCLUSIVE_WRITE || t === SWP.DEVICE_EXCLUSIVE_READ;
}
