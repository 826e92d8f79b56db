// Page migration between system-memory frames (NUMA balancing, compaction, move_pages, mbind,
// CMA): migrate_pages() → try_to_migrate_one() → remove_migration_ptes().
//
// startMigration() does the unmap half: per folio, for every VMA of every Mm mapping it (rmap.ts:
// pages shared after fork, page-cache pages mapped by several Mms), inside MMU_NOTIFY_CLEAR over
// [addr, min(vm_end, addr + folio_size)) of that Mm, every mapping of the folio there becomes a migration
// entry (PMD-level for a PMD-mapped THP: hmm's M2 row; PTE-level otherwise: P7), and the folio is
// registered in engine.pendingMigrations, so a walk or fault that meets the entry waits
// (mm.waitMigration) — which, in this single-threaded simulator, completes the migration.
// finish() does the move half: a new folio of the same order, contents copied, every migration
// entry replaced (wherever it is now: fork copies them into the child, mremap moves them) (writable iff the entry was), the old folio freed; a page-cache folio is replaced in the page cache. No notifier is raised by
// finish (removing migration entries only populates).
//
// Reference model: a migration entry counts as a mapping (mapcount) and keeps the reference the
// PTE held; finish (or abort) drops it, also for entries that were zapped meanwhile.
import { argBool, argOptions, argULong } from "../engine/validate.js";
import { runOp } from "../mm/machine.js";
import { ErrnoError, EngineError } from "../engine/errors.js";
import { ERRNO, FRAME, PTE_LO, SWP, VM } from "../engine/layout.js";
import type { MmStruct } from "../mm/mm-struct.js";
import type { PendingMigration } from "../mm/mm-types.js";
import { MMU_NOTIFY_CLEAR } from "../mm/notifier.js";
import * as pte from "../engine/pte.js";
import type { Entry } from "../engine/pte.js";
import type { Vma } from "../mm/vma.js";
import { PAGE, type TakenLoc, addMigrationLoc, checkedEnd, folioAt, takeMigrationLocs, vmasIn } from "./common.js";
import { type Rmap, rmapWalk } from "../mm/rmap.js";

/** One folio being migrated. */
export interface FolioMigration extends PendingMigration {
  /** The Mm whose migration call started it. */
  readonly mm: MmStruct;
  /** The VMA in that Mm mapping the folio. */
  readonly vma: Vma;
  /** Head pfn of the source folio. */
  readonly src: number;
  /** Folio order: log2 of its 4 KiB pages. */
  readonly order: number;
  /** VA span of the CLEAR that was raised in `mm`. */
  readonly start: number;
  /** End of that span, exclusive. */
  readonly end: number;
  /** Every CLEAR that was raised (one per VMA mapping the folio, in every Mm). */
  readonly hits: readonly MigrationHit[];
  /** Head pfn of the destination once finished (0 before, or when the migration was undone). */
  dst: number;
  /** pending until finish() (done) or an undo (aborted). */
  state: "pending" | "done" | "aborted";
  /** Completes the migration (remove_migration_ptes(src, dst)). Idempotent. */
  finish(): void;
  /** Undoes it: the migration entries get the old folio back (remove_migration_ptes(src, src)). */
  abort(): void;
}

/** One try_to_migrate_one() invalidation. */
export interface MigrationHit {
  /** The Mm the CLEAR was raised in. */
  mm: MmStruct;
  /** First byte address of the invalidated span. */
  start: number;
  /** End byte address, exclusive. */
  end: number;
}

/** Options of migratePages() / startMigration(). */
export interface MigrateOptions {
  /** Leave the migrations pending instead of finishing them at once (default false). */
  defer?: boolean;
}

/**
 * migrate_pages() of every folio mapped in [addr, addr+len) of mm. Returns the folio migrations
 * (already finished unless opts.defer). Anonymous and page-cache folios are migrated with all
 * their mappings in every Mm; pinned folios (references beyond mappings + page cache), hugetlb
 * folios and folios already under migration or device-exclusive are skipped, as migrate_pages()
 * would fail them. Takes no mmap lock (page-lock only): safe from mm.hooks.
 */
