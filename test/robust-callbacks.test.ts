// All-or-nothing operations: a user callback that throws (notifier, pageFree, migrateToRam, hooks)
// cannot stop the kernel's operation: it completes consistently and the exception comes back as a
// CallbackError carrying the original as `cause`. Calls the kernel forbids from a callback (exit,
// munmap) are refused before anything changes. Running out of engine memory or swap fails the
// kernel's way with the state intact.
import { describe, expect, it } from "vitest";
import {
  CallbackError,
  Device,
  Engine,
  ErrnoError,
  LockStateError,
  Mirror,
  Mm,
  hmmRangeFault,
  fork,
  reclaimPages,
  HMM_PFN_REQ_FAULT,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  VM,
  checkInvariants,
  checkTeardown,
} from "../src/index.js";
import * as pte from "../src/engine/pte.js";
import { ENGINE_OPTS } from "./env.js";

const PAGE = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** An Mm with 8 written pages and a subscription whose callback throws while `arm` is set. */
function withThrower(): { engine: Engine; mm: Mm; a: number; boom: Error; arm: (on: boolean) => void; mirror: Mirror } {
  const engine = new Engine(ENGINE_OPTS);
  const mm = new Mm(engine);
  const a = mm.mmap({ length: 8 * PAGE, prot: RW, flags: ANON });
  for (let i = 0; i < 8; i++) mm.cpuWriteU32(a + i * PAGE, i + 1);
  const mirror = new Mirror(mm);
  expect(mirror.fault(a, a + 8 * PAGE, true)).toBe(0);
  const boom = new Error("driver bug");
  let on = false;
  mm.intervalNotifierInsert(0, 2 ** 47, {
    invalidate: (sub, _r, seq) => {
      mm.notifiers.setSeq(sub, seq);
      if (on) throw boom;
      return true;
    },
  });
  return { engine, mm, a, boom, arm: (x) => void (on = x), mirror };
}

function expectCallbackError(f: () => unknown, cause: unknown): CallbackError {
  let e: unknown;
  try {
    f();
  } catch (x) {
    e = x;
  }
  expect(e).toBeInstanceOf(CallbackError);
  expect((e as CallbackError).cause).toBe(cause);
  expect((e as Error).message).toMatch(/driver bug/);
  return e as CallbackError;
}

describe("a throwing notifier callback cannot stop the operation", () => {
  it("munmap completes: VMA list, engine table and entries in step, the other mirror invalidated", () => {
    const t = withThrower();
    t.arm(true);
    expectCallbackError(() => t.mm.munmap(t.a + 2 * PAGE, 2 * PAGE), t.boom);
    t.arm(false);
    expect(t.mm.vmas.map((v) => [v.start, v.end])).toEqual([
      [t.a, t.a + 2 * PAGE],
      [t.a + 4 * PAGE, t.a + 8 * PAGE],
    ]);
    expect(pte.isNone(t.mm.leafOf(t.a + 2 * PAGE).entry)).toBe(true);
    expect(checkInvariants(t.engine, { mirrors: [t.mirror] })).toEqual([]);
    expect(t.mm.notifiers.activeInvalidateRanges).toBe(0);
  });

  it("mprotect completes: read-only VMA and read-only PTEs, no mirror keeps write", () => {
    const t = withThrower();
    t.arm(true);
    expectCallbackError(() => t.mm.mprotect(t.a, 8 * PAGE, PROT_READ), t.boom);
    t.arm(false);
    expect(t.mm.vmas[0].flags & VM.WRITE).toBe(0);
    expect(pte.isWrite(t.mm.leafOf(t.a).entry)).toBe(false);
    expect(checkInvariants(t.engine, { mirrors: [t.mirror] })).toEqual([]);
  });

  it("fork: the child is torn down (the caller never gets it), nothing leaks", () => {
    const t = withThrower();
    const frames = t.engine.framesInUse();
    t.arm(true);
    expectCallbackError(() => fork(t.mm), t.boom);
    t.arm(false);
    expect(t.engine.framesInUse()).toBe(frames);
    expect(checkInvariants(t.engine, { mirrors: [t.mirror] })).toEqual([]);
    t.mm.exit();
    expect(checkTeardown(t.engine)).toEqual([]);
  });

  it("a COW break completes: the new page is mapped and the old one dropped, no leak", () => {
    const t = withThrower();
    const child = fork(t.mm);
    t.arm(true);
    expectCallbackError(() => t.mm.cpuWriteU32(t.a, 42), t.boom);
    t.arm(false);
    expect(t.mm.cpuReadU32(t.a)).toBe(42);
    expect(child.cpuReadU32(t.a)).toBe(1);
    expect(checkInvariants(t.engine, { mirrors: [t.mirror] })).toEqual([]);
    child.exit();
    t.mm.exit();
    expect(checkTeardown(t.engine)).toEqual([]);
  });
});

