import { describe, expect, it } from "vitest";
import {
  EFAULT,
  Engine,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  MMU_NOTIFY_PROTECTION_VMA,
  Mm,
  PROT_READ,
  PROT_WRITE,
  hmmRangeFault,
  uffdRegisterWp,
  uffdWriteprotect,
  ErrnoError,
} from "../src/index.js";
import { ENGINE_OPTS } from "./env.js";

const PAGE = 4096;
const MiB = 2 ** 20;
const base = 0x7f00_0000_0000;

function setup(length: number, flags = MAP_PRIVATE | MAP_ANONYMOUS, engine = new Engine(ENGINE_OPTS)) {
  const mm = new Mm(engine);
  mm.mmap({ addr: base, length, prot: PROT_READ | PROT_WRITE, flags: flags | MAP_FIXED });
  const events: [number, number, number][] = [];
  const sub = mm.intervalNotifierInsert(base, length, {
    invalidate(s, r, seq) {
      events.push([r.event, r.start, r.end]);
      mm.notifiers.setSeq(s, seq);
      return true;
    },
  });
  const run = (start: number, n: number, req = 0n) => {
    const pfns = new BigUint64Array(n);
    const seq = mm.notifiers.readBegin(sub);
    const ret = mm.withReadLock(() =>
      hmmRangeFault({
        notifier: sub,
        notifierSeq: seq,
        start,
        end: start + n * PAGE,
        hmmPfns: pfns,
        defaultFlags: req,
      }),
    );
    return { ret, flags: [...pfns].map((w) => w & (HMM_PFN_VALID | HMM_PFN_WRITE)) };
  };
  return { mm, events, run };
}

describe("userfaultfd write protection (docs/semantics.md §7)", () => {
  it("UFFDIO_WRITEPROTECT raises PROTECTION_VMA over the requested range; HMM write faults then fail", () => {
    const { mm, events, run } = setup(16 * PAGE);
    uffdRegisterWp(mm, base, 16 * PAGE);
    for (let i = 0; i < 4; i++) mm.touch(base + i * PAGE, true);
    expect(run(base, 4).flags).toEqual(new Array(4).fill(HMM_PFN_VALID | HMM_PFN_WRITE));
    uffdWriteprotect(mm, base + PAGE, 8 * PAGE, true);
    expect(events).toEqual([[MMU_NOTIFY_PROTECTION_VMA, base + PAGE, base + 9 * PAGE]]);
    expect(run(base, 4).flags).toEqual([HMM_PFN_VALID | HMM_PFN_WRITE, HMM_PFN_VALID, HMM_PFN_VALID, HMM_PFN_VALID]);
    // the write fault would go to the userfaultfd: VM_FAULT_SIGBUS without ALLOW_RETRY
    expect(run(base + PAGE, 1, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE).ret).toBe(EFAULT);
    // a read request is satisfied as is
    expect(run(base + PAGE, 1, HMM_PFN_REQ_FAULT).ret).toBe(0);
    // mprotect does not make a protected entry writable again
    mm.mprotect(base, 16 * PAGE, PROT_READ);
    mm.mprotect(base, 16 * PAGE, PROT_READ | PROT_WRITE);
    expect(run(base, 2).flags).toEqual([HMM_PFN_VALID | HMM_PFN_WRITE, HMM_PFN_VALID]);
    events.length = 0;
    uffdWriteprotect(mm, base + PAGE, 8 * PAGE, false);
    expect(events).toEqual([[MMU_NOTIFY_PROTECTION_VMA, base + PAGE, base + 9 * PAGE]]);
    expect(run(base + PAGE, 1, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE)).toEqual({
      ret: 0,
      flags: [HMM_PFN_VALID | HMM_PFN_WRITE],
    });
  });

  it("refuses unregistered ranges and unsupported memory", () => {
    const { mm } = setup(4 * PAGE);
    expect(() => uffdWriteprotect(mm, base, PAGE, true)).toThrow(ErrnoError);
  });
});

describe("hugetlb mprotect", () => {
  it("raises PROTECTION_VMA over the whole range, populated or not", () => {
    const engine = new Engine(ENGINE_OPTS);
    engine.setHugetlbPages(21, 4);
    const { mm, events, run } = setup(4 * 2 * MiB, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, engine);
    mm.mprotect(base, 8 * MiB, PROT_READ);
    expect(events).toEqual([[MMU_NOTIFY_PROTECTION_VMA, base, base + 8 * MiB]]);
    mm.mprotect(base, 8 * MiB, PROT_READ | PROT_WRITE);
    mm.touch(base, true);
    events.length = 0;
    mm.mprotect(base, 2 * MiB, PROT_READ);
    expect(events).toEqual([[MMU_NOTIFY_PROTECTION_VMA, base, base + 2 * MiB]]);
    expect(run(base, 1).flags).toEqual([HMM_PFN_VALID]);
  });
});
