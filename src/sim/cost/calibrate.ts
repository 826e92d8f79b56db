// calibrate(): measures what this machine's simulator costs for the CPU-side walk, and returns a
// cost profile with those entries marked "measured" (the rest from a base profile). Measuring
// happens only here, with performance.now (any host); simulations charge the numbers it wrote,
// so they stay deterministic. Writing the profile to a file is the caller's job (the CLI's).
import { Engine, type EngineOptions } from "../../engine/engine.js";
import { PAGE_SIZE } from "../../engine/layout.js";
import { Mm } from "../../api/mm.js";
import { Mirror } from "../../drivers/mirror.js";
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, hmmRangeFault } from "../../hmm/range-fault.js";
import { PfnArray } from "../../hmm/pfns.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../../mm/vma.js";
import { type CostProfile, resolveCostProfile } from "./index.js";

/** Options of calibrate(): the base profile, the result's name, the measurement size and repetitions. */
export interface CalibrateOptions {
  /** Profile whose other entries the result keeps (default "generic-x86-pcie4"). */
  base?: string | CostProfile;
  /** Name of the resulting profile (default "calibrated"). */
  name?: string;
  /** Pages per measured call (default 512) and calls per measurement (default 200). */
  pages?: number;
  /** Calls per measurement (default 200). */
  reps?: number;
  /** Options of the engine the measurements run on. */
  engine?: EngineOptions;
  /** The clock (default performance.now). */
  now?: () => number;
}

/** The fastest of a few timed rounds of f (ms per call of f): the least disturbed by other load. */
function timeMs(now: () => number, reps: number, f: () => void, warm = true): number {
  // the first rounds run the JIT's cold code: untimed
  if (warm) for (let i = 0; i < reps; i++) f();
  const samples: number[] = [];
  for (let round = 0; round < 7; round++) {
    const t0 = now();
    for (let i = 0; i < reps; i++) f();
    samples.push((now() - t0) / reps);
  }
  return Math.min(...samples);
}

/**
 * Measures hmm_range_fault per call and per present page walked, and the anonymous fault, on
 * this machine; returns the base profile with walk.pageNs, hmm.callNs and fault.anonNs replaced.
 */
export function calibrate(opts: CalibrateOptions = {}): CostProfile {
  const now = opts.now ?? (() => performance.now());
  const pages = opts.pages ?? 512;
  const reps = opts.reps ?? 200;
  const { profile: base } = resolveCostProfile(opts.base ?? "generic-x86-pcie4");
  const engine = new Engine(opts.engine ?? {});
  const mm = new Mm(engine);
  const len = pages * PAGE_SIZE * 4;
  const addr = mm.mmap({ length: len, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  const mirror = new Mirror(mm);
  const pfns = new PfnArray(engine, pages);
  const call = (start: number, n: number, flags: bigint): number => {
    const seq = mm.notifiers.readBegin(mirror.notifier);
    return mm.withReadLock(() =>
      hmmRangeFault({
        notifier: mirror.notifier,
        notifierSeq: seq,
        start,
        end: start + n * PAGE_SIZE,
        hmmPfns: pfns,
        defaultFlags: flags,
      }),
    );
  };
  try {
    // populated pages: the walk only (REQ_FAULT finds everything present)
    mm.populate(addr, pages * PAGE_SIZE, true);
    const full = timeMs(now, reps, () => call(addr, pages, HMM_PFN_REQ_FAULT));
    const one = timeMs(now, reps * 4, () => call(addr, 1, HMM_PFN_REQ_FAULT));
    const callNs = Math.max(0, one * 1e6);
    const pageNs = Math.max(0, ((full - one) * 1e6) / (pages - 1));
    // anonymous faults: fresh pages each repetition, faulted through the walk
    let next = addr + pages * PAGE_SIZE;
    const chunk = 16;
    const end = addr + len;
    const faultReps = Math.max(1, Math.floor((end - next) / (chunk * PAGE_SIZE) / 5) - 1);
    const t = timeMs(
      now,
      faultReps,
      () => {
        call(next, chunk, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE);
        next += chunk * PAGE_SIZE;
      },
      false,
    );
    const faultNs = Math.max(0, (t * 1e6 - callNs - pageNs * chunk) / chunk);
    const where = `calibrate() on this machine (${engine.build} build, ${pages}-page calls, best of 7 x ${reps})`;
    const measured = (value: number, unit: string) => ({
      value: Math.round(value * 10) / 10,
      unit,
      source: where,
      confidence: "measured" as const,
    });
    return {
      name: opts.name ?? "calibrated",
      description: `${base.description} with the CPU-side walk measured by calibrate()`,
      entries: {
        ...base.entries,
        "hmm.callNs": measured(callNs, "ns"),
        "walk.pageNs": measured(pageNs, "ns/page"),
        "fault.anonNs": measured(faultNs, "ns"),
      },
    };
  } finally {
    pfns.free();
    mirror.release();
    mm.exit();
  }
}
