import { describe, expect, it } from "vitest";
import { SimFile } from "../src/mm/file.js";
import { VM } from "../src/engine/layout.js";
import {
  MADV_COLLAPSE,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_PAGEOUT,
  MADV_REMOVE,
  madvise,
  punchHole,
  reclaimPages,
  truncateFile,
} from "../src/ops/index.js";
import { Mm } from "../src/api/mm.js";
import * as pte from "../src/engine/pte.js";
import { MAP_FIXED, MAP_SHARED, MAP_PRIVATE, PROT_READ } from "../src/mm/vma.js";
import { ANON, ORD9, PAGE, PMD, RW, V, W, ev, fill, pfnOf, record, setup, snap, word } from "./ops-helpers.js";

describe("madvise", () => {
  it("MADV_DONTNEED: CLEAR over [start, end) ∩ VMA, pages freed, refault gives zero pages", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 4);
    rec.take();
    madvise(mm, a + PAGE, 2 * PAGE, MADV_DONTNEED);
    expect(rec.take()).toEqual([ev("CLEAR", a + PAGE, a + 3 * PAGE)]);
    const w = snap(mm, rec.sub, a, 4).words;
    expect([w[1], w[2]]).toEqual([0n, 0n]);
    expect(w[0] & W && w[3] & W).toBeTruthy();
    expect(engine.framesInUse()).toBe(base + 2);
    expect(mm.cpuReadU32(a + PAGE)).toBe(0);
    // across a hole: the mapped part is advised, then ENOMEM
    expect(() => madvise(mm, a + 3 * PAGE, 2 * PAGE, MADV_DONTNEED)).toThrow(/ENOMEM/);
    expect(rec.take()).toEqual([ev("CLEAR", a + 3 * PAGE, a + 4 * PAGE)]);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("MADV_DONTNEED of part of a THP splits it (CLEAR 2 MiB nested in the CLEAR)", () => {
    const { engine, mm, rec, base } = setup({ thp: "always" });
    const a = mm.mmap({ length: PMD, prot: RW, flags: ANON });
    mm.cpuWriteU32(a + 8 * PAGE, 8);
    rec.take();
    madvise(mm, a, 4 * PAGE, MADV_DONTNEED);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + 4 * PAGE), ev("CLEAR", a, a + PMD)]);
    const w = snap(mm, rec.sub, a, 6).words;
    expect(w.slice(0, 4)).toEqual([0n, 0n, 0n, 0n]);
    expect(w[4] & (V | W | ORD9)).toBe(V | W); // PTE-mapped now: order 0
    expect(mm.cpuReadU32(a + 8 * PAGE)).toBe(8);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("MADV_FREE: CLEAR, pages stay mapped clean; lazy reclaim discards clean pages and swaps re-dirtied ones", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 3 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 3, 6);
    rec.take();
    madvise(mm, a, 3 * PAGE, MADV_FREE);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + 3 * PAGE)]);
    expect(snap(mm, rec.sub, a, 3).words.every((x) => (x & (V | W)) === (V | W))).toBe(true);
    mm.cpuWriteU32(a + PAGE, 61); // re-dirtied: must not be discarded
    const r = reclaimPages(mm, a, 3 * PAGE);
    expect(r).toMatchObject({ discarded: 2, swappedOut: 1 });
    expect(rec.take()).toEqual([0, 1, 2].map((i) => ev("CLEAR", a + i * PAGE, a + (i + 1) * PAGE)));
    expect([mm.cpuReadU32(a), mm.cpuReadU32(a + PAGE), mm.cpuReadU32(a + 2 * PAGE)]).toEqual([0, 61, 0]);
    mm.exit();
    expect([engine.framesInUse(), engine.swap.used]).toEqual([base, 0]);
  });

  it("MADV_HUGEPAGE / NOHUGEPAGE change VMA flags only (split at the range), no event", () => {
    const { mm, rec } = setup();
    const a = mm.mmap({ length: 4 * PMD, prot: RW, flags: ANON });
    madvise(mm, a, 2 * PMD, MADV_HUGEPAGE);
    expect(rec.take()).toEqual([]);
    expect(mm.vmas.length).toBe(2);
    expect(mm.vmaLookup(a)!.flags & VM.HUGEPAGE).toBeTruthy();
    expect(mm.vmaLookup(a + 2 * PMD)!.flags & VM.HUGEPAGE).toBeFalsy();
    mm.cpuWriteU32(a, 1);
    expect(snap(mm, rec.sub, a, 1).words[0] & ORD9).toBe(ORD9);
    madvise(mm, a + PMD, PMD, MADV_NOHUGEPAGE);
    mm.cpuWriteU32(a + PMD, 1);
    expect(snap(mm, rec.sub, a + PMD, 1).words[0] & ORD9).toBe(0n);
    expect(rec.take()).toEqual([]);
    mm.exit();
  });

  it("MADV_PAGEOUT swaps out unshared pages (CLEAR per folio), contents preserved", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 2, 8);
    rec.take();
    madvise(mm, a, 2 * PAGE, MADV_PAGEOUT);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + PAGE), ev("CLEAR", a + PAGE, a + 2 * PAGE)]);
    expect(pte.isRegularSwap(mm.leafOf(a).entry)).toBe(true);
    expect([engine.framesInUse(), engine.swap.used]).toEqual([base, 2]);
    expect(mm.cpuReadU32(a + PAGE)).toBe(8001);
    mm.exit();
    expect([engine.framesInUse(), engine.swap.used]).toEqual([base, 0]);
  });

  it("MADV_COLLAPSE: CLEAR over the 2 MiB, 512 PTEs become one THP with the contents copied", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: PMD, prot: RW, flags: ANON });
    expect(a % PMD).toBe(0);
    fill(mm, a, 3, 9);
    mm.touch(a + 10 * PAGE, false); // zero page
    reclaimPages(mm, a + 2 * PAGE, PAGE); // one swapped-out page
    rec.take();
    madvise(mm, a, PMD, MADV_COLLAPSE);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + PMD)]);
    const w = snap(mm, rec.sub, a, 3).words;
    expect(w[0] & (V | W | ORD9)).toBe(V | W | ORD9);
    expect(w).toEqual([0, 1, 2].map((i) => word(pfnOf(w[0]) + i, V | W | ORD9)));
    expect([
      mm.cpuReadU32(a),
      mm.cpuReadU32(a + PAGE),
      mm.cpuReadU32(a + 2 * PAGE),
      mm.cpuReadU32(a + 10 * PAGE),
    ]).toEqual([9000, 9001, 9002, 0]);
    expect([engine.framesInUse(), engine.swap.used]).toEqual([base + 512, 0]);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("MADV_REMOVE / punch hole / truncate: CLEAR per mapping VMA span in every Mm mapping the file", () => {
    const { engine, mm, rec } = setup();
    const mm2 = new Mm(engine);
    const rec2 = record(mm2);
    const file = new SimFile("f", 8 * PAGE, "shmem");
    const a = mm.mmap({ length: 8 * PAGE, prot: RW, flags: MAP_SHARED, file });
    // mm2 maps file pages 2..6 at its own address
    const b = mm2.mmap({ length: 4 * PAGE, prot: RW, flags: MAP_SHARED, file, offset: 2 * PAGE });
    const p = mm2.mmap({ length: 8 * PAGE, prot: PROT_READ, flags: MAP_PRIVATE, file });
    for (let i = 0; i < 8; i++) mm.cpuWriteU32(a + i * PAGE, 100 + i);
    expect(mm2.cpuReadU32(b)).toBe(102);
    mm2.cpuReadU32(p + 3 * PAGE);
    rec.take();
    rec2.take();
    // MADV_REMOVE of file pages 3..5 through mm
    madvise(mm, a + 3 * PAGE, 2 * PAGE, MADV_REMOVE);
    expect(rec.take()).toEqual([ev("CLEAR", a + 3 * PAGE, a + 5 * PAGE)]);
    // one CLEAR per VMA of mm2 mapping the file (in mm2's VMA order)
    const byStart = (x: { start: number }, y: { start: number }) => x.start - y.start;
    expect(rec2.take().sort(byStart)).toEqual(
      [ev("CLEAR", b + PAGE, b + 3 * PAGE), ev("CLEAR", p + 3 * PAGE, p + 5 * PAGE)].sort(byStart),
    );
    expect(snap(mm2, rec2.sub, b, 4).words.map((x) => x !== 0n)).toEqual([true, false, false, true]);
    expect([mm.cpuReadU32(a + 3 * PAGE), mm2.cpuReadU32(b + 2 * PAGE), mm2.cpuReadU32(b + 3 * PAGE)]).toEqual([
      0, 0, 105,
    ]);
    // truncate to 6 pages: pages 6..7 go, twice (truncate_pagecache) per mapping VMA span
    truncateFile(engine, file, 6 * PAGE);
    expect(rec.take()).toEqual([ev("CLEAR", a + 6 * PAGE, a + 8 * PAGE), ev("CLEAR", a + 6 * PAGE, a + 8 * PAGE)]);
    expect(rec2.take()).toEqual([ev("CLEAR", p + 6 * PAGE, p + 8 * PAGE), ev("CLEAR", p + 6 * PAGE, p + 8 * PAGE)]);
    expect(() => mm.cpuReadU32(a + 6 * PAGE)).toThrow(/SIGBUS/);
    punchHole(engine, file, 0, PAGE);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + PAGE)]);
    expect(rec2.take()).toEqual([ev("CLEAR", p, p + PAGE)]);
    expect(() => madvise(mm2, p, PAGE, MADV_REMOVE)).toThrow(/EACCES/);
    mm.exit();
    mm2.exit();
    truncateFile(engine, file, 0);
  });
});

describe("mmap(MAP_FIXED) over an existing mapping", () => {
  it("raises UNMAP over the requested range and frees the old pages", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 4);
    rec.take();
    mm.mmap({ addr: a + PAGE, length: 2 * PAGE, prot: RW, flags: ANON | MAP_FIXED });
    expect(rec.take()).toEqual([ev("UNMAP", a + PAGE, a + 3 * PAGE)]);
    expect(snap(mm, rec.sub, a, 4).words.map((x) => x !== 0n)).toEqual([true, false, false, true]);
    expect(engine.framesInUse()).toBe(base + 2);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });
});