export function migratePages(mm: MmStruct, addr: number, len: number, opts: MigrateOptions = {}): FolioMigration[] {
  argOptions("migratePages", "opts", opts);
  if (opts.defer !== undefined) argBool("migratePages", "opts.defer", opts.defer);
  return runOp(mm.engine, () => {
    const end = checkedEnd(mm, addr, len, "migrate_pages");
    const out: FolioMigration[] = [];
    for (const v of vmasIn(mm, addr, end).vmas) {
      if (v.isHugetlb || v.flags & (VM.PFNMAP | VM.IO | VM.MIXEDMAP)) continue;
      const s = Math.max(addr, v.start);
      const e = Math.min(end, v.end);
      const addrs: number[] = [];
      mm.forEachLeaf(s, e, (a) => addrs.push(Math.max(a, s)));
      const seen = new Set<number>();
      for (const a of addrs) {
        const f = folioAt(mm, v, a);
        if (!f || seen.has(f.head)) continue;
        seen.add(f.head);
        const m = startFolioMigration(mm, v, a);
        if (m) out.push(m);
      }
    }
    if (!opts.defer) for (const m of out) m.finish();
    return out;
  });
}

/** Starts the migration of the folio mapped at addr; null when it cannot be migrated. */
export function startMigration(mm: MmStruct, addr: number): FolioMigration | null {
  argULong("startMigration", "addr", addr);
  mm.checkAlive("startMigration");
  return runOp(mm.engine, () => {
    const v = mm.vmaLookup(addr);
    if (!v) throw new ErrnoError(-ERRNO.EFAULT, `migration: no VMA at 0x${addr.toString(16)}`);
    return startFolioMigration(mm, v, addr - (addr % PAGE));
  });
}

function startFolioMigration(mm: MmStruct, v: Vma, addr: number): FolioMigration | null {
  const eng = mm.engine;
  const rm = rmapWalk(mm, v, addr);
  if (!rm) return null;
  const head = rm.head;
  const flags = eng.frameFlags(head);
  if (flags & FRAME.HUGETLB) return null;
  const anon = (flags & FRAME.ANON) !== 0;
  if (!anon && !rm.file) return null;
  // the folio is locked by another migration, or pinned (references beyond mappings + page cache)
  if (rm.busy || eng.pendingMigrations.has(head)) return null;
  if (eng.refcount(head) !== rm.mappings + (anon ? 0 : 1)) return null;
  const mine = rm.hits.find((h) => h.mm === mm && h.vma === v) ?? rm.hits[0];
  const subs = new Set<number>();
  const hits: MigrationHit[] = [];
  // try_to_migrate(): CLEAR [addr, min(vm_end, addr + folio_size)) in every VMA mapping the folio
  for (const h of rm.hits) {
    const f = h.view;
    hits.push({ mm: h.mm, start: f.addr, end: f.end });
    h.mm.invalidate(f.addr, f.end, MMU_NOTIFY_CLEAR, null, () => {
      for (const m of f.mappings) {
        const cur = eng.readEntry(m.ptr);
        const pfn = head + m.sub;
        const w = pte.isWrite(cur);
        const excl = (eng.frameFlags(pfn) & FRAME.ANON_EXCLUSIVE) !== 0;
        eng.writeEntry(m.ptr, pte.mk.migration(pfn, w, excl));
        addMigrationLoc(eng, pfn, { mm: h.mm, addr: m.addr, level: m.level, entry0: cur });
        subs.add(m.sub);
      }
    });
  }
  const file = rm.file;
  const mig: FolioMigration = {
    mm: mine.mm,
    vma: mine.vma,
    src: head,
    order: rm.order,
    start: mine.view.addr,
    end: mine.view.end,
    hits,
    dst: 0,
    state: "pending",
    finish: () => complete(mig, [...subs], file, false),
    abort: () => complete(mig, [...subs], file, true),
  };
  for (const sub of subs) eng.pendingMigrations.set(head + sub, mig);
  return mig;
}

