// Benchmarks of hmmRangeFault(): the WebAssembly walker (release and SIMD builds) against the
// TypeScript reference walker, side by side in one run. `hmmsim bench` and `npm run bench` call
// runBenchmarks(); bench/README.md describes the workloads and how to read the output.
//
// Two kinds of figures are produced for every workload:
//  - hrtime figures: the median of N timed runs with process.hrtime.bigint() (setup excluded),
//    from which ns/page, pages/s and the WASM / reference ratio are derived;
//  - benny suites: the same operation per walker, saved as JSON and as an offline bar chart
//    (bench/chart.ts: uPlot inlined, no CDN).
// Targets are reported (met / missed), never asserted.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import * as os from "node:os";
import { Engine } from "../src/engine/engine.js";
import {
  EBUSY, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, hmmRangeFault, lastHmmStats,
  type HmmRange, type WalkEngine,
} from "../src/hmm/range-fault.js";
import { FRAME, HMM_PFN_HI, PAGE_SIZE, PHYS, PMD_SHIFT } from "../src/engine/layout.js";
import { Mm } from "../src/api/mm.js";
import { MMU_NOTIFY_MIGRATE, type MmuIntervalNotifier, mmuIntervalSetSeq } from "../src/mm/notifier.js";
import { PfnArray } from "../src/hmm/pfns.js";
import * as pte from "../src/engine/pte.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../src/mm/vma.js";
import type { WasmBuild } from "../src/engine/builds.js";
import { wasmPath } from "../src/engine/wasm-file.node.js";
import { writeBarChart } from "./chart.js";

// ---- public types -----------------------------------------------------------------------------

export interface BenchOptions {
  /** Smaller sizes and shorter suites (finishes in well under a minute); no capacity probe. */
  quick: boolean;
  /** Path of the JSON report (default bench/results/report[-quick].json); benny's files go beside it. */
  out?: string;
  /** Progress and result lines (default: console.log). */
  log?: (s: string) => void;
  /** Run only these workloads (ids such as "W1", "W6", "MEM"); default: all. */
  only?: string[];
}

/** One walker's figures on one workload. */
export interface WalkerFigure {
  /** "wasm" (release build), "wasm-simd" (SIMD build) or "reference" (TypeScript walker). */
  walker: string;
  /** The engine build that ran (after the SIMD fallback). */
  build: WasmBuild;
  runs: number;
  /** Median wall time of one operation (ns). */
  medianNs: number;
  minNs: number;
  /** Median ns per page (per faulted page for W5). */
  nsPerPage: number;
  pagesPerSec: number;
  /** W6: median µs per hmmRangeFault call (full driver protocol). */
  usPerCall?: number;
  /** W7: retries per operation (walk passes after the first, or driver -EBUSY retries). */
  retries?: number;
  /** W5/W7: faulted pages and migration waits per operation. */
  faultedPages?: number;
  migrationWaits?: number;
}

export interface BennyFigure {
  name: string;
  opsPerSec: number;
  marginPct: number;
  samples: number;
}

export interface WorkloadResult {
  id: string;
  title: string;
  /** Pages per operation (for W6: pages per call). */
  pages: number;
  /** Bytes of address space per operation. */
  bytes: number;
  /** Pages populated in the address space the operation runs in. */
  populatedPages: number;
  figures: WalkerFigure[];
  /** reference ns / WASM (release) ns, from the hrtime medians: how many times faster WASM is. */
  wasmSpeedup?: number;
  benny?: { files: string[]; results: BennyFigure[] };
  /** Output of the WASM and reference walkers compared word for word. */
  outputsMatch?: boolean;
  notes: string[];
  /** Sub-results (W7: one per k). */
  variants?: WorkloadResult[];
}

export interface MemoryFigure {
  label: string;
  pages: number;
  bytesOfSpace: number;
  /** engine.memoryBytes(): the whole linear memory (fixed regions + heap + doubling slack). */
  memoryBytes: number;
  /** blocks in use x 4 KiB: page tables, frame metadata chunks, mm struct, VMA table. */
  blockBytes: number;
  pageTables: number;
  memoryBytesPerPage: number;
  blockBytesPerPage: number;
  populateNsPerPage: number;
}

export interface CapacityFigure {
  kind: "4k" | "thp";
  /** Largest populated space with a distinct frame behind every page. */
  distinctBytes: number;
  distinctStoppedBy: string;
  /** Largest populated space when frames are mapped again (page tables only grow). */
  totalBytes: number;
  totalStoppedBy: string;
  memoryBytes: number;
  blockBytes: number;
  seconds: number;
  /** A 1 GiB walk at the far end of the space (WASM), ns/page. */
  tailWalkNsPerPage?: number;
}

export interface TargetCheck {
  what: string;
  target: string;
  measured: string;
  met: boolean | null;
}

export interface BenchReport {
  quick: boolean;
  date: string;
  machine: { node: string; v8: string; cpus: number; cpuModel: string; totalMemGiB: number; platform: string; arch: string; loadAvgStart: number[]; loadAvgEnd?: number[] };
  builds: { release: boolean; simd: boolean; simdRanAs: WasmBuild; simdIdenticalToRelease: boolean | null };
  referenceWalker: "loaded" | "missing";
  workloads: WorkloadResult[];
  memory: MemoryFigure[];
  capacity: CapacityFigure[];
  targets: TargetCheck[];
  files: string[];
  seconds: number;
}

// ---- constants and small helpers --------------------------------------------------------------

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const PAGE = PAGE_SIZE;
const PMD_SIZE = 2 ** PMD_SHIFT;
const PTES = 512;
const TWO20 = 2 ** 20;
const REQ_FAULT = HMM_PFN_REQ_FAULT;
const REQ_FAULT_WRITE = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;
const ANON = FRAME.ANON | FRAME.ANON_EXCLUSIVE;
/** Low-half flag bits of a present, writable, dirty user PTE (pte.mk.page with pfn 0). */
const PAGE_FLAGS_LO = pte.mk.page(0, true).lo;

