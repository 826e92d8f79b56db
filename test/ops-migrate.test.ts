import { describe, expect, it } from "vitest";
import { EBUSY, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, hmmRangeFault, lastHmmStats } from "../src/hmm/range-fault.js";
import type { Mm } from "../src/api/mm.js";
import { ksmMerge, migratePages, reclaimPages, startMigration } from "../src/ops/index.js";
import * as pte from "../src/engine/pte.js";
import { MAP_FIXED } from "../src/mm/vma.js";
import { ANON, ORD9, PAGE, PMD, RW, V, W, ev, fill, pfnOf, setup, snap, word, type Recorder } from "./ops-helpers.js";

describe("migratePages", () => {
  it("installs migration entries inside CLEAR per page, a walk waits (P7) and completes it with copied contents", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 3, 2);
    const old = snap(mm, rec.sub, a, 4).words;
    rec.take();
    const migs = migratePages(mm, a, 4 * PAGE, { defer: true });
    expect(migs.length).toBe(3);
    expect(rec.take()).toEqual([0, 1, 2].map((i) => ev("CLEAR", a + i * PAGE, a + (i + 1) * PAGE)));
    expect(pte.isMigration(mm.leafOf(a).entry)).toBe(true);
    expect(engine.pendingMigrations.size).toBe(3);
    // a snapshot (no fault requested) reports migration entries as 0 (P3)
    expect(snap(mm, rec.sub, a, 4).words).toEqual([0n, 0n, 0n, 0n]);
    // a faulting walk waits (P7): the migration finishes, internal re-walk, no notifier
    const r = snap(mm, rec.sub, a, 3, { fault: true });
    expect(r.ret).toBe(0);
    expect(lastHmmStats.migrationWaits).toBe(3);
    expect(rec.take()).toEqual([]);
    expect(migs.every((m) => m.state === "done")).toBe(true);
    expect(r.words.map(pfnOf)).toEqual(migs.map((m) => m.dst));
    expect(r.words.every((w) => (w & (V | W)) === (V | W))).toBe(true);
    expect(r.words.map(pfnOf)).not.toEqual(old.slice(0, 3).map(pfnOf));
    expect([mm.cpuReadU32(a), mm.cpuReadU32(a + 2 * PAGE)]).toEqual([2000, 2002]);
    expect(engine.framesInUse()).toBe(base + 3);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("migrates a PMD-mapped THP with one PMD migration entry (M2) in CLEAR over the 2 MiB", () => {
    const { engine, mm, rec, base } = setup({ thp: "always" });
    const a = mm.mmap({ length: PMD, prot: RW, flags: ANON });
    mm.cpuWriteU32(a + 5 * PAGE, 55);
    const head = pfnOf(snap(mm, rec.sub, a, 1).words[0]);
    rec.take();
    const m = startMigration(mm, a + 7 * PAGE)!;
    expect(rec.take()).toEqual([ev("CLEAR", a, a + PMD)]);
    expect(mm.leafOf(a).level).toBe(1);
    expect(pte.isMigration(mm.leafOf(a).entry)).toBe(true);
    // CPU access waits too (fault path)
    expect(mm.cpuReadU32(a + 5 * PAGE)).toBe(55);
    expect(m.state).toBe("done");
    const w = snap(mm, rec.sub, a, 2).words;
    expect(w).toEqual([word(m.dst, V | W | ORD9), word(m.dst + 1, V | W | ORD9)]);
    expect(m.dst).not.toBe(head);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("a pending migration whose range is munmapped releases the old frame at finish; abort restores the old PTE", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 2);
    const [m0, m1] = migratePages(mm, a, 2 * PAGE, { defer: true });
    const src1 = m1.src;
    m1.abort();
    expect(snap(mm, rec.sub, a + PAGE, 1).words[0]).toBe(word(src1, V | W));
    mm.munmap(a, 2 * PAGE);
    m0.finish();
    expect(m0.dst).toBe(0);
    expect(engine.framesInUse()).toBe(base);
  });
});

