import { describe, expect, it } from "vitest";
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_EVENT_NAMES,
  MMU_NOTIFY_EXCLUSIVE,
  MMU_NOTIFY_MIGRATE,
  MMU_NOTIFY_RELEASE,
  MMU_NOTIFY_SOFT_DIRTY,
  MMU_NOTIFY_UNMAP,
  type MmuIntervalNotifier,
  type MmuNotifierRange,
  MmuNotifierSubscriptions,
  WouldBlockError,
  mmuIntervalCheckRetry,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  mmuNotifierRangeInit,
} from "../src/mm/notifier.js";

const PAGE = 4096;
type Call = { name: string; start: number; end: number; event: number; curSeq: number };

/** A dmirror-like driver: records calls, calls setSeq unless told otherwise, answers `ok`. */
function driver(
  mm: MmuNotifierSubscriptions,
  log: Call[],
  name: string,
  start: number,
  length: number,
  opts: { ok?: () => boolean; skipSeq?: (r: MmuNotifierRange) => boolean } = {},
): MmuIntervalNotifier {
  const { ret, sub } = mm.intervalNotifierInsert(start, length, {
    invalidate(s, r, curSeq) {
      log.push({ name, start: r.start, end: r.end, event: r.event, curSeq });
      if (!opts.skipSeq?.(r)) mmuIntervalSetSeq(s, curSeq);
      return opts.ok ? opts.ok() : true;
    },
  });
  expect(ret).toBe(0);
  return sub!;
}

describe("constants", () => {
  it("match the kernel enum and flag values", () => {
    expect([
      MMU_NOTIFY_UNMAP,
      MMU_NOTIFY_CLEAR,
      MMU_NOTIFY_SOFT_DIRTY,
      MMU_NOTIFY_RELEASE,
      MMU_NOTIFY_MIGRATE,
      MMU_NOTIFY_EXCLUSIVE,
    ]).toEqual([0, 1, 4, 5, 6, 7]);
    expect(MMU_NOTIFY_EVENT_NAMES).toEqual([
      "MMU_NOTIFY_UNMAP",
      "MMU_NOTIFY_CLEAR",
      "MMU_NOTIFY_PROTECTION_VMA",
      "MMU_NOTIFY_PROTECTION_PAGE",
      "MMU_NOTIFY_SOFT_DIRTY",
      "MMU_NOTIFY_RELEASE",
      "MMU_NOTIFY_MIGRATE",
      "MMU_NOTIFY_EXCLUSIVE",
    ]);
    expect(MMU_NOTIFIER_RANGE_BLOCKABLE).toBe(1);
    expect(mmuNotifierRangeInit(0, PAGE, MMU_NOTIFY_CLEAR, null, false).flags).toBe(0);
  });
});