describe("calls the kernel forbids from a callback are refused before anything changes", () => {
  it("exit or munmap from a notifier callback: LockStateError, the outer munmap completes", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(a, 1);
    const other = new Mm(engine);
    const b = other.mmap({ length: PAGE, prot: RW, flags: ANON });
    let which: "exit" | "munmap" = "exit";
    mm.intervalNotifierInsert(0, 2 ** 47, {
      invalidate: () => {
        if (which === "exit") mm.exit();
        else other.munmap(b, PAGE);
        return true;
      },
    });
    expect(() => mm.munmap(a, PAGE)).toThrow(LockStateError);
    expect(mm.exited).toBe(false);
    expect(mm.vmas[0].start).toBe(a + PAGE);
    which = "munmap";
    expect(() => mm.munmap(a + PAGE, PAGE)).toThrow(
      /mmap_write_lock on mm 2 from inside an mmu notifier invalidate callback/,
    );
    expect(other.vmas.length).toBe(1);
    expect(checkInvariants(engine)).toEqual([]);
  });

  it("exit from a betweenFaults hook: LockStateError, no WebAssembly trap, state intact", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    const sub = mm.intervalNotifierInsert(a, 4 * PAGE, { invalidate: () => true });
    mm.hooks.betweenFaults = () => mm.exit();
    const seq = mm.notifiers.readBegin(sub);
    expect(() =>
      mm.withReadLock(() =>
        hmmRangeFault({
          notifier: sub,
          notifierSeq: seq,
          start: a,
          end: a + 4 * PAGE,
          hmmPfns: new BigUint64Array(4),
          defaultFlags: HMM_PFN_REQ_FAULT,
        }),
      ),
    ).toThrow(/exit_mmap: mm 1 is in use/);
    expect(mm.exited).toBe(false);
    mm.hooks.betweenFaults = undefined;
    expect(checkInvariants(engine)).toEqual([]);
    mm.exit();
    expect(checkTeardown(engine)).toEqual([]);
  });

  it("a hook's own exception surfaces as CallbackError with the original as cause", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    const sub = mm.intervalNotifierInsert(a, 4 * PAGE, { invalidate: () => true });
    const boom = new Error("driver bug");
    mm.hooks.betweenFaults = () => {
      throw boom;
    };
    const seq = mm.notifiers.readBegin(sub);
    expectCallbackError(
      () =>
        mm.withReadLock(() =>
          hmmRangeFault({
            notifier: sub,
            notifierSeq: seq,
            start: a,
            end: a + 4 * PAGE,
            hmmPfns: new BigUint64Array(4),
            defaultFlags: HMM_PFN_REQ_FAULT,
          }),
        ),
      boom,
    );
    expect(mm.isLocked).toBe(false);
    expect(checkInvariants(engine)).toEqual([]);
  });
});