describe("reclaimPages / MADV_PAGEOUT-style swap-out", () => {
  it("replaces pages by swap entries inside CLEAR per folio; contents come back on swap-in (no notifier)", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    fill(mm, a, 2, 4);
    rec.take();
    const r = reclaimPages(mm, a, 4 * PAGE);
    expect(r.swappedOut).toBe(2);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + PAGE), ev("CLEAR", a + PAGE, a + 2 * PAGE)]);
    expect(engine.framesInUse()).toBe(base);
    expect(engine.swap.used).toBe(2);
    expect(snap(mm, rec.sub, a, 2).words).toEqual([0n, 0n]);
    const f = snap(mm, rec.sub, a, 2, { fault: true });
    expect(f.ret).toBe(0);
    expect(rec.take()).toEqual([]);
    expect(f.words.every((w) => (w & V) === V)).toBe(true);
    expect([mm.cpuReadU32(a), mm.cpuReadU32(a + PAGE), engine.swap.used]).toEqual([4000, 4001, 0]);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });

  it("splits a PMD-mapped THP first (CLEAR 2 MiB), then CLEAR [addr, min(vm_end, addr+2 MiB))", () => {
    const { engine, mm, rec, base } = setup({ thp: "always" });
    const a = mm.mmap({ length: PMD, prot: RW, flags: ANON });
    mm.cpuWriteU32(a + 3 * PAGE, 33);
    rec.take();
    const r = reclaimPages(mm, a, PAGE);
    expect(r.swappedOut).toBe(512);
    expect(rec.take()).toEqual([ev("CLEAR", a, a + PMD), ev("CLEAR", a, a + PMD)]);
    expect(engine.framesInUse()).toBe(base);
    expect(mm.cpuReadU32(a + 3 * PAGE)).toBe(33);
    mm.exit();
    expect([engine.framesInUse(), engine.swap.used]).toEqual([base, 0]);
  });
});

describe("ksmMerge", () => {
  it("write-protects each page (CLEAR 4 KiB) and replaces duplicates by the KSM page (CLEAR 4 KiB)", () => {
    const { engine, mm, rec, base } = setup();
    const a = mm.mmap({ length: 3 * PAGE, prot: RW, flags: ANON });
    for (let i = 0; i < 3; i++) mm.cpuWriteU32(a + i * PAGE, 99);
    const before = snap(mm, rec.sub, a, 3).words.map(pfnOf);
    rec.take();
    const r = ksmMerge(mm, [a, a + PAGE, a + 2 * PAGE]);
    expect(r).toEqual({ merged: 3, freed: 2 });
    expect(rec.take()).toEqual([
      ev("CLEAR", a, a + PAGE),
      ev("CLEAR", a + PAGE, a + 2 * PAGE),
      ev("CLEAR", a + PAGE, a + 2 * PAGE),
      ev("CLEAR", a + 2 * PAGE, a + 3 * PAGE),
      ev("CLEAR", a + 2 * PAGE, a + 3 * PAGE),
    ]);
    expect(snap(mm, rec.sub, a, 3).words).toEqual([word(before[0], V), word(before[0], V), word(before[0], V)]);
    expect(engine.framesInUse()).toBe(base + 1);
    mm.cpuWriteU32(a + PAGE, 1); // COW off the KSM page
    expect(rec.take()).toEqual([ev("CLEAR", a + PAGE, a + 2 * PAGE)]);
    expect([mm.cpuReadU32(a), mm.cpuReadU32(a + PAGE)]).toEqual([99, 1]);
    mm.exit();
    expect(engine.framesInUse()).toBe(base);
  });
});

