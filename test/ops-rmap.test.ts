// Reverse-map operations across Mms: migration, reclaim, KSM, MADV_PAGEOUT and device migration of
// folios shared after fork or through the page cache; fork and mremap of pending migration entries.
import { describe, expect, it } from "vitest";
import { Device } from "../src/drivers/device.js";
import { SimFile } from "../src/mm/file.js";
import { FRAME } from "../src/engine/layout.js";
import { Mm } from "../src/api/mm.js";
import {
  fork,
  ksmMerge,
  madvise,
  MADV_PAGEOUT,
  migratePages,
  mremap,
  MREMAP_MAYMOVE,
  reclaimPages,
  startMigration,
} from "../src/ops/index.js";
import * as pte from "../src/engine/pte.js";
import { MAP_FIXED, MAP_SHARED } from "../src/mm/vma.js";
import { ANON, PAGE, RW, V, W, ev, fill, pfnOf, record, setup, snap, word } from "./ops-helpers.js";

const pageEvents = (event: string, a: number, n: number) =>
  Array.from({ length: n }, (_, i) => ev(event, a + i * PAGE, a + (i + 1) * PAGE));

describe("rmap: folios shared after fork", () => {
  it("migratePages from the parent raises CLEAR per page in parent AND child; both map the new page after finish", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 2);
    const child = fork(mm);
    const crec = record(child);
    const old = snap(mm, rec.sub, a, 2).words.map(pfnOf);
    rec.take();
    const migs = migratePages(mm, a, 2 * PAGE, { defer: true });
    expect(migs.length).toBe(2);
    expect(rec.take()).toEqual(pageEvents("CLEAR", a, 2));
    expect(crec.take()).toEqual(pageEvents("CLEAR", a, 2));
    expect(migs[0].hits.map((h) => [h.mm.id, h.start, h.end])).toEqual([
      [mm.id, a, a + PAGE],
      [child.id, a, a + PAGE],
    ]);
    expect(pte.isMigration(mm.leafOf(a).entry) && pte.isMigration(child.leafOf(a).entry)).toBe(true);
    expect(snap(child, crec.sub, a, 2).words).toEqual([0n, 0n]);
    // the child's CPU read waits for (completes) the migration
    expect(child.cpuReadU32(a)).toBe(1000);
    expect(migs[0].state).toBe("done");
    migs[1].finish();
    const dst = migs.map((m) => m.dst);
    expect(dst).not.toEqual(old);
    expect(snap(mm, rec.sub, a, 2).words).toEqual(dst.map((p) => word(p, V)));
    expect(snap(child, crec.sub, a, 2).words).toEqual(dst.map((p) => word(p, V)));
    for (const p of dst)
      expect([engine.refcount(p), engine.mapcount(p), engine.frameFlags(p) & FRAME.ANON_EXCLUSIVE]).toEqual([2, 2, 0]);
    expect(engine.framesInUse()).toBe(base + 2);
    expect(rec.take()).toEqual([]);
    expect(crec.take()).toEqual([]);
    // still COW-shared: a write in the child copies (CLEAR in the child only)
    child.cpuWriteU32(a + PAGE, 5);
    expect(crec.take()).toEqual([ev("CLEAR", a + PAGE, a + 2 * PAGE)]);
    expect(rec.take()).toEqual([]);
    expect([mm.cpuReadU32(a + PAGE), child.cpuReadU32(a + PAGE)]).toEqual([1001, 5]);
    child.exit();
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("migration started from the child after the parent mremap()ed the range finds the page at the parent's new address", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 1);
    const child = fork(mm);
    const crec = record(child);
    mm.mmap({ addr: a + 2 * PAGE, length: PAGE, prot: RW, flags: ANON | MAP_FIXED }); // forces a move
    const na = mremap(mm, a, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
    expect(na).not.toBe(a);
    rec.take();
    const m = startMigration(child, a)!;
    expect(crec.take()).toEqual([ev("CLEAR", a, a + PAGE)]);
    expect(rec.take()).toEqual([ev("CLEAR", na, na + PAGE)]);
    m.finish();
    expect(snap(mm, rec.sub, na, 1).words).toEqual([word(m.dst, V)]);
    expect(snap(child, crec.sub, a, 1).words).toEqual([word(m.dst, V)]);
    child.exit();
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("reclaimPages swaps a shared page out of both Mms (CLEAR in each, one slot with two references)", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 1, 7);
    const child = fork(mm);
    const crec = record(child);
    rec.take();
    const r = reclaimPages(child, a, 2 * PAGE);
    expect(r).toEqual({ swappedOut: 2, discarded: 0, unmappedFile: 0, skipped: 0 });
    expect(rec.take()).toEqual([ev("CLEAR", a, a + PAGE)]);
    expect(crec.take()).toEqual([ev("CLEAR", a, a + PAGE)]);
    expect(engine.framesInUse()).toBe(base);
    expect(engine.swap.used).toBe(1);
    const slot = pte.swapOffset(mm.leafOf(a).entry);
    expect(pte.swapOffset(child.leafOf(a).entry)).toBe(slot);
    expect(engine.swap.refs(slot)).toBe(2);
    expect([snap(mm, rec.sub, a, 1).words, snap(child, crec.sub, a, 1).words]).toEqual([[0n], [0n]]);
    // swap-in in each Mm: no notifier; the shared slot is read twice
    expect([mm.cpuReadU32(a), child.cpuReadU32(a)]).toEqual([7000, 7000]);
    expect(rec.take()).toEqual([]);
    expect(engine.swap.used).toBe(0);
    child.exit();
    mm.exit();
    expect([engine.framesInUse(), engine.swap.used]).toEqual([base, 0]);
  });

  it("MADV_PAGEOUT skips a page shared with a child (page_mapcount != 1), reclaim does not", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: PAGE, prot: RW, flags: ANON });
    fill(mm, a, 1);
    const child = fork(mm);
    const crec = record(child);
    rec.take();
    madvise(mm, a, PAGE, MADV_PAGEOUT);
    expect([rec.take(), crec.take(), engine.swap.used]).toEqual([[], [], 0]);
    child.exit();
    // once the child is gone the page is exclusive again and MADV_PAGEOUT takes it
    madvise(mm, a, PAGE, MADV_PAGEOUT);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + PAGE)]);
    expect(engine.swap.used).toBe(1);
    mm.exit();
    expect([engine.framesInUse(), engine.swap.used]).toEqual([base, 0]);
  });

  it("a pinned shared page is neither migrated nor reclaimed (no event anywhere)", () => {
    const { engine, mm, rec } = setup();
    const a = mm.mmap({ length: PAGE, prot: RW, flags: ANON });
    fill(mm, a, 1);
    const child = fork(mm);
    const crec = record(child);
    const p = mm.translate(a, false)!.pfn;
    engine.getPage(p); // a GUP pin
    rec.take();
    expect(migratePages(mm, a, PAGE)).toEqual([]);
    expect(reclaimPages(child, a, PAGE).skipped).toBe(1);
    expect([rec.take(), crec.take()]).toEqual([[], []]);
    engine.putPage(p);
    child.exit();
    mm.exit();
  });

  it("KSM merges a page shared with a child in the scanned Mm only; the child keeps the old page", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(a, 99);
    mm.cpuWriteU32(a + PAGE, 99);
    const child = fork(mm);
    const crec = record(child);
    const [p0, p1] = snap(mm, rec.sub, a, 2).words.map(pfnOf);
    rec.take();
    const r = ksmMerge(mm, [a, a + PAGE]);
    expect(r).toEqual({ merged: 2, freed: 0 });
    expect(rec.take()).toEqual([
      ev("CLEAR", a, a + PAGE),
      ev("CLEAR", a + PAGE, a + 2 * PAGE),
      ev("CLEAR", a + PAGE, a + 2 * PAGE),
    ]);
    expect(crec.take()).toEqual([]);
    expect(snap(mm, rec.sub, a, 2).words).toEqual([word(p0, V), word(p0, V)]);
    expect(snap(child, crec.sub, a, 2).words).toEqual([word(p0, V), word(p1, V)]);
    expect([engine.mapcount(p0), engine.mapcount(p1), engine.refcount(p1)]).toEqual([3, 1, 1]);
    child.exit();
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });
});

