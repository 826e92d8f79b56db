// A quick measurement of this machine for `hmmsim bench` and `hmmsim calibrate`: the device fault
// path (dmirror-style Mirror.fault over an anonymous range) with each walker, first touch (CPU
// faults + walk + commit) and resident (walk + commit only). The full benchmark suite is
// `npm run bench` in a checkout (bench/README.md).
import { Engine } from "../engine/engine.js";
import { PAGE_SIZE } from "../engine/layout.js";
import { Device } from "../drivers/device.js";
import { Mirror } from "../drivers/mirror.js";
import { Mm } from "../api/mm.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../mm/vma.js";

export interface WalkFigure {
  walker: "wasm" | "reference";
  build: string;
  pages: number;
  runs: number;
  /** Median ns per page of the first device fault over a fresh range (CPU faults included). */
  firstTouchNsPerPage: number;
  /** Median ns per page of a device fault over the already-resident range (walk + commit). */
  residentNsPerPage: number;
  /** Median µs per Mirror.fault call over the resident range. */
  residentUsPerCall: number;
}

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
    const dev = new Device(engine, { pages: 64 });
    const mirror = new Mirror(mm, { owner: dev.owner, engine: walker });
    const base = mm.mmap({ length: pages * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    let t0 = performance.now();
    let ret = mirror.fault(base, base + pages * PAGE_SIZE, true);
    first.push(performance.now() - t0);
    if (ret !== 0) throw new Error(`bench: first-touch device fault returned ${ret}`);
    t0 = performance.now();
    ret = mirror.fault(base, base + pages * PAGE_SIZE, true);
    resident.push(performance.now() - t0);
    if (ret !== 0) throw new Error(`bench: resident device fault returned ${ret}`);
    mm.exit();
  }
  const f = median(first), m = median(resident);
  return {
    walker, build, pages, runs,
    firstTouchNsPerPage: (f * 1e6) / pages, residentNsPerPage: (m * 1e6) / pages, residentUsPerCall: m * 1000,
  };
}
