// Moving pages between system and device memory (mm/migrate_device.c): migrate_vma_setup /
// migrate_vma_pages / migrate_vma_finalize (docs/semantics.md §6.2), make_device_exclusive_range
// (§6.3) and migrate_device_range, the eviction path a driver uses on release.
import { ArgumentTypeError } from "../engine/errors.js";
import { argBits, argInt, argULong } from "../engine/validate.js";
import { runOp } from "../mm/machine.js";
import type { Engine } from "../engine/engine.js";
import { FAULT_FLAG_WRITE, VM_FAULT_ERROR, handleMmFault } from "../fault/fault.js";
import { ERRNO, FRAME, PAGE_SIZE, PHYS, PMD_SHIFT, PTE_LO, SWP, VM } from "../engine/layout.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { pmdMigrationEntryWait, splitHugePmd } from "../mm/huge-split.js";
import { MMU_NOTIFY_CLEAR, MMU_NOTIFY_EXCLUSIVE, MMU_NOTIFY_MIGRATE } from "../mm/notifier.js";
import { addMigrationLoc, takeMigrationLocs } from "../mm/folio.js";
import { deviceRmap, rmapOfFolio } from "../mm/rmap.js";
import * as pte from "../engine/pte.js";
import type { Vma } from "../mm/vma.js";
import type { Entry } from "../engine/pte.js";
import {
  type CompoundState,
  collectCompound,
  compoundKind,
  finalizeCompound,
  pagesCompound,
  splitDeviceFolioMappings,
} from "./migrate-device-thp.js";

export * from "./migrate-pfn.js";
import {
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  hasFlag,
  migratePfn,
  migratePfnToPfn,
  withoutFlag,
} from "./migrate-pfn.js";

const PAGE = PAGE_SIZE;

// ---- migrate_vma ------------------------------------------------------------------------------

/** The arguments of migrate_vma_setup() (the input half of struct migrate_vma; docs/semantics.md §6.2). */
export interface MigrateVmaArgs {
  /** First byte address of the range (page-aligned, inside one VMA). */
  start: number;
  /** End byte address, exclusive (page-aligned). */
  end: number;
  /** The device's pgmap owner: selects which device pages are collected and skips the walk's invalidation for them. */
  pgmapOwner: unknown;
  /** MIGRATE_VMA_SELECT_* bits: which pages to collect. */
  flags: number;
  /** The device-private page that faulted (for migrate_to_ram). */
  faultPage?: number;
}

/** struct migrate_vma after setup: src/dst are migrate_pfn numbers, one per page. */
export interface MigrateVma {
  /** The address space the range belongs to. */
  mm: MmStruct;
  /** The VMA containing [start, end). */
  vma: Vma;
  /** First byte address of the range (page-aligned, inside one VMA). */
  start: number;
  /** End byte address, exclusive (page-aligned). */
  end: number;
  /** Pages in the range: (end - start) / 4096. */
  npages: number;
  /** Pages collected (entries with MIGRATE_PFN_MIGRATE after setup). */
  cpages: number;
  /** migrate_pfn numbers of the source pages, one per page. */
  src: number[];
  /** migrate_pfn numbers of the destination pages, filled by the driver before migrate_vma_pages(). */
  dst: number[];
  /** The device's pgmap owner: selects which device pages are collected and skips the walk's invalidation for them. */
  pgmapOwner: unknown;
  /** Entries that were replaced by migration entries: index -> original entry. */
  readonly saved: Map<number, pte.Entry>;
  /** Whether migrate_vma_finalize() ran (a second finalize or pages call throws). */
  done: boolean;
  /** The MIGRATE_VMA_SELECT_* flags of the setup. */
  flags: number;
  /** @internal v6.19: set when the range migrates as one compound (PMD) entry; see migrate-device-thp.ts. */
  compound?: CompoundState;
}

