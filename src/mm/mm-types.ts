// The vocabulary of an address space: the options of `new Mm()` and mmap(2), the simulation hooks,
// and the named shapes MmStruct's members return. Types only, so every layer can name them
// without importing the class.
import type { Entry } from "../engine/pte.js";
import type { Profile } from "../engine/profile.js";
import type { SimFile } from "./file.js";
import type { ThpPolicy, VmaDevice } from "./vma.js";

/** Options of `new Mm()`: paging levels, kernel profile, THP policy, huge zero page, NUMA balancing. */
export interface MmOptions {
  /** Paging levels: 4 (48-bit, default) or 5 (57-bit). */
  levels?: 4 | 5;
  /** Kernel behaviour to follow: "v6.1" (SEED, default), "v6.16" or "v6.19". */
  profile?: Profile;
  /** THP policy for anonymous memory (default "madvise"). */
  thp?: ThpPolicy;
  /** Use the huge zero page for read faults on THP-eligible ranges (default true). */
  hugeZeroPage?: boolean;
  /**
   * NUMA balancing: a hinting fault on a 4 KiB anonymous page moves it to a new frame ("another
   * node") inside MMU_NOTIFY_CLEAR over the page (default false: the page stays where it is).
   */
  numaMigrateOnFault?: boolean;
}

/** Arguments of mmap(2) (Mm.mmap): address hint, length in bytes, PROT_* and MAP_* bits, file and offset. */
export interface MmapOptions {
  /** Hint or, with MAP_FIXED, the exact address. */
  addr?: number;
  /** Length in bytes (rounded up to whole 4 KiB pages; 0 fails with -EINVAL). */
  length: number;
  /** PROT_* bits (PROT_READ | PROT_WRITE | PROT_EXEC, or PROT_NONE). */
  prot: number;
  /** MAP_* bits: exactly one of MAP_PRIVATE / MAP_SHARED, plus MAP_ANONYMOUS, MAP_FIXED, MAP_POPULATE, MAP_HUGETLB... */
  flags: number;
  /** The file to map (omit with MAP_ANONYMOUS). */
  file?: SimFile;
  /** Byte offset into the file (page aligned). */
  offset?: number;
  /** For device mappings (see Device.mmap): the device behind a VM_IO/PFNMAP/MIXEDMAP VMA. */
  device?: VmaDevice;
  /** Extra vm_flags (VM_IO, VM_PFNMAP, VM_MIXEDMAP, VM_HUGEPAGE, ...). */
  vmFlags?: number;
}

/**
 * Hooks that let a simulation run page-lock-only work at the points the kernel could race.
 * Both run inside hmmRangeFault while the caller holds the mmap READ lock, so they may only do
 * what another thread could do concurrently without the write lock: page migration
 * (ops.migratePages / startMigration), reclaim / swap-out (ops.reclaimPages), KSM (ops.ksmMerge),
 * NUMA hinting scans (numaHintingScan), truncate / hole punch (ops.truncateFile / punchHole), a CPU
 * write that breaks COW (cpuWrite), device migration. Write-lock operations (munmap, mprotect,
 * mmap, mremap, brk, fork, MADV_COLLAPSE) throw SimulationDeadlock there, as they would block
 * forever. An invalidation raised from a hook bumps the subscription's sequence: the walk then
 * returns -EBUSY at its next check (the driver retries, docs/semantics.md §4.3).
 */
export interface MmHooks {
  /** Called by hmmRangeFault before every walk pass after the first (pass >= 1). */
  betweenPasses?: (info: { pass: number; last: number }) => void;
  /** Called by hmmRangeFault before each page it faults (handle_mm_fault), after the first of a chunk. */
  betweenFaults?: (info: { addr: number; index: number }) => void;
}

/** A migration in flight: a page whose PTEs are migration entries until `finish` runs. */
export interface PendingMigration {
  /** migrate_folio_done(): completes the migration and replaces the migration entries. */
  finish(): void;
}

/** A leaf of the page table (MmStruct.leafOf): the entry that maps an address, and where it is. */
export interface LeafRef {
  /** Level of the entry: 0 PTE, 1 PMD, 2 PUD, 3 P4D/PGD, 4 PGD; -1 when nothing maps the address. */
  level: number;
  /** Address of the entry in engine memory (with level -1: the empty entry the lookup stopped at). */
  ptr: number;
  /** The entry itself (pte.NONE-like when level is -1). */
  entry: Entry;
}

/** Where a CPU access lands (MmStruct.translate): a frame and the byte offset in it. */
export interface Translation {
  /** The 4 KiB frame behind the address (the subpage of a huge leaf). */
  pfn: number;
  /** Byte offset of the address within that frame. */
  offset: number;
}

/** One row of the engine's copy of the VMA table (MmStruct.engineVmaTable), as the walker reads it. */
export interface EngineVmaRow {
  /** First byte of the VMA. */
  start: number;
  /** First byte after the VMA. */
  end: number;
  /** The VMA's vm_flags (VM.*). */
  flags: number;
  /** log2 of the hugetlb page size (21 or 30), 0 when not hugetlb. */
  hugeShift: number;
}

/** What the most recent hmmRangeFault call on an Mm did (MmStruct.hmmStats). */
export interface HmmStats {
  /** Walk passes run (each pass starts with the sequence check). */
  passes: number;
  /** Pages handle_mm_fault() was called for. */
  faultedPages: number;
  /** Times the walk waited on a migration entry (migration_entry_wait()). */
  migrationWaits: number;
}

/** Cumulative statistics of an address space since it was created (MmStruct.stats). */
export interface MmStats {
  /**
   * Page faults on this Mm: every handle_mm_fault() call (CPU accesses, hmmRangeFault, GUP) plus
   * the pages hmmRangeFault faults in the engine's batch or counts without running (the rest of a
   * PMD that became a huge leaf).
   */
  faults: number;
  /** Walk passes hmmRangeFault ran on this Mm. */
  walkPasses: number;
}