describe("sequence protocol", () => {
  it("goes 2 -> 3 -> 4 and makes read_retry true after an overlapping invalidation", () => {
    const mm = new MmuNotifierSubscriptions();
    const log: Call[] = [];
    expect(mm.invalidateSeq).toBe(2);
    const sub = driver(mm, log, "a", 0x10000, 4 * PAGE);
    expect(sub.invalidateSeq).toBe(1);
    const seq = mmuIntervalReadBegin(sub);
    expect(seq).toBe(1);

    const r = mmuNotifierRangeInit(0x11000, 0x12000, MMU_NOTIFY_CLEAR);
    expect(mm.invalidateRangeStart(r)).toBe(0);
    expect([mm.invalidateSeq, mm.activeInvalidateRanges, sub.invalidateSeq]).toEqual([3, 1, 3]);
    expect(log).toEqual([{ name: "a", start: 0x11000, end: 0x12000, event: MMU_NOTIFY_CLEAR, curSeq: 3 }]);
    expect(() => mm.readBegin(sub)).toThrow(WouldBlockError);
    mm.invalidateRangeEnd(r);
    expect([mm.invalidateSeq, mm.activeInvalidateRanges]).toEqual([4, 0]);

    expect(mmuIntervalReadRetry(sub, seq)).toBe(true);
    expect(mmuIntervalCheckRetry(sub, seq)).toBe(true);
    const seq2 = mm.readBegin(sub);
    expect(seq2).toBe(3);
    expect(mm.readRetry(sub, seq2)).toBe(false);
    mm.invalidate(0x10000, 0x11000, MMU_NOTIFY_UNMAP);
    expect([mm.invalidateSeq, sub.invalidateSeq, log[1]!.curSeq]).toEqual([6, 5, 5]);
  });

  it("leaves the seq even and calls no one for non-overlapping ranges (exclusive end, inclusive last)", () => {
    const mm = new MmuNotifierSubscriptions();
    const log: Call[] = [];
    driver(mm, log, "a", 0x10000, 0x2000);
    let activeInside = -1;
    mm.invalidate(0, 0x10000, MMU_NOTIFY_CLEAR, null, {}, () => {
      activeInside = mm.activeInvalidateRanges;
    });
    mm.invalidate(0x12000, 0x13000, MMU_NOTIFY_CLEAR);
    expect([mm.invalidateSeq, log.length, activeInside]).toEqual([2, 0, 1]);
    mm.invalidate(0x11000, 0x12000, MMU_NOTIFY_CLEAR); // last page of the interval
    expect([mm.invalidateSeq, log.length]).toEqual([4, 1]);
  });

  it("calls overlapping subscriptions by start, then insertion order, with one curSeq", () => {
    const mm = new MmuNotifierSubscriptions();
    const log: Call[] = [];
    driver(mm, log, "c", 3 * PAGE, PAGE);
    driver(mm, log, "a1", PAGE, PAGE);
    driver(mm, log, "far", 100 * PAGE, PAGE);
    driver(mm, log, "a2", PAGE, 4 * PAGE);
    mm.invalidate(0, 10 * PAGE, MMU_NOTIFY_CLEAR);
    expect(log.map((c) => `${c.name}@${c.curSeq}`)).toEqual(["a1@3", "a2@3", "c@3"]);
    expect(mm.intervals().map((s) => s.start)).toEqual([PAGE, PAGE, 3 * PAGE, 100 * PAGE]);
  });

  it("bumps only once for nested ranges, at the last end", () => {
    const mm = new MmuNotifierSubscriptions();
    const log: Call[] = [];
    driver(mm, log, "a", 0x10000, PAGE);
    const outer = mmuNotifierRangeInit(0, PAGE, MMU_NOTIFY_CLEAR); // touches no interval
    const r1 = mmuNotifierRangeInit(0x10000, 0x11000, MMU_NOTIFY_CLEAR);
    const r2 = mmuNotifierRangeInit(0, 0x20000, MMU_NOTIFY_UNMAP);
    mm.invalidateRangeStart(outer);
    expect(mm.invalidateSeq).toBe(2);
    mm.invalidateRangeStart(r1);
    mm.invalidateRangeStart(r2);
    expect([mm.invalidateSeq, mm.activeInvalidateRanges, log.map((c) => c.curSeq)]).toEqual([3, 3, [3, 3]]);
    mm.invalidateRangeEnd(r1);
    mm.invalidateRangeEnd(outer);
    expect([mm.invalidateSeq, mm.activeInvalidateRanges]).toEqual([3, 1]);
    mm.invalidateRangeEnd(r2);
    expect([mm.invalidateSeq, mm.activeInvalidateRanges]).toEqual([4, 0]);
    expect(() => mm.invalidateRangeEnd(r2)).toThrow(/without a matching/);
  });

  it("lets a callback that skips setSeq cause no retry (dmirror ignoring its own MIGRATE)", () => {
    const mm = new MmuNotifierSubscriptions();
    const log: Call[] = [];
    const me = {};
    const sub = driver(mm, log, "a", 0, PAGE, { skipSeq: (r) => r.event === MMU_NOTIFY_MIGRATE && r.owner === me });
    const seq = mm.readBegin(sub);
    mm.invalidate(0, PAGE, MMU_NOTIFY_MIGRATE, me);
    expect([log.length, mm.invalidateSeq, mm.readRetry(sub, seq)]).toEqual([1, 4, false]);
    mm.invalidate(0, PAGE, MMU_NOTIFY_MIGRATE, {});
    expect(mm.readRetry(sub, seq)).toBe(true);
  });
});

describe("insert during an invalidation", () => {
  it("defers the insert in an odd epoch: no callback, readBegin blocks until the end", async () => {
    const mm = new MmuNotifierSubscriptions();
    const log: Call[] = [];
    driver(mm, log, "a", 0, PAGE);
    const r = mmuNotifierRangeInit(0, 0x100000, MMU_NOTIFY_UNMAP);
    mm.invalidateRangeStart(r);
    const late = driver(mm, log, "late", 0x10000, PAGE);
    expect([late.invalidateSeq, mm.intervals().includes(late)]).toEqual([3, false]);
    expect(() => mm.readBegin(late)).toThrow(WouldBlockError);
    let resolved = false;
    const pending = mm.readBeginAsync(late).then((s) => {
      resolved = true;
      return s;
    });
    await Promise.resolve();
    expect(resolved).toBe(false);
    mm.invalidateRangeEnd(r);
    expect(await pending).toBe(3);
    expect([mm.invalidateSeq, mm.intervals().includes(late), mm.readRetry(late, 3)]).toEqual([4, true, false]);
    expect(log.map((c) => c.name)).toEqual(["a"]);
    mm.invalidate(0x10000, 0x11000, MMU_NOTIFY_CLEAR);
    expect(log.map((c) => c.name)).toEqual(["a", "late"]);
  });

  it("opens an epoch when inserting during an even active invalidation", () => {
    const mm = new MmuNotifierSubscriptions();
    const log: Call[] = [];
    const r = mmuNotifierRangeInit(0, PAGE, MMU_NOTIFY_CLEAR);
    mm.invalidateRangeStart(r);
    const sub = driver(mm, log, "a", 0x10000, PAGE);
    expect([mm.invalidateSeq, sub.invalidateSeq, mm.intervals().includes(sub)]).toEqual([3, 3, true]);
    expect(() => mm.readBegin(sub)).toThrow(/would block/);
    mm.invalidate(0x10000, 0x11000, MMU_NOTIFY_CLEAR); // nested: the sub is already in the tree
    expect(log.map((c) => c.curSeq)).toEqual([3]);
    mm.invalidateRangeEnd(r);
    expect([mm.invalidateSeq, mm.readBegin(sub)]).toEqual([4, 3]);
  });
});