const now = (): bigint => process.hrtime.bigint();
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function fmtBytes(b: number): string {
  if (b >= GiB) return `${+(b / GiB).toFixed(2)} GiB`;
  if (b >= MiB) return `${+(b / MiB).toFixed(2)} MiB`;
  return `${+(b / KiB).toFixed(2)} KiB`;
}
function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  return x.toPrecision(digits);
}
function fmtRate(x: number): string {
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(0);
}
/** xorshift32: deterministic "random" places. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const dmirrorOps = {
  invalidate(sub: MmuIntervalNotifier, _r: unknown, curSeq: number): boolean {
    mmuIntervalSetSeq(sub, curSeq);
    return true;
  },
};

// ---- scenes: address spaces populated without going through the fault model ------------------

interface Scene {
  eng: Engine;
  mm: Mm;
  start: number;
  bytes: number;
  pages: number;
  sub: MmuIntervalNotifier;
  populated: number;
}

function newScene(eng: Engine, bytes: number, mmOpts: ConstructorParameters<typeof Mm>[1] = {}): Scene {
  const mm = new Mm(eng, mmOpts);
  const start = mm.mmap({ length: bytes, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  if (start % PMD_SIZE !== 0) throw new Error(`bench: mapping at ${start.toString(16)} is not 2 MiB aligned`);
  mm.vmas[0].anonVma = true;
  const sub = mm.intervalNotifierInsert(start, bytes, dmirrorOps);
  return { eng, mm, start, bytes, pages: bytes / PAGE, sub, populated: 0 };
}

/**
 * Once linear memory has grown to the 4 GiB maximum, assembly/memory.ts ensureMemory() computes
 * `<usize>memory.size() << 16` = 2^32, which wraps to 0 in wasm32: every later blockAlloc() then
 * calls memory.grow(0), and V8 replaces (detaches) the ArrayBuffer each time — about 25 ms per
 * 4 KiB block on this machine. The capacity probe stops at that point instead of crawling.
 */
const MEMORY_LIMIT_STOP = "linear memory reached the WebAssembly limit of 4 GiB";
const FOUR_GIB = 4 * GiB;

type FramePolicy = "order0" | "alias" | "zero" | "empty";

/**
 * Writes 512 present PTEs per PTE table over [addr, addr + tables * 2 MiB) through the pointer of
 * each table's first entry. "order0": one order-0 RAM frame per page (its 8-byte struct page
 * exists); "alias": every table maps the frames of `aliasBase` again; "zero": read-only zero-page
 * entries (special, no frame); "empty": the tables only, every PTE none. Returns the tables written
 * (fewer than asked when RAM frames or linear memory run out).
 */
function writePteTables(s: Scene, addr: number, tables: number, frames: FramePolicy, aliasBase = 0, memoryLimit = Infinity): { tables: number; stoppedBy: string } {
  const raw = s.eng.raw;
  for (let t = 0; t < tables; t++) {
    if (s.eng.memoryBytes() >= memoryLimit) return { tables: t, stoppedBy: MEMORY_LIMIT_STOP };
    const a = addr + t * PMD_SIZE;
    const ptr = raw.entryPtr(s.mm.ptr, a / PAGE, 0, 1) >>> 0;
    if (ptr === 0) return { tables: t, stoppedBy: "linear memory (page table allocation failed)" };
    let k = ptr >>> 2;
    if (frames === "order0") {
      // allocate first (may grow memory), then take the view
      const pfns = new Uint32Array(PTES);
      for (let i = 0; i < PTES; i++) {
        const pfn = raw.frameAlloc(0, ANON) >>> 0;
        if (pfn === 0) {
          // give back this table's frames; the table stays (empty)
          for (let j = 0; j < i; j++) raw.frameFree(pfns[j], 0);
          return { tables: t, stoppedBy: raw.ramFramesLeft() === 0 ? "simulated RAM (pfn range below DEVICE_PFN_BASE)" : "linear memory (frame metadata allocation failed)" };
        }
        pfns[i] = pfn;
      }
      const u32 = s.eng.mem().u32;
      for (let i = 0; i < PTES; i++, k += 2) {
        const pfn = pfns[i];
        u32[k] = (((pfn % TWO20) << 12) | PAGE_FLAGS_LO) >>> 0;
        u32[k + 1] = Math.floor(pfn / TWO20);
      }
    } else if (frames === "empty") {
      // the PTE table exists, every entry is none (what munmap-free zapping or MADV_DONTNEED leaves)
      s.populated -= PTES;
    } else if (frames === "zero") {
      // what a read-fault pass leaves in an untouched anonymous VMA: the shared zero page, read-only
      const z = pte.mk.zero(PHYS.ZERO_PFN);
      const u32 = s.eng.mem().u32;
      for (let i = 0; i < PTES; i++, k += 2) {
        u32[k] = z.lo;
        u32[k + 1] = z.hi;
      }
    } else {
      const u32 = s.eng.mem().u32;
      for (let i = 0; i < PTES; i++, k += 2) {
        const pfn = aliasBase + i;
        u32[k] = (((pfn % TWO20) << 12) | PAGE_FLAGS_LO) >>> 0;
        u32[k + 1] = Math.floor(pfn / TWO20);
      }
    }
    s.populated += PTES;
  }
  return { tables, stoppedBy: "" };
}

/** Writes 2 MiB THP leaves (PMD entries) over [addr, addr + count * 2 MiB). */
function writeThps(s: Scene, addr: number, count: number, frames: "order9" | "alias", aliasPfn = 0, memoryLimit = Infinity): { count: number; stoppedBy: string } {
  const raw = s.eng.raw;
  for (let i = 0; i < count; i++) {
    if (s.eng.memoryBytes() >= memoryLimit) return { count: i, stoppedBy: MEMORY_LIMIT_STOP };
    const a = addr + i * PMD_SIZE;
    let pfn = aliasPfn;
    if (frames === "order9") {
      pfn = raw.frameAlloc(PMD_SHIFT - 12, ANON) >>> 0;
      if (pfn === 0) return { count: i, stoppedBy: raw.ramFramesLeft() < 512 ? "simulated RAM (pfn range below DEVICE_PFN_BASE)" : "linear memory (frame metadata allocation failed)" };
    }
    const ptr = raw.entryPtr(s.mm.ptr, a / PAGE, 1, 1) >>> 0;
    if (ptr === 0) return { count: i, stoppedBy: "linear memory (page table allocation failed)" };
    s.eng.writeEntry(ptr, pte.mk.huge(pfn, true));
    s.populated += PTES;
  }
  return { count, stoppedBy: "" };
}

// ---- the reference walker ---------------------------------------------------------------------

/**
 * hmmRangeFault({engine: "reference"}) runs src/reference/walk.ts (one walker per engine, cached by
 * src/hmm.ts). One tiny walk checks that it is there and works before the suites rely on it.
 */
function referenceAvailable(log: (s: string) => void): boolean {
  try {
    const s = newScene(new Engine(), PMD_SIZE);
    writePteTables(s, s.start, 1, "order0");
    const p = new PfnArray(s.eng, s.pages);
    s.mm.withReadLock(() => walkOnce(s, p, REQ_FAULT, "reference"));
    return countValid(p) === s.pages;
  } catch (e) {
    log(`reference walker unavailable (${(e as Error).message}); reference cases are skipped`);
    return false;
  }
}

// ---- timing -----------------------------------------------------------------------------------

interface Timed {
  samples: number[];
  median: number;
  min: number;
}
/** Runs `op` warm + n times; `before` (untimed) runs ahead of each. Returns ns per run. */
function timeIt(n: number, warm: number, op: () => void, before?: () => void): Timed {
  for (let i = 0; i < warm; i++) {
    before?.();
    op();
  }
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    before?.();
    const t0 = now();
    op();
    samples.push(Number(now() - t0));
  }
  return { samples, median: median(samples), min: Math.min(...samples) };
}

