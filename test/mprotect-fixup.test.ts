// mprotect_fixup() VMA by VMA (docs/semantics.md §7, the mprotect row): a VMA whose flags would not
// change is left alone — no VMA split, no THP split at the range's edge, no PROTECTION_VMA event —
// and the VMAs that change are split and changed one after another in address order, so a THP
// split at the range's end comes after the earlier VMAs' events.
import { describe, expect, it } from "vitest";
import { MAP_FIXED, PROT_EXEC, PROT_READ } from "../src/mm/vma.js";
import { ANON, PAGE, PMD, RW, ev, setup } from "./ops-helpers.js";

const ranges = (mm: ReturnType<typeof setup>["mm"]): [number, number, number][] =>
  mm.vmas.map((v) => [v.start, v.end, v.flags]);

describe("mprotect_fixup: unchanged flags", () => {
  it("mprotect to the protection a populated VMA already has: no event, no split, entries as they were", () => {
    const { mm, rec } = setup({ thp: "always" });
    const a = mm.mmap({ length: 4 * PMD, prot: RW, flags: ANON });
    mm.cpuWriteU32(a + PMD + 5 * PAGE, 1); // a THP in the second PMD
    const before = ranges(mm);
    const leaf = mm.leafOf(a + PMD);
    expect(leaf.level).toBe(1);
    rec.take();
    // [a + PMD + 3 pages, a + 3 PMD): cuts the THP and the VMA, but changes nothing
    mm.mprotect(a + PMD + 3 * PAGE, 2 * PMD - 3 * PAGE, RW);
    expect(rec.take()).toEqual([]);
    expect(ranges(mm)).toEqual(before);
    expect(mm.leafOf(a + PMD)).toEqual(leaf);
  });

  it("a range over two VMAs, the second already read-only: only the first changes; the THP the range's end cuts stays whole", () => {
    const { mm, rec } = setup({ thp: "always" });
    const a = mm.mmap({ length: 4 * PMD, prot: RW, flags: ANON });
    mm.mmap({ addr: a + 2 * PMD, length: 2 * PMD, prot: PROT_READ, flags: ANON | MAP_FIXED });
    mm.cpuWriteU32(a + 5 * PAGE, 1); // THP in the first VMA
    mm.cpuReadU32(a + 3 * PMD); // a read fault in the read-only VMA: huge zero PMD
    const tail = mm.leafOf(a + 3 * PMD);
    expect(tail.level).toBe(1);
    rec.take();
    mm.mprotect(a, 3 * PMD + 7 * PAGE, PROT_READ);
    expect(rec.take()).toEqual([ev("PROTECTION_VMA", a, a + 2 * PMD)]);
    expect(ranges(mm).map(([s, e]) => [s - a, e - a])).toEqual([
      [0, 2 * PMD],
      [2 * PMD, 4 * PMD],
    ]);
    expect(mm.leafOf(a + 3 * PMD)).toEqual(tail);
  });
});

describe("mprotect_fixup: VMA by VMA", () => {
  it("two VMAs that change: the THP split at the range's end comes after the first VMA's event", () => {
    // (before, both edges were split first: CLEAR, then the two PROTECTION_VMA events)
    const { mm, rec } = setup({ thp: "always" });
    const a = mm.mmap({ length: 4 * PMD, prot: RW, flags: ANON });
    mm.mmap({ addr: a + 2 * PMD, length: 2 * PMD, prot: RW, flags: ANON | MAP_FIXED });
    // two VMAs with different flags (RW and RWX), both made read-only below
    mm.mprotect(a + 2 * PMD, 2 * PMD, RW | PROT_EXEC);
    mm.cpuWriteU32(a + 5 * PAGE, 1); // THP at a
    mm.cpuWriteU32(a + 3 * PMD + 5 * PAGE, 2); // THP at a + 3 PMD
    expect(mm.leafOf(a + 3 * PMD).level).toBe(1);
    rec.take();
    mm.mprotect(a, 3 * PMD + 7 * PAGE, PROT_READ);
    expect(rec.take()).toEqual([
      ev("PROTECTION_VMA", a, a + 2 * PMD),
      ev("CLEAR", a + 3 * PMD, a + 4 * PMD),
      // from the second VMA's first populated PMD (§7), after its split
      ev("PROTECTION_VMA", a + 3 * PMD, a + 3 * PMD + 7 * PAGE),
    ]);
    expect(mm.leafOf(a + 3 * PMD).level).toBe(0);
  });
});