/** migrate_vma_setup(): collects and unmaps; returns the migration, or a negative errno. */
export function migrateVmaSetup(mm: MmStruct, a: MigrateVmaArgs): MigrateVma | number {
  if (typeof a !== "object" || a === null)
    throw new ArgumentTypeError("migrateVmaSetup", "args", "must be a MigrateVmaArgs object", a);
  argULong("migrateVmaSetup", "args.start", a.start);
  argULong("migrateVmaSetup", "args.end", a.end);
  argBits("migrateVmaSetup", "args.flags", a.flags);
  mm.checkAlive("migrateVmaSetup");
  return runOp(mm.engine, () => {
    const vma = mm.vmaLookup(a.start);
    const EINVAL = -ERRNO.EINVAL;
    if (!vma || vma.isHugetlb || vma.flags & (VM.IO | VM.PFNMAP | VM.MIXEDMAP | VM.DONTEXPAND)) return EINVAL;
    if (a.start % PAGE !== 0 || a.end % PAGE !== 0 || a.end <= a.start || a.end > vma.end) return EINVAL;
    if (a.faultPage !== undefined && (mm.engine.frameFlags(a.faultPage) & FRAME.DEVICE_PRIVATE) === 0) return EINVAL;
    const eng = mm.engine;
    const npages = (a.end - a.start) / PAGE;
    const m: MigrateVma = {
      mm,
      vma,
      start: a.start,
      end: a.end,
      npages,
      cpages: 0,
      src: new Array(npages).fill(0),
      dst: new Array(npages).fill(0),
      pgmapOwner: a.pgmapOwner,
      saved: new Map(),
      done: false,
      flags: a.flags,
    };
    const ownerId = eng.ownerId(a.pgmapOwner);
    const compound = compoundKind(mm, vma, a.start, a.end, a.flags, ownerId);
    if (compound) {
      collectCompound(m, compound);
      return m;
    }
    const shared: number[] = [];
    // huge PMDs in the range are split first (migrate_vma_collect_pmd), device-private ones too
    for (let x = a.start - (a.start % 2 ** PMD_SHIFT); x < a.end; x += 2 ** PMD_SHIFT) {
      pmdMigrationEntryWait(mm, Math.max(x, a.start));
      const leaf = mm.leafOf(Math.max(x, a.start));
      if (leaf.level === 1 && pte.isHugeLeaf(leaf.entry)) splitHugePmd(mm, vma, Math.max(x, a.start));
      else if (leaf.level === 1 && pte.isDevicePrivate(leaf.entry))
        splitDeviceFolioMappings(eng, pte.swapOffset(leaf.entry));
    }
    // the page at index i becomes a migration entry and its source word records it
    // a page mapped at several addresses of the range (KSM, mremap) is collected once: the
    // other PTEs find it locked (trylock_page fails) and try_to_migrate() unmaps them by rmap
    const collected = new Set<number>();
    const collect = (i: number, addr: number, ptr: number, e: pte.Entry, pfn: number, w: boolean): void => {
      collected.add(pfn);
      m.src[i] = migratePfn(pfn) + MIGRATE_PFN_MIGRATE + (w ? MIGRATE_PFN_WRITE : 0);
      m.saved.set(i, e);
      eng.writeEntry(ptr, pte.mk.migration(pfn, w));
      addMigrationLoc(eng, pfn, { mm, addr, level: 0, entry0: e });
      eng.pendingMigrations.set(pfn, { finish: () => migrateVmaFinalize(m) });
      m.cpages++;
    };
    mm.notifiers.invalidate(a.start, a.end, MMU_NOTIFY_MIGRATE, a.pgmapOwner, { blockable: true }, () => {
      for (let i = 0; i < npages; i++) {
        const addr = a.start + i * PAGE;
        const leaf = mm.leafOf(addr);
        const e = leaf.entry;
        if (leaf.level !== 0 && leaf.level !== -1) continue;
        if (leaf.level === -1 || pte.isNone(e)) {
          if (vma.isAnonymous) {
            m.src[i] = MIGRATE_PFN_MIGRATE;
            m.cpages++;
          }
          continue;
        }
        if (pte.isDevicePrivate(e)) {
          const pfn = pte.swapOffset(e);
          if (!(a.flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE) || eng.pgmapOwnerId(pfn) !== ownerId || collected.has(pfn))
            continue;
          collect(i, addr, leaf.ptr, e, pfn, pte.isWritableSwapLike(e));
          if (eng.mapcount(pfn) > 1) shared.push(i);
          continue;
        }
        if (!pte.isPresent(e)) continue;
        const pfn = pte.pfnOf(e);
        // device-coherent pages are selected by SELECT_DEVICE_COHERENT and their owner, others by SELECT_SYSTEM
        if (eng.isDeviceCoherent(pfn)) {
          if (!(a.flags & MIGRATE_VMA_SELECT_DEVICE_COHERENT) || eng.pgmapOwnerId(pfn) !== ownerId) continue;
        } else if (!(a.flags & MIGRATE_VMA_SELECT_SYSTEM)) {
          continue;
        }
        if (pfn === PHYS.ZERO_PFN) {
          m.src[i] = MIGRATE_PFN_MIGRATE;
          m.cpages++;
          continue;
        }
        if (e.lo & PTE_LO.SPECIAL || !eng.hasStructPage(pfn) || collected.has(pfn)) continue;
        // a page of a large folio mapped elsewhere too would need a folio split: skipped
        if (eng.mapcount(pfn) > 1 && eng.folioOf(pfn).order !== 0) continue;
        if (eng.mapcount(pfn) > 1) shared.push(i);
        collect(i, addr, leaf.ptr, e, pfn, pte.isWrite(e));
      }
    });
    // migrate_vma_unmap(): the other mappings of shared pages (other Mms after fork, other mappings
    // of a page-cache page) go through try_to_migrate(): CLEAR over each, a migration entry each.
    // A page with references beyond its mappings (pinned) is restored and loses MIGRATE.
    for (const i of shared) {
      const addr = a.start + i * PAGE;
      const pfn = migratePfnToPfn(m.src[i]);
      const devicePage = eng.isDevicePrivatePage(pfn);
      // a device-private page is always anonymous (a COW copy even in a private file mapping):
      // no page-cache reference, whatever the VMA maps
      const fileRef =
        !devicePage && (eng.frameFlags(pfn) & FRAME.ANON) === 0 && vma.file
          ? { file: vma.file, index: vma.pageIndex(addr) }
          : null;
      const rm = devicePage ? deviceRmap(eng, pfn) : rmapOfFolio(eng, pfn, 0, fileRef);
      if (eng.refcount(pfn) !== 1 + rm.mappings + (fileRef ? 1 : 0)) {
        const leaf = mm.leafOf(addr);
        eng.writeEntry(leaf.ptr, m.saved.get(i)!);
        m.saved.delete(i);
        takeMigrationLocs(eng, pfn);
        eng.pendingMigrations.delete(pfn);
        m.src[i] = withoutFlag(m.src[i], MIGRATE_PFN_MIGRATE);
        m.cpages--;
        continue;
      }
      for (const h of rm.hits) {
        h.mm.invalidate(h.view.addr, h.view.end, MMU_NOTIFY_CLEAR, null, () => {
          for (const x of h.view.mappings) {
            const cur = eng.readEntry(x.ptr);
            eng.writeEntry(x.ptr, pte.mk.migration(pfn, devicePage ? pte.isWritableSwapLike(cur) : pte.isWrite(cur)));
            addMigrationLoc(eng, pfn, { mm: h.mm, addr: x.addr, level: 0, entry0: cur });
          }
        });
      }
    }
    return m;
  });
}