/** One hmmRangeFault over the scene's whole range (the caller holds the mmap read lock). */
function walkOnce(s: Scene, pfns: PfnArray, defaultFlags: bigint, walker: WalkEngine, start = s.start, end = s.start + s.bytes): number {
  const seq = s.mm.notifiers.readBegin(s.sub);
  const ret = hmmRangeFault({ notifier: s.sub, notifierSeq: seq, start, end, hmmPfns: pfns, defaultFlags }, { engine: walker });
  if (ret !== 0) throw new Error(`bench: hmmRangeFault returned ${ret}`);
  return ret;
}

/**
 * The driver protocol of one range (dmirror_range_fault): readBegin, lock, walk, unlock, readRetry.
 * The hmm_range is built as one object literal per attempt, like a driver fills its struct on the
 * stack (an object spread here costs several µs per call in V8 and would dominate W6).
 */
function driverRangeFault(s: Scene, start: number, end: number, hmmPfns: PfnArray, defaultFlags: bigint, walker: WalkEngine): number {
  let retries = 0;
  const opts = { engine: walker };
  for (;;) {
    const seq = s.mm.notifiers.readBegin(s.sub);
    const r: HmmRange = { notifier: s.sub, notifierSeq: seq, start, end, hmmPfns, defaultFlags };
    s.mm.mmapReadLock();
    let ret: number;
    try {
      ret = hmmRangeFault(r, opts);
    } finally {
      s.mm.mmapReadUnlock();
    }
    if (ret === EBUSY) {
      retries++;
      continue;
    }
    if (ret !== 0) throw new Error(`bench: hmmRangeFault returned ${ret}`);
    // the driver takes its own lock here and checks the sequence once more
    if (s.mm.notifiers.readRetry(s.sub, seq)) {
      retries++;
      continue;
    }
    return retries;
  }
}

/** FNV-1a over the words of a PfnArray (to compare walkers' outputs). */
function digest(p: PfnArray, words = p.length): number {
  const u32 = p.engine.mem().u32;
  let h = 0x811c9dc5;
  for (let k = p.ptr >>> 2, e = k + words * 2; k < e; k++) h = Math.imul(h ^ u32[k], 16777619);
  return h >>> 0;
}
function countValid(p: PfnArray, words = p.length): number {
  const u32 = p.engine.mem().u32;
  let n = 0;
  for (let k = (p.ptr >>> 2) + 1, e = k + words * 2; k < e; k += 2) if (u32[k] & HMM_PFN_HI.VALID) n++;
  return n;
}

// ---- the run ----------------------------------------------------------------------------------

interface Ctx {
  quick: boolean;
  log: (s: string) => void;
  ref: boolean;
  resultsDir: string;
  files: string[];
  benny: typeof import("benny") | null;
  bennyCase: { minSamples: number; maxTime: number; minTime: number; initCount: number };
  runs: number;
  warm: number;
  simdDistinct: boolean | null;
}

type Case = { walker: string; build: WasmBuild; op: () => void };

/** A benny suite of `cases` (one operation each), saved as JSON and as an offline chart. */
async function bennySuite(c: Ctx, id: string, title: string, cases: Case[]): Promise<WorkloadResult["benny"]> {
  if (!c.benny) return undefined;
  const b = c.benny;
  const file = `${id}${c.quick ? "-quick" : ""}`;
  c.log(`  benny ${id}: ${cases.map((x) => x.walker).join(" vs ")} ...`);
  const summary = await b.suite(
    `${id}: ${title}`,
    b.configure({ cases: c.bennyCase, minDisplayPrecision: 3 }),
    ...cases.map((x) => b.add(x.walker, () => x.op())),
    b.save({ file, folder: c.resultsDir, format: "json", details: false }),
  );
  const files = [join(c.resultsDir, `${file}.json`), join(c.resultsDir, `${file}.chart.html`)];
  c.files.push(...files);
  const results = summary.results.map((r) => ({ name: r.name, opsPerSec: r.ops, marginPct: r.margin, samples: r.samples }));
  writeBarChart(join(c.resultsDir, `${file}.chart.html`), `${id}: ${title}`, results);
  for (const r of results) c.log(`    ${r.name.padEnd(10)} ${fmt(r.opsPerSec)} ops/s ±${r.marginPct.toFixed(2)}% (${r.samples} samples)`);
  return { files, results };
}

function figure(walker: string, build: WasmBuild, t: Timed, pagesPerOp: number): WalkerFigure {
  const nsPerPage = t.median / pagesPerOp;
  return {
    walker, build, runs: t.samples.length, medianNs: t.median, minNs: t.min, nsPerPage,
    pagesPerSec: 1e9 / nsPerPage,
  };
}

function logFigures(c: Ctx, w: WorkloadResult): void {
  for (const f of w.figures) {
    const extra = [
      f.usPerCall !== undefined ? `${fmt(f.usPerCall)} µs/call` : "",
      f.retries !== undefined ? `${fmt(f.retries)} retries/op` : "",
      f.faultedPages !== undefined ? `${f.faultedPages} faulted pages/op` : "",
    ].filter(Boolean).join(", ");
    c.log(`    ${f.walker.padEnd(10)} ${fmt(f.nsPerPage).padStart(7)} ns/page  ${fmtRate(f.pagesPerSec).padStart(8)}pages/s  median ${fmt(f.medianNs / 1e6)} ms, best ${fmt(f.minNs / f.medianNs * f.nsPerPage)} ns/page (${f.runs} runs)${extra ? "  " + extra : ""}`);
  }
  if (w.wasmSpeedup !== undefined) c.log(`    WASM ÷ reference: ${fmt(w.wasmSpeedup)}× faster`);
  if (w.outputsMatch !== undefined) c.log(`    outputs of WASM and reference ${w.outputsMatch ? "match" : "DIFFER"}`);
}

function speedup(w: WorkloadResult): number | undefined {
  const a = w.figures.find((f) => f.walker === "wasm");
  const r = w.figures.find((f) => f.walker === "reference");
  return a && r ? r.nsPerPage / a.nsPerPage : undefined;
}

/**
 * A snapshot workload: one hmmRangeFault over the whole scene per operation, for each walker.
 * `scenes` gives the scene per build (release serves "wasm" and "reference", simd "wasm-simd").
 */
