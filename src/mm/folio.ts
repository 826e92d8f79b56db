// Folios as the mm operations see them: normal pages, a folio's mappings inside one VMA, and the
// per-engine page state without a FRAME bit (see machine.ts).
import type { Engine } from "../engine/engine.js";
import { FRAME, PAGE_SIZE, PHYS, PTE_LO, levelSize } from "../engine/layout.js";
import * as pte from "../engine/pte.js";
import type { Entry } from "../engine/pte.js";
import type { MigrationLoc as MigrationLocOf } from "./machine.js";
import { type MmStruct, machineOf } from "./mm-struct.js";
import type { Vma } from "./vma.js";

/** Where a migration entry of a pending migration lives (see MachineState.migrationLocs). */
export type MigrationLoc = MigrationLocOf<MmStruct>;

const PAGE = PAGE_SIZE;
const alignDown = (a: number, s: number): number => Math.floor(a / s) * s;

/** A normal page (vm_normal_page() != NULL) that is not reserved. */
export function isNormalPage(mm: MmStruct, e: Entry): boolean {
  if (!pte.isPresent(e) || (e.lo & PTE_LO.SPECIAL) !== 0) return false;
  const pfn = pte.pfnOf(e);
  if (pfn === PHYS.ZERO_PFN || pfn === PHYS.HUGE_ZERO_PFN || !mm.engine.hasStructPage(pfn)) return false;
  const f = mm.engine.frameFlags(pfn);
  if (f & FRAME.RESERVED) return false;
  // device-coherent pages are normal pages (refcounted, COW-copied); device-private ones are never mapped
  return (f & FRAME.DEVICE_PRIVATE) === 0 || mm.engine.isDeviceCoherent(pfn);
}

/** One mapping of a page of a folio in one mm: the entry at `ptr` (PTE level 0 or PMD level 1). */
export interface FolioMapping {
  /** Virtual byte address of the mapped page (or of the PMD's first page). */
  addr: number;
  /** 0: mapped by a PTE, 1: mapped by a PMD. */
  level: number;
  /** Byte address of the entry in engine memory (internal to the page-table engine). */
  ptr: number;
  /** The entry's value. */
  entry: Entry;
  /** Index of the mapped page within the folio (0 for a PMD mapping). */
  sub: number;
}

/** A folio as seen through one VMA: its head, order, the VA span it covers and its mappings there. */
export interface FolioView {
  /** Head pfn of the folio. */
  head: number;
  /** Folio order: log2 of its 4 KiB pages (0 or 9, 18 for 1 GiB hugetlb). */
  order: number;
  /** VA of the folio's first page in this VMA (vma_address of the head). */
  addr: number;
  /** min(vm_end, addr + folio size): the end of try_to_unmap_one's notifier range. */
  end: number;
  /** Its mappings through this VMA. */
  mappings: FolioMapping[];
  /** Mapcount summed over the folio's pages (all mms). */
  mapcount: number;
}

/**
 * The folio mapped at `addr` in v and all its mappings in [folio VA, min(vm_end, +size)) of v
 * (the part of rmap that lives in this VMA). null when addr maps no normal page.
 */
export function folioAt(mm: MmStruct, v: Vma, addr: number): FolioView | null {
  const eng = mm.engine;
  const leaf = mm.leafOf(addr);
  if (leaf.level < 0 || leaf.level > 1 || !isNormalPage(mm, leaf.entry)) return null;
  const span = levelSize(leaf.level);
  const base = alignDown(addr, span);
  const pfn = pte.pfnOf(leaf.entry);
  const { head, order } = eng.folioOf(pfn);
  const size = PAGE * 2 ** order;
  let mapcount = 0;
  for (let i = 0; i < 2 ** order; i++) mapcount += eng.mapcount(head + i);
  if (leaf.level === 1) {
    return {
      head,
      order,
      addr: base,
      end: Math.min(v.end, base + size),
      mappings: [{ addr: base, level: 1, ptr: leaf.ptr, entry: leaf.entry, sub: 0 }],
      mapcount,
    };
  }
  const fa = addr - (pfn - head) * PAGE;
  const fend = Math.min(v.end, fa + size);
  const mappings: FolioMapping[] = [];
  for (let a = Math.max(fa, v.start); a < fend; a += PAGE) {
    const l = a === addr ? leaf : mm.leafOf(a);
    if (l.level !== 0 || !isNormalPage(mm, l.entry)) continue;
    const p = pte.pfnOf(l.entry);
    if (p - head !== (a - fa) / PAGE) continue;
    mappings.push({ addr: a, level: 0, ptr: l.ptr, entry: l.entry, sub: p - head });
  }
  // vma_address(): a folio starting below vm_start is addressed from vm_start
  return { head, order, addr: Math.max(fa, v.start), end: fend, mappings, mapcount };
}

