// migrate_pfn numbers and the MIGRATE_VMA_SELECT_* flags (include/linux/migrate.h): the src/dst
// entries of struct migrate_vma, pfn * 2^MIGRATE_PFN_SHIFT + flags. They exceed 32 bits, so flags
// are added and removed arithmetically, never with | or ~ (docs/drivers.md).

/** MIGRATE_PFN_VALID: the entry holds a pfn (migrate_pfn numbers are pfn * 2^MIGRATE_PFN_SHIFT + flags). */
export const MIGRATE_PFN_VALID = 1 << 0;
/** MIGRATE_PFN_MIGRATE: the page can be (src) or was (after migrate_vma_pages) migrated. */
export const MIGRATE_PFN_MIGRATE = 1 << 1;
/** MIGRATE_PFN_WRITE: the page was mapped writable. */
export const MIGRATE_PFN_WRITE = 1 << 3;
/** MIGRATE_PFN_SHIFT: bits below the pfn in a migrate_pfn number. */
export const MIGRATE_PFN_SHIFT = 6;
/** MIGRATE_VMA_SELECT_SYSTEM: collect system-memory pages (migration to the device). */
export const MIGRATE_VMA_SELECT_SYSTEM = 1 << 0;
/** MIGRATE_VMA_SELECT_DEVICE_PRIVATE: collect device-private pages of pgmapOwner (migration back to RAM). */
export const MIGRATE_VMA_SELECT_DEVICE_PRIVATE = 1 << 1;
/** MIGRATE_VMA_SELECT_DEVICE_COHERENT: collect device-coherent pages of pgmapOwner. */
export const MIGRATE_VMA_SELECT_DEVICE_COHERENT = 1 << 2;

// migrate_pfn values exceed 32 bits, so flags are added and removed arithmetically, never with | or ~
export const hasFlag = (m: number, f: number): boolean => ((m % 2 ** MIGRATE_PFN_SHIFT) & f) !== 0;
export const withoutFlag = (m: number, f: number): number => (hasFlag(m, f) ? m - f : m);
/** The MIGRATE_PFN_* flag bits of a migrate_pfn number (its low MIGRATE_PFN_SHIFT bits). */
export const migratePfnFlags = (m: number): number => m % 2 ** MIGRATE_PFN_SHIFT;
/** Whether a migrate_pfn number carries flag `f` (use this, never `m & f`: m exceeds 32 bits). */
export const migratePfnHasFlag = hasFlag;
/** A migrate_pfn number with flag `f` added (number-only `m | f`). */
export const migratePfnWithFlag = (m: number, f: number): number => (hasFlag(m, f) ? m : m + f);
/** A migrate_pfn number with flag `f` removed (number-only `m & ~f`). */
export const migratePfnWithoutFlag = withoutFlag;

/** migrate_pfn(): (pfn << MIGRATE_PFN_SHIFT) | MIGRATE_PFN_VALID, as a number. */
export function migratePfn(pfn: number): number {
  return pfn * 2 ** MIGRATE_PFN_SHIFT + MIGRATE_PFN_VALID;
}
/** migrate_pfn_to_page()'s pfn, or 0 when the entry is not valid. */
export function migratePfnToPfn(m: number): number {
  return hasFlag(m, MIGRATE_PFN_VALID) ? Math.floor(m / 2 ** MIGRATE_PFN_SHIFT) : 0;
}

/** MIGRATE_PFN_COMPOUND ("v6.19" device THP): the entry stands for a whole PMD-sized folio. */
export const MIGRATE_PFN_COMPOUND = 1 << 4;
/** MIGRATE_VMA_SELECT_COMPOUND ("v6.19"): migrate PMD-mapped folios as one compound entry instead of splitting them. */
export const MIGRATE_VMA_SELECT_COMPOUND = 1 << 3;
