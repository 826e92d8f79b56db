// Spec §4: the hmm_range_fault() retry loop (§4.1), the interval-notifier sequence protocol as seen
// by a driver (§4.2) and the driver-side protocol (§4.3).
import { afterEach, describe, expect, it } from "vitest";
import {
  Device,
  EBUSY,
  EINVAL,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_MIGRATE,
  PROT_READ,
  PfnArray,
  SimulationDeadlock,
  hmmRangeFault,
  lastHmmStats,
  migrateVmaSetup,
  MIGRATE_VMA_SELECT_SYSTEM,
  type Profile,
} from "../src/index.js";
import * as pte from "../src/engine/pte.js";
import {
  PAGE,
  PMD_SIZE,
  STICKY,
  V,
  W,
  baseOf,
  cpuPfn,
  entryAt,
  hexWords,
  makeSim,
  ord,
  runRange,
  writeEntryAt,
  R,
  WR,
  Z,
  b,
  anon,
} from "./helpers.js";

const COMBOS: [4 | 5, Profile][] = [
  [4, "v6.1"],
  [4, "v6.16"],
  [5, "v6.1"],
  [5, "v6.16"],
];

describe.each(COMBOS)("§4.1 retry invariants (%i-level, %s)", (levels, profile) => {
  const base = baseOf(levels);
  const stickyOut = (w: bigint, input: bigint): bigint => (profile === "v6.16" ? (input & STICKY) | w : w);

  it.each([false, true])(
    "external -EBUSY: entries < last are outputs, entries >= last still hold their inputs (PfnArray=%s)",
    (pfnArray) => {
      const t = makeSim({ levels, profile });
      anon(t, base, 8);
      for (let i = 0; i < 3; i++) t.mm.touch(base + i * PAGE, true);
      t.mm.touch(base + 3 * PAGE, false); // zero page: the write request below upgrades it (CLEAR)
      // distinct inputs: request bits, sticky bits and garbage in the pfn field
      const input = Array.from({ length: 8 }, (_, i) => (i === 3 ? WR : R) | STICKY | b(0xabc00 + i));
      const r = runRange(t, { start: base, end: base + 8 * PAGE, req: input, pfnArray });
      expect(r.ret).toBe(EBUSY);
      const want = input.map((inp, i) => (i < 3 ? stickyOut(b(cpuPfn(t, base + i * PAGE)) | V | W, inp) : inp));
      expect(hexWords(r.out)).toEqual(hexWords(want));
      // the fault pass ran over [3, 8): one zero-page upgrade (CLEAR) and four new pages (no event)
      expect(r.stats).toEqual({ passes: 1, faultedPages: 5, migrationWaits: 0 });
      expect(t.events.map((e) => [e.event, e.start, e.end])).toEqual([
        [MMU_NOTIFY_CLEAR, base + 3 * PAGE, base + 4 * PAGE],
      ]);
    },
  );

  it("stale sequence at entry: -EBUSY, nothing written, nothing walked", () => {
    const t = makeSim({ levels, profile });
    anon(t, base, 4);
    t.mm.touch(base, true);
    const seq = t.mm.notifiers.readBegin(t.sub);
    t.mm.notifiers.invalidate(base + 2 * PAGE, base + 3 * PAGE, MMU_NOTIFY_CLEAR, null);
    const input = [R | STICKY, WR, 0n, 0x123n];
    const r = runRange(t, { start: base, end: base + 4 * PAGE, req: input, seq });
    expect(r.ret).toBe(EBUSY);
    expect(hexWords(r.out)).toEqual(hexWords(input));
    expect(r.stats).toEqual({ passes: 0, faultedPages: 0, migrationWaits: 0 });
  });

  it("stale sequence wins over an empty range (checked before walk_page_range's -EINVAL)", () => {
    const t = makeSim({ levels, profile });
    const seq = t.mm.notifiers.readBegin(t.sub);
    t.mm.notifiers.invalidate(0, PAGE, MMU_NOTIFY_CLEAR, null);
    expect(runRange(t, { start: base + PAGE, end: base + PAGE, seq }).ret).toBe(EBUSY);
    expect(runRange(t, { start: base + PAGE, end: base + PAGE }).ret).toBe(EINVAL);
  });

  it("internal -EBUSY after populate-only faults is absorbed: ret 0, two passes, no notifier, read_retry false", () => {
    const t = makeSim({ levels, profile });
    anon(t, base, 8);
    // nothing populated: the hole chunk is the whole VMA, the union of requests is a write fault
    const r = runRange(t, { start: base, end: base + 8 * PAGE, req: [0n, 0n, WR, 0n, R, 0n, 0n, 0n] });
    expect(r.ret).toBe(0);
    expect(r.stats).toEqual({ passes: 2, faultedPages: 8, migrationWaits: 0 });
    expect(t.events).toEqual([]);
    expect(t.mm.notifiers.readRetry(t.sub, r.seq)).toBe(false);
    expect(hexWords(r.out)).toEqual(
      hexWords([0, 1, 2, 3, 4, 5, 6, 7].map((i) => b(cpuPfn(t, base + i * PAGE)) | V | W)),
    );
    // a second, PTE-level fault pass (read, zero pages) is absorbed the same way
    anon(t, base + 16 * PAGE, 8);
    t.mm.touch(base + 16 * PAGE, true);
    const r2 = runRange(t, { start: base + 16 * PAGE, end: base + 24 * PAGE, req: [0n, 0n, 0n, R, 0n, 0n, 0n, 0n] });
    expect(r2.ret).toBe(0);
    expect(r2.stats).toEqual({ passes: 2, faultedPages: 5, migrationWaits: 0 });
    expect(t.events).toEqual([]);
    expect(hexWords(r2.out)).toEqual(hexWords([b(cpuPfn(t, base + 16 * PAGE)) | V | W, 0n, 0n, Z, Z, Z, Z, Z]));
  });

  it("a COW break raises CLEAR and becomes an external -EBUSY; the zero-page upgrade too", () => {
    const t = makeSim({ levels, profile });
    anon(t, base, 2);
    t.mm.touch(base, false);
    t.mm.touch(base + PAGE, false);
    const r = runRange(t, { start: base, end: base + 2 * PAGE, req: [WR, 0n] });
    expect(r.ret).toBe(EBUSY);
    expect(r.stats).toEqual({ passes: 1, faultedPages: 2, migrationWaits: 0 });
    expect(t.events.map((e) => [e.event, e.start, e.end, e.owner, e.blockable])).toEqual([
      [MMU_NOTIFY_CLEAR, base, base + PAGE, null, true],
      [MMU_NOTIFY_CLEAR, base + PAGE, base + 2 * PAGE, null, true],
    ]);
    expect(t.mm.notifiers.readRetry(t.sub, r.seq)).toBe(true);
  });

  it("sequence values: global 2 -> 3 -> 4 -> ..., subscription seq odd, read_begin/read_retry", () => {
    const t = makeSim({ levels, profile });
    const n = t.mm.notifiers;
    anon(t, base, 4);
    expect(n.invalidateSeq).toBe(2);
    const s0 = n.readBegin(t.sub);
    expect(s0).toBe(1);
    t.mm.touch(base, false); // populate only: no invalidation
    expect(n.invalidateSeq).toBe(2);
    expect(n.readRetry(t.sub, s0)).toBe(false);
    const seqs: number[] = [];
    const off = n.onInvalidate((_phase, _r, cur) => seqs.push(cur));
    const r = runRange(t, { start: base, end: base + PAGE, req: [WR], seq: s0 });
    off();
    expect(r.ret).toBe(EBUSY);
    expect(seqs).toEqual([3, 4]);
    expect(n.invalidateSeq).toBe(4);
    expect(n.readRetry(t.sub, s0)).toBe(true);
    const s1 = n.readBegin(t.sub);
    expect(s1).toBe(3);
    const r1 = runRange(t, { start: base, end: base + PAGE, req: [WR], seq: s1 });
    expect(r1.ret).toBe(0);
    expect(n.readRetry(t.sub, s1)).toBe(false);
    t.mm.mprotect(base, PAGE, PROT_READ);
    expect(n.invalidateSeq).toBe(6);
    expect(n.readRetry(t.sub, s1)).toBe(true);
    expect(n.readBegin(t.sub)).toBe(5);
  });
});

