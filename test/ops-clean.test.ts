// page_mkclean on writeback, soft-dirty clear (clear_refs) and the khugepaged scanner.
import { describe, expect, it } from "vitest";
import { SimulationDeadlock } from "../src/engine/errors.js";
import { SimFile } from "../src/mm/file.js";
import { PTE_HI, PTE_LO, VM } from "../src/engine/layout.js";
import * as pte from "../src/engine/pte.js";
import { Mm } from "../src/api/mm.js";
import { clearRefs, fork, khugepagedScan, madvise, MADV_HUGEPAGE, writebackFile } from "../src/ops/index.js";
import { MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_READ } from "../src/mm/vma.js";
import { ANON, ORD9, PAGE, PMD, RW, V, W, ev, fill, pfnOf, record, setup, snap, word } from "./ops-helpers.js";

describe("writebackFile (page_mkclean)", () => {
  it("PROTECTION_PAGE per shared VMA covering a dirty page, in every Mm; PTEs write-protected and cleaned; private mappings untouched", () => {
    const { engine, mm, rec, base } = setup();
    const other = new Mm(engine);
    const orec = record(other);
    const file = new SimFile("w", 2 * PAGE);
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: MAP_SHARED, file });
    const c = mm.mmap({ length: PAGE, prot: PROT_READ, flags: MAP_PRIVATE, file });
    const b = other.mmap({ length: PAGE, prot: RW, flags: MAP_SHARED, file });
    mm.cpuWriteU32(a, 7);
    expect([other.cpuReadU32(b), mm.cpuReadU32(c)]).toEqual([7, 7]);
    const p = file.pageCache.get(0)!;
    expect(snap(mm, rec.sub, a, 1).words).toEqual([word(p, V | W)]);
    expect(snap(other, orec.sub, b, 1).words).toEqual([word(p, V)]);
    rec.take();
    orec.take();
    expect(writebackFile(engine, file)).toEqual({ cleaned: 1, invalidations: 2 });
    expect(rec.take()).toEqual([ev("PROTECTION_PAGE", a, a + PAGE)]);
    expect(orec.take()).toEqual([ev("PROTECTION_PAGE", b, b + PAGE)]);
    expect(snap(mm, rec.sub, a, 1).words).toEqual([word(p, V)]);
    expect(mm.leafOf(a).entry.lo & (PTE_LO.RW | PTE_LO.DIRTY)).toBe(0);
    expect(snap(mm, rec.sub, c, 1).words).toEqual([word(p, V)]);
    // clean now: a second writeback does nothing
    expect(writebackFile(engine, file)).toEqual({ cleaned: 0, invalidations: 0 });
    expect([rec.take(), orec.take()]).toEqual([[], []]);
    // the next write makes it writable in place (write-notify, wp_page_shared): no notifier
    other.cpuWriteU32(b, 8);
    expect([rec.take(), orec.take()]).toEqual([[], []]);
    expect(snap(other, orec.sub, b, 1).words).toEqual([word(p, V | W)]);
    // dirty through `other` only: both shared VMAs covering index 0 get the event
    expect(writebackFile(engine, file)).toEqual({ cleaned: 1, invalidations: 2 });
    expect(rec.take()).toEqual([ev("PROTECTION_PAGE", a, a + PAGE)]);
    expect(orec.take()).toEqual([ev("PROTECTION_PAGE", b, b + PAGE)]);
    expect(mm.cpuReadU32(a)).toBe(8);
    other.exit();
    mm.exit();
    expect(engine.framesInUse()).toBe(base + 1); // the page-cache page
  });
});

describe("clearRefs", () => {
  it("type 4: SOFT_DIRTY [0, ∞) once, every present PTE write-protected and soft-clean; a write re-dirties without an event", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 2);
    const pfns = snap(mm, rec.sub, a, 2).words.map(pfnOf);
    rec.take();
    clearRefs(mm, 4);
    expect(rec.take()).toEqual([ev("SOFT_DIRTY", 0, Infinity)]);
    expect(snap(mm, rec.sub, a, 4).words).toEqual([word(pfns[0], V), word(pfns[1], V), 0n, 0n]);
    expect(mm.vmaLookup(a)!.flags & VM.SOFTDIRTY).toBe(0);
    mm.cpuWriteU32(a + PAGE, 5);
    expect(rec.take()).toEqual([]);
    expect(snap(mm, rec.sub, a, 2).words).toEqual([word(pfns[0], V), word(pfns[1], V | W)]);
    expect(mm.leafOf(a + PAGE).entry.lo & PTE_LO.SOFT_DIRTY).toBe(PTE_LO.SOFT_DIRTY);
    expect(mm.leafOf(a).entry.lo & PTE_LO.SOFT_DIRTY).toBe(0);
    clearRefs(mm, 4);
    expect(rec.take()).toEqual([ev("SOFT_DIRTY", 0, Infinity)]);
    expect(mm.leafOf(a + PAGE).entry.lo & (PTE_LO.SOFT_DIRTY | PTE_LO.RW)).toBe(0);
    // types 1-3 and 5 raise nothing; 1 clears the young bits
    clearRefs(mm, 1);
    clearRefs(mm, 5);
    expect(rec.take()).toEqual([]);
    expect(mm.leafOf(a).entry.lo & PTE_LO.ACCESSED).toBe(0);
    expect(() => clearRefs(mm, 6)).toThrow(/bad type/);
    // under the mmap write lock: refused while a walk holds the read lock
    expect(() => mm.withReadLock(() => clearRefs(mm, 4))).toThrow(SimulationDeadlock);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("type 4 on an mm with nothing populated still raises SOFT_DIRTY; a COW-shared page stays shared", () => {
    const { engine, mm, rec, base } = setup();
    clearRefs(mm, 4);
    expect(rec.take()).toEqual([ev("SOFT_DIRTY", 0, Infinity)]);
    const a = mm.mmap({ length: PAGE, prot: RW, flags: ANON });
    fill(mm, a, 1);
    const child = fork(mm);
    const crec = record(child);
    rec.take();
    clearRefs(child, 4);
    expect([rec.take(), crec.take()]).toEqual([[], [ev("SOFT_DIRTY", 0, Infinity)]]);
    child.cpuWriteU32(a, 3); // COW break as usual
    expect(crec.take()).toEqual([ev("CLEAR", a, a + PAGE)]);
    child.exit();
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });
});

