// mm operations that change the CPU page table and raise mmu notifier events (docs/semantics.md §5–§7).
// Every function takes the Mm it operates on. Operations that take the mmap write lock in the
// kernel (fork, mremap, brk, MADV_COLLAPSE and the VMA-flag advices, like Mm.munmap/mprotect/mmap)
// throw SimulationDeadlock when called while a walk holds the read lock, e.g. from
// mm.hooks.betweenPasses / betweenFaults. Page-lock-only operations (migratePages/startMigration,
// reclaimPages, ksmMerge, truncateFile/punchHole, Mm.numaHintingScan, a CPU write breaking COW)
// may run from those hooks: that is what they are for.
export { fork, isCowMapping, vmaNeedsCopy } from "./fork.js";
export {
  madvise,
  collapseHugePage,
  khugepagedScan,
  type KhugepagedOptions,
  type KhugepagedResult,
  zapPageRangeSingle,
  truncateFile,
  punchHole,
  unmapMappingRange,
  MADV_NORMAL,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_REMOVE,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_WIPEONFORK,
  MADV_KEEPONFORK,
  MADV_PAGEOUT,
  MADV_DONTNEED_LOCKED,
  MADV_COLLAPSE,
} from "./madvise.js";
export { mremap, brk, brkInit, DEFAULT_BRK_BASE, MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP } from "./mremap.js";
export { migratePages, startMigration, type FolioMigration, type MigrateOptions } from "./migrate.js";
export { reclaimPages, ksmMerge, type ReclaimResult, type KsmResult } from "./reclaim.js";
export { exitMm, oomReap, type OomReapResult } from "./exit.js";
export {
  writebackFile,
  clearRefs,
  type WritebackResult,
  CLEAR_REFS_ALL,
  CLEAR_REFS_ANON,
  CLEAR_REFS_MAPPED,
  CLEAR_REFS_SOFT_DIRTY,
  CLEAR_REFS_MM_HIWATER_RSS,
} from "./clean.js";
export { rmapWalk, rmapOfFolio, type Rmap, type RmapHit, type RmapFile } from "../mm/rmap.js";
export { uffdRegisterWp, uffdWriteprotect } from "./uffd.js";
export {
  getUserPages,
  pinUserPages,
  putUserPages,
  unpinUserPages,
  FOLL_WRITE,
  FOLL_GET,
  FOLL_FORCE,
  FOLL_LONGTERM,
  FOLL_PIN,
  type GupResult,
} from "./gup.js";
export {
  pagemapRead,
  PM_PRESENT,
  PM_SWAP,
  PM_FILE,
  PM_SOFT_DIRTY,
  PM_MMAP_EXCLUSIVE,
  PM_PFRAME_MASK,
} from "./pagemap.js";
