// Device-private THP migration (v6.19, MIGRATE_VMA_SELECT_COMPOUND): a whole PMD-aligned 2 MiB
// range migrates as one compound entry: a THP, an empty (or huge-zero) PMD of an anonymous VMA,
// or a PMD-level device-private entry of the caller's device. src[0] carries MIGRATE_PFN_COMPOUND
// and the other 511 entries are 0; a compound destination (dst[0] with COMPOUND) is mapped by one
// PMD: a device-private PMD towards the device, a THP back in system memory (docs/semantics.md
// §6.2). Simplification: the source PMD stays in place until migrate_vma_finalize() replaces it
// (no PMD migration entry); nothing can run in between in a single-threaded simulation except
// the driver's own copy.
import { FRAME, PAGE_SIZE, PHYS, PMD_SIZE, PTE_LO, PTRS_PER_TABLE, VM } from "../engine/layout.js";
import { profileInfo } from "../engine/profile.js";
import * as pte from "../engine/pte.js";
import { type MmStruct, liveMms } from "../mm/mm-struct.js";
import { splitHugePmd } from "../mm/huge-split.js";
import { MMU_NOTIFY_MIGRATE } from "../mm/notifier.js";
import type { Vma } from "../mm/vma.js";
import {
  MIGRATE_PFN_COMPOUND,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_SHIFT,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_COMPOUND,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  hasFlag,
  migratePfn,
} from "./migrate-pfn.js";

export { MIGRATE_PFN_COMPOUND, MIGRATE_VMA_SELECT_COMPOUND } from "./migrate-pfn.js";

const PAGE = PAGE_SIZE;
const PMD_PAGES = PTRS_PER_TABLE;

/** What a compound migration moves, and the PMD it replaces. */
export interface CompoundState {
  kind: "thp" | "hole" | "device";
  pmdp: number;
  entry: pte.Entry;
}

/** The part of struct migrate_vma the compound steps use. */
interface CompoundMigration {
  mm: MmStruct;
  vma: Vma;
  start: number;
  end: number;
  npages: number;
  cpages: number;
  src: number[];
  dst: number[];
  pgmapOwner: unknown;
  compound?: CompoundState;
}

/**
 * migrate_vma_collect_pmd()'s compound case: which kind of compound entry [start, end) is, or
 * null when the range migrates page by page (profile without device THP, flag absent, range
 * not exactly one aligned PMD, or a PMD the caller does not select).
 */
export function compoundKind(
  mm: MmStruct,
  vma: Vma,
  start: number,
  end: number,
  flags: number,
  ownerId: number,
): CompoundState | null {
  if (!profileInfo(mm.profile).deviceThp || !(flags & MIGRATE_VMA_SELECT_COMPOUND)) return null;
  if (start % PMD_SIZE !== 0 || end - start !== PMD_SIZE) return null;
  const eng = mm.engine;
  const leaf = mm.leafOf(start);
  if (leaf.level !== -1 && leaf.level !== 1) return null;
  const pmdp = mm.entryPtr(start, 1, true);
  const e = eng.readEntry(pmdp);
  if (pte.isNone(e) || (pte.isHugeLeaf(e) && pte.isPresent(e) && pte.pfnOf(e) === PHYS.HUGE_ZERO_PFN)) {
    // a hole (or the huge zero page, migrated like one) of an anonymous VMA
    return flags & MIGRATE_VMA_SELECT_SYSTEM && vma.isAnonymous ? { kind: "hole", pmdp, entry: e } : null;
  }
  if (pte.isDevicePrivate(e)) {
    // a device folio mapped by another mm too (after fork) migrates page by page
    const head = pte.swapOffset(e);
    const ok =
      flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE && eng.pgmapOwnerId(head) === ownerId && eng.mapcount(head) === 1;
    return ok ? { kind: "device", pmdp, entry: e } : null;
  }
  if (pte.isHugeLeaf(e) && pte.isPresent(e) && flags & MIGRATE_VMA_SELECT_SYSTEM) {
    const head = pte.pfnOf(e);
    // an exclusive anonymous THP mapped once; anything else is split and migrated page by page
    if ((eng.frameFlags(head) & FRAME.ANON) !== 0 && eng.mapcount(head) === 1 && eng.refcount(head) === 1)
      return { kind: "thp", pmdp, entry: e };
  }
  return null;
}