async function snapshotWorkload(c: Ctx, id: string, title: string, scenes: { release: Scene; simd?: Scene },
  defaultFlags: bigint, notes: string[] = [], runs = c.runs): Promise<WorkloadResult> {
  const s = scenes.release;
  c.log(`${id}: ${title} — ${fmtBytes(s.bytes)}, ${s.populated} populated pages`);
  const pfnsFor = new Map<Scene, PfnArray>();
  const pf = (x: Scene): PfnArray => {
    let p = pfnsFor.get(x);
    if (!p) {
      p = new PfnArray(x.eng, x.pages);
      pfnsFor.set(x, p);
    }
    return p;
  };
  const walkers: { walker: string; scene: Scene; engine: WalkEngine }[] = [{ walker: "wasm", scene: s, engine: "wasm" }];
  if (scenes.simd) walkers.push({ walker: "wasm-simd", scene: scenes.simd, engine: "wasm" });
  if (c.ref) walkers.push({ walker: "reference", scene: s, engine: "reference" });
  const w: WorkloadResult = { id, title, pages: s.pages, bytes: s.bytes, populatedPages: s.populated, figures: [], notes };
  const cases: Case[] = [];
  const digests = new Map<string, number>();
  for (const x of walkers) {
    const p = pf(x.scene);
    x.scene.mm.mmapReadLock();
    try {
      const op = (): void => void walkOnce(x.scene, p, defaultFlags, x.engine);
      // cheap operations get more runs (about 0.4 s of them, at most 201): steadier medians
      const t1 = now();
      op();
      const t1ns = Number(now() - t1);
      const n = Math.min(201, Math.max(runs, Math.ceil(0.4e9 / t1ns)));
      // warm up for ~0.15 s (JIT tiers, background compilation of the loader settling)
      const t = timeIt(n, Math.min(500, Math.max(c.warm, Math.ceil(0.15e9 / t1ns))), op);
      w.figures.push(figure(x.walker, x.scene.eng.build, t, s.pages));
      if (x.scene === s) digests.set(x.walker, digest(p));
      cases.push({
        walker: x.walker, build: x.scene.eng.build,
        op: () => {
          x.scene.mm.mmapReadLock();
          try {
            op();
          } finally {
            x.scene.mm.mmapReadUnlock();
          }
        },
      });
    } finally {
      x.scene.mm.mmapReadUnlock();
    }
  }
  // sanity: every populated page valid
  const p0 = pf(s);
  s.mm.withReadLock(() => walkOnce(s, p0, defaultFlags, "wasm"));
  const valid = countValid(p0);
  if (valid !== s.populated) w.notes.push(`WARNING: ${valid} valid words for ${s.populated} populated pages`);
  if (digests.has("reference")) w.outputsMatch = digests.get("reference") === digests.get("wasm");
  w.wasmSpeedup = speedup(w);
  logFigures(c, w);
  w.benny = await bennySuite(c, id, title, cases);
  for (const p of pfnsFor.values()) p.free();
  return w;
}

// ---- W5: first-touch write faults -------------------------------------------------------------

async function w5(c: Ctx, id: string, bytes: number, thp: boolean): Promise<WorkloadResult> {
  const title = thp ? "first-touch write faults, THP always (2 MiB faults)" : "first-touch write faults (REQ_FAULT|REQ_WRITE, untouched anonymous VMA)";
  c.log(`${id}: ${title} — ${fmtBytes(bytes)}`);
  const pages = bytes / PAGE;
  const w: WorkloadResult = { id, title, pages, bytes, populatedPages: 0, figures: [], notes: [
    "each operation runs on a fresh engine and mm (setup excluded from the hrtime figures, included in benny's)",
    "ns/page is per faulted page: the walk passes plus handle_mm_fault in the TypeScript fault model",
  ] };
  const fresh = (): { s: Scene; p: PfnArray } => {
    const eng = new Engine({ build: "release" });
    const s = newScene(eng, bytes, { thp: thp ? "always" : "madvise" });
    const p = new PfnArray(eng, pages);
    return { s, p };
  };
  const walkers: { walker: string; engine: WalkEngine }[] = [{ walker: "wasm", engine: "wasm" }];
  if (c.ref) walkers.push({ walker: "reference", engine: "reference" });
  const cases: Case[] = [];
  const runs = c.quick ? 5 : thp ? 9 : 5;
  const digests = new Map<string, number>();
  for (const x of walkers) {
    let cur = fresh();
    let stats = { passes: 0, faultedPages: 0, migrationWaits: 0 };
    const op = (): void => {
      cur.s.mm.withReadLock(() => walkOnce(cur.s, cur.p, REQ_FAULT_WRITE, x.engine));
      stats = { ...lastHmmStats };
    };
    const t = timeIt(runs, c.quick ? 3 : 2, op, () => { cur = fresh(); });
    const f = figure(x.walker, "release", t, stats.faultedPages || pages);
    f.faultedPages = stats.faultedPages;
    f.retries = stats.passes - 1;
    w.figures.push(f);
    digests.set(x.walker, countValid(cur.p));
    if (countValid(cur.p) !== pages) w.notes.push(`WARNING (${x.walker}): ${countValid(cur.p)} valid words after faulting ${pages} pages`);
    cases.push({ walker: x.walker, build: "release", op: () => { const y = fresh(); y.s.mm.withReadLock(() => walkOnce(y.s, y.p, REQ_FAULT_WRITE, x.engine)); } });
  }
  w.wasmSpeedup = speedup(w);
  w.notes.push(`walk passes per operation: ${w.figures.map((f) => `${f.walker} ${(f.retries ?? 0) + 1}`).join(", ")}`);
  logFigures(c, w);
  w.benny = await bennySuite(c, id, title, cases);
  return w;
}

// ---- W6: many small ranges with the full driver protocol -------------------------------------

async function w6(c: Ctx, scenes: { release: Scene; simd?: Scene }): Promise<WorkloadResult> {
  const id = "W6";
  const title = "512-page hmmRangeFault calls at random places, full driver protocol";
  const callPages = 512;
  const s = scenes.release;
  c.log(`${id}: ${title} — in ${fmtBytes(s.bytes)} populated`);
  const w: WorkloadResult = { id, title, pages: callPages, bytes: callPages * PAGE, populatedPages: s.populated, figures: [], notes: [
    "one call = readBegin, mmap_read_lock, hmmRangeFault (REQ_FAULT, no fault needed), unlock, readRetry",
    "start pages are uniformly random (not 2 MiB aligned), so most calls touch two PTE tables; every walker sees the same sequence of starts",
  ] };
  const batch = c.quick ? 2000 : 20000;
  const walkers: { walker: string; scene: Scene; engine: WalkEngine }[] = [{ walker: "wasm", scene: s, engine: "wasm" }];
  if (scenes.simd) walkers.push({ walker: "wasm-simd", scene: scenes.simd, engine: "wasm" });
  if (c.ref) walkers.push({ walker: "reference", scene: s, engine: "reference" });
  const cases: Case[] = [];
  const arrays: PfnArray[] = [];
  for (const x of walkers) {
    const sc = x.scene;
    const p = new PfnArray(sc.eng, callPages);
    arrays.push(p);
    const maxStart = sc.pages - callPages;
    const r = rng(12345);
    const one = (): void => {
      const start = sc.start + Math.floor(r() * maxStart) * PAGE;
      driverRangeFault(sc, start, start + callPages * PAGE, p, REQ_FAULT, x.engine);
    };
    const t = timeIt(c.quick ? 5 : 11, 1, () => { for (let i = 0; i < batch; i++) one(); });
    const f = figure(x.walker, sc.eng.build, { samples: t.samples.map((v) => v / batch), median: t.median / batch, min: t.min / batch }, callPages);
    f.usPerCall = t.median / batch / 1000;
    w.figures.push(f);
    cases.push({ walker: x.walker, build: sc.eng.build, op: one });
  }
  w.wasmSpeedup = speedup(w);
  logFigures(c, w);
  w.benny = await bennySuite(c, id, title, cases);
  for (const p of arrays) p.free();
  return w;
}