describe("rmap: page-cache pages mapped by several Mms", () => {
  it("migration and reclaim of a shared file page raise CLEAR in every mapping Mm; the page cache follows", () => {
    const { engine, mm, rec, base } = setup();
    const file = new SimFile("f", 2 * PAGE);
    const other = new Mm(engine);
    const orec = record(other);
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: MAP_SHARED, file });
    const b = other.mmap({ length: PAGE, prot: RW, flags: MAP_SHARED, file, offset: PAGE });
    mm.cpuWriteU32(a + PAGE, 42);
    expect(other.cpuReadU32(b)).toBe(42);
    const cached = file.pageCache.get(1)!;
    expect([engine.refcount(cached), engine.mapcount(cached)]).toEqual([3, 2]);
    rec.take();
    orec.take();
    const [m] = migratePages(other, b, PAGE);
    expect(rec.take()).toEqual([ev("CLEAR", a + PAGE, a + 2 * PAGE)]);
    expect(orec.take()).toEqual([ev("CLEAR", b, b + PAGE)]);
    expect(m.state).toBe("done");
    expect(file.pageCache.get(1)).toBe(m.dst);
    // write-notified mapping: the dirty writable PTE stays writable, the read-only one read-only
    expect(snap(mm, rec.sub, a + PAGE, 1).words).toEqual([word(m.dst, V | W)]);
    expect(snap(other, orec.sub, b, 1).words).toEqual([word(m.dst, V)]);
    expect([engine.refcount(m.dst), engine.mapcount(m.dst)]).toEqual([3, 2]);
    const r = reclaimPages(mm, a, 2 * PAGE);
    expect(r).toEqual({ swappedOut: 0, discarded: 0, unmappedFile: 2, skipped: 0 });
    expect(rec.take()).toEqual([ev("CLEAR", a + PAGE, a + 2 * PAGE)]);
    expect(orec.take()).toEqual([ev("CLEAR", b, b + PAGE)]);
    expect([engine.refcount(m.dst), engine.mapcount(m.dst)]).toEqual([1, 0]);
    expect(other.cpuReadU32(b)).toBe(42);
    other.exit();
    mm.exit();
    // the page-cache page stays with the file
    expect(engine.framesInUse()).toBe(base + 1);
  });
});