describe("§4.3 driver protocol", () => {
  it.each(COMBOS)(
    "converges: read_begin, lock, fault, unlock, driver lock, read_retry, commit (%i-level, %s)",
    (levels, profile) => {
      const t = makeSim({ levels, profile });
      const base = baseOf(levels);
      anon(t, base, 4);
      for (let i = 0; i < 4; i++) t.mm.touch(base + i * PAGE, false); // zero pages
      let driverLocked = false;
      const off = t.mm.notifiers.onInvalidate(() => {
        // an invalidate callback would take driver->update: it can never run inside the commit
        expect(driverLocked).toBe(false);
      });
      const device: bigint[] = [];
      const log: string[] = [];
      let racedOnce = false;
      for (let attempt = 0; attempt < 10; attempt++) {
        const seq = t.mm.notifiers.readBegin(t.sub);
        log.push(`begin ${seq}`);
        const pfns = new BigUint64Array(4);
        t.mm.mmapReadLock();
        const ret = hmmRangeFault({
          notifier: t.sub,
          notifierSeq: seq,
          start: base,
          end: base + 4 * PAGE,
          hmmPfns: pfns,
          defaultFlags: WR,
        });
        t.mm.mmapReadUnlock();
        log.push(`ret ${ret}`);
        if (ret === EBUSY) continue;
        expect(ret).toBe(0);
        if (!racedOnce) {
          // an invalidation between unlock and the driver lock: read_retry must catch it
          racedOnce = true;
          t.mm.notifiers.invalidate(base + PAGE, base + 2 * PAGE, MMU_NOTIFY_CLEAR, null);
        }
        driverLocked = true;
        const retry = t.mm.notifiers.readRetry(t.sub, seq);
        if (!retry) device.push(...pfns);
        driverLocked = false;
        log.push(retry ? "retry" : "commit");
        if (!retry) break;
      }
      off();
      // 4 zero-page upgrades (CLEAR each: 2->...->10), then a successful walk caught by the racing
      // CLEAR (->12), then a clean walk
      expect(log).toEqual(["begin 1", "ret -16", "begin 9", "ret 0", "retry", "begin 11", "ret 0", "commit"]);
      expect(hexWords(device)).toEqual(hexWords([0, 1, 2, 3].map((i) => b(cpuPfn(t, base + i * PAGE)) | V | W)));
    },
  );
});