/** Whether every reference and mapping of the folio comes from `f.mappings` (no pin, no other mm, no page cache). */
export function folioExclusiveTo(mm: MmStruct, f: FolioView): boolean {
  return mm.engine.refcount(f.head) === f.mappings.length && f.mapcount === f.mappings.length;
}

// ---- per-engine page state without a FRAME bit ------------------------------------------------

/** Folios marked lazily freeable by MADV_FREE (folio_clear_swapbacked), by head pfn. */
export function lazyFreeSet(engine: Engine): Set<number> {
  return machineOf(engine).lazyFree;
}

/** KSM stable tree: contents key -> KSM page pfn. */
export function ksmStable(engine: Engine): Map<string, number> {
  return machineOf(engine).ksmStable;
}

/**
 * PageKsm(): the page is a KSM stable-tree page. A stable entry whose page was freed and whose
 * pfn was reused for other contents is stale (ksmMerge drops such entries lazily), so the entry
 * must still name this pfn under the page's current contents.
 */
export function isKsmPage(engine: Engine, pfn: number): boolean {
  const stable = machineOf(engine).ksmStable;
  let listed = false;
  for (const k of stable.values())
    if (k === pfn) {
      listed = true;
      break;
    }
  return listed && stable.get(contentsKey(engine, pfn)) === pfn;
}

/** The contents of a frame as a comparable key. */
export function contentsKey(engine: Engine, pfn: number): string {
  const b = new Uint8Array(PAGE);
  engine.readFrame(pfn, 0, b);
  // latin1 code units: a lossless key in any JavaScript host
  let key = "";
  for (let i = 0; i < b.length; i += 1024) key += String.fromCharCode(...b.subarray(i, i + 1024));
  return key;
}

// ---- migration entries in flight ------------------------------------------------------------------

/**
 * The migration entries of pending migrations, by the pfn they carry. Every entry holds one
 * reference to the old page; fork adds the child's copy (with its own reference), mremap moves
 * the address. The migration's completion takes them all (takeMigrationLocs).
 */
export function migrationLocs(engine: Engine): Map<number, MigrationLoc[]> {
  return machineOf(engine).migrationLocs;
}

export function addMigrationLoc(engine: Engine, pfn: number, loc: MigrationLoc): void {
  const m = migrationLocs(engine);
  const l = m.get(pfn);
  if (l) l.push(loc);
  else m.set(pfn, [loc]);
}

/** A registered location, its entry pointer and current entry, and whether it still holds the entry. */
export interface TakenLoc {
  loc: MigrationLoc;
  live: boolean;
  /** Byte address of the entry in engine memory (internal to the page-table engine). */
  ptr: number;
  cur: Entry;
}

/** Unregisters every location of pfn's migration entries and reports which are still in place. */
export function takeMigrationLocs(engine: Engine, pfn: number): TakenLoc[] {
  const m = migrationLocs(engine);
  const locs = m.get(pfn) ?? [];
  m.delete(pfn);
  return locs.map((loc) => {
    if (loc.mm.exited) return { loc, live: false, ptr: 0, cur: pte.NONE };
    const leaf = loc.mm.leafOf(loc.addr);
    const live = leaf.level === loc.level && pte.isMigration(leaf.entry) && pte.swapOffset(leaf.entry) === pfn;
    return { loc, live, ptr: leaf.ptr, cur: leaf.entry };
  });
}