/** Collect: one MIGRATE_PFN_MIGRATE invalidation over the range (owner = pgmap owner), src[0] filled. */
export function collectCompound(m: CompoundMigration, c: CompoundState): void {
  m.compound = c;
  m.mm.notifiers.invalidate(m.start, m.end, MMU_NOTIFY_MIGRATE, m.pgmapOwner, { blockable: true }, () => {
    if (c.kind === "hole") {
      m.src[0] = MIGRATE_PFN_MIGRATE + MIGRATE_PFN_COMPOUND;
    } else {
      const head = c.kind === "thp" ? pte.pfnOf(c.entry) : pte.swapOffset(c.entry);
      const w = c.kind === "thp" ? pte.isWrite(c.entry) : pte.isWritableSwapLike(c.entry);
      m.src[0] = migratePfn(head) + MIGRATE_PFN_MIGRATE + MIGRATE_PFN_COMPOUND + (w ? MIGRATE_PFN_WRITE : 0);
    }
    m.cpages = PMD_SIZE / PAGE;
  });
}

/** migrate_vma_pages(): a hole gets its destination now, inside a second MIGRATE_PFN_MIGRATE invalidation. */
export function pagesCompound(m: CompoundMigration): void {
  const c = m.compound!;
  if (c.kind !== "hole" || !hasFlag(m.src[0], MIGRATE_PFN_MIGRATE) || !hasFlag(m.dst[0], MIGRATE_PFN_COMPOUND)) return;
  m.mm.notifiers.invalidate(m.start, m.end, MMU_NOTIFY_MIGRATE, m.pgmapOwner, { blockable: true }, () => {
    installCompound(m, (m.vma.flags & VM.WRITE) !== 0);
  });
}

/** Maps the compound destination dst[0] at the PMD: a device-private PMD or a THP. */
function installCompound(m: CompoundMigration, w: boolean): void {
  const eng = m.mm.engine;
  const head = Math.floor(m.dst[0] / 2 ** MIGRATE_PFN_SHIFT);
  m.vma.anonVma = true;
  if (eng.isDevicePrivatePage(head)) {
    for (let i = 0; i < PMD_PAGES; i++) eng.setMapcount(head + i, 1);
    eng.writeEntry(m.compound!.pmdp, pte.mk.devicePrivate(head, w));
  } else {
    eng.setMapcount(head, 1);
    eng.writeEntry(m.compound!.pmdp, pte.mk.huge(head, w, PTE_LO.DIRTY));
  }
}

/**
 * migrate_vma_finalize(): a THP or device source is replaced by its compound destination
 * (writable iff the source was) and released; without a compound destination nothing changes.
 */
export function finalizeCompound(m: CompoundMigration): void {
  const c = m.compound!;
  if (c.kind === "hole" || !hasFlag(m.src[0], MIGRATE_PFN_MIGRATE) || !hasFlag(m.dst[0], MIGRATE_PFN_COMPOUND)) return;
  const eng = m.mm.engine;
  installCompound(m, hasFlag(m.src[0], MIGRATE_PFN_WRITE));
  if (c.kind === "thp") {
    const head = pte.pfnOf(c.entry);
    eng.setMapcount(head, Math.max(0, eng.mapcount(head) - 1));
    eng.putPage(head);
  } else {
    const head = pte.swapOffset(c.entry);
    for (let i = 0; i < PMD_PAGES; i++) {
      eng.setMapcount(head + i, Math.max(0, eng.mapcount(head + i) - 1));
      eng.devicePagePut(head + i);
    }
  }
}

/**
 * Splits every PMD-level mapping of the device folio at `head`, in every mm (after fork a folio
 * can be PMD-mapped by several): the page-by-page migration then finds each mapping as a PTE.
 */
export function splitDeviceFolioMappings(eng: MmStruct["engine"], head: number): void {
  for (const mm of liveMms(eng)) {
    const found: number[] = [];
    for (const v of mm.vmas) {
      if (!v.anonVma) continue;
      mm.forEachLeaf(v.start, v.end, (addr, level, _ptr, e) => {
        if (level === 1 && pte.isDevicePrivate(e) && pte.swapOffset(e) === head) found.push(addr);
      });
    }
    for (const a of found) splitHugePmd(mm, mm.vmaLookup(a)!, a);
  }
}