describe("fork and mremap of pending migration entries", () => {
  it("fork copies a write migration entry as a read entry into parent and child; finish maps the new page in both", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 2);
    const [m] = migratePages(mm, a, PAGE, { defer: true });
    expect(mm.leafOf(a).entry).toEqual(pte.mk.migration(m.src, true));
    rec.take();
    const child = fork(mm);
    const crec = record(child);
    expect(rec.take()).toEqual([ev("PROTECTION_PAGE", a, a + 2 * PAGE)]);
    expect(m.state).toBe("pending");
    const readMig = pte.mk.migration(m.src, false);
    expect([mm.leafOf(a).entry, child.leafOf(a).entry]).toEqual([readMig, readMig]);
    expect(engine.mapcount(m.src)).toBe(2);
    m.finish();
    expect(snap(mm, rec.sub, a, 1).words).toEqual([word(m.dst, V)]);
    expect(snap(child, crec.sub, a, 1).words).toEqual([word(m.dst, V)]);
    expect([engine.refcount(m.dst), engine.mapcount(m.dst), engine.frameFlags(m.dst) & FRAME.ANON_EXCLUSIVE]).toEqual([
      2, 2, 0,
    ]);
    expect([rec.take(), crec.take()]).toEqual([[], []]);
    // the write now breaks COW in the parent (CLEAR one page)
    mm.cpuWriteU32(a, 1);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + PAGE)]);
    expect([mm.cpuReadU32(a), child.cpuReadU32(a)]).toEqual([1, 1000]);
    mm.exit();
    child.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("the child's copy waits too: a child fault completes the parent's migration; a child exit before finish drops its reference", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: PAGE, prot: RW, flags: ANON });
    fill(mm, a, 1);
    const [m] = migratePages(mm, a, PAGE, { defer: true });
    const c1 = fork(mm);
    const c2 = fork(mm);
    expect(c1.cpuReadU32(a)).toBe(1000);
    expect(m.state).toBe("done");
    expect(snap(mm, rec.sub, a, 1).words).toEqual([word(m.dst, V)]);
    expect([engine.refcount(m.dst), engine.mapcount(m.dst)]).toEqual([3, 3]);
    c1.exit();
    c2.exit();
    const [m2] = migratePages(mm, a, PAGE, { defer: true });
    const c3 = fork(mm);
    c3.exit();
    m2.finish();
    expect([engine.refcount(m2.dst), engine.mapcount(m2.dst)]).toEqual([1, 1]);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("mremap moves a pending migration entry (UNMAP old range) and finish installs the new page at the new address", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 2);
    const [m0] = migratePages(mm, a + PAGE, PAGE, { defer: true });
    mm.mmap({ addr: a + 2 * PAGE, length: PAGE, prot: RW, flags: ANON | MAP_FIXED }); // forces a move
    rec.take();
    const na = mremap(mm, a, 2 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
    expect(rec.take()).toEqual([ev("UNMAP", a, a + 2 * PAGE), ev("UNMAP", a, a + 2 * PAGE)]);
    expect(m0.state).toBe("pending");
    expect(pte.isMigration(mm.leafOf(na + PAGE).entry)).toBe(true);
    expect(mm.cpuReadU32(na + PAGE)).toBe(1001);
    expect(m0.state).toBe("done");
    expect(snap(mm, rec.sub, na, 2).words.map((w) => w & (V | W))).toEqual([V | W, V | W]);
    expect(pfnOf(snap(mm, rec.sub, na + PAGE, 1).words[0])).toBe(m0.dst);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });
});