// ---- W7: retry storms -------------------------------------------------------------------------

/** Replaces every k-th PTE of the scene by a migration entry whose wait restores the page. */
function armMigrations(s: Scene, k: number, first: number): number {
  const eng = s.eng;
  let n = 0;
  for (let i = first; i < s.pages; i += k) {
    const addr = s.start + i * PAGE;
    const ptr = s.mm.entryPtr(addr, 0, false);
    const e = eng.readEntry(ptr);
    if (!pte.isPresent(e)) continue;
    const pfn = pte.pfnOf(e);
    eng.writeEntry(ptr, pte.mk.migration(pfn, true));
    eng.pendingMigrations.set(pfn, {
      finish: () => {
        eng.writeEntry(ptr, e);
        eng.pendingMigrations.delete(pfn);
      },
    });
    n++;
  }
  return n;
}

async function w7(c: Ctx, s: Scene): Promise<WorkloadResult> {
  const id = "W7";
  const title = "retry storm: a migration injected every k pages";
  c.log(`${id}: ${title} — ${fmtBytes(s.bytes)} populated`);
  const w: WorkloadResult = { id, title, pages: s.pages, bytes: s.bytes, populatedPages: s.populated, figures: [], notes: [
    "W7a-k: every k-th PTE is a migration entry; with REQ_FAULT the walk stops there (-EBUSY, WAIT_MIGRATION), the host runs migration_entry_wait (the migration completes), and the walk restarts at that page: one retry (walk pass) per migration",
    "W7b-k: REQ_FAULT|REQ_WRITE over empty PTE tables (one fault chunk per table, no invalidation of its own: do_anonymous_page raises none) under the driver protocol; every k faulted pages a MMU_NOTIFY_MIGRATE invalidation hits the range (from mm.hooks.betweenFaults), so hmmRangeFault returns -EBUSY at its next pass and the driver starts over from readBegin; ns/page is per page of the range (each page is write-faulted once)",
  ], variants: [] };
  const p = new PfnArray(s.eng, s.pages);
  const ks = [4096, 512, 64];
  const walkers: { walker: string; engine: WalkEngine }[] = [{ walker: "wasm", engine: "wasm" }];
  if (c.ref) walkers.push({ walker: "reference", engine: "reference" });
  for (const k of ks) {
    const v: WorkloadResult = { id: `W7a-${k}`, title: `migration entry every ${k} pages, REQ_FAULT walk`, pages: s.pages, bytes: s.bytes, populatedPages: s.populated, figures: [], notes: [] };
    const cases: Case[] = [];
    for (const x of walkers) {
      let stats = { ...lastHmmStats };
      const op = (): void => {
        s.mm.withReadLock(() => walkOnce(s, p, REQ_FAULT, x.engine));
        stats = { ...lastHmmStats };
      };
      let armed = 0;
      const t = timeIt(c.quick ? 3 : 7, 1, op, () => { armed = armMigrations(s, k, k - 1); });
      const f = figure(x.walker, "release", t, s.pages);
      f.retries = stats.passes - 1;
      f.migrationWaits = stats.migrationWaits;
      if (stats.migrationWaits !== armed) v.notes.push(`WARNING (${x.walker}): ${stats.migrationWaits} waits for ${armed} migrations`);
      v.figures.push(f);
      cases.push({ walker: x.walker, build: "release", op: () => { armMigrations(s, k, k - 1); op(); } });
    }
    if (countValid(p) !== s.populated) v.notes.push(`WARNING: ${countValid(p)} valid after the storm`);
    v.wasmSpeedup = speedup(v);
    c.log(`  ${v.id}: ${v.title}`);
    logFigures(c, v);
    if (k === 512) v.benny = await bennySuite(c, v.id, v.title, cases);
    w.variants!.push(v);
  }
  p.free();
  // W7b: notifier-driven retries while first-touch faulting chunk by chunk (empty PTE tables)
  const bBytes = c.quick ? 32 * MiB : 256 * MiB;
  for (const k of [0, 4096, 512]) {
    const v: WorkloadResult = {
      id: `W7b-${k || "none"}`,
      title: `${k ? `MIGRATE invalidation every ${k} faulted pages` : "no invalidation (baseline)"}, driver protocol, first-touch write faults over ${fmtBytes(bBytes)} of empty PTE tables`,
      pages: bBytes / PAGE, bytes: bBytes, populatedPages: 0, figures: [], notes: [],
    };
    for (const x of walkers) {
      let cur!: { s: Scene; p: PfnArray; retries: number };
      const fresh = (): void => {
        const sc = newScene(new Engine({ build: "release" }), bBytes);
        writePteTables(sc, sc.start, bBytes / PMD_SIZE, "empty");
        const pp = new PfnArray(sc.eng, sc.pages);
        let faulted = 0;
        if (k) {
          sc.mm.hooks.betweenFaults = (info) => {
            if (++faulted % k === 0) {
              // migrate_vma_setup() of a page of the range raises MMU_NOTIFY_MIGRATE over it
              const a = sc.start + info.index * PAGE;
              sc.mm.notifiers.invalidate(a, a + PAGE, MMU_NOTIFY_MIGRATE, null, { blockable: true });
            }
          };
        }
        cur = { s: sc, p: pp, retries: 0 };
      };
      const op = (): void => {
        cur.retries = driverRangeFault(cur.s, cur.s.start, cur.s.start + bBytes, cur.p, REQ_FAULT_WRITE, x.engine);
      };
      const t = timeIt(5, c.quick ? 3 : 2, op, fresh);
      const f = figure(x.walker, "release", t, bBytes / PAGE);
      f.retries = cur.retries;
      f.faultedPages = cur.s.mm.stats.faults;
      if (countValid(cur.p) !== bBytes / PAGE) v.notes.push(`WARNING (${x.walker}): ${countValid(cur.p)} valid words`);
      v.figures.push(f);
    }
    v.wasmSpeedup = speedup(v);
    c.log(`  ${v.id}: ${v.title}`);
    logFigures(c, v);
    w.variants!.push(v);
  }
  return w;
}

// ---- memory -----------------------------------------------------------------------------------

