import { describe, expect, it } from "vitest";
import { Device } from "../src/drivers/device.js";
import { makeDeviceExclusiveRange } from "../src/ops/migrate-device.js";
import { SimulationDeadlock } from "../src/engine/errors.js";
import { FRAME, VM } from "../src/engine/layout.js";
import { fork, madvise, MADV_DONTFORK, MADV_WIPEONFORK, reclaimPages } from "../src/ops/index.js";
import * as pte from "../src/engine/pte.js";
import { MAP_ANONYMOUS, MAP_SHARED } from "../src/mm/vma.js";
import { ANON, ORD9, PAGE, PMD, RW, V, W, ev, fill, pfnOf, record, setup, snap, word } from "./ops-helpers.js";

describe("fork", () => {
  it("write-protects a populated private anon VMA in the parent inside PROTECTION_PAGE [vm_start, vm_end) and shares the frames", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 8 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 4);
    const before = snap(mm, rec.sub, a, 8).words;
    expect(before.slice(0, 4).every((w) => (w & (V | W)) === (V | W))).toBe(true);
    const pfns = before.slice(0, 4).map(pfnOf);
    rec.take();
    const child = fork(mm);
    expect(rec.take()).toEqual([ev("PROTECTION_PAGE", a, a + 8 * PAGE)]);
    expect(snap(mm, rec.sub, a, 8).words).toEqual([...pfns.map((p) => word(p, V)), 0n, 0n, 0n, 0n]);
    const crec = record(child);
    expect(snap(child, crec.sub, a, 8).words).toEqual([...pfns.map((p) => word(p, V)), 0n, 0n, 0n, 0n]);
    for (const p of pfns) {
      expect([engine.refcount(p), engine.mapcount(p)]).toEqual([2, 2]);
      expect(engine.frameFlags(p) & FRAME.ANON_EXCLUSIVE).toBe(0);
    }
    // COW break in the child: CLEAR over the page in the child only; the parent keeps its frame
    child.cpuWriteU32(a, 0xdead);
    expect(crec.take()).toEqual([ev("CLEAR", a, a + PAGE)]);
    expect(rec.take()).toEqual([]);
    const c0 = snap(child, crec.sub, a, 1).words[0];
    expect(pfnOf(c0)).not.toBe(pfns[0]);
    expect(c0 & (V | W)).toBe(V | W);
    expect([mm.cpuReadU32(a), child.cpuReadU32(a), child.cpuReadU32(a + PAGE)]).toEqual([1000, 0xdead, 1001]);
    // the parent's copy is now exclusive again: a write reuses it in place without an event
    mm.cpuWriteU32(a, 7);
    expect(rec.take()).toEqual([]);
    expect(snap(mm, rec.sub, a, 1).words[0]).toBe(word(pfns[0], V | W));
    child.exit();
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("raises nothing for shared mappings and untouched anon VMAs; the child refaults shared pages", () => {
    const { engine, mm, rec, base } = setup();
    const sh = mm.mmap({ length: 4 * PAGE, prot: RW, flags: MAP_SHARED | MAP_ANONYMOUS });
    const un = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(sh, 42);
    rec.take();
    const child = fork(mm);
    expect(rec.take()).toEqual([]);
    const crec = record(child);
    expect(snap(child, crec.sub, sh, 4).words).toEqual([0n, 0n, 0n, 0n]);
    expect(snap(child, crec.sub, un, 4).words).toEqual([0n, 0n, 0n, 0n]);
    expect(child.cpuReadU32(sh)).toBe(42);
    child.cpuWriteU32(sh + 4, 9);
    expect(mm.cpuReadU32(sh + 4)).toBe(9);
    expect(snap(mm, rec.sub, sh, 1).words[0] & W).toBe(W); // parent still writable
    child.exit();
    mm.exit();
    // the shmem file of MAP_SHARED|MAP_ANONYMOUS goes with its last mapping, and its page with it
    // (issue 8, root cause 10: this used to assert the leaked page, base + 1)
    expect(engine.framesInUse()).toBe(base);
  });

  it("skips VM_DONTCOPY VMAs and leaves VM_WIPEONFORK VMAs empty in the child (no event)", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    const b = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 2);
    fill(mm, b, 2);
    madvise(mm, a, 2 * PAGE, MADV_DONTFORK);
    madvise(mm, b, 2 * PAGE, MADV_WIPEONFORK);
    expect(mm.vmaLookup(a)!.flags & VM.DONTCOPY).toBeTruthy();
    rec.take();
    const child = fork(mm);
    expect(rec.take()).toEqual([]);
    expect(child.vmaLookup(a)).toBeUndefined();
    expect(child.vmaLookup(b)!.anonVma).toBe(false);
    const crec = record(child);
    expect(snap(child, crec.sub, b, 2).words).toEqual([0n, 0n]);
    expect(child.cpuReadU32(b)).toBe(0);
    expect(snap(mm, rec.sub, a, 2).words.every((w) => (w & W) === W)).toBe(true);
    child.exit();
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("dups swap slots and clears SWP_EXCLUSIVE in both", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 2, 3);
    reclaimPages(mm, a, 2 * PAGE);
    const leaf = mm.leafOf(a);
    expect(pte.isRegularSwap(leaf.entry)).toBe(true);
    const slot = pte.swapOffset(leaf.entry);
    rec.take();
    const child = fork(mm);
    expect(rec.take()).toEqual([ev("PROTECTION_PAGE", a, a + 2 * PAGE)]);
    expect(engine.swap.refs(slot)).toBe(2);
    const cl = child.leafOf(a).entry;
    expect(pte.swapOffset(cl)).toBe(slot);
    expect(mm.leafOf(a).entry.lo & 0x80).toBe(0); // SWP_EXCLUSIVE (bit 7) cleared in the parent
    expect(cl.lo & 0x80).toBe(0);
    expect(child.cpuReadU32(a + PAGE)).toBe(3001);
    expect(mm.cpuReadU32(a)).toBe(3000);
    child.exit();
    mm.exit();
    expect([engine.framesInUse(), engine.swap.used]).toEqual([base, 0]);
  });

  it("copies a THP as a write-protected PMD; a child write splits it (CLEAR 2 MiB) then COWs (CLEAR 4 KiB)", () => {
    const { engine, mm, rec, base } = setup({ thp: "always" });
    const a = mm.mmap({ length: PMD, prot: RW, flags: ANON });
    expect(a % PMD).toBe(0);
    mm.cpuWriteU32(a + PAGE, 77);
    const w0 = snap(mm, rec.sub, a, 2).words;
    expect(w0[0] & (V | W | ORD9)).toBe(V | W | ORD9);
    const head = pfnOf(w0[0]);
    rec.take();
    const child = fork(mm);
    expect(rec.take()).toEqual([ev("PROTECTION_PAGE", a, a + PMD)]);
    const crec = record(child);
    expect(snap(child, crec.sub, a, 2).words).toEqual([word(head, V | ORD9), word(head + 1, V | ORD9)]);
    expect(snap(mm, rec.sub, a, 2).words).toEqual([word(head, V | ORD9), word(head + 1, V | ORD9)]);
    expect([engine.refcount(head), engine.mapcount(head)]).toEqual([2, 2]);
    child.cpuWriteU32(a + PAGE, 5);
    expect(crec.take()).toEqual([ev("CLEAR", a, a + PMD), ev("CLEAR", a + PAGE, a + 2 * PAGE)]);
    expect([mm.cpuReadU32(a + PAGE), child.cpuReadU32(a + PAGE)]).toEqual([77, 5]);
    child.exit();
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("makes writable device-private entries readable in both, and restores device-exclusive entries in the parent", () => {
    const { engine, mm, rec, base } = setup();
    const dev = new Device(engine, { pages: 16 });
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 4, 5);
    expect(dev.migrateToDevice(mm, a, a + 2 * PAGE)).toBe(2);
    expect(makeDeviceExclusiveRange(mm, a + 2 * PAGE, a + 3 * PAGE, dev.owner)).toBe(1);
    const w = snap(mm, rec.sub, a, 4, { owner: dev.owner }).words;
    expect(w[0] & (V | W)).toBe(V | W);
    expect(pte.isDeviceExclusive(mm.leafOf(a + 2 * PAGE).entry)).toBe(true);
    const exclPfn = pte.swapOffset(mm.leafOf(a + 2 * PAGE).entry);
    rec.take();
    const child = fork(mm);
    expect(rec.take()).toEqual([ev("PROTECTION_PAGE", a, a + 4 * PAGE)]);
    const crec = record(child);
    const dp = [pfnOf(w[0]), pfnOf(w[1])];
    const expectWords = [word(dp[0], V), word(dp[1], V), word(exclPfn, V), w[3] & ~W];
    expect(snap(mm, rec.sub, a, 4, { owner: dev.owner }).words).toEqual(expectWords);
    expect(snap(child, crec.sub, a, 4, { owner: dev.owner }).words).toEqual(expectWords);
    expect(pte.isPresent(mm.leafOf(a + 2 * PAGE).entry)).toBe(true);
    expect(engine.refcount(dp[0])).toBe(2);
    // both read their data back (migrate_to_ram in each)
    expect([child.cpuReadU32(a), mm.cpuReadU32(a + PAGE), child.cpuReadU32(a + 2 * PAGE)]).toEqual([5000, 5001, 5002]);
    child.exit();
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
    expect(dev.freePages).toBe(16);
  });

  it("copies hugetlb and PFNMAP VMAs (needs copy) and takes the mmap write lock", () => {
    const { engine, mm, rec } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(a, 1);
    mm.mmapReadLock();
    expect(() => fork(mm)).toThrow(SimulationDeadlock);
    expect(() => mm.munmap(a, PAGE)).toThrow(SimulationDeadlock);
    expect(() => mm.mprotect(a, PAGE, 1)).toThrow(SimulationDeadlock);
    mm.mmapReadUnlock();
    engine.setHugetlbPages(21, 2);
    const h = mm.mmap({ length: PMD, prot: RW, flags: ANON | 0x40000 });
    mm.cpuWriteU32(h, 9);
    rec.take();
    const child = fork(mm);
    expect(h).toBeLessThan(a); // top-down allocation: events come in VMA (address) order
    expect(rec.take()).toEqual([ev("PROTECTION_PAGE", h, h + PMD), ev("PROTECTION_PAGE", a, a + 2 * PAGE)]);
    const crec = record(child);
    const hw = snap(child, crec.sub, h, 1).words[0];
    expect(hw & (V | W | ORD9)).toBe(V | ORD9);
    child.cpuWriteU32(h, 10);
    expect(crec.take()).toEqual([ev("CLEAR", h, h + PMD)]);
    expect([mm.cpuReadU32(h), child.cpuReadU32(h)]).toEqual([9, 10]);
    child.exit();
    mm.exit();
  });
});