/** migrate_vma_pages(): inserts pages for holes (second MIGRATE event); refuses file pages to device. */
export function migrateVmaPages(m: MigrateVma): void {
  return runOp(m.mm.engine, () => {
    if (m.compound) return pagesCompound(m);
    const eng = m.mm.engine;
    let firstHole = -1;
    for (let i = 0; i < m.npages; i++) {
      if (!hasFlag(m.src[i], MIGRATE_PFN_MIGRATE) || !m.dst[i]) continue;
      const spfn = migratePfnToPfn(m.src[i]);
      if (!spfn) {
        if (firstHole < 0) firstHole = i;
        continue;
      }
      const dpfn = migratePfnToPfn(m.dst[i]);
      const toDevice = eng.isDevicePrivatePage(dpfn);
      if (toDevice && spfn !== PHYS.ZERO_PFN && (eng.frameFlags(spfn) & FRAME.FILE) !== 0)
        m.src[i] = withoutFlag(m.src[i], MIGRATE_PFN_MIGRATE);
    }
    if (firstHole < 0) return;
    const start = m.start + firstHole * PAGE;
    m.mm.notifiers.invalidate(start, m.end, MMU_NOTIFY_MIGRATE, m.pgmapOwner, { blockable: true }, () => {
      for (let i = firstHole; i < m.npages; i++) {
        if (!hasFlag(m.src[i], MIGRATE_PFN_MIGRATE) || !m.dst[i] || migratePfnToPfn(m.src[i])) continue;
        const addr = m.start + i * PAGE;
        const dpfn = migratePfnToPfn(m.dst[i]);
        const ptr = m.mm.entryPtr(addr, 0, true);
        const cur = eng.readEntry(ptr);
        const w = (m.vma.flags & VM.WRITE) !== 0;
        if (!pte.isNone(cur) && !(pte.isPresent(cur) && pte.pfnOf(cur) === PHYS.ZERO_PFN)) {
          m.src[i] = withoutFlag(m.src[i], MIGRATE_PFN_MIGRATE);
          continue;
        }
        m.vma.anonVma = true;
        eng.setMapcount(dpfn, 1);
        eng.writeEntry(ptr, eng.isDevicePrivatePage(dpfn) ? pte.mk.devicePrivate(dpfn, w) : pte.mk.page(dpfn, w));
      }
    });
  });
}