describe("remove", () => {
  it("is immediate when idle and deferred to the end of a running epoch", () => {
    const mm = new MmuNotifierSubscriptions();
    const log: Call[] = [];
    const a = driver(mm, log, "a", 0, PAGE);
    const b = driver(mm, log, "b", PAGE, PAGE);
    mm.intervalNotifierRemove(a);
    expect(mm.intervals()).toEqual([b]);

    const r = mmuNotifierRangeInit(PAGE, 2 * PAGE, MMU_NOTIFY_CLEAR);
    mm.invalidateRangeStart(r);
    mm.intervalNotifierRemove(b);
    expect([b.removed, mm.intervals().includes(b)]).toEqual([true, true]);
    mm.invalidate(0, 2 * PAGE, MMU_NOTIFY_CLEAR); // nested overlap: b must not hear of it
    mm.invalidateRangeEnd(r);
    expect([mm.intervals().length, log.map((c) => c.name), mm.invalidateSeq]).toEqual([0, ["b"], 4]);
    expect(() => mm.intervalNotifierRemove(b)).toThrow(/already removed/);
  });

  it("drops a still-deferred insert without ever inserting it", () => {
    const mm = new MmuNotifierSubscriptions();
    const log: Call[] = [];
    driver(mm, log, "a", 0, PAGE);
    const r = mmuNotifierRangeInit(0, PAGE, MMU_NOTIFY_CLEAR);
    mm.invalidateRangeStart(r);
    const late = driver(mm, log, "late", 0, PAGE);
    mm.intervalNotifierRemove(late);
    mm.invalidateRangeEnd(r);
    expect(mm.intervals().map((s) => s.start)).toEqual([0]);
    expect(mm.intervals().includes(late)).toBe(false);
  });

  it("throws when called from inside an invalidate callback, and the epoch still ends", () => {
    const mm = new MmuNotifierSubscriptions();
    const { sub } = mm.intervalNotifierInsert(0, PAGE, { invalidate: (s) => (mm.intervalNotifierRemove(s), true) });
    expect(() => mm.invalidate(0, PAGE, MMU_NOTIFY_CLEAR)).toThrow(/from an invalidate callback/);
    expect([mm.invalidateSeq, mm.activeInvalidateRanges, sub!.removed]).toEqual([4, 0, false]);
  });
});

describe("non-blockable ranges", () => {
  it("fails with -EAGAIN, ends the range itself and stops calling", () => {
    const mm = new MmuNotifierSubscriptions();
    const log: Call[] = [];
    const phases: string[] = [];
    mm.onInvalidate((p, _r, s) => phases.push(`${p}${s}`));
    driver(mm, log, "busy", 0, PAGE, { ok: () => false });
    driver(mm, log, "next", PAGE, PAGE);
    const r = mmuNotifierRangeInit(0, 2 * PAGE, MMU_NOTIFY_UNMAP, null, false);
    expect(mm.invalidateRangeStart(r)).toBe(-11);
    expect([mm.activeInvalidateRanges, mm.invalidateSeq, log.map((c) => c.name)]).toEqual([0, 4, ["busy"]]);
    expect(phases).toEqual(["start3", "end4"]);
    expect(() => mm.invalidateRangeEnd(r)).toThrow();
    let ran = false;
    expect(
      mm.invalidate(0, PAGE, MMU_NOTIFY_UNMAP, null, { blockable: false }, () => {
        ran = true;
      }),
    ).toBe(-11);
    expect([ran, mm.activeInvalidateRanges]).toEqual([false, 0]);
  });

  it("rejects a false return for a blockable range, leaving no epoch open", () => {
    const mm = new MmuNotifierSubscriptions();
    driver(mm, [], "busy", 0, PAGE, { ok: () => false });
    expect(() => mm.invalidate(0, PAGE, MMU_NOTIFY_CLEAR)).toThrow(/blockable/);
    expect([mm.activeInvalidateRanges, mm.invalidateSeq]).toEqual([0, 4]);
  });
});