function memoryFigure(label: string, s: Scene, populateNs: number): MemoryFigure {
  const memoryBytes = s.eng.memoryBytes();
  const blockBytes = s.eng.blocksInUse() * 4096;
  return {
    label, pages: s.populated, bytesOfSpace: s.populated * PAGE, memoryBytes, blockBytes, pageTables: s.mm.pageTables,
    memoryBytesPerPage: memoryBytes / s.populated, blockBytesPerPage: blockBytes / s.populated,
    populateNsPerPage: populateNs / s.populated,
  };
}

function logMemory(c: Ctx, m: MemoryFigure): void {
  c.log(`  ${m.label.padEnd(26)} ${fmtBytes(m.bytesOfSpace).padStart(10)}: linear memory ${fmtBytes(m.memoryBytes)} = ${fmt(m.memoryBytesPerPage)} B/page; ` +
    `blocks ${fmtBytes(m.blockBytes)} = ${fmt(m.blockBytesPerPage)} B/page; ${m.pageTables} page tables; populated at ${fmt(m.populateNsPerPage)} ns/page`);
}

async function memoryWorkload(c: Ctx): Promise<{ memory: MemoryFigure[]; capacity: CapacityFigure[] }> {
  c.log(`MEM: bytes of simulator memory per populated page${c.quick ? "" : ", and the largest populated space of one engine"}`);
  const memory: MemoryFigure[] = [];
  // one fresh engine per figure, populated by `populate`
  const measure = (label: string, size: number, populate: (s: ReturnType<typeof newScene>) => void): void => {
    const s = newScene(new Engine(), size);
    const t0 = now();
    populate(s);
    const m = memoryFigure(label, s, Number(now() - t0));
    memory.push(m);
    logMemory(c, m);
  };
  for (const size of c.quick ? [1 * GiB] : [1 * GiB, 64 * GiB, 256 * GiB]) {
    measure("4 KiB pages, own frames", size, (s) => writePteTables(s, s.start, size / PMD_SIZE, "order0"));
  }
  const thpSize = c.quick ? 4 * GiB : 256 * GiB;
  measure("2 MiB THPs, own frames", thpSize, (s) => writeThps(s, s.start, thpSize / PMD_SIZE, "order9"));
  const capacity: CapacityFigure[] = [];
  if (c.quick) return { memory, capacity };

  // capacity: grow one address space until the engine cannot hold more
  {
    c.log("  capacity, 4 KiB pages: populating 64 GiB steps with a frame per page, then aliased frames ...");
    const t0 = now();
    const eng = new Engine();
    const span = 2 ** 45; // 32 TiB of VMA; only the populated part costs memory
    const s = newScene(eng, span);
    let addr = s.start;
    let distinct = 0;
    let distinctStop = "";
    const step = (64 * GiB) / PMD_SIZE;
    for (;;) {
      const r = writePteTables(s, addr, step, "order0", 0, FOUR_GIB);
      addr += r.tables * PMD_SIZE;
      distinct = addr - s.start;
      if (r.stoppedBy) {
        distinctStop = r.stoppedBy;
        break;
      }
      c.log(`    ${fmtBytes(distinct)} (linear memory ${fmtBytes(eng.memoryBytes())})`);
    }
    c.log(`    own frames stop at ${fmtBytes(distinct)}: ${distinctStop}${distinctStop === MEMORY_LIMIT_STOP ? "" : "; continuing with aliased frames"}`);
    let totalStop = distinctStop === MEMORY_LIMIT_STOP ? distinctStop : "";
    while (!totalStop) {
      const r = writePteTables(s, addr, step, "alias", 0x400, FOUR_GIB);
      addr += r.tables * PMD_SIZE;
      if (r.stoppedBy) {
        totalStop = r.stoppedBy;
        break;
      }
      c.log(`    ${fmtBytes(addr - s.start)} (linear memory ${fmtBytes(eng.memoryBytes())})`);
    }
    const cap: CapacityFigure = {
      kind: "4k", distinctBytes: distinct, distinctStoppedBy: distinctStop, totalBytes: addr - s.start, totalStoppedBy: totalStop,
      memoryBytes: eng.memoryBytes(), blockBytes: eng.blocksInUse() * 4096, seconds: Number(now() - t0) / 1e9,
    };
    // walk the last populated GiB (needs a 2 MiB pfn array: there may be no room left: then skip)
    try {
      const tail = Math.max(s.start, addr - GiB);
      const p = new PfnArray(eng, (addr - tail) / PAGE);
      const tw = s.mm.withReadLock(() => timeIt(5, 1, () => walkOnce(s, p, 0n, "wasm", tail, addr)));
      cap.tailWalkNsPerPage = tw.median / ((addr - tail) / PAGE);
      p.free();
    } catch (e) {
      c.log(`    (no room left for a pfn array to walk the tail: ${(e as Error).message})`);
    }
    capacity.push(cap);
    c.log(`    4 KiB: ${fmtBytes(cap.distinctBytes)} with own frames (${cap.distinctStoppedBy}); ${fmtBytes(cap.totalBytes)} in all (${cap.totalStoppedBy}); linear memory ${fmtBytes(cap.memoryBytes)}, ${cap.seconds.toFixed(1)} s` +
      (cap.tailWalkNsPerPage !== undefined ? `; walk of the last GiB ${fmt(cap.tailWalkNsPerPage)} ns/page` : ""));
  }
  {
    c.log("  capacity, 2 MiB THPs: populating with an order-9 folio per PMD, then aliased folios, up to 2 TiB ...");
    const t0 = now();
    const eng = new Engine();
    const span = 2 * 1024 * GiB;
    const s = newScene(eng, span);
    const r1 = writeThps(s, s.start, span / PMD_SIZE, "order9", 0, FOUR_GIB);
    const distinct = r1.count * PMD_SIZE;
    let total = distinct;
    let totalStop = "reached the 2 TiB VMA";
    if (r1.stoppedBy === MEMORY_LIMIT_STOP) {
      totalStop = r1.stoppedBy;
    } else if (r1.stoppedBy) {
      const r2 = writeThps(s, s.start + distinct, span / PMD_SIZE - r1.count, "alias", 0x400 * 2, FOUR_GIB);
      total += r2.count * PMD_SIZE;
      if (r2.stoppedBy) totalStop = r2.stoppedBy;
    }
    const cap: CapacityFigure = {
      kind: "thp", distinctBytes: distinct, distinctStoppedBy: r1.stoppedBy || "reached the 2 TiB VMA", totalBytes: total,
      totalStoppedBy: totalStop, memoryBytes: eng.memoryBytes(), blockBytes: eng.blocksInUse() * 4096, seconds: Number(now() - t0) / 1e9,
    };
    try {
      const tail = s.start + total - GiB;
      const p = new PfnArray(eng, GiB / PAGE);
      const tw = s.mm.withReadLock(() => timeIt(5, 1, () => walkOnce(s, p, 0n, "wasm", tail, tail + GiB)));
      cap.tailWalkNsPerPage = tw.median / (GiB / PAGE);
      p.free();
    } catch (e) {
      c.log(`    (no room left for a pfn array: ${(e as Error).message})`);
    }
    capacity.push(cap);
    c.log(`    THP: ${fmtBytes(cap.distinctBytes)} with own folios (${cap.distinctStoppedBy}); ${fmtBytes(cap.totalBytes)} in all (${cap.totalStoppedBy}); linear memory ${fmtBytes(cap.memoryBytes)}, ${cap.seconds.toFixed(1)} s` +
      (cap.tailWalkNsPerPage !== undefined ? `; walk of the last GiB ${fmt(cap.tailWalkNsPerPage)} ns/page` : ""));
  }
  return { memory, capacity };
}

