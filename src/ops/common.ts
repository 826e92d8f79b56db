// Shared helpers of the mm operations in src/ops/: range checks, folio bookkeeping and the
// per-engine state that the kernel keeps in struct page flags the simulator has no bit for.
import type { Engine } from "../engine.js";
import { ErrnoError } from "../errors.js";
import { ERRNO, FRAME, PAGE_SIZE, PHYS, PMD_SHIFT, PTE_LO } from "../layout.js";
import type { Mm } from "../mm.js";
import * as pte from "../pte.js";
import type { Entry } from "../pte.js";
import { type Vma, hex } from "../vma.js";

export const PAGE = PAGE_SIZE;
export const PMD_SIZE = 2 ** PMD_SHIFT;

export const alignDown = (a: number, s: number): number => Math.floor(a / s) * s;
export const alignUp = (a: number, s: number): number => Math.ceil(a / s) * s;

/** Validates [addr, addr+len) like the syscalls do; returns the page-aligned end. */
export function checkedEnd(mm: Mm, addr: number, len: number, what: string): number {
  if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(len)) throw new ErrnoError(-ERRNO.EINVAL, `${what}: address and length must be integers`);
  if (addr % PAGE !== 0) throw new ErrnoError(-ERRNO.EINVAL, `${what}: address ${hex(addr)} is not page aligned`);
  if (len < 0) throw new ErrnoError(-ERRNO.EINVAL, `${what}: negative length`);
  const end = addr + alignUp(len, PAGE);
  if (end > mm.taskSize + PAGE) throw new ErrnoError(-ERRNO.EINVAL, `${what}: range beyond the address space`);
  if (mm.exited) throw new ErrnoError(-ERRNO.EINVAL, `${what}: the mm has exited`);
  return end;
}

/** The VMAs intersecting [start, end), and whether some page of the range is not mapped. */
export function vmasIn(mm: Mm, start: number, end: number): { vmas: Vma[]; hole: boolean } {
  const vmas: Vma[] = [];
  let cur = start;
  let hole = false;
  for (const v of mm.vmas) {
    if (v.end <= start || v.start >= end) continue;
    if (v.start > cur) hole = true;
    vmas.push(v);
    cur = v.end;
  }
  if (cur < end) hole = true;
  return { vmas, hole };
}

/** A normal page (vm_normal_page() != NULL) that is not reserved. */
export function isNormalPage(mm: Mm, e: Entry): boolean {
  if (!pte.isPresent(e) || (e.lo & PTE_LO.SPECIAL) !== 0) return false;
  const pfn = pte.pfnOf(e);
  if (pfn === PHYS.ZERO_PFN || pfn === PHYS.HUGE_ZERO_PFN || !mm.engine.hasStructPage(pfn)) return false;
  return (mm.engine.frameFlags(pfn) & (FRAME.RESERVED | FRAME.DEVICE_PRIVATE)) === 0;
}

/** One mapping of a page of a folio in one mm: the entry at `ptr` (PTE level 0 or PMD level 1). */
export interface FolioMapping {
  addr: number;
  level: number;
  ptr: number;
  entry: Entry;
  /** Index of the mapped page within the folio (0 for a PMD mapping). */
  sub: number;
}

/** A folio as seen through one VMA: its head, order, the VA span it covers and its mappings there. */
export interface FolioView {
  head: number;
  order: number;
  /** VA of the folio's first page in this VMA (vma_address of the head). */
  addr: number;
  /** min(vm_end, addr + folio size): the end of try_to_unmap_one's notifier range. */
  end: number;
  mappings: FolioMapping[];
  /** Mapcount summed over the folio's pages (all mms). */
  mapcount: number;
}

/**
 * The folio mapped at `addr` in v and all its mappings in [folio VA, min(vm_end, +size)) of v
 * (the part of rmap that lives in this VMA). null when addr maps no normal page.
 */
export function folioAt(mm: Mm, v: Vma, addr: number): FolioView | null {
  const eng = mm.engine;
  const leaf = mm.leafOf(addr);
  if (leaf.level < 0 || leaf.level > 1 || !isNormalPage(mm, leaf.entry)) return null;
  const span = 2 ** (12 + 9 * leaf.level);
  const base = alignDown(addr, span);
  const pfn = pte.pfnOf(leaf.entry);
  const { head, order } = eng.folioOf(pfn);
  const size = PAGE * 2 ** order;
  let mapcount = 0;
  for (let i = 0; i < 2 ** order; i++) mapcount += eng.mapcount(head + i);
  if (leaf.level === 1) {
    return { head, order, addr: base, end: Math.min(v.end, base + size), mappings: [{ addr: base, level: 1, ptr: leaf.ptr, entry: leaf.entry, sub: 0 }], mapcount };
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
export function folioExclusiveTo(mm: Mm, f: FolioView): boolean {
  return mm.engine.refcount(f.head) === f.mappings.length && f.mapcount === f.mappings.length;
}

// ---- per-engine page state without a FRAME bit ------------------------------------------------

const lazyFree = new WeakMap<Engine, Set<number>>();
/** Folios marked lazily freeable by MADV_FREE (folio_clear_swapbacked), by head pfn. */
export function lazyFreeSet(engine: Engine): Set<number> {
  let s = lazyFree.get(engine);
  if (!s) lazyFree.set(engine, (s = new Set()));
  return s;
}

const ksmPages = new WeakMap<Engine, Map<string, number>>();
/** KSM stable tree: contents key -> KSM page pfn. */
export function ksmStable(engine: Engine): Map<string, number> {
  let m = ksmPages.get(engine);
  if (!m) ksmPages.set(engine, (m = new Map()));
  return m;
}

/** The contents of a frame as a comparable key. */
export function contentsKey(engine: Engine, pfn: number): string {
  const b = new Uint8Array(PAGE);
  engine.readFrame(pfn, 0, b);
  return Buffer.from(b).toString("base64");
}

// ---- migration entries in flight ------------------------------------------------------------------

/** Where a migration entry of a pending migration lives (remove_migration_ptes finds it by rmap). */
export interface MigrationLoc {
  mm: Mm;
  addr: number;
  /** 0 for a PTE, 1 for a PMD migration entry. */
  level: number;
  /** The present entry it replaced (its soft-dirty / uffd-wp / dirty / PSE bits are restored). */
  entry0: Entry;
}

const migLocs = new WeakMap<Engine, Map<number, MigrationLoc[]>>();
/**
 * The migration entries of pending migrations, by the pfn they carry. Every entry holds one
 * reference to the old page; fork adds the child's copy (with its own reference), mremap moves
 * the address. The migration's completion takes them all (takeMigrationLocs).
 */
export function migrationLocs(engine: Engine): Map<number, MigrationLoc[]> {
  let m = migLocs.get(engine);
  if (!m) migLocs.set(engine, (m = new Map()));
  return m;
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