/**
 * migrate_vma_finalize(): every migration entry of each page (the ones setup installed, the other
 * Mms' ones from try_to_migrate, copies made by fork, entries moved by mremap) becomes the new
 * page, writable iff that entry was; on failure the old page comes back.
 */
export function migrateVmaFinalize(m: MigrateVma): void {
  return runOp(m.mm.engine, () => {
    if (m.done) return;
    m.done = true;
    if (m.compound) return finalizeCompound(m);
    const eng = m.mm.engine;
    for (const [i, old] of m.saved) {
      const addr = m.start + i * PAGE;
      const spfn = migratePfnToPfn(m.src[i]);
      eng.pendingMigrations.delete(spfn);
      const taken = takeMigrationLocs(eng, spfn);
      const live = taken.filter((t) => t.live);
      const fromDevice = pte.isDevicePrivate(old);
      const putOld = (): void => (fromDevice ? eng.devicePagePut(spfn) : eng.putPage(spfn));
      const dpfn = migratePfnToPfn(m.dst[i]);
      const toDevice = dpfn !== 0 && eng.isDevicePrivatePage(dpfn);
      if (hasFlag(m.src[i], MIGRATE_PFN_MIGRATE) && dpfn && live.length > 0) {
        live.forEach((t, k) => {
          const w = pte.isWritableSwapLike(t.cur);
          if (k > 0) eng.setRefcount(dpfn, eng.refcount(dpfn) + 1);
          eng.setMapcount(dpfn, eng.mapcount(dpfn) + 1);
          eng.writeEntry(t.ptr, toDevice ? pte.mk.devicePrivate(dpfn, w) : pte.mk.page(dpfn, w));
          eng.setMapcount(spfn, Math.max(0, eng.mapcount(spfn) - 1));
        });
        // a page mapped by several Mms is not exclusive to any of them
        if (live.length > 1 && !toDevice) eng.setFrameFlags(dpfn, eng.frameFlags(dpfn) & ~FRAME.ANON_EXCLUSIVE);
        m.vma.anonVma = true;
        for (let k = 0; k < taken.length; k++) putOld();
      } else {
        for (const t of live) {
          const local = t.loc.mm === m.mm && t.loc.addr === addr;
          // remove_migration_pte(): writable only if the migration entry still is (an mprotect or
          // a fork since setup made it readable, and a fork shares the page with the child)
          if (local) {
            eng.writeEntry(t.ptr, pte.isWritableSwapLike(t.cur) ? old : readOnlyEntry(old));
            continue;
          }
          const w = pte.swapType(t.cur) === SWP.MIGRATION_WRITE;
          const e0 = t.loc.entry0;
          eng.writeEntry(
            t.ptr,
            pte.mkPfnEntry(
              spfn,
              PTE_LO.PRESENT |
                PTE_LO.USER |
                PTE_LO.ACCESSED |
                (e0.lo & (PTE_LO.DIRTY | PTE_LO.SOFT_DIRTY | PTE_LO.UFFD_WP)) |
                (w ? PTE_LO.RW : 0),
            ),
          );
        }
        // a page mapped again by several Mms (a fork during the migration) is exclusive to none
        if (live.length > 1 && !fromDevice) eng.setFrameFlags(spfn, eng.frameFlags(spfn) & ~FRAME.ANON_EXCLUSIVE);
        // entries zapped meanwhile dropped their mapcount, not the reference they carried
        for (const t of taken) if (!t.live) putOld();
        if (dpfn && toDevice) eng.devicePagePut(dpfn);
        else if (dpfn) eng.putPage(dpfn);
      }
    }
  });
}

