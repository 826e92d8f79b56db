import { describe, expect, it } from "vitest";
import { SimulationDeadlock } from "../src/engine/errors.js";
import { MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, brk, brkInit, mremap, oomReap } from "../src/ops/index.js";
import { MAP_FIXED } from "../src/mm/vma.js";
import { ANON, ORD9, PAGE, PMD, RW, V, W, ev, fill, pfnOf, setup, snap, word } from "./ops-helpers.js";

describe("mremap", () => {
  it("shrink: UNMAP over the cut tail; grow in place: no event", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON | MAP_FIXED, addr: 0x1000_0000 });
    fill(mm, a, 4);
    rec.take();
    expect(mremap(mm, a, 4 * PAGE, 2 * PAGE)).toBe(a);
    expect(rec.take()).toEqual([ev("UNMAP", a + 2 * PAGE, a + 4 * PAGE)]);
    expect(engine.framesInUse()).toBe(base + 2);
    expect(mremap(mm, a, 2 * PAGE, 6 * PAGE)).toBe(a);
    expect(rec.take()).toEqual([]);
    expect(mm.vmaLookup(a + 5 * PAGE)).toBe(mm.vmaLookup(a));
    expect(mm.cpuReadU32(a + PAGE)).toBe(1001);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("move: UNMAP over the old range around the move, entries moved (same frames), old range unmapped (UNMAP again)", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON | MAP_FIXED, addr: 0x1000_0000 });
    mm.mmap({ length: PAGE, prot: RW, flags: ANON | MAP_FIXED, addr: a + 4 * PAGE }); // blocks growth
    fill(mm, a, 4, 2);
    const old = snap(mm, rec.sub, a, 4).words;
    rec.take();
    const n = mremap(mm, a, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
    expect(n).not.toBe(a);
    expect(rec.take()).toEqual([ev("UNMAP", a, a + 4 * PAGE), ev("UNMAP", a, a + 4 * PAGE)]);
    expect(snap(mm, rec.sub, n, 4).words).toEqual(old);
    expect(mm.vmaLookup(a)).toBeUndefined();
    expect(mm.cpuReadU32(n + 3 * PAGE)).toBe(2003);
    expect(engine.framesInUse()).toBe(base + 4);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("moving a THP to an unaligned destination splits it (CLEAR 2 MiB inside the UNMAP); aligned keeps the PMD", () => {
    const { engine, mm, rec, base } = setup({ thp: "always" });
    const a = mm.mmap({ length: PMD, prot: RW, flags: ANON });
    mm.cpuWriteU32(a + PAGE, 3);
    const head = pfnOf(snap(mm, rec.sub, a, 1).words[0]);
    rec.take();
    const dst = 0x2000_0000 + PAGE;
    expect(mremap(mm, a, PMD, PMD, MREMAP_MAYMOVE | MREMAP_FIXED, dst)).toBe(dst);
    // (nothing was mapped at dst: do_munmap of the destination raises nothing)
    expect(rec.take()).toEqual([ev("UNMAP", a, a + PMD), ev("CLEAR", a, a + PMD), ev("UNMAP", a, a + PMD)]);
    expect(snap(mm, rec.sub, dst, 2).words).toEqual([word(head, V | W), word(head + 1, V | W)]);
    expect(mm.cpuReadU32(dst + PAGE)).toBe(3);
    // aligned move of a fresh THP keeps it a PMD
    const b = mm.mmap({ length: PMD, prot: RW, flags: ANON });
    mm.cpuWriteU32(b, 4);
    const h2 = pfnOf(snap(mm, rec.sub, b, 1).words[0]);
    rec.take();
    mremap(mm, b, PMD, PMD, MREMAP_MAYMOVE | MREMAP_FIXED, 0x4000_0000);
    expect(rec.take()).toEqual([ev("UNMAP", b, b + PMD), ev("UNMAP", b, b + PMD)]);
    expect(snap(mm, rec.sub, 0x4000_0000, 1).words[0]).toBe(word(h2, V | W | ORD9));
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("MREMAP_DONTUNMAP: one UNMAP, the old VMA stays and is empty", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 2, 7);
    rec.take();
    const n = mremap(mm, a, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    expect(rec.take()).toEqual([ev("UNMAP", a, a + 2 * PAGE)]);
    expect(mm.vmaLookup(a)).toBeDefined();
    expect(snap(mm, rec.sub, a, 2).words).toEqual([0n, 0n]);
    expect([mm.cpuReadU32(n), mm.cpuReadU32(a)]).toEqual([7000, 0]);
    mm.mmapReadLock();
    expect(() => mremap(mm, n, 2 * PAGE, PAGE)).toThrow(SimulationDeadlock);
    mm.mmapReadUnlock();
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });
});

describe("brk", () => {
  it("grows without an event and shrinks with UNMAP over [PAGE_ALIGN(new), PAGE_ALIGN(old))", () => {
    const { engine, mm, rec, base } = setup();
    brkInit(mm, 0x60_0000);
    expect(brk(mm, 0x60_0000 + 3 * PAGE + 10)).toBe(0x60_0000 + 3 * PAGE + 10);
    expect(brk(mm, 0x60_0000 + 6 * PAGE)).toBe(0x60_0000 + 6 * PAGE);
    expect(mm.vmas.length).toBe(1);
    fill(mm, 0x60_0000, 6);
    rec.take();
    brk(mm, 0x60_0000 + PAGE + 1);
    expect(rec.take()).toEqual([ev("UNMAP", 0x60_0000 + 2 * PAGE, 0x60_0000 + 6 * PAGE)]);
    expect(engine.framesInUse()).toBe(base + 2);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });
});

describe("exit and the OOM reaper", () => {
  it("exit: RELEASE [0, ∞) then UNMAP [0, ∞), frames and swap slots all returned", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 4);
    mm.cpuWriteU32(a, 1);
    rec.take();
    mm.exit();
    expect(rec.take()).toEqual([ev("RELEASE", 0, Infinity), ev("UNMAP", 0, Infinity)]);
    expect([engine.framesInUse(), engine.swap.used, mm.pageTables]).toEqual([base, 0, mm.pageTables]);
  });

  it("oomReap: non-blockable UNMAP per VMA [vm_start, vm_end); a refusing callback makes it skip that VMA", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON | MAP_FIXED, addr: 0x1000_0000 });
    const b = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON | MAP_FIXED, addr: 0x2000_0000 });
    fill(mm, a, 2);
    fill(mm, b, 2);
    rec.take();
    rec.refuse = true;
    const r1 = oomReap(mm);
    expect(r1.complete).toBe(false);
    expect(r1.skipped.length).toBe(2);
    expect(rec.take()).toEqual([ev("UNMAP", a, a + 2 * PAGE, false), ev("UNMAP", b, b + 2 * PAGE, false)]);
    expect(engine.framesInUse()).toBe(base + 4);
    rec.refuse = false;
    const r2 = oomReap(mm);
    expect(r2.complete).toBe(true);
    expect(rec.take()).toEqual([ev("UNMAP", a, a + 2 * PAGE, false), ev("UNMAP", b, b + 2 * PAGE, false)]);
    expect(engine.framesInUse()).toBe(base);
    expect(snap(mm, rec.sub, a, 2).words).toEqual([0n, 0n]);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });
});