describe("khugepagedScan", () => {
  it("collapses eligible 2 MiB ranges (CLEAR 2 MiB each), skips ineligible VMAs and ranges, honours maxPages", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 3 * PMD, prot: RW, flags: ANON });
    expect(a % PMD).toBe(0);
    fill(mm, a, 3, 4); // range 0: 3 pages, the rest none
    mm.cpuWriteU32(a + PMD + 9 * PAGE, 1); // range 1: one page
    mm.cpuReadU32(a + 2 * PMD); // range 2: only the zero page -> SCAN_PAGE_RO
    rec.take();
    // not eligible yet (thp "madvise" without MADV_HUGEPAGE)
    expect(khugepagedScan(mm)).toEqual({ collapsed: [], scanned: 0 });
    madvise(mm, a, 3 * PMD, MADV_HUGEPAGE);
    expect(khugepagedScan(mm, { maxPages: 512 })).toEqual({ collapsed: [a], scanned: 512 });
    expect(rec.take()).toEqual([ev("CLEAR", a, a + PMD)]);
    const w = snap(mm, rec.sub, a, 4).words;
    expect(w.every((x) => (x & (V | W | ORD9)) === (V | W | ORD9))).toBe(true);
    expect(pfnOf(w[1])).toBe(pfnOf(w[0]) + 1);
    expect([mm.cpuReadU32(a), mm.cpuReadU32(a + 2 * PAGE), mm.cpuReadU32(a + 3 * PAGE)]).toEqual([4000, 4002, 0]);
    // the next pass: range 0 is huge already, range 1 collapses, range 2 (read-only zero pages) does not
    expect(khugepagedScan(mm)).toEqual({ collapsed: [a + PMD], scanned: 1024 });
    expect(rec.take()).toEqual([ev("CLEAR", a + PMD, a + 2 * PMD)]);
    expect(mm.cpuReadU32(a + PMD + 9 * PAGE)).toBe(1);
    expect(engine.framesInUse()).toBe(base + 1024);
    // max_ptes_none: a range with 511 none PTEs is refused when the limit is lower
    const b = mm.mmap({ length: PMD, prot: RW, flags: ANON, vmFlags: VM.HUGEPAGE });
    mm.cpuWriteU32(b, 1);
    // (faulted as a THP directly since the VMA is VM_HUGEPAGE: nothing to collapse)
    expect(khugepagedScan(mm, { maxPtesNone: 0 }).collapsed).toEqual([]);
    rec.take();
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("max_ptes_none and pages shared with a forked child", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: PMD, prot: RW, flags: ANON });
    fill(mm, a, 2);
    madvise(mm, a, PMD, MADV_HUGEPAGE);
    expect(khugepagedScan(mm, { maxPtesNone: 509 }).collapsed).toEqual([]);
    const child = fork(mm);
    const crec = record(child);
    rec.take();
    // the parent's PTEs are read-only after fork: SCAN_PAGE_RO
    expect(khugepagedScan(mm).collapsed).toEqual([]);
    mm.cpuWriteU32(a, 9); // COW: one writable page
    rec.take();
    expect(khugepagedScan(mm, { maxPtesShared: 0 }).collapsed).toEqual([]);
    expect(khugepagedScan(mm).collapsed).toEqual([a]);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + PMD)]);
    expect(crec.take()).toEqual([]);
    expect([mm.cpuReadU32(a), mm.cpuReadU32(a + PAGE), child.cpuReadU32(a), child.cpuReadU32(a + PAGE)]).toEqual([
      9, 1001, 1000, 1001,
    ]);
    child.exit();
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });
});

describe("PUD split", () => {
  it("a partial munmap / mprotect inside a devmap PUD leaf splits it: CLEAR [haddr, haddr + 1 GiB) before the operation's own event", () => {
    const { engine, mm, rec, base } = setup();
    const GIB = 2 ** 30;
    const file = new SimFile("dax", GIB);
    const a = mm.mmap({ addr: 4 * GIB, length: GIB, prot: RW, flags: MAP_SHARED | MAP_FIXED, file });
    const leaf = (): void => engine.writeEntry(mm.entryPtr(a, 2, true), pte.mk.huge(2 ** 18, true, 0, PTE_HI.DEVMAP));
    leaf();
    expect(mm.leafOf(a + 5 * PAGE).level).toBe(2);
    rec.take();
    mm.munmap(a + PMD, PAGE);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + GIB), ev("UNMAP", a + PMD, a + PMD + PAGE)]);
    expect(mm.leafOf(a + 5 * PAGE).level).toBe(-1);
    expect(snap(mm, rec.sub, a, 2).words).toEqual([0n, 0n]);
    // mprotect inside it: the split, then nothing is populated (no PROTECTION_VMA)
    leaf();
    expect(mm.leafOf(a).level).toBe(2);
    mm.mprotect(a + 16 * PAGE, PAGE, PROT_READ);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + GIB)]);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });
});
