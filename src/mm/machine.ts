// Machine-wide kernel state that belongs to one engine: the live address spaces (for rmap walks
// and file truncation), the id counter of Mms, and the page state the kernel keeps in struct page
// bits the engine's frame metadata has no room for (MADV_FREE lazy folios, the KSM stable tree,
// the locations of migration entries in flight). Everything lives in one MachineState per Engine,
// so two engines never see each other's ids or pages.
//
// The class is generic over the address-space type so that this module needs nothing from
// mm-struct.ts; mm-struct.ts keeps the one MachineState<MmStruct> per engine (machineOf()).
import type { Entry } from "../engine/pte.js";

/** Where a migration entry of a pending migration lives (remove_migration_ptes finds it by rmap). */
export interface MigrationLoc<M> {
  mm: M;
  addr: number;
  /** 0 for a PTE, 1 for a PMD migration entry. */
  level: number;
  /** The present entry it replaced (its soft-dirty / uffd-wp / dirty / PSE bits are restored). */
  entry0: Entry;
}

/** The per-engine registries of the mm layer. */
export class MachineState<M extends { readonly exited: boolean }> {
  private nextMmId = 1;
  /** Live Mms in creation order (exited ones are dropped on the next liveMms()). */
  readonly mms = new Set<M>();
  /** Folios marked lazily freeable by MADV_FREE (folio_clear_swapbacked), by head pfn. */
  readonly lazyFree = new Set<number>();
  /** KSM stable tree: contents key -> KSM page pfn. */
  readonly ksmStable = new Map<string, number>();
  /**
   * The migration entries of pending migrations, by the pfn they carry. Every entry holds one
   * reference to the old page; fork adds the child's copy, mremap moves the address.
   */
  readonly migrationLocs = new Map<number, MigrationLoc<M>[]>();

  /** Ids are per engine: the first Mm of every engine is 1. */
  allocMmId(): number {
    return this.nextMmId++;
  }
}
