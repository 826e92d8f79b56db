// mprotect() over a migration in flight (docs/semantics.md §7, the mprotect row): a writable
// migration entry loses write; an anonymous page keeps its exclusivity (MIGRATION_READ_EXCLUSIVE),
// so the page the migration ends with is AnonExclusive again; a page-cache page becomes
// MIGRATION_READ.
import { describe, expect, it } from "vitest";
import { FRAME, SWP } from "../src/engine/layout.js";
import * as pte from "../src/engine/pte.js";
import { SimFile } from "../src/mm/file.js";
import { MAP_SHARED, PROT_READ } from "../src/mm/vma.js";
import { migratePages, startMigration } from "../src/ops/index.js";
import { ANON, ORD9, PAGE, PMD, RW, V, W, ev, fill, pfnOf, setup, snap, word } from "./ops-helpers.js";

describe("mprotect of a writable migration entry", () => {
  it("anonymous page: MIGRATION_READ_EXCLUSIVE; the migrated page is AnonExclusive and a write fault reuses it", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 2);
    const p1 = pfnOf(snap(mm, rec.sub, a + PAGE, 1).words[0]);
    const [m] = migratePages(mm, a, PAGE, { defer: true });
    expect(mm.leafOf(a).entry).toEqual(pte.mk.migration(m.src, true));
    rec.take();
    mm.mprotect(a, 2 * PAGE, PROT_READ);
    expect(rec.take()).toEqual([ev("PROTECTION_VMA", a, a + 2 * PAGE)]);
    expect(pte.swapType(mm.leafOf(a).entry)).toBe(SWP.MIGRATION_READ_EXCLUSIVE);
    expect(mm.leafOf(a).entry).toEqual(pte.mk.migration(m.src, false, true));
    expect(snap(mm, rec.sub, a + PAGE, 1).words).toEqual([word(p1, V)]);
    // back to read-write while the migration is pending: a readable entry is left as it is
    mm.mprotect(a, 2 * PAGE, RW);
    expect(mm.leafOf(a).entry).toEqual(pte.mk.migration(m.src, false, true));
    rec.take();
    m.finish();
    expect(m.state).toBe("done");
    // remove_migration_pte(): read-only (the entry was not writable), AnonExclusive given back
    expect(snap(mm, rec.sub, a, 1).words).toEqual([word(m.dst, V)]);
    expect(engine.frameFlags(m.dst) & (FRAME.ANON | FRAME.ANON_EXCLUSIVE)).toBe(FRAME.ANON | FRAME.ANON_EXCLUSIVE);
    // the write fault reuses the exclusive page where it is: same frame, no notifier
    mm.cpuWriteU32(a, 77);
    expect(rec.take()).toEqual([]);
    expect(snap(mm, rec.sub, a, 1).words).toEqual([word(m.dst, V | W)]);
    expect([mm.cpuReadU32(a), mm.cpuReadU32(a + PAGE)]).toEqual([77, 1001]);
    expect(engine.framesInUse()).toBe(base + 2);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("page-cache page of a shared file mapping: MIGRATION_READ; the migrated page is not exclusive", () => {
    const { engine, mm, rec, base } = setup();
    const file = new SimFile("f", 2 * PAGE);
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: MAP_SHARED, file });
    mm.cpuWriteU32(a, 42);
    const [m] = migratePages(mm, a, PAGE, { defer: true });
    expect(mm.leafOf(a).entry).toEqual(pte.mk.migration(m.src, true));
    mm.mprotect(a, 2 * PAGE, PROT_READ);
    expect(pte.swapType(mm.leafOf(a).entry)).toBe(SWP.MIGRATION_READ);
    expect(mm.leafOf(a).entry).toEqual(pte.mk.migration(m.src, false));
    m.finish();
    expect(file.pageCache.get(0)).toBe(m.dst);
    expect(engine.frameFlags(m.dst) & (FRAME.ANON | FRAME.ANON_EXCLUSIVE)).toBe(0);
    expect(snap(mm, rec.sub, a, 1).words).toEqual([word(m.dst, V)]);
    // writable again: the shared page is written where it is (no copy), the file sees it
    mm.mprotect(a, 2 * PAGE, RW);
    mm.cpuWriteU32(a, 43);
    expect(snap(mm, rec.sub, a, 1).words).toEqual([word(m.dst, V | W)]);
    expect(file.pageCache.get(0)).toBe(m.dst);
    mm.exit();
    // the page-cache page stays with the file
    expect(engine.framesInUse()).toBe(base + 1);
  });

  it("PMD migration entry of an anonymous THP (change_huge_pmd): MIGRATION_READ_EXCLUSIVE", () => {
    const { engine, mm, rec, base } = setup({ thp: "always" });
    const a = mm.mmap({ length: PMD, prot: RW, flags: ANON });
    mm.cpuWriteU32(a + 5 * PAGE, 55);
    const m = startMigration(mm, a + 7 * PAGE)!;
    expect(mm.leafOf(a).level).toBe(1);
    expect(pte.swapType(mm.leafOf(a).entry)).toBe(SWP.MIGRATION_WRITE);
    rec.take();
    mm.mprotect(a, PMD, PROT_READ);
    expect(rec.take()).toEqual([ev("PROTECTION_VMA", a, a + PMD)]);
    expect(mm.leafOf(a).level).toBe(1);
    expect(pte.swapType(mm.leafOf(a).entry)).toBe(SWP.MIGRATION_READ_EXCLUSIVE);
    expect(pte.swapOffset(mm.leafOf(a).entry)).toBe(m.src);
    m.finish();
    expect(snap(mm, rec.sub, a, 2).words).toEqual([word(m.dst, V | ORD9), word(m.dst + 1, V | ORD9)]);
    expect(engine.frameFlags(m.dst) & FRAME.ANON_EXCLUSIVE).toBe(FRAME.ANON_EXCLUSIVE);
    expect(mm.cpuReadU32(a + 5 * PAGE)).toBe(55);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });
});