describe("§4.1 migration waits and hooks", () => {
  afterEach(() => {
    /* nothing shared */
  });

  it.each(COMBOS)(
    "PTE migration entry with a pending migration: finished once, walk restarts at last (%i-level, %s)",
    (levels, profile) => {
      const t = makeSim({ levels, profile });
      const base = baseOf(levels);
      anon(t, base, 4);
      for (let i = 0; i < 4; i++) t.mm.touch(base + i * PAGE, true);
      const e = entryAt(t, base + 2 * PAGE, 0);
      const pfn = pte.pfnOf(e);
      writeEntryAt(t, base + 2 * PAGE, 0, pte.mk.migration(pfn, true));
      let finished = 0;
      t.engine.pendingMigrations.set(pfn, {
        finish: () => {
          finished++;
          writeEntryAt(t, base + 2 * PAGE, 0, e);
          t.engine.pendingMigrations.delete(pfn);
        },
      });
      const passes: { pass: number; last: number }[] = [];
      t.mm.hooks.betweenPasses = (i) => {
        passes.push(i);
        // an unnotified change of page 0 after it was output: the re-walk must not recompute it
        writeEntryAt(t, base, 0, pte.mk.page(cpuPfn(t, base), false));
      };
      const p0 = cpuPfn(t, base);
      const r = runRange(t, { start: base, end: base + 4 * PAGE, req: [0n, 0n, R, 0n] });
      t.mm.hooks.betweenPasses = undefined;
      expect(r.ret).toBe(0);
      expect(finished).toBe(1);
      expect(passes).toEqual([{ pass: 1, last: base + 2 * PAGE }]);
      expect(r.stats).toEqual({ passes: 2, faultedPages: 0, migrationWaits: 1 });
      expect(hexWords(r.out)).toEqual(
        hexWords([b(p0) | V | W, ...[1, 2, 3].map((i) => b(cpuPfn(t, base + i * PAGE)) | V | W)]),
      );
      expect(t.events).toEqual([]);
    },
  );

  it.each(COMBOS)(
    "PMD migration entry: the wait restarts the walk at the chunk start (%i-level, %s)",
    (levels, profile) => {
      const t = makeSim({ levels, profile });
      const base = baseOf(levels);
      t.mm.thp = "always";
      anon(t, base, 512);
      t.mm.touch(base, true);
      const e = entryAt(t, base, 1);
      const pfn = pte.pfnOf(e);
      writeEntryAt(t, base, 1, pte.mk.migration(pfn, true));
      t.engine.pendingMigrations.set(pfn, {
        finish: () => {
          writeEntryAt(t, base, 1, e);
          t.engine.pendingMigrations.delete(pfn);
        },
      });
      const passes: { pass: number; last: number }[] = [];
      t.mm.hooks.betweenPasses = (i) => passes.push(i);
      const r = runRange(t, { start: base + 4 * PAGE, end: base + 8 * PAGE, req: [0n, 0n, 0n, R] });
      expect(r.ret).toBe(0);
      expect(passes).toEqual([{ pass: 1, last: base + 4 * PAGE }]);
      expect(hexWords(r.out)).toEqual(hexWords([0, 1, 2, 3].map((i) => b(pfn + 4 + i) | V | W | ord(9, profile))));
    },
  );

  it("a real migrate_vma_setup in flight: the walk waits for it (finalize restores the page)", () => {
    const t = makeSim();
    const base = baseOf(4);
    anon(t, base, 2);
    t.mm.cpuWriteU32(base, 0x11223344);
    t.mm.touch(base + PAGE, true);
    const pfns = [cpuPfn(t, base), cpuPfn(t, base + PAGE)];
    const owner = { name: "migrator" };
    const m = migrateVmaSetup(t.mm, {
      start: base,
      end: base + 2 * PAGE,
      pgmapOwner: owner,
      flags: MIGRATE_VMA_SELECT_SYSTEM,
    });
    expect(typeof m).toBe("object");
    expect(t.events.map((e) => [e.event, e.start, e.end, e.owner])).toEqual([
      [MMU_NOTIFY_MIGRATE, base, base + 2 * PAGE, owner],
    ]);
    expect(pte.isMigration(entryAt(t, base, 0))).toBe(true);
    t.events.length = 0;
    // no request: migration entries are reported as 0 without waiting
    const r0 = runRange(t, { start: base, end: base + 2 * PAGE });
    expect(r0.out).toEqual([0n, 0n]);
    expect(r0.stats.migrationWaits).toBe(0);
    const r = runRange(t, { start: base, end: base + 2 * PAGE, defaultFlags: R });
    expect(r.ret).toBe(0);
    expect(r.stats.migrationWaits).toBe(1); // one finalize completes both pages
    expect(hexWords(r.out)).toEqual(hexWords(pfns.map((p) => b(p) | V | W)));
    expect(t.events).toEqual([]);
    expect(t.mm.cpuReadU32(base)).toBe(0x11223344);
  });

  it("a migration entry nobody will finish: SimulationDeadlock instead of sleeping forever", () => {
    const t = makeSim();
    const base = baseOf(4);
    anon(t, base, 1);
    writeEntryAt(t, base, 0, pte.mk.migration(0x9999, false));
    expect(() => runRange(t, { start: base, end: base + PAGE, req: [R] })).toThrow(SimulationDeadlock);
    expect(t.mm.isLocked).toBe(false);
  });

  it("betweenFaults is called before every page of a fault chunk after the first", () => {
    const t = makeSim();
    const base = baseOf(4);
    anon(t, base, 8);
    t.mm.touch(base, false);
    const calls: { addr: number; index: number }[] = [];
    const passes: { pass: number; last: number }[] = [];
    t.mm.hooks.betweenFaults = (i) => calls.push(i);
    t.mm.hooks.betweenPasses = (i) => passes.push(i);
    const r = runRange(t, { start: base, end: base + 8 * PAGE, req: [0n, 0n, 0n, 0n, 0n, R, 0n, 0n] });
    expect(r.ret).toBe(0);
    // FAULT(5, 8): handle_mm_fault for 5 (no hook), then hook + fault for 6 and 7
    expect(calls).toEqual([
      { addr: base + 6 * PAGE, index: 6 },
      { addr: base + 7 * PAGE, index: 7 },
    ]);
    expect(passes).toEqual([{ pass: 1, last: base + 5 * PAGE }]);
  });

  it("an invalidation racing between two faults turns the populate-only pass into an external -EBUSY", () => {
    const t = makeSim();
    const base = baseOf(4);
    anon(t, base, 4);
    let passesSeen = 0;
    t.mm.hooks.betweenFaults = ({ addr }) => {
      if (addr === base + 2 * PAGE) t.mm.notifiers.invalidate(base + 3 * PAGE, base + 4 * PAGE, MMU_NOTIFY_CLEAR, null);
    };
    t.mm.hooks.betweenPasses = () => passesSeen++;
    const r = runRange(t, { start: base, end: base + 4 * PAGE, req: [R, 0n, 0n, 0n] });
    expect(r.ret).toBe(EBUSY);
    expect(r.stats).toEqual({ passes: 1, faultedPages: 4, migrationWaits: 0 });
    expect(passesSeen).toBe(0);
    expect(r.out).toEqual(r.input);
  });
});

