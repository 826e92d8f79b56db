// Page migration between system-memory frames (NUMA balancing, compaction, move_pages, mbind,
// CMA): migrate_pages() → try_to_migrate_one() → remove_migration_ptes().
//
// startMigration() does the unmap half: per folio, inside MMU_NOTIFY_CLEAR over
// [addr, min(vm_end, addr + folio_size)), every mapping of the folio in the VMA becomes a migration
// entry (PMD-level for a PMD-mapped THP: hmm's M2 row; PTE-level otherwise: P7), and the folio is
// registered in engine.pendingMigrations, so a walk or fault that meets the entry waits
// (mm.waitMigration) — which, in this single-threaded simulator, completes the migration.
// finish() does the move half: a new folio of the same order, contents copied, the migration
// entries replaced (writable iff the entry was), the old folio freed. No notifier is raised by
// finish (removing migration entries only populates).
//
// Reference model: a migration entry counts as a mapping (mapcount) and keeps the reference the
// PTE held; finish (or abort) drops it, also for entries that were zapped meanwhile.
import { ErrnoError, EngineError } from "../errors.js";
import { ERRNO, FRAME, PTE_LO, SWP, VM } from "../layout.js";
import type { Mm, PendingMigration } from "../mm.js";
import { MMU_NOTIFY_CLEAR } from "../notifier.js";
import * as pte from "../pte.js";
import type { Entry } from "../pte.js";
import type { Vma } from "../vma.js";
import { PAGE, checkedEnd, folioAt, vmasIn, type FolioMapping } from "./common.js";

/** One folio being migrated. */
export interface FolioMigration extends PendingMigration {
  readonly mm: Mm;
  readonly vma: Vma;
  /** Head pfn of the source folio. */
  readonly src: number;
  readonly order: number;
  /** VA span of the CLEAR that was raised. */
  readonly start: number;
  readonly end: number;
  /** Head pfn of the destination once finished (0 before, or when the migration was undone). */
  dst: number;
  state: "pending" | "done" | "aborted";
  /** Completes the migration (remove_migration_ptes(src, dst)). Idempotent. */
  finish(): void;
  /** Undoes it: the migration entries get the old folio back (remove_migration_ptes(src, src)). */
  abort(): void;
}

export interface MigrateOptions {
  /** Leave the migrations pending instead of finishing them at once (default false). */
  defer?: boolean;
}

/**
 * migrate_pages() of every folio mapped in [addr, addr+len) of mm. Returns the folio migrations
 * (already finished unless opts.defer). Folios with references beyond their mappings in this VMA
 * (pinned, shared with another mm, page cache) and non-anonymous folios are skipped, as
 * migrate_pages() would fail them. Takes no mmap lock (page-lock only): safe from mm.hooks.
 */
export function migratePages(mm: Mm, addr: number, len: number, opts: MigrateOptions = {}): FolioMigration[] {
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
}

/** Starts the migration of the folio mapped at addr; null when it cannot be migrated. */
export function startMigration(mm: Mm, addr: number): FolioMigration | null {
  const v = mm.vmaLookup(addr);
  if (!v) throw new ErrnoError(-ERRNO.EFAULT, `migration: no VMA at 0x${addr.toString(16)}`);
  return startFolioMigration(mm, v, addr - (addr % PAGE));
}

function startFolioMigration(mm: Mm, v: Vma, addr: number): FolioMigration | null {
  const eng = mm.engine;
  const f = folioAt(mm, v, addr);
  if (!f) return null;
  const flags = eng.frameFlags(f.head);
  if (!(flags & FRAME.ANON) || (flags & FRAME.HUGETLB)) return null;
  if (eng.refcount(f.head) !== f.mappings.length || f.mapcount !== f.mappings.length) return null;
  if (eng.pendingMigrations.has(f.head)) return null;
  const saved: { m: FolioMapping; entry: Entry; migration: Entry }[] = [];
  mm.invalidate(f.addr, f.end, MMU_NOTIFY_CLEAR, null, () => {
    for (const m of f.mappings) {
      const cur = eng.readEntry(m.ptr);
      const pfn = f.head + m.sub;
      const w = pte.isWrite(cur);
      const excl = (eng.frameFlags(pfn) & FRAME.ANON_EXCLUSIVE) !== 0;
      const mig = pte.mk.migration(pfn, w, excl);
      eng.writeEntry(m.ptr, mig);
      saved.push({ m, entry: cur, migration: mig });
    }
  });
  const mig: FolioMigration = {
    mm, vma: v, src: f.head, order: f.order, start: f.addr, end: f.end, dst: 0, state: "pending",
    finish: () => complete(mig, saved, false),
    abort: () => complete(mig, saved, true),
  };
  for (const s of saved) eng.pendingMigrations.set(f.head + s.m.sub, mig);
  return mig;
}