describe("device migration of pages shared after fork (try_to_migrate)", () => {
  it("migrate_vma_setup in the parent: MIGRATE [start, end) owner in the parent, CLEAR per page in the child; both map the device page read-only", () => {
    const { engine, mm, rec, base } = setup();
    const dev = new Device(engine, { pages: 8 });
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 2, 3);
    const child = fork(mm);
    const crec = record(child);
    rec.take();
    expect(dev.migrateToDevice(mm, a, a + 2 * PAGE)).toBe(2);
    expect(rec.take()).toEqual([ev("MIGRATE", a, a + 2 * PAGE, true, dev.owner)]);
    expect(crec.take()).toEqual(pageEvents("CLEAR", a, 2));
    expect(engine.framesInUse()).toBe(base);
    const pw = snap(mm, rec.sub, a, 2, { owner: dev.owner }).words;
    const cw = snap(child, crec.sub, a, 2, { owner: dev.owner }).words;
    expect(pw.every((w) => (w & (V | W)) === V)).toBe(true);
    expect(cw).toEqual(pw);
    const dp = pfnOf(pw[0]);
    expect(engine.frameFlags(dp) & FRAME.DEVICE_PRIVATE).toBeTruthy();
    expect([engine.refcount(dp), engine.mapcount(dp)]).toEqual([2, 2]);
    expect(dev.freePages).toBe(6);
    // a CPU read in the child migrates the page back for both (MIGRATE in the child, CLEAR in the parent)
    expect(child.cpuReadU32(a)).toBe(3000);
    expect(crec.take()).toEqual([ev("MIGRATE", a, a + PAGE, true, dev.owner)]);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + PAGE)]);
    const back = snap(mm, rec.sub, a, 1).words[0];
    expect(snap(child, crec.sub, a, 1).words[0]).toBe(back);
    expect(back & (V | W)).toBe(V);
    expect([engine.refcount(pfnOf(back)), engine.mapcount(pfnOf(back))]).toEqual([2, 2]);
    expect(dev.freePages).toBe(7);
    expect(mm.cpuReadU32(a + PAGE)).toBe(3001);
    child.exit();
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
    expect(dev.freePages).toBe(8);
  });
});
