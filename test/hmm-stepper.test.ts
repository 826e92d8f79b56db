// hmmRangeFaultBegin(): the step machine the synchronous hmmRangeFault drives. Stepped to the end
// (a pass per step, or a fault per step in fine mode) it gives the same words, result and stats
// as the synchronous call on an identical machine, and it stops where the kernel can be raced.
import { describe, expect, it } from "vitest";
import {
  EBUSY,
  Engine,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_STEP_FAULT,
  HMM_STEP_PASS,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  Mm,
  PROT_READ,
  PROT_WRITE,
  PfnArray,
  hmmRangeFault,
  hmmRangeFaultBegin,
  madvise,
  reclaimPages,
} from "../src/index.js";
import { ENGINE_OPTS } from "./env.js";

const PAGE = 4096;
const PAGES = 1536;

/** A machine with a mix of states: present, none, protnone (NUMA hinting), swapped, a THP-eligible range. */
function machine() {
  const engine = new Engine(ENGINE_OPTS);
  const mm = new Mm(engine, { numaMigrateOnFault: true });
  const base = mm.mmap({ length: PAGES * PAGE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  for (let p = 0; p < 512; p += 3) mm.cpuWriteU32(base + p * PAGE, p);
  mm.numaHintingScan(base, base + 256 * PAGE);
  reclaimPages(mm, base + 300 * PAGE, 100 * PAGE);
  madvise(mm, base + 1024 * PAGE, 512 * PAGE, MADV_HUGEPAGE);
  const seqs: number[] = [];
  const sub = mm.intervalNotifierInsert(0, mm.taskSize + PAGE, {
    invalidate: (n, _r, cur) => {
      seqs.push(cur);
      mm.notifiers.setSeq(n, cur);
      return true;
    },
  });
  const pfns = new PfnArray(engine, PAGES);
  return { engine, mm, base, sub, pfns, seqs };
}

type M = ReturnType<typeof machine>;

function syncCall(m: M, flags: bigint) {
  const seq = m.mm.notifiers.readBegin(m.sub);
  const stats = { passes: 0, faultedPages: 0, migrationWaits: 0 };
  const ret = m.mm.withReadLock(() =>
    hmmRangeFault(
      {
        notifier: m.sub,
        notifierSeq: seq,
        start: m.base,
        end: m.base + PAGES * PAGE,
        hmmPfns: m.pfns,
        defaultFlags: flags,
      },
      { stats },
    ),
  );
  return { ret, stats, words: m.pfns.toBigUint64Array(), faults: m.mm.stats.faults };
}

function steppedCall(m: M, flags: bigint, fine: boolean) {
  const seq = m.mm.notifiers.readBegin(m.sub);
  m.mm.mmapReadLock();
  const kinds: number[] = [];
  let ret: number;
  try {
    const st = hmmRangeFaultBegin(
      {
        notifier: m.sub,
        notifierSeq: seq,
        start: m.base,
        end: m.base + PAGES * PAGE,
        hmmPfns: m.pfns,
        defaultFlags: flags,
      },
      { fine },
    );
    if (typeof st === "number") throw new Error(`returned ${st} before walking`);
    for (;;) {
      const r = st.step();
      if (r <= 0) {
        ret = r;
        break;
      }
      kinds.push(r);
    }
    return { ret, stats: { ...st.stats }, words: m.pfns.toBigUint64Array(), faults: m.mm.stats.faults, kinds };
  } finally {
    m.mm.mmapReadUnlock();
  }
}

describe("hmmRangeFaultBegin", () => {
  for (const [label, flags] of [
    ["read", HMM_PFN_REQ_FAULT],
    ["write", HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE],
  ] as const) {
    for (const fine of [false, true]) {
      it(`stepped to the end equals the synchronous call (${label} faults, ${fine ? "fine" : "pass"} steps)`, () => {
        const a = machine();
        const b = machine();
        const s = syncCall(a, flags);
        const t = steppedCall(b, flags, fine);
        expect(t.ret).toBe(s.ret);
        expect(t.words).toEqual(s.words);
        // same passes and faulted pages; a NUMA hinting fault moves its page (-EBUSY next pass)
        expect(t.stats).toEqual(s.stats);
        expect(t.faults).toBe(s.faults);
        expect(b.seqs).toEqual(a.seqs);
        expect(b.mm.hmmStats).toEqual(a.mm.hmmStats);
        // a pass step, then the chunk's faults: in fine mode one step per faulted page
        expect(t.kinds.filter((k) => k === HMM_STEP_PASS).length).toBeGreaterThan(0);
        const faultSteps = t.kinds.filter((k) => k === HMM_STEP_FAULT).length;
        if (fine) expect(faultSteps).toBe(t.stats.faultedPages);
        else expect(faultSteps).toBeLessThan(t.stats.faultedPages);
      });
    }
  }

  it("returns the errno at once when the sequence is already stale, and -EBUSY after an invalidation between steps", () => {
    const m = machine();
    const seq = m.mm.notifiers.readBegin(m.sub);
    m.mm.munmap(m.base + 1500 * PAGE, PAGE); // an invalidation outside the walked range still bumps the sequence
    m.mm.mmapReadLock();
    try {
      expect(
        hmmRangeFaultBegin({
          notifier: m.sub,
          notifierSeq: seq,
          start: m.base,
          end: m.base + 64 * PAGE,
          hmmPfns: m.pfns,
          defaultFlags: HMM_PFN_REQ_FAULT,
        }),
      ).toBe(EBUSY);
      const seq2 = m.mm.notifiers.readBegin(m.sub);
      const st = hmmRangeFaultBegin(
        {
          notifier: m.sub,
          notifierSeq: seq2,
          start: m.base,
          end: m.base + 64 * PAGE,
          hmmPfns: m.pfns,
          defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
        },
        { fine: true },
      );
      if (typeof st === "number") throw new Error("stale");
      expect(st.step()).toBe(HMM_STEP_PASS);
      expect(st.nextFaultAddr).toBeGreaterThanOrEqual(m.base);
      expect(st.writeFault).toBe(true);
      // another thread's page-lock-only work lands between two faults of the chunk
      reclaimPages(m.mm, m.base + 60 * PAGE, 4 * PAGE);
      let r: number;
      do r = st.step();
      while (r > 0);
      expect(r).toBe(EBUSY);
    } finally {
      m.mm.mmapReadUnlock();
    }
  });
});
