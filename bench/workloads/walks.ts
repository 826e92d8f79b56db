// Walk workloads: snapshots of populated spaces (W1 4 KiB pages in cache, W2 THPs, W3 sparse, W4 4 KiB
// pages far beyond the caches) and W6, 512-page calls at random places under the driver protocol.
// WASM scalar and SIMD, the native anchor (gcc -O2; -O3 -march=native for W2) and its memcpy floor
// run in interleaved rounds; the TypeScript reference walker joins with --reference.
import { HMM_PFN_REQ_FAULT, EBUSY, hmmRangeFault, type HmmRange, type WalkEngine } from "../../src/hmm/range-fault.js";
import { PfnArray } from "../../src/hmm/pfns.js";
import { type Build, type Ctx, engineOf, logWorkload, race } from "../lib/context.js";
import { type Workload, fmtBytes } from "../lib/report.js";
import {
  GiB,
  MiB,
  PAGE,
  PMD_SIZE,
  type Scene,
  countValid,
  digest,
  newScene,
  walkOnce,
  writePteTables,
  writeThps,
} from "../lib/scenes.js";
import type { Contender } from "../lib/timing.js";
import { nativeRound } from "../native/native.js";
import { Rng } from "../../src/sim/sched/rng.js";

type Kind = "pte" | "thp" | "sparse";

/** A space of `bytes` populated as `kind` in a fresh engine of `build`. */
export function populated(c: Ctx, build: Build, bytes: number, kind: Kind): Scene {
  const s = newScene(engineOf(c, build), bytes);
  const tables = bytes / PMD_SIZE;
  if (kind === "thp") writeThps(s, s.start, tables);
  else if (kind === "pte") writePteTables(s, s.start, tables);
  else for (let t = 0; t < tables; t += 10) writePteTables(s, s.start + t * PMD_SIZE, 1);
  return s;
}

/** A snapshot workload (defaultFlags 0, the whole space per operation). */
export function snapshot(
  c: Ctx,
  id: string,
  title: string,
  bytes: number,
  kind: Kind,
  scenes?: Record<Build, Scene>,
): Workload {
  c.log(`${id}: ${title}, ${fmtBytes(bytes)}`);
  const sc = scenes ?? { release: populated(c, "release", bytes, kind), simd: populated(c, "simd", bytes, kind) };
  const pages = bytes / PAGE;
  const walkers: { name: string; s: Scene; walker: WalkEngine }[] = [
    { name: "wasm-scalar", s: sc.release, walker: "wasm" },
    { name: "wasm-simd", s: sc.simd, walker: "wasm" },
  ];
  if (c.reference) walkers.push({ name: "reference", s: sc.release, walker: "reference" });
  const arrays = new Map<Scene, PfnArray>();
  const contenders: Contender[] = walkers.map((w) => {
    let p = arrays.get(w.s);
    if (!p) arrays.set(w.s, (p = new PfnArray(w.s.eng, pages)));
    const pf = p;
    return { name: w.name, op: () => w.s.mm.withReadLock(() => walkOnce(w.s, pf, 0n, w.walker)) };
  });
  const nat = c.native.binaries;
  const batchMs = c.batchMs;
  const mode = kind === "thp" ? "thp" : "pte";
  if (kind !== "sparse") {
    if (nat.O2)
      contenders.push({
        name: "native-O2",
        op: () => {},
        external: () => nativeRound(c.native, "O2", mode, pages, batchMs),
      });
    if (kind === "thp" && nat.O3native)
      contenders.push({
        name: "native-O3-march",
        op: () => {},
        external: () => nativeRound(c.native, "O3native", mode, pages, batchMs),
      });
    if (kind === "pte" && nat.O2)
      contenders.push({
        name: "memcpy-floor",
        op: () => {},
        external: () => nativeRound(c.native, "O2", "copy", pages, batchMs),
      });
  }
  const w: Workload = {
    id,
    title: `${title}, ${fmtBytes(bytes)}`,
    pages,
    figures: race(c, contenders, pages, "ns/page"),
    digests: {},
    notes: [],
  };
  for (const x of walkers) {
    const p = arrays.get(x.s)!;
    x.s.mm.withReadLock(() => walkOnce(x.s, p, 0n, x.walker));
    w.digests![x.name] = digest(p);
    if (countValid(p) !== x.s.populated)
      w.notes.push(`WARNING: ${x.name} reports ${countValid(p)} valid pages for ${x.s.populated} populated`);
  }
  if (new Set(Object.values(w.digests!)).size !== 1) w.notes.push("WARNING: the walkers' outputs differ");
  for (const p of arrays.values()) p.free();
  logWorkload(c, w);
  return w;
}

/**
 * The driver protocol of one range (dmirror_range_fault): readBegin, lock, walk, unlock, readRetry.
 * The hmm_range is one object literal per attempt, as a driver fills its struct on the stack.
 */
export function driverRangeFault(s: Scene, start: number, end: number, hmmPfns: PfnArray, walker: WalkEngine): void {
  const opts = { engine: walker };
  for (;;) {
    const seq = s.mm.notifiers.readBegin(s.sub);
    const r: HmmRange = { notifier: s.sub, notifierSeq: seq, start, end, hmmPfns, defaultFlags: HMM_PFN_REQ_FAULT };
    s.mm.mmapReadLock();
    let ret: number;
    try {
      ret = hmmRangeFault(r, opts);
    } finally {
      s.mm.mmapReadUnlock();
    }
    if (ret === EBUSY) continue;
    if (ret !== 0) throw new Error(`bench: hmmRangeFault returned ${ret}`);
    if (!s.mm.notifiers.readRetry(s.sub, seq)) return;
  }
}

/** W6: 512-page calls at uniformly random page offsets of a populated space, µs per call. */
export function randomCalls(c: Ctx, scenes: Record<Build, Scene>): Workload {
  const bytes = scenes.release.bytes;
  c.log(`W6: 512-page calls at random places in ${fmtBytes(bytes)}, driver protocol`);
  const callPages = 512;
  const walkers: { name: string; s: Scene; walker: WalkEngine }[] = [
    { name: "wasm-scalar", s: scenes.release, walker: "wasm" },
    { name: "wasm-simd", s: scenes.simd, walker: "wasm" },
  ];
  if (c.reference) walkers.push({ name: "reference", s: scenes.release, walker: "reference" });
  const arrays: PfnArray[] = [];
  const contenders: Contender[] = walkers.map((x) => {
    const p = new PfnArray(x.s.eng, callPages);
    arrays.push(p);
    const r = Rng.seeded(12345); // the simulator's seeded generator: the same places every run
    const maxStart = x.s.pages - callPages;
    return {
      name: x.name,
      op: () => {
        const start = x.s.start + r.int(maxStart) * PAGE;
        driverRangeFault(x.s, start, start + callPages * PAGE, p, x.walker);
      },
    };
  });
  const w: Workload = {
    id: "W6",
    title: `512-page calls at random places (driver protocol), in ${fmtBytes(bytes)}`,
    pages: callPages,
    figures: race(c, contenders, 1, "µs/call", 1e-3, 2001),
    notes: [
      "one call = readBegin, mmap_read_lock, hmmRangeFault (REQ_FAULT, nothing to fault), unlock, readRetry; starts uniformly random, so most calls touch two PTE tables",
    ],
  };
  for (const p of arrays) p.free();
  logWorkload(c, w);
  return w;
}

export const W1_BYTES = (c: Ctx): number => (c.quick ? 256 * MiB : GiB);
export const W4_BYTES = (c: Ctx): number => (c.quick ? 4 * GiB : 64 * GiB);
