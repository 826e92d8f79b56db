// A quick measurement of this machine for `hmmsim bench` and `hmmsim calibrate`: hmm_range_fault
// over an anonymous range with each walker, the driver protocol around it (read_begin, mmap read
// lock, walk, unlock): first touch (CPU faults + walk) and resident (walk only). The full
// benchmark suite is `npm run bench` in a checkout (bench/README.md).
import { Engine } from "../engine/engine.js";
import { PAGE_SIZE } from "../engine/layout.js";
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, hmmRangeFault } from "../hmm/range-fault.js";
import { PfnArray } from "../hmm/pfns.js";
import { Mm } from "../api/mm.js";
import { mmuIntervalSetSeq, type MmuIntervalNotifier } from "../mm/notifier.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../mm/vma.js";

export interface WalkFigure {
  walker: "wasm" | "reference";
  build: string;
  pages: number;
  runs: number;
  /** Median ns per page of the first hmm_range_fault over a fresh range (CPU faults included). */
  firstTouchNsPerPage: number;
  /** Median ns per page of hmm_range_fault over the already-resident range (walk only). */
  residentNsPerPage: number;
  /** Median µs per hmm_range_fault call over the resident range. */
  residentUsPerCall: number;
}

/** A driver whose invalidate callback only records the new sequence (like lib/test_hmm.c's). */
const recordSeq = {
  invalidate(sub: MmuIntervalNotifier, _r: unknown, curSeq: number): boolean {
    mmuIntervalSetSeq(sub, curSeq);
    return true;
  },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Measures one walker over `pages` pages, `runs` times. */
export function measureWalk(walker: "wasm" | "reference", pages: number, runs: number): WalkFigure {
  const first: number[] = [];
  const resident: number[] = [];
  let build = "";
  for (let r = 0; r < runs; r++) {
    const engine = new Engine({ walker });
    build = engine.build;
    const mm = new Mm(engine);
    const bytes = pages * PAGE_SIZE;
    const start = mm.mmap({ length: bytes, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    const sub = mm.intervalNotifierInsert(start, bytes, recordSeq);
    const pfns = new PfnArray(engine, pages);
    const walk = (): number => {
      const seq = mm.notifiers.readBegin(sub);
      mm.mmapReadLock();
      const t0 = performance.now();
      const ret = hmmRangeFault({
        notifier: sub,
        notifierSeq: seq,
        start,
        end: start + bytes,
        hmmPfns: pfns,
        defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
      });
      const ms = performance.now() - t0;
      mm.mmapReadUnlock();
      if (ret !== 0) throw new Error(`bench: hmm_range_fault returned ${ret}`);
      return ms;
    };
    first.push(walk());
    resident.push(walk());
    mm.exit();
  }
  const f = median(first),
    m = median(resident);
  return {
    walker,
    build,
    pages,
    runs,
    firstTouchNsPerPage: (f * 1e6) / pages,
    residentNsPerPage: (m * 1e6) / pages,
    residentUsPerCall: m * 1000,
  };
}