describe("§4.1 argument checks and the livelock guard", () => {
  const base = baseOf(4);

  it("hmmRangeFault without the mmap lock throws; the write lock is enough", () => {
    const t = makeSim();
    anon(t, base, 1);
    const seq = t.mm.notifiers.readBegin(t.sub);
    const range = { notifier: t.sub, notifierSeq: seq, start: base, end: base + PAGE, hmmPfns: new BigUint64Array(1) };
    expect(() => hmmRangeFault(range)).toThrow(/mmap_assert_locked/);
    t.mm.mmapWriteLock();
    try {
      expect(hmmRangeFault(range)).toBe(0);
    } finally {
      t.mm.mmapWriteUnlock();
    }
  });

  it.each([
    ["start == end", 0, 0],
    ["start > end", 2 * PAGE, PAGE],
    ["unaligned start", 1, PAGE],
    ["unaligned end", 0, PAGE + 8],
  ])("%s -> -EINVAL, nothing written", (_n, s, e) => {
    const t = makeSim();
    anon(t, base, 4);
    const arr = new BigUint64Array([0x77n, 0x88n]);
    const seq = t.mm.notifiers.readBegin(t.sub);
    t.mm.mmapReadLock();
    const ret = hmmRangeFault({
      notifier: t.sub,
      notifierSeq: seq,
      start: base + s,
      end: base + e,
      hmmPfns: arr,
      defaultFlags: R,
    });
    t.mm.mmapReadUnlock();
    expect(ret).toBe(EINVAL);
    expect(Array.from(arr)).toEqual([0x77n, 0x88n]);
  });

  it("a migrate_to_ram that returns 0 without migrating: SimulationDeadlock after maxStalls retries", () => {
    const t = makeSim();
    const dev = new Device(t.engine, { migrateToRam: () => 0 });
    anon(t, base, 1);
    t.mm.touch(base, true);
    expect(dev.migrateToDevice(t.mm, base, base + PAGE)).toBe(1);
    const seq = t.mm.notifiers.readBegin(t.sub);
    t.mm.mmapReadLock();
    try {
      expect(() =>
        hmmRangeFault(
          {
            notifier: t.sub,
            notifierSeq: seq,
            start: base,
            end: base + PAGE,
            hmmPfns: new BigUint64Array(1),
            defaultFlags: R,
          },
          { maxStalls: 5 },
        ),
      ).toThrow(SimulationDeadlock);
    } finally {
      t.mm.mmapReadUnlock();
    }
    expect(dev.migrateToRamCalls).toBe(5);
    expect(lastHmmStats.faultedPages).toBe(5);
    // the device page is still there: nothing was migrated
    expect(pte.isDevicePrivate(entryAt(t, base, 0))).toBe(true);
  });

  it("progress is not a stall: 100 migration waits at advancing addresses do not trip maxStalls = 1", () => {
    const t = makeSim();
    anon(t, base, 100);
    const pfns: number[] = [];
    for (let i = 0; i < 100; i++) {
      const a = base + i * PAGE;
      t.mm.touch(a, true);
      const e = entryAt(t, a, 0);
      const pfn = pte.pfnOf(e);
      pfns.push(pfn);
      writeEntryAt(t, a, 0, pte.mk.migration(pfn, true));
      t.engine.pendingMigrations.set(pfn, {
        finish: () => {
          writeEntryAt(t, a, 0, e);
          t.engine.pendingMigrations.delete(pfn);
        },
      });
    }
    const seq = t.mm.notifiers.readBegin(t.sub);
    const arr = new BigUint64Array(100);
    t.mm.mmapReadLock();
    const ret = hmmRangeFault(
      { notifier: t.sub, notifierSeq: seq, start: base, end: base + 100 * PAGE, hmmPfns: arr, defaultFlags: R },
      { maxStalls: 1 },
    );
    t.mm.mmapReadUnlock();
    expect(ret).toBe(0);
    expect(lastHmmStats).toEqual({ passes: 101, faultedPages: 0, migrationWaits: 100 });
    expect(hexWords(Array.from(arr))).toEqual(hexWords(pfns.map((p) => b(p) | V | W)));
  });

  it("PfnArray and BigUint64Array give the same words", () => {
    const t = makeSim({ profile: "v6.16" });
    anon(t, base, 4);
    t.mm.touch(base, true);
    const req = [STICKY, R, STICKY | WR, 0n];
    const a = runRange(t, { start: base, end: base + 4 * PAGE, req });
    const t2 = makeSim({ profile: "v6.16" });
    anon(t2, base, 4);
    t2.mm.touch(base, true);
    const c = runRange(t2, { start: base, end: base + 4 * PAGE, req, pfnArray: true });
    expect(c.ret).toBe(a.ret);
    expect(hexWords(c.out)).toEqual(hexWords(a.out));
    expect(new PfnArray(t2.engine, 1).length).toBe(1);
  });
});

// A fault chunk never crosses the PMD boundary: the over-fault stops at the end of the PMD.
describe("§3.1 over-fault never crosses a PMD boundary", () => {
  it("a read request at the last page of a PMD faults exactly one page", () => {
    const t = makeSim();
    const base = baseOf(4);
    anon(t, base, 1024);
    t.mm.touch(base, false);
    t.mm.touch(base + PMD_SIZE, false);
    const s = base + PMD_SIZE - 2 * PAGE;
    const r = runRange(t, { start: s, end: s + 4 * PAGE, req: [0n, R, 0n, 0n] });
    expect(r.ret).toBe(0);
    expect(r.stats.faultedPages).toBe(1);
    expect(hexWords(r.out)).toEqual(hexWords([0n, Z, Z, 0n]));
  });
});