describe("release", () => {
  it("calls every subscription once with RELEASE over [0, Infinity) and ignores false", () => {
    const mm = new MmuNotifierSubscriptions();
    const log: Call[] = [];
    const ranges: MmuNotifierRange[] = [];
    mm.onInvalidate((_p, r) => ranges.push(r));
    driver(mm, log, "hi", 2 ** 56, PAGE, { ok: () => false });
    driver(mm, log, "lo", 0, PAGE);
    mm.release();
    expect(log).toEqual([
      { name: "lo", start: 0, end: Infinity, event: MMU_NOTIFY_RELEASE, curSeq: 3 },
      { name: "hi", start: 0, end: Infinity, event: MMU_NOTIFY_RELEASE, curSeq: 3 },
    ]);
    expect(ranges[0]).toMatchObject({ blockable: true, flags: MMU_NOTIFIER_RANGE_BLOCKABLE });
    expect([mm.invalidateSeq, mm.activeInvalidateRanges]).toEqual([4, 0]);
  });

  it("leaves an mm without subscriptions idle", () => {
    const mm = new MmuNotifierSubscriptions();
    mm.release();
    expect([mm.invalidateSeq, mm.activeInvalidateRanges]).toEqual([2, 0]);
  });
});

describe("insert validation", () => {
  const ops = { invalidate: () => true };
  it("returns -EOVERFLOW for an empty or wrapping interval", () => {
    const mm = new MmuNotifierSubscriptions();
    expect(mm.intervalNotifierInsert(0, 0, ops)).toEqual({ ret: -75 });
    expect(mm.intervalNotifierInsert(2 ** 64 - 2 * PAGE, 4 * PAGE, ops)).toEqual({ ret: -75 });
    expect(mm.intervalNotifierInsert(2 ** 64, PAGE, ops)).toEqual({ ret: -75 });
    const top = mm.intervalNotifierInsert(2 ** 64 - PAGE, PAGE, ops); // last = 2^64 - 1 is fine
    expect(top.ret).toBe(0);
    expect(mm.intervals()).toEqual([top.sub]);
  });

  it("throws RangeError / TypeError for malformed arguments", () => {
    const mm = new MmuNotifierSubscriptions();
    expect(() => mm.intervalNotifierInsert(-PAGE, PAGE, ops)).toThrow(RangeError);
    expect(() => mm.intervalNotifierInsert(0, 1.5, ops)).toThrow(RangeError);
    expect(() => mm.intervalNotifierInsert(NaN, PAGE, ops)).toThrow(/start/);
    expect(() => mm.intervalNotifierInsert(0, PAGE, {} as never)).toThrow(TypeError);
    expect(() => mm.invalidate(PAGE, PAGE, MMU_NOTIFY_CLEAR)).toThrow(RangeError);
    expect(() => mm.invalidateRangeStart({ ...mmuNotifierRangeInit(0, PAGE, MMU_NOTIFY_CLEAR), flags: 0 })).toThrow(
      /disagrees/,
    );
    const other = new MmuNotifierSubscriptions().intervalNotifierInsert(0, PAGE, ops).sub!;
    expect(() => mm.readBegin(other)).toThrow(/does not belong/);
    expect(mm.activeInvalidateRanges).toBe(0);
  });
});

describe("tracing", () => {
  it("reports every start and end, overlapping or not, until unsubscribed", () => {
    const mm = new MmuNotifierSubscriptions();
    const trace: string[] = [];
    const off = mm.onInvalidate((p, r, s) =>
      trace.push(`${p} ${MMU_NOTIFY_EVENT_NAMES[r.event]} ${r.start}-${r.end} seq${s}`),
    );
    driver(mm, [], "a", 2 ** 57 - PAGE, PAGE);
    mm.invalidate(0, PAGE, MMU_NOTIFY_CLEAR);
    mm.invalidate(0, Infinity, MMU_NOTIFY_SOFT_DIRTY);
    off();
    mm.invalidate(0, Infinity, MMU_NOTIFY_SOFT_DIRTY);
    expect(trace).toEqual([
      "start MMU_NOTIFY_CLEAR 0-4096 seq2",
      "end MMU_NOTIFY_CLEAR 0-4096 seq2",
      "start MMU_NOTIFY_SOFT_DIRTY 0-Infinity seq3",
      "end MMU_NOTIFY_SOFT_DIRTY 0-Infinity seq4",
    ]);
    expect(mm.invalidateSeq).toBe(6);
  });
});