// ---- targets ----------------------------------------------------------------------------------

function targets(r: BenchReport): TargetCheck[] {
  const out: TargetCheck[] = [];
  const wl = (id: string): WorkloadResult | undefined => r.workloads.find((w) => w.id === id);
  const fig = (id: string, walker: string): WalkerFigure | undefined => wl(id)?.figures.find((f) => f.walker === walker);
  const le = (what: string, f: WalkerFigure | undefined, limit: number, unit = "ns/page", value = f?.nsPerPage): void => {
    if (!f || value === undefined) return;
    out.push({ what, target: `≤ ${limit} ${unit}`, measured: `${fmt(value)} ${unit}`, met: value <= limit });
  };
  const simdNote = r.builds.simdIdenticalToRelease ? " (simd.wasm is identical to release.wasm)" : "";
  le("W1 snapshot 4 KiB, WASM scalar", fig("W1", "wasm"), 1.6);
  le(`W1 snapshot 4 KiB, WASM SIMD${simdNote}`, fig("W1", "wasm-simd"), 0.8);
  le("W2 THP snapshot, WASM scalar", fig("W2", "wasm"), 0.4);
  le(`W2 THP snapshot, WASM SIMD${simdNote}`, fig("W2", "wasm-simd"), 0.2);
  le("W3 sparse 10%, WASM scalar", fig("W3", "wasm"), 0.3);
  le("W3 sparse 10%, WASM SIMD", fig("W3", "wasm-simd"), 0.3);
  le(`W4 ${r.quick ? "4 GiB (quick)" : "64 GiB"} 4 KiB, WASM scalar`, fig("W4", "wasm"), 2.0);
  le(`W4 ${r.quick ? "4 GiB (quick)" : "64 GiB"} 4 KiB, WASM SIMD`, fig("W4", "wasm-simd"), 2.0);
  for (const id of ["W1", "W1b", "W2", "W3", "W4"]) {
    const w = wl(id);
    if (w?.wasmSpeedup !== undefined) {
      out.push({ what: `${id} WASM ÷ reference (number-only reference)`, target: "≥ 2×", measured: `${fmt(w.wasmSpeedup)}×`, met: w.wasmSpeedup >= 2 });
    }
  }
  le("W5 first-touch write faults, WASM", fig("W5", "wasm"), 30, "ns/faulted page");
  const w6 = fig("W6", "wasm");
  le("W6 512-page calls, driver protocol, WASM scalar", w6, 1.5, "µs/call", w6?.usPerCall);
  const w6s = fig("W6", "wasm-simd");
  le("W6 512-page calls, driver protocol, WASM SIMD", w6s, 1.5, "µs/call", w6s?.usPerCall);
  const m = r.memory.filter((x) => x.label.startsWith("4 KiB"));
  const big = m[m.length - 1];
  if (big) {
    out.push({ what: `memory per populated 4 KiB page (${fmtBytes(big.bytesOfSpace)}, blocks in use)`, target: "≤ 20 B/page", measured: `${fmt(big.blockBytesPerPage)} B/page`, met: big.blockBytesPerPage <= 20 });
    out.push({ what: `memory per populated 4 KiB page (${fmtBytes(big.bytesOfSpace)}, whole linear memory)`, target: "≤ 20 B/page", measured: `${fmt(big.memoryBytesPerPage)} B/page`, met: big.memoryBytesPerPage <= 20 });
  }
  const c4 = r.capacity.find((x) => x.kind === "4k");
  if (c4) out.push({ what: "largest 4 KiB space, one engine (own frames)", target: "≥ 256 GiB", measured: fmtBytes(c4.distinctBytes), met: c4.distinctBytes >= 256 * GiB });
  const ct = r.capacity.find((x) => x.kind === "thp");
  if (ct) {
    out.push({ what: "largest THP space, one engine (own folios)", target: "≥ 1 TiB", measured: fmtBytes(ct.distinctBytes), met: ct.distinctBytes >= 1024 * GiB });
    out.push({ what: "largest THP space, one engine (folios mapped again)", target: "≥ 1 TiB", measured: fmtBytes(ct.totalBytes), met: ct.totalBytes >= 1024 * GiB });
  }
  return out;
}

// ---- entry point ------------------------------------------------------------------------------