/** The entry saved at setup, made read-only (a present PTE, or a readable device-private entry). */
function readOnlyEntry(e: Entry): Entry {
  if (pte.isDevicePrivate(e)) return pte.mkSwapEntry(SWP.DEVICE_READ, pte.swapOffset(e), e.lo & pte.SWP_FLAGS_LO);
  return { lo: (e.lo & ~PTE_LO.RW) >>> 0, hi: e.hi };
}

// ---- device-exclusive access ------------------------------------------------------------------

/**
 * The fallback when a driver cannot allocate a compound destination (migrate_vma_pages splitting
 * the source folio): the compound migration is abandoned, its PMD split (a THP or device-private
 * PMD: CLEAR over 2 MiB; a hole stays a hole) and the range collected again page by page.
 */
export function migrateVmaSplitCompound(m: MigrateVma): MigrateVma | number {
  m.done = true;
  const c = m.compound;
  if (c && c.kind !== "hole") splitHugePmd(m.mm, m.vma, m.start);
  if (c && c.kind === "hole" && pte.isHugeLeaf(c.entry)) splitHugePmd(m.mm, m.vma, m.start);
  return migrateVmaSetup(m.mm, {
    start: m.start,
    end: m.end,
    pgmapOwner: m.pgmapOwner,
    flags: m.flags & ~MIGRATE_VMA_SELECT_COMPOUND_BIT,
  });
}
const MIGRATE_VMA_SELECT_COMPOUND_BIT = 1 << 3;

/**
 * make_device_exclusive_range() (SEED): write-faults each page (COW break, zero page replaced,
 * THP split), then replaces its PTE by a device-exclusive entry inside an EXCLUSIVE invalidation
 * carrying `owner`. Returns the number of pages made exclusive, or a negative errno.
 * {@link makeDeviceExclusiveRangePages} also returns the pages, as the kernel does.
 */
export function makeDeviceExclusiveRange(mm: MmStruct, start: number, end: number, owner: unknown): number {
  return makeDeviceExclusiveRangePages(mm, start, end, owner).ret;
}

/** What make_device_exclusive_range() returns and fills in. */
export interface DeviceExclusiveResult {
  /** Pages made exclusive, or a negative errno (-EFAULT when the first page cannot be faulted). */
  ret: number;
  /** pages[i]: the pfn made exclusive at start + i * PAGE_SIZE, or 0 (the kernel's NULL). */
  pages: number[];
}

/**
 * make_device_exclusive_range() (SEED) with its pages[] array: one element per page the write
 * GUP reached; pages[i] is 0 for a page that could not be made exclusive (not a present 4 KiB
 * anonymous PTE after the fault, a hugetlb page, a large folio's tail); the walk stops at the first
 * page it cannot fault. The simulator holds no page lock or reference on them afterwards, so
 * callers have nothing to unlock or put.
 */