const KEEP = PTE_LO.PSE | PTE_LO.SOFT_DIRTY | PTE_LO.UFFD_WP | PTE_LO.DIRTY;

/** The present entry that replaces a migration entry (remove_migration_pte). */
function restored(pfn: number, t: TakenLoc): Entry {
  const w = pte.swapType(t.cur) === SWP.MIGRATION_WRITE;
  return pte.mkPfnEntry(
    pfn,
    PTE_LO.PRESENT | PTE_LO.USER | PTE_LO.ACCESSED | (t.loc.entry0.lo & KEEP) | (w ? PTE_LO.RW : 0),
    (t.loc.entry0.hi & pte.FLAGS_HI) >>> 0,
  );
}

function complete(mig: FolioMigration, subs: number[], file: Rmap["file"], undo: boolean): void {
  if (mig.state !== "pending") return;
  const eng = mig.mm.engine;
  const taken: (TakenLoc & { sub: number })[] = [];
  for (const sub of subs) {
    if (eng.pendingMigrations.get(mig.src + sub) === mig) eng.pendingMigrations.delete(mig.src + sub);
    for (const t of takeMigrationLocs(eng, mig.src + sub)) taken.push({ ...t, sub });
  }
  const live = taken.filter((t) => t.live);
  let dst = 0;
  if (!undo && live.length > 0) {
    const srcFlags = eng.frameFlags(mig.src) & (FRAME.ANON | FRAME.ANON_EXCLUSIVE | FRAME.FILE);
    dst = eng.allocFrames(mig.order, srcFlags);
    // no memory for the destination: the migration fails and the old folio is put back
    if (dst === 0) undo = true;
  }
  if (undo) {
    for (const t of live) {
      eng.writeEntry(t.ptr, restored(mig.src + t.sub, t));
      // remove_migration_pte(): only an exclusive migration entry gives AnonExclusive back (a
      // fork meanwhile made them all non-exclusive)
      const type = pte.swapType(t.cur);
      if (type !== SWP.MIGRATION_WRITE && type !== SWP.MIGRATION_READ_EXCLUSIVE) {
        eng.setFrameFlags(mig.src + t.sub, eng.frameFlags(mig.src + t.sub) & ~FRAME.ANON_EXCLUSIVE);
      }
    }
    // entries zapped meanwhile dropped their mapcount, not the reference they carried
    for (const t of taken) if (!t.live) eng.putPage(mig.src + t.sub);
    mig.state = "aborted";
    return;
  }
  if (dst !== 0) {
    for (let i = 0; i < 2 ** mig.order; i++) eng.copyFrame(mig.src + i, dst + i);
    // the allocation holds one reference (the page cache's for a file folio); each mapping one
    live.forEach((t, k) => {
      if (k > 0 || file) eng.getPage(dst);
      const pfn = dst + t.sub;
      eng.setMapcount(pfn, eng.mapcount(pfn) + 1);
      const type = pte.swapType(t.cur);
      const excl = type === SWP.MIGRATION_WRITE || type === SWP.MIGRATION_READ_EXCLUSIVE;
      if (!excl) eng.setFrameFlags(pfn, eng.frameFlags(pfn) & ~FRAME.ANON_EXCLUSIVE);
      eng.writeEntry(t.ptr, restored(pfn, t));
    });
    if (file) {
      // the page cache now holds the new folio
      file.file.pageCache.set(file.index, dst);
      eng.putPage(mig.src);
    }
  }
  // the old folio: every live mapping goes, and every reference the entries carried
  for (const t of live) {
    const pfn = mig.src + t.sub;
    eng.setMapcount(pfn, Math.max(0, eng.mapcount(pfn) - 1));
  }
  for (let i = 0; i < taken.length; i++) {
    if (eng.refcount(mig.src) <= 0) throw new EngineError(`migration of folio ${mig.src}: reference underflow`);
    eng.putPage(mig.src);
  }
  mig.dst = dst;
  mig.state = "done";
}