function machine(): BenchReport["machine"] {
  const cpus = os.cpus();
  return {
    node: process.version, v8: process.versions.v8, cpus: cpus.length, cpuModel: cpus[0]?.model ?? "?",
    totalMemGiB: +(os.totalmem() / GiB).toFixed(1), platform: os.platform(), arch: os.arch(),
    loadAvgStart: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

function buildsInfo(): BenchReport["builds"] {
  const has = (b: WasmBuild): boolean => {
    try {
      wasmPath(b);
      return true;
    } catch {
      return false;
    }
  };
  let identical: boolean | null = null;
  if (has("release") && has("simd")) {
    const a = readFileSync(wasmPath("release"));
    const b = readFileSync(wasmPath("simd"));
    identical = a.equals(b);
  }
  const simdRanAs = has("simd") ? new Engine({ build: "simd" }).build : "release";
  return { release: has("release"), simd: has("simd"), simdRanAs, simdIdenticalToRelease: identical };
}

/** Runs the benchmark workloads; writes the JSON report and benny's files; resolves to the report. */
export async function runBenchmarks(opts: BenchOptions): Promise<BenchReport> {
  const T0 = now();
  const log = opts.log ?? ((s: string) => console.log(s));
  const quick = !!opts.quick;
  const out = resolve(opts.out ?? join("bench", "results", quick ? "report-quick.json" : "report.json"));
  const resultsDir = dirname(out);
  mkdirSync(resultsDir, { recursive: true });
  const want = (id: string): boolean => !opts.only || opts.only.some((x) => x.toUpperCase() === id);
  let benny: Ctx["benny"] = null;
  try {
    benny = await import("benny");
  } catch {
    log("benny is not installed: only the hrtime figures are produced");
  }
  const ref = referenceAvailable(log);
  const c: Ctx = {
    quick, log, ref, resultsDir, files: [], benny,
    bennyCase: quick ? { minSamples: 3, maxTime: 0.3, minTime: 0.02, initCount: 1 } : { minSamples: 5, maxTime: 2, minTime: 0.1, initCount: 1 },
    runs: quick ? 7 : 21, warm: quick ? 2 : 3, simdDistinct: null,
  };
  const builds = buildsInfo();
  const m = machine();
  log(`hmmsim bench${quick ? " --quick" : ""}: node ${m.node} (V8 ${m.v8}), ${m.cpus} × ${m.cpuModel}, ${m.totalMemGiB} GiB RAM, load average ${m.loadAvgStart.join(" ")}`);
  if (m.loadAvgStart[0] > 0.5 * m.cpus) log("note: the machine is busy (load average above half the CPUs): figures will be noisy");
  log(`builds: release ${builds.release ? "yes" : "MISSING"}, simd ${builds.simd ? `yes (runs as ${builds.simdRanAs})` : "MISSING"}` +
    (builds.simdIdenticalToRelease ? "; simd.wasm is byte-identical to release.wasm (no SIMD code in assembly/)" : ""));
  log(`reference walker: ${ref ? "loaded" : "missing"}`);

  const report: BenchReport = {
    quick, date: new Date().toISOString(), machine: m, builds, referenceWalker: ref ? "loaded" : "missing",
    workloads: [], memory: [], capacity: [], targets: [], files: [], seconds: 0,
  };

  const oneG = quick ? 256 * MiB : GiB;
  // W1 / W1b: 1 GiB of populated 4 KiB pages (release engine; a second, SIMD, engine)
  if (want("W1") || want("W1B")) {
    const t0 = now();
    const rel = newScene(new Engine({ build: "release" }), oneG);
    writePteTables(rel, rel.start, oneG / PMD_SIZE, "order0");
    const simd = newScene(new Engine({ build: "simd" }), oneG);
    writePteTables(simd, simd.start, oneG / PMD_SIZE, "order0");
    log(`populated ${fmtBytes(oneG)} of 4 KiB pages twice (release, simd) in ${(Number(now() - t0) / 1e6).toFixed(0)} ms`);
    if (want("W1")) report.workloads.push(await snapshotWorkload(c, "W1", "snapshot (no fault flags) of populated 4 KiB pages", { release: rel, simd }, 0n));
    if (want("W1B")) report.workloads.push(await snapshotWorkload(c, "W1b", "snapshot with defaultFlags = REQ_FAULT (all valid, no faults)", { release: rel, simd }, REQ_FAULT));
  }
  if (want("W2")) {
    const rel = newScene(new Engine({ build: "release" }), oneG);
    writeThps(rel, rel.start, oneG / PMD_SIZE, "order9");
    const simd = newScene(new Engine({ build: "simd" }), oneG);
    writeThps(simd, simd.start, oneG / PMD_SIZE, "order9");
    report.workloads.push(await snapshotWorkload(c, "W2", "snapshot of 2 MiB THPs", { release: rel, simd }, 0n));
  }
  if (want("W3")) {
    const sparse = (eng: Engine): Scene => {
      const sc = newScene(eng, oneG);
      for (let t = 0; t < oneG / PMD_SIZE; t += 10) writePteTables(sc, sc.start + t * PMD_SIZE, 1, "order0");
      return sc;
    };
    const tables = oneG / PMD_SIZE;
    report.workloads.push(await snapshotWorkload(c, "W3", "sparse: 10% of PTE tables present (every 10th PMD), snapshot",
      { release: sparse(new Engine({ build: "release" })), simd: sparse(new Engine({ build: "simd" })) }, 0n,
      [`${Math.ceil(tables / 10)} of ${tables} PMD slots hold a full PTE table; the others are none (holes)`]));
  }
  if (want("W4") || want("W6")) {
    const big = quick ? 4 * GiB : 64 * GiB;
    const populate = (build: WasmBuild): Scene => {
      const eng = new Engine({ build });
      const s = newScene(eng, big);
      const tables = big / PMD_SIZE;
      const t0 = now();
      const stepTables = (16 * GiB) / PMD_SIZE;
      for (let t = 0; t < tables; t += stepTables) {
        writePteTables(s, s.start + t * PMD_SIZE, Math.min(stepTables, tables - t), "order0");
        if (big > 16 * GiB) log(`  populating W4/W6 (${build}): ${fmtBytes((t + Math.min(stepTables, tables - t)) * PMD_SIZE)} of ${fmtBytes(big)}`);
      }
      log(`populated ${fmtBytes(big)} of 4 KiB pages (${build} engine) in ${(Number(now() - t0) / 1e9).toFixed(1)} s (linear memory ${fmtBytes(eng.memoryBytes())})`);
      return s;
    };
    const scenes = { release: populate("release"), simd: populate("simd") };
    const s = scenes.release;
    if (want("W4")) {
      report.workloads.push(await snapshotWorkload(c, "W4", `snapshot of ${fmtBytes(big)} of populated 4 KiB pages (tables far beyond cache)`, scenes, 0n,
        [`page tables ${fmtBytes(s.mm.pageTables * 4096)}, hmm_pfns ${fmtBytes(s.pages * 8)}, frame metadata ${fmtBytes(s.pages * 8)}`], quick ? 5 : 9));
    }
    if (want("W6")) report.workloads.push(await w6(c, scenes));
  }
  if (want("W5")) {
    report.workloads.push(await w5(c, "W5", quick ? 64 * MiB : GiB, false));
    report.workloads.push(await w5(c, "W5t", quick ? 256 * MiB : GiB, true));
  }
  if (want("W7")) {
    const s = newScene(new Engine({ build: "release" }), quick ? 64 * MiB : GiB);
    writePteTables(s, s.start, s.bytes / PMD_SIZE, "order0");
    report.workloads.push(await w7(c, s));
  }
  if (want("MEM")) {
    const r = await memoryWorkload(c);
    report.memory = r.memory;
    report.capacity = r.capacity;
  }

  report.targets = targets(report);
  report.files = [...c.files, out];
  report.seconds = Number(now() - T0) / 1e9;
  report.machine.loadAvgEnd = os.loadavg().map((x) => +x.toFixed(2));
  log("");
  log("targets (reported, not asserted):");
  for (const t of report.targets) {
    log(`  ${t.met === null ? "  ?  " : t.met ? " met " : "MISSED"}  ${t.what}: ${t.measured} (target ${t.target})`);
  }
  writeFileSync(out, JSON.stringify(report, null, 2) + "\n");
  log(`report: ${out}`);
  log(`done in ${report.seconds.toFixed(1)} s (load average at the end ${report.machine.loadAvgEnd.join(" ")})`);
  return report;
}

// Constant re-used by bench/run.ts for its usage line.
export const BENCH_WORKLOADS = ["W1", "W1b", "W2", "W3", "W4", "W5", "W6", "W7", "MEM"] as const;