/** The driver protocol of docs/semantics.md §4.3 with a mirror committed under the driver lock. */
function driverFault(
  mm: Mm,
  rec: Recorder,
  start: number,
  npages: number,
  mirror: Map<number, bigint>,
  log: string[],
): number {
  for (let attempt = 1; attempt <= 10; attempt++) {
    const seq = mm.notifiers.readBegin(rec.sub);
    const pfns = new BigUint64Array(npages);
    mm.mmapReadLock();
    let ret: number;
    try {
      ret = hmmRangeFault({
        notifier: rec.sub,
        notifierSeq: seq,
        start,
        end: start + npages * PAGE,
        hmmPfns: pfns,
        defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
      });
    } finally {
      mm.mmapReadUnlock();
    }
    log.push(`attempt ${attempt}: ret=${ret} passes=${lastHmmStats.passes} waits=${lastHmmStats.migrationWaits}`);
    if (ret === EBUSY) continue;
    if (ret !== 0) return ret;
    // take(driver->update) is implicit: single-threaded, callbacks only run inside operations
    if (mm.notifiers.readRetry(rec.sub, seq)) {
      log.push("read_retry");
      continue;
    }
    for (let i = 0; i < npages; i++) mirror.set(start + i * PAGE, pfns[i]);
    return 0;
  }
  return EBUSY;
}

function expectMirrorMatchesCpu(mm: Mm, mirror: Map<number, bigint>): void {
  for (const [addr, w] of mirror) {
    const t = mm.translate(addr, false)!;
    expect(t).not.toBeNull();
    expect(pfnOf(w)).toBe(t.pfn);
    expect((w & W) !== 0n).toBe(pte.isWrite(mm.leafOf(addr).entry));
  }
}

describe("driver protocol (§4.3) with page-lock-only work injected between faults", () => {
  for (const kind of ["migration", "reclaim"] as const) {
    it(`${kind} of an already-output page: internal re-walk, external -EBUSY, second attempt succeeds, mirror == CPU table`, () => {
      const { mm, rec } = setup();
      // two PMD chunks => two fault passes; the first page is populated before the call
      const boundary = 0x4000_0000;
      const a = mm.mmap({ length: 8 * PAGE, prot: RW, flags: ANON | MAP_FIXED, addr: boundary - 4 * PAGE });
      mm.cpuWriteU32(a, 11);
      const firstPfn = mm.translate(a, false)!.pfn;
      let injected = 0;
      mm.hooks.betweenFaults = ({ addr }) => {
        if (injected || addr <= boundary) return; // during the second pass's faults
        injected++;
        // the walker holds the read lock: write-lock operations would deadlock
        expect(() => mm.munmap(a, PAGE)).toThrow(/mmap_write_lock/);
        if (kind === "migration") migratePages(mm, a, PAGE, { defer: true });
        else reclaimPages(mm, a, PAGE);
      };
      const passes: number[] = [];
      mm.hooks.betweenPasses = ({ pass }) => passes.push(pass);
      const mirror = new Map<number, bigint>();
      const log: string[] = [];
      rec.take();
      const ret = driverFault(mm, rec, a, 8, mirror, log);
      expect(ret).toBe(0);
      expect(injected).toBe(1);
      // attempt 1: pass 1 outputs page 0 and faults the rest of chunk 1, pass 2 (internal re-walk)
      // faults chunk 2 ... and the injected CLEAR on page 0 makes the next check return -EBUSY
      expect(log[0]).toMatch(/^attempt 1: ret=-16 passes=/);
      expect(Number(/passes=(\d+)/.exec(log[0])![1])).toBeGreaterThanOrEqual(2);
      expect(log[1]).toMatch(/^attempt 2: ret=0/);
      expect(log.length).toBe(2);
      expect(rec.take()).toEqual([ev("CLEAR", a, a + PAGE)]);
      if (kind === "migration") expect(log[1]).toMatch(/waits=1/);
      expect(mirror.size).toBe(8);
      expect(pfnOf(mirror.get(a)!)).not.toBe(firstPfn);
      expect(mm.cpuReadU32(a)).toBe(11);
      expectMirrorMatchesCpu(mm, mirror);
      mm.hooks.betweenFaults = undefined;
      mm.exit();
    });
  }
});