export function makeDeviceExclusiveRangePages(
  mm: MmStruct,
  start: number,
  end: number,
  owner: unknown,
): DeviceExclusiveResult {
  argULong("makeDeviceExclusiveRange", "start", start);
  argULong("makeDeviceExclusiveRange", "end", end);
  mm.checkAlive("makeDeviceExclusiveRange");
  return runOp(mm.engine, () => {
    const eng = mm.engine;
    const pages: number[] = [];
    let n = 0;
    for (let addr = start; addr < end; addr += PAGE) {
      const vma = mm.vmaLookup(addr);
      if (!vma || !(vma.flags & VM.WRITE)) return { ret: n || -ERRNO.EFAULT, pages };
      // FOLL_SPLIT_PMD: a THP's PMD is split before the write GUP; a hugetlb page is never split
      // (page_make_device_exclusive() refuses its tail pages and its non-anonymous pages below)
      const leaf0 = mm.leafOf(addr);
      if (!vma.isHugetlb && leaf0.level === 1 && pte.isHugeLeaf(leaf0.entry)) splitHugePmd(mm, vma, addr);
      const r = handleMmFault(mm, vma, addr, FAULT_FLAG_WRITE);
      if (r & VM_FAULT_ERROR) return { ret: n || -ERRNO.EFAULT, pages };
      const leaf = mm.leafOf(addr);
      if (vma.isHugetlb || leaf.level !== 0 || !pte.isPresent(leaf.entry)) {
        pages.push(0);
        continue;
      }
      const pfn = pte.pfnOf(leaf.entry);
      // page_make_device_exclusive(): anonymous pages only (PageAnon), and not a large folio's tail
      if (!eng.hasStructPage(pfn) || !(eng.frameFlags(pfn) & FRAME.ANON) || eng.frameFlags(pfn) & FRAME.TAIL) {
        pages.push(0);
        continue;
      }
      const folioEnd = Math.min(vma.end, addr + PAGE);
      mm.notifiers.invalidate(addr, folioEnd, MMU_NOTIFY_EXCLUSIVE, owner, { blockable: true }, () => {
        const cur = eng.readEntry(leaf.ptr);
        eng.writeEntry(leaf.ptr, pte.mk.deviceExclusive(pfn, pte.isWrite(cur)));
      });
      pages.push(pfn);
      n++;
    }
    return { ret: n, pages };
  });
}

/**
 * migrate_device_range() as a driver uses it to evict its memory (dmirror's RELEASE): every
 * device-private page of [startPfn, startPfn + npages) that is mapped is copied to a new system
 * page, and each mapping is replaced inside MMU_NOTIFY_CLEAR over its page (try_to_migrate), in
 * every Mm that maps it. Returns the number of device pages evicted, or -ENOMEM.
 */
export function migrateDeviceRange(engine: Engine, startPfn: number, npages: number): number {
  argInt("migrateDeviceRange", "startPfn", startPfn, 0, PHYS.PFN_LIMIT);
  argInt("migrateDeviceRange", "npages", npages, 0, PHYS.PFN_LIMIT - startPfn);
  return runOp(engine, () => {
    let evicted = 0;
    for (let pfn = startPfn; pfn < startPfn + npages; pfn++) {
      if (!engine.isDevicePrivatePage(pfn) || engine.refcount(pfn) === 0) continue;
      const r = deviceRmap(engine, pfn);
      if (r.hits.length === 0) continue;
      const shared = r.hits.length > 1;
      const dpfn = engine.allocFrames(0, FRAME.ANON | (shared ? 0 : FRAME.ANON_EXCLUSIVE));
      if (dpfn === 0) return -ERRNO.ENOMEM;
      engine.copyFrame(pfn, dpfn);
      r.hits.forEach((hit, i) => {
        const { addr, ptr, entry } = hit.view.mappings[0];
        hit.mm.invalidate(addr, addr + PAGE, MMU_NOTIFY_CLEAR, null, () => {
          if (i > 0) engine.getPage(dpfn);
          engine.setMapcount(dpfn, engine.mapcount(dpfn) + 1);
          engine.writeEntry(ptr, pte.mk.page(dpfn, pte.isWritableSwapLike(entry)));
          engine.setMapcount(pfn, Math.max(0, engine.mapcount(pfn) - 1));
          engine.devicePagePut(pfn);
        });
      });
      evicted++;
    }
    return evicted;
  });
}