function stillMigration(mm: Mm, s: { m: FolioMapping; migration: Entry }): boolean {
  // the page table may have been freed and reused: look the slot up again
  const leaf = mm.exited ? null : mm.leafOf(s.m.addr);
  if (!leaf || leaf.level !== s.m.level) return false;
  return leaf.ptr === s.m.ptr && leaf.entry.lo === s.migration.lo && leaf.entry.hi === s.migration.hi;
}

function complete(mig: FolioMigration, saved: { m: FolioMapping; entry: Entry; migration: Entry }[], undo: boolean): void {
  if (mig.state !== "pending") return;
  const { mm } = mig;
  const eng = mm.engine;
  for (const s of saved) if (eng.pendingMigrations.get(mig.src + s.m.sub) === mig) eng.pendingMigrations.delete(mig.src + s.m.sub);
  const live = saved.filter((s) => stillMigration(mm, s));
  let dst = 0;
  if (!undo && live.length > 0) {
    const srcFlags = eng.frameFlags(mig.src) & (FRAME.ANON | FRAME.ANON_EXCLUSIVE);
    dst = eng.allocFrames(mig.order, srcFlags);
    // no memory for the destination: the migration fails and the old folio is put back
    if (dst === 0) undo = true;
  }
  if (undo) {
    for (const s of live) {
      const w = pte.swapType(s.migration) === SWP.MIGRATION_WRITE;
      const keep = s.entry.lo & (PTE_LO.PSE | PTE_LO.SOFT_DIRTY | PTE_LO.UFFD_WP | PTE_LO.DIRTY);
      eng.writeEntry(s.m.ptr, pte.mkPfnEntry(mig.src + s.m.sub, PTE_LO.PRESENT | PTE_LO.USER | PTE_LO.ACCESSED | keep | (w ? PTE_LO.RW : 0), (s.entry.hi & 0xfff00000) >>> 0));
    }
    // entries zapped meanwhile dropped their mapcount, not the reference they carried
    for (const s of saved) if (!live.includes(s)) eng.putPage(mig.src + s.m.sub);
    mig.state = "aborted";
    return;
  }
  if (dst !== 0) {
    for (let i = 0; i < 2 ** mig.order; i++) eng.copyFrame(mig.src + i, dst + i);
    // the allocation holds one reference; each installed mapping holds one
    live.forEach((s, k) => {
      if (k > 0) eng.getPage(dst);
      const pfn = dst + s.m.sub;
      eng.setMapcount(pfn, eng.mapcount(pfn) + 1);
      const w = pte.swapType(s.migration) === SWP.MIGRATION_WRITE;
      const excl = w || pte.swapType(s.migration) === SWP.MIGRATION_READ_EXCLUSIVE;
      if (!excl) eng.setFrameFlags(pfn, eng.frameFlags(pfn) & ~FRAME.ANON_EXCLUSIVE);
      const keep = s.entry.lo & (PTE_LO.PSE | PTE_LO.SOFT_DIRTY | PTE_LO.UFFD_WP | PTE_LO.DIRTY);
      eng.writeEntry(s.m.ptr, pte.mkPfnEntry(pfn, PTE_LO.PRESENT | PTE_LO.USER | PTE_LO.ACCESSED | keep | (w ? PTE_LO.RW : 0), (s.entry.hi & 0xfff00000) >>> 0));
    });
  }
  // the old folio: every live mapping goes, and every reference the entries carried
  for (const s of live) {
    const pfn = mig.src + s.m.sub;
    eng.setMapcount(pfn, Math.max(0, eng.mapcount(pfn) - 1));
  }
  for (let i = 0; i < saved.length; i++) {
    if (eng.refcount(mig.src) <= 0) throw new EngineError(`migration of folio ${mig.src}: reference underflow`);
    eng.putPage(mig.src);
  }
  mig.dst = dst;
  mig.state = "done";
}