describe("throwing device callbacks", () => {
  it("pageFree that throws: munmap of device pages completes, every page back on the free list", () => {
    const engine = new Engine(ENGINE_OPTS);
    const boom = new Error("driver bug");
    const dev = new Device(engine, {
      pages: 8,
      pageFree: () => {
        throw boom;
      },
    });
    const mm = new Mm(engine);
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    for (let i = 0; i < 4; i++) mm.cpuWriteU32(a + i * PAGE, i);
    expect(dev.migrateToDevice(mm, a, a + 4 * PAGE)).toBe(4);
    expectCallbackError(() => mm.munmap(a, 4 * PAGE), boom);
    expect(dev.freePages).toBe(8);
    expect(checkInvariants(engine)).toEqual([]);
  });

  it("migrateToRam that throws: the CPU access fails with CallbackError, the device page stays mapped", () => {
    const engine = new Engine(ENGINE_OPTS);
    const boom = new Error("driver bug");
    const dev = new Device(engine, {
      pages: 8,
      migrateToRam: () => {
        throw boom;
      },
    });
    const mm = new Mm(engine);
    const a = mm.mmap({ length: PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(a, 5);
    expect(dev.migrateToDevice(mm, a, a + PAGE)).toBe(1);
    const d = engine.stateDigest();
    expectCallbackError(() => mm.cpuReadU32(a), boom);
    expect(pte.isDevicePrivate(mm.leafOf(a).entry)).toBe(true);
    expect(engine.stateDigest()).toBe(d);
    expect(checkInvariants(engine)).toEqual([]);
  });
});

describe("resource limits", () => {
  it("memoryLimit: out of engine memory a fault is VM_FAULT_OOM (-EFAULT), mmap -ENOMEM, state intact", () => {
    const engine = new Engine({ ...ENGINE_OPTS, memoryLimit: 0 });
    const mm = new Mm(engine);
    const a = mm.mmap({ length: 64 * PAGE, prot: RW, flags: ANON });
    // fill the engine's memory with page tables far apart until a fault runs out
    let oom: unknown;
    let i = 0;
    for (; i < 100000 && !oom; i++) {
      try {
        const x = mm.mmap({ length: PAGE, prot: RW, flags: ANON | 0x10, addr: (i + 1) * 2 ** 30 });
        mm.touch(x, true);
      } catch (e) {
        oom = e;
      }
    }
    expect(oom).toBeInstanceOf(ErrnoError);
    expect((oom as Error).message).toMatch(/ENOMEM|VM_FAULT_OOM/);
    const d = engine.stateDigest();
    const sub = mm.intervalNotifierInsert(a, 64 * PAGE, { invalidate: () => true });
    const d2 = engine.stateDigest();
    expect(d2).not.toBe(d);
    const seq = mm.notifiers.readBegin(sub);
    // hmmRangeFault over pages needing a table that cannot be allocated: -EFAULT, nothing changed
    const far = (i + 5) * 2 ** 30;
    let ret = 0;
    try {
      mm.mmap({ length: PAGE, prot: RW, flags: ANON | 0x10, addr: far });
      const s2 = mm.intervalNotifierInsert(far, PAGE, { invalidate: () => true });
      const before = engine.stateDigest();
      ret = mm.withReadLock(() =>
        hmmRangeFault({
          notifier: s2,
          notifierSeq: mm.notifiers.readBegin(s2),
          start: far,
          end: far + PAGE,
          hmmPfns: new BigUint64Array(1),
          defaultFlags: HMM_PFN_REQ_FAULT,
        }),
      );
      expect(ret).toBe(-14);
      expect(engine.stateDigest()).toBe(before);
    } catch (e) {
      expect(e).toBeInstanceOf(ErrnoError); // the VMA table itself could not grow: -ENOMEM
      expect((e as ErrnoError).errno).toBe(-12);
    }
    expect(seq).toBeGreaterThan(0);
    expect(checkInvariants(engine)).toEqual([]);
  });

  it("swapPages: a full swap device fails reclaim of the rest like the kernel; unwritten pages cost no memory", () => {
    const engine = new Engine({ ...ENGINE_OPTS, swapPages: 2 });
    const mm = new Mm(engine);
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    for (let i = 0; i < 4; i++) mm.touch(a + i * PAGE, true); // allocated, never written
    const r = reclaimPages(mm, a, 4 * PAGE);
    expect(r.swappedOut).toBe(2);
    expect(r.skipped).toBe(2);
    expect(engine.swap.used).toBe(2);
    expect(engine.materialisedFrames()).toBe(0);
    const slot = pte.swapOffset(mm.leafOf(a).entry);
    expect(engine.swap.read(slot)).toBeNull();
    expect(mm.cpuReadU32(a)).toBe(0);
    expect(checkInvariants(engine)).toEqual([]);
  });
});
