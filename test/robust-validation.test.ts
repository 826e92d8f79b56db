// Every public entry point refuses bad input with a typed error (or the kernel's errno) that names
// the argument, and leaves the simulated state exactly as it was (engine.stateDigest() unchanged).
import { describe, expect, it } from "vitest";
import {
  ArgumentTypeError,
  clearRefs,
  collapseHugePage,
  exitMm,
  insertPfn,
  makeDeviceExclusiveRange,
  migrateDeviceRange,
  migrateVmaSetup,
  oomReap,
  startMigration,
  uffdRegisterWp,
  writebackFile,
  checkInvariants,
  Device,
  Engine,
  ErrnoError,
  HmmsimError,
  InvalidArgumentError,
  LockStateError,
  Mirror,
  Mm,
  PfnArray,
  SimFile,
  UseAfterFreeError,
  brk,
  fork,
  hmmRangeFault,
  khugepagedScan,
  ksmMerge,
  madvise,
  migratePages,
  mremap,
  punchHole,
  reclaimPages,
  truncateFile,
  uffdWriteprotect,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "../src/index.js";
import { ENGINE_OPTS } from "./env.js";

const PAGE = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** A machine with some state: two mappings, written pages, a mirror with entries. */
function machine(): { engine: Engine; mm: Mm; a: number; mirror: Mirror; file: SimFile } {
  const engine = new Engine(ENGINE_OPTS);
  const mm = new Mm(engine);
  const a = mm.mmap({ length: 16 * PAGE, prot: RW, flags: ANON });
  for (let i = 0; i < 4; i++) mm.cpuWriteU32(a + i * PAGE, i + 1);
  const mirror = new Mirror(mm);
  expect(mirror.fault(a, a + 4 * PAGE, true)).toBe(0);
  const file = new SimFile("f", 8 * PAGE, "shmem");
  return { engine, mm, a, mirror, file };
}

type Expect = { cls: abstract new (...a: never[]) => unknown; msg: RegExp };
const TYPE = (arg: string): Expect => ({ cls: ArgumentTypeError, msg: new RegExp(`${arg} must be`) });
const RANGE = (arg: string, rule = "must"): Expect => ({
  cls: InvalidArgumentError,
  msg: new RegExp(`${arg} ${rule}`),
});
const ERRNO = (name: string): Expect => ({ cls: ErrnoError, msg: new RegExp(`^-${name}`) });

/** The classes of bad numbers every numeric argument is tried with. */
const BAD_NUMBERS: [string, unknown, (arg: string) => Expect][] = [
  ["NaN", NaN, (a) => RANGE(a, "must be finite")],
  ["Infinity", Infinity, (a) => RANGE(a, "must be finite")],
  ["-Infinity", -Infinity, (a) => RANGE(a, "must be finite")],
  ["a string", "4096", TYPE],
  ["null", null, TYPE],
  ["a bigint", 4096n, TYPE],
  ["a fraction", 4096.5, (a) => RANGE(a, "must be an integer")],
  ["negative", -4096, (a) => RANGE(a, "must be in")],
  ["2^64", 2 ** 64, (a) => RANGE(a, "must be in")],
];

/** Runs f, expects it to throw `e`, and the machine's digest to be unchanged. */
function refused(engine: Engine, f: () => unknown, e: Expect): void {
  const before = engine.stateDigest();
  let thrown: unknown;
  try {
    f();
  } catch (x) {
    thrown = x;
  }
  expect(thrown, "expected a throw").toBeInstanceOf(e.cls);
  expect(thrown).toBeInstanceOf(HmmsimError);
  expect((thrown as Error).message).toMatch(e.msg);
  expect(engine.stateDigest()).toBe(before);
}

describe("numeric arguments: NaN, ±Infinity, strings, null, bigints, fractions, negatives, 2^64", () => {
  const entry: [string, string, (t: ReturnType<typeof machine>, x: number) => unknown][] = [
    ["mmap", "length", (t, x) => t.mm.mmap({ length: x, prot: RW, flags: ANON })],
    ["mmap", "prot", (t, x) => t.mm.mmap({ length: PAGE, prot: x, flags: ANON })],
    ["mmap", "addr", (t, x) => t.mm.mmap({ addr: x, length: PAGE, prot: RW, flags: ANON | MAP_FIXED })],
    ["munmap", "address", (t, x) => t.mm.munmap(x, PAGE)],
    ["munmap", "length", (t, x) => t.mm.munmap(t.a, x)],
    ["mprotect", "address", (t, x) => t.mm.mprotect(x, PAGE, PROT_READ)],
    ["mprotect", "length", (t, x) => t.mm.mprotect(t.a, x, PROT_READ)],
    ["mprotect", "prot", (t, x) => t.mm.mprotect(t.a, PAGE, x)],
    ["madvise", "address", (t, x) => madvise(t.mm, x, PAGE, 4)],
    ["madvise", "advice", (t, x) => madvise(t.mm, t.a, PAGE, x)],
    ["mremap", "oldLen", (t, x) => mremap(t.mm, t.a, x, PAGE)],
    ["mremap", "newLen", (t, x) => mremap(t.mm, t.a, PAGE, x)],
    ["brk", "newBrk", (t, x) => brk(t.mm, x)],
    ["cpuRead", "addr", (t, x) => t.mm.cpuRead(x, 4)],
    ["cpuWrite", "addr", (t, x) => t.mm.cpuWrite(x, new Uint8Array(4))],
    ["touch", "addr", (t, x) => t.mm.touch(x, true)],
    ["populate", "length", (t, x) => t.mm.populate(t.a, x, true)],
    ["numaHintingScan", "start", (t, x) => t.mm.numaHintingScan(x, t.a + PAGE)],
    ["reclaim", "address", (t, x) => reclaimPages(t.mm, x, PAGE)],
    ["migrate_pages", "length", (t, x) => migratePages(t.mm, t.a, x)],
    ["ksmMerge", "addrs\\[0\\]", (t, x) => ksmMerge(t.mm, [x])],
    ["UFFDIO_WRITEPROTECT", "length", (t, x) => uffdWriteprotect(t.mm, t.a, x, true)],
    [
      "hmmRangeFault",
      "range.start",
      (t, x) =>
        t.mm.withReadLock(() =>
          hmmRangeFault({
            notifier: t.mirror.notifier,
            notifierSeq: t.mm.notifiers.readBegin(t.mirror.notifier),
            start: x,
            end: t.a + PAGE,
            hmmPfns: new BigUint64Array(1),
          }),
        ),
    ],
    ["Mirror.fault", "start", (t, x) => t.mirror.fault(x, t.a + PAGE)],
    ["Mirror.snapshot", "end", (t, x) => t.mirror.snapshot(t.a, x)],
    [
      "Device.migrateToDevice",
      "start",
      (t, x) => new Device(t.engine, { pages: 4 }).migrateToDevice(t.mm, x, t.a + PAGE),
    ],
    ["truncateFile", "newSize", (t, x) => truncateFile(t.engine, t.file, x)],
    ["punchHole", "offset", (t, x) => punchHole(t.engine, t.file, x, PAGE)],
    ["khugepagedScan", "opts.maxPages", (t, x) => khugepagedScan(t.mm, { maxPages: x })],
  ];
  /** Flag words are C ints: a negative one is well typed (the kernel's errno applies), a fraction or 2^64 is not. */
  const BITS = new Set(["prot", "advice"]);
  for (const [fn, arg, call] of entry) {
    it(`${fn}: ${arg.replace(/\\/g, "")}`, () => {
      for (const [name, value, want0] of BAD_NUMBERS) {
        let want = want0;
        if (BITS.has(arg)) {
          if (name === "negative") continue;
          if (name === "a fraction" || name === "2^64") want = (a) => RANGE(a, "must be a 32-bit integer");
        }
        // a negative number or 2^64 as a budget, a size or an index is out of range the same way
        const t = machine();
        if (fn === "Device.migrateToDevice") {
          // the device is part of the state the refused call must not change: made beforehand
          const dev = new Device(t.engine, { pages: 4 });
          refused(t.engine, () => dev.migrateToDevice(t.mm, value as number, t.a + PAGE), want("start"));
          continue;
        }
        refused(t.engine, () => call(t, value as number), want(arg));
      }
    });
  }
});

describe("kernel errnos for well-typed but bad syscall arguments", () => {
  it("mmap: length 0 EINVAL, beyond TASK_SIZE ENOMEM, MAP_FIXED unaligned EINVAL or beyond TASK_SIZE ENOMEM, unknown prot EINVAL", () => {
    const t = machine();
    refused(t.engine, () => t.mm.mmap({ length: 0, prot: RW, flags: ANON }), ERRNO("EINVAL"));
    refused(t.engine, () => t.mm.mmap({ length: 2 ** 48, prot: RW, flags: ANON }), ERRNO("ENOMEM"));
    refused(
      t.engine,
      () => t.mm.mmap({ addr: PAGE + 1, length: PAGE, prot: RW, flags: ANON | MAP_FIXED }),
      ERRNO("EINVAL"),
    );
    refused(
      t.engine,
      () => t.mm.mmap({ addr: 2 ** 47 - PAGE, length: 2 * PAGE, prot: RW, flags: ANON | MAP_FIXED }),
      ERRNO("ENOMEM"),
    );
    refused(t.engine, () => t.mm.mmap({ length: PAGE, prot: 0x100, flags: ANON }), ERRNO("EINVAL"));
    refused(t.engine, () => t.mm.mmap({ length: PAGE, prot: RW, flags: MAP_ANONYMOUS }), ERRNO("EINVAL"));
  });

  it("MAP_FIXED without an address is an InvalidArgumentError naming addr", () => {
    const t = machine();
    refused(
      t.engine,
      () => t.mm.mmap({ length: PAGE, prot: RW, flags: ANON | MAP_FIXED }),
      RANGE("addr", "is required"),
    );
  });

  it("mprotect: length 0 succeeds and changes nothing; unaligned EINVAL; hole ENOMEM; unknown prot EINVAL", () => {
    const t = machine();
    const d = t.engine.stateDigest();
    t.mm.mprotect(t.a, 0, PROT_READ);
    expect(t.engine.stateDigest()).toBe(d);
    refused(t.engine, () => t.mm.mprotect(t.a + 1, PAGE, PROT_READ), ERRNO("EINVAL"));
    refused(t.engine, () => t.mm.mprotect(t.a - 2 * PAGE, 4 * PAGE, PROT_READ), ERRNO("ENOMEM"));
    refused(t.engine, () => t.mm.mprotect(t.a, PAGE, 0x40), ERRNO("EINVAL"));
  });

  it("munmap: length 0 and unaligned EINVAL, beyond the address space EINVAL", () => {
    const t = machine();
    refused(t.engine, () => t.mm.munmap(t.a, 0), ERRNO("EINVAL"));
    refused(t.engine, () => t.mm.munmap(t.a + 8, PAGE), ERRNO("EINVAL"));
    refused(t.engine, () => t.mm.munmap(2 ** 47, PAGE), ERRNO("EINVAL"));
  });

  it("mremap: old_len 0 EINVAL (not modelled), bad flags EINVAL, nothing half-updated", () => {
    const t = machine();
    refused(t.engine, () => mremap(t.mm, t.a, 0, PAGE, 1), ERRNO("EINVAL"));
    refused(t.engine, () => mremap(t.mm, t.a, PAGE, 2 * PAGE, 0x40), ERRNO("EINVAL"));
  });

  it("brk beyond the address space returns the old break and changes nothing", () => {
    const t = machine();
    const old = brk(t.mm);
    const d = t.engine.stateDigest();
    expect(brk(t.mm, 2 ** 60)).toBe(old);
    expect(t.engine.stateDigest()).toBe(d);
  });

  it("hmmRangeFault on a negative start is refused, an unaligned one returns -EINVAL", () => {
    const t = machine();
    const seq = t.mm.notifiers.readBegin(t.mirror.notifier);
    const run = (start: number) =>
      t.mm.withReadLock(() =>
        hmmRangeFault({
          notifier: t.mirror.notifier,
          notifierSeq: seq,
          start,
          end: t.a + PAGE,
          hmmPfns: new BigUint64Array(8),
        }),
      );
    refused(t.engine, () => run(-4096), RANGE("range.start", "must be in"));
    expect(run(t.a + 8)).toBe(-22);
  });
});

describe("sizes that would wrap or exhaust the host are refused", () => {
  it("new PfnArray(engine, 2^29 + 4) and new Device({ pages: 2^32 + 1 }) throw InvalidArgumentError", () => {
    const t = machine();
    refused(t.engine, () => new PfnArray(t.engine, 2 ** 29 + 4), RANGE("length", "must be an integer in"));
    refused(t.engine, () => new Device(t.engine, { pages: 2 ** 32 + 1 }), RANGE("pages", "must be in"));
    refused(t.engine, () => new Device(t.engine, { pages: 0 }), RANGE("pages", "must be in"));
  });

  it("retry budgets must be finite: Mirror maxRetries and hmmRangeFault maxStalls", () => {
    const t = machine();
    refused(t.engine, () => new Mirror(t.mm, { maxRetries: NaN }), RANGE("maxRetries", "must be finite"));
    refused(t.engine, () => new Mirror(t.mm, { maxRetries: Infinity }), RANGE("maxRetries", "must be finite"));
    const seq = t.mm.notifiers.readBegin(t.mirror.notifier);
    refused(
      t.engine,
      () =>
        t.mm.withReadLock(() =>
          hmmRangeFault(
            {
              notifier: t.mirror.notifier,
              notifierSeq: seq,
              start: t.a,
              end: t.a + PAGE,
              hmmPfns: new BigUint64Array(1),
            },
            { maxStalls: NaN },
          ),
        ),
      RANGE("opts.maxStalls", "must be finite"),
    );
  });

  it("enums and options objects: levels, profile, thp, walker, build", () => {
    const t = machine();
    refused(t.engine, () => new Mm(t.engine, { levels: 3 as 4 }), RANGE("levels", "must be one of"));
    refused(t.engine, () => new Mm(t.engine, { profile: "v5" as "v6.1" }), RANGE("profile", "must be one of"));
    refused(t.engine, () => new Mm(t.engine, { thp: "sometimes" as "never" }), RANGE("thp", "must be one of"));
    refused(t.engine, () => new Mm(t.engine, "opts" as never), TYPE("options"));
    expect(() => new Engine({ ...ENGINE_OPTS, ramFrames: NaN })).toThrow(InvalidArgumentError);
    expect(() => new Engine({ ...ENGINE_OPTS, swapPages: -1 })).toThrow(/swapPages must be in/);
  });
});

describe("lifetimes: use after exit, free, release", () => {
  it("an exited Mm refuses every operation with UseAfterFreeError", () => {
    const t = machine();
    const other = new Mm(t.engine);
    other.mmap({ length: PAGE, prot: RW, flags: ANON });
    other.exit();
    const calls: [string, () => unknown][] = [
      ["mmap", () => other.mmap({ length: PAGE, prot: RW, flags: ANON })],
      ["munmap", () => other.munmap(0x10000, PAGE)],
      ["mprotect", () => other.mprotect(0x10000, PAGE, PROT_READ)],
      ["madvise", () => madvise(other, 0x10000, PAGE, 4)],
      ["cpuRead", () => other.cpuReadU32(0x10000)],
      ["fork", () => fork(other)],
      ["Mirror", () => new Mirror(other)],
      ["reclaim", () => reclaimPages(other, 0x10000, PAGE)],
      ["mremap", () => mremap(other, 0x10000, PAGE, PAGE)],
    ];
    for (const [, f] of calls)
      refused(t.engine, f, { cls: UseAfterFreeError, msg: new RegExp(`mm ${other.id} has exited`) });
    expect(calls.length).toBe(9);
  });

  it("a freed PfnArray and a released Mirror are refused", () => {
    const t = machine();
    const p = new PfnArray(t.engine, 4);
    p.free();
    const seq = t.mm.notifiers.readBegin(t.mirror.notifier);
    refused(
      t.engine,
      () =>
        t.mm.withReadLock(() =>
          hmmRangeFault({ notifier: t.mirror.notifier, notifierSeq: seq, start: t.a, end: t.a + PAGE, hmmPfns: p }),
        ),
      { cls: UseAfterFreeError, msg: /hmmPfns was freed/ },
    );
    const m2 = new Mirror(t.mm);
    m2.release();
    refused(t.engine, () => m2.fault(t.a, t.a + PAGE), { cls: UseAfterFreeError, msg: /released/ });
    refused(t.engine, () => m2.release(), { cls: UseAfterFreeError, msg: /already released/ });
  });

  it("lock state: mmap_read_unlock without the lock, doMmap without the write lock", () => {
    const t = machine();
    refused(t.engine, () => t.mm.mmapReadUnlock(), { cls: LockStateError, msg: /without the read lock/ });
    refused(t.engine, () => t.mm.doMmap({ length: PAGE, prot: RW, flags: ANON }), {
      cls: LockStateError,
      msg: /write lock is not held/,
    });
    refused(t.engine, () => t.mm.doMunmap(t.a, PAGE), { cls: LockStateError, msg: /write lock is not held/ });
  });
});

describe("every deliberate error is an HmmsimError, including the notifier layer's", () => {
  it("notifier misuse, SimFile, setHugetlbPages, Engine build/walker and PfnArray indexes", () => {
    const t = machine();
    const cases: [() => unknown, RegExp][] = [
      [
        () => t.mm.intervalNotifierInsert(-PAGE, PAGE, { invalidate: () => true }),
        /start must be a non-negative integer/,
      ],
      [() => t.mm.intervalNotifierInsert(0, PAGE, {} as never), /ops must have an invalidate/],
      [
        () =>
          t.mm.notifiers.invalidateRangeEnd({ start: 0, end: PAGE, event: 1, owner: null, blockable: true, flags: 1 }),
        /without a matching/,
      ],
      [() => new SimFile("f", -1), /size must be in/],
      [() => new SimFile("f", PAGE, "ext4" as "shmem"), /kind must be one of/],
      [() => t.engine.setHugetlbPages(22, 1), /shift must be one of/],
      [() => new Engine({ ...ENGINE_OPTS, walker: "fast" as "wasm" }), /walker must be one of/],
      [() => new PfnArray(t.engine, 4).get(4), /index must be an integer in 0..3/],
    ];
    for (const [f, msg] of cases) {
      const before = t.engine.stateDigest();
      let e: unknown;
      try {
        f();
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(HmmsimError);
      expect((e as Error).message).toMatch(msg);
      expect(t.engine.stateDigest()).toBe(before);
    }
  });
});

describe("hostile calls: every public entry point with undefined, null, NaN, -1, a string, {}, [], 2^64, 1.5, a function, a bigint", () => {
  it("throws only typed errors (HmmsimError), and a refused call changes nothing", () => {
    const bads: unknown[] = [undefined, null, NaN, -1, "x", {}, [], 2 ** 64, 1.5, () => 0, 10n];
    const fns: [string, (x: unknown, e: InstanceType<typeof Engine>, mm: InstanceType<typeof Mm>) => unknown][] = [];
    // biome-ignore lint/suspicious/noExplicitAny: hostile calls hand every entry point whatever a caller could
    const add = (n: string, f: (x: any, e: any, mm: any) => unknown): number => fns.push([n, f]);
    add("new Engine", (x) => new Engine(x === undefined ? ENGINE_OPTS : x));
    add("new Mm", (x, e) => new Mm(e, x));
    add("new Mm engine", (x) => new Mm(x));
    add("mmap", (x, _e, mm) => mm.mmap(x));
    add("mmap.flags", (x, _e, mm) => mm.mmap({ length: 4096, prot: 3, flags: x }));
    add("munmap", (x, _e, mm) => mm.munmap(x, x));
    add("mprotect", (x, _e, mm) => mm.mprotect(0x10000, 4096, x));
    add("cpuRead", (x, _e, mm) => mm.cpuRead(x, x));
    add("cpuWrite", (x, _e, mm) => mm.cpuWrite(0x10000, x));
    add("cpuWriteU32", (x, _e, mm) => mm.cpuWriteU32(0x10000, x));
    add("touch", (x, _e, mm) => mm.touch(x, x));
    add("populate", (x, _e, mm) => mm.populate(0x10000, 4096, x));
    add("numa", (x, _e, mm) => mm.numaHintingScan(x, x));
    add("hmmRangeFault", (x) => hmmRangeFault(x));
    add("hmmRangeFault.opts", (x, _e, mm) => {
      const s = mm.intervalNotifierInsert(0, 4096, { invalidate: () => true });
      return mm.withReadLock(() =>
        hmmRangeFault(
          { notifier: s, notifierSeq: mm.notifiers.readBegin(s), start: 0, end: 4096, hmmPfns: new BigUint64Array(1) },
          x,
        ),
      );
    });
    add("PfnArray", (x, e) => new PfnArray(e, x));
    add("Device", (x, e) => new Device(e, x));
    add("Device.pages", (x, e) => new Device(e, { pages: x }));
    add("Mirror", (x, _e, mm) => new Mirror(mm, x));
    add("Mirror.fault", (x, _e, mm) => new Mirror(mm).fault(x, x));
    add("Mirror.snapshot", (x, _e, mm) => new Mirror(mm).snapshot(0, x));
    add("fork", (x) => fork(x));
    add("madvise", (x, _e, mm) => madvise(mm, 0x10000, 4096, x));
    add("mremap", (x, _e, mm) => mremap(mm, 0x10000, 4096, 8192, x, x));
    add("brk", (x, _e, mm) => brk(mm, x));
    add("migratePages", (x, _e, mm) => migratePages(mm, 0x10000, 4096, x));
    add("startMigration", (x, _e, mm) => startMigration(mm, x));
    add("reclaimPages", (x, _e, mm) => reclaimPages(mm, x, 4096));
    add("ksmMerge", (x, _e, mm) => ksmMerge(mm, x));
    add("khugepagedScan", (x, _e, mm) => khugepagedScan(mm, x));
    add("collapseHugePage", (x, _e, mm) => collapseHugePage(mm, x));
    add("truncateFile", (x, e) => truncateFile(e, x, 0));
    add("punchHole", (x, e) => punchHole(e, new SimFile("f", 4096), x, x));
    add("uffdRegisterWp", (x, _e, mm) => uffdRegisterWp(mm, x, 4096));
    add("uffdWriteprotect", (x, _e, mm) => uffdWriteprotect(mm, 0x10000, 4096, x));
    add("clearRefs", (x, _e, mm) => clearRefs(mm, x));
    add("writebackFile", (x, e) => writebackFile(e, x));
    add("exitMm", (x) => exitMm(x));
    add("oomReap", (x) => oomReap(x));
    add("SimFile", (x) => new SimFile(x, x));
    add("setHugetlbPages", (x, e) => e.setHugetlbPages(21, x));
    add("makeDeviceExclusiveRange", (x, _e, mm) => makeDeviceExclusiveRange(mm, x, x, {}));
    add("migrateVmaSetup", (x, _e, mm) => migrateVmaSetup(mm, x));
    add("migrateDeviceRange", (x, e) => migrateDeviceRange(e, x, x));
    add("intervalNotifierInsert", (x, _e, mm) => mm.intervalNotifierInsert(x, x, x));
    add("checkInvariants", (x, e) => checkInvariants(e, x));
    add("insertPfn", (x, _e, mm) => insertPfn(mm, x, x));
    let calls = 0;
    for (const [name, f] of fns) {
      for (const x of bads) {
        const e = new Engine(ENGINE_OPTS);
        const mm = new Mm(e);
        mm.mmap({ addr: 0x10000, length: 8 * PAGE, prot: RW, flags: ANON | MAP_FIXED });
        const before = e.stateDigest();
        calls++;
        try {
          f(x, e, mm);
        } catch (err) {
          expect(err, `${name}(${String(x)})`).toBeInstanceOf(HmmsimError);
          // (these cases build a subscription or a Mirror before the refused call)
          const setup = ["hmmRangeFault.opts", "Mirror.fault", "Mirror.snapshot", "punchHole"].includes(name);
          if (!setup) expect(e.stateDigest(), `${name}(${String(x)})`).toBe(before);
        }
      }
    }
    expect(calls).toBe(fns.length * bads.length);
  });
});
