// W5: first-touch write faults over an untouched anonymous VMA, on a fresh engine per operation (so
// memory growth, first touch of fresh linear memory and page-table allocation are all inside the
// figure), in ns per faulted page; W5t the same with THP "always" (one 2 MiB fault per PMD).
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE } from "../../src/hmm/range-fault.js";
import { PfnArray } from "../../src/hmm/pfns.js";
import { type Build, type Ctx, engineOf, logWorkload, race } from "../lib/context.js";
import { type Workload, fmtBytes } from "../lib/report.js";
import { GiB, MiB, PAGE, type Scene, countValid, digest, newScene, walkOnce } from "../lib/scenes.js";
import { type Contender, median, now } from "../lib/timing.js";

/** What the first-touch probe measured (see firstTouchProbe). */
export interface FirstTouch {
  /** ns per 4 KiB page: first write to memory just grown (the OS's page fault, zeroing, and any host). */
  firstNs: number;
  /** The same in process CPU time (what the bench's figures are): host time may not be charged. */
  firstCpuNs: number;
  /** ns per 4 KiB page: the same writes again (the pages are resident now). */
  secondNs: number;
  /** ns per 4 KiB page: first write to a second fresh memory, after the first was dropped. */
  againNs: number;
  /** µs per memory.grow call: 256 steps of 64 KiB, and one step of 16 MiB. */
  growSmallUs: number;
  growBigUs: number;
}

/**
 * What the operating system charges for the first touch of fresh linear memory: a WebAssembly
 * memory grown by 64 MiB, one byte written per 4 KiB page (median of 5), then the same writes
 * again, then a second fresh memory. On bare metal a first touch costs a minor fault and a page
 * zeroing (~0.1-0.5 µs); in a virtual machine whose host backs guest memory lazily, or takes freed
 * guest pages back (a balloon with free page reporting), every fresh guest page is also faulted in
 * by the host, tens of µs. The second touch tells the two apart from a slow loop; the second fresh
 * memory tells whether only never-used memory is slow (memory first used since boot) or any memory
 * the guest hands out again. The grow figures are V8's cost per memory.grow call.
 */
export function firstTouchProbe(): FirstTouch {
  const bytes = 64 * MiB;
  const cpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  };
  let lastCpu = 0;
  const touch = (u8: Uint8Array): number => {
    const c0 = cpu();
    const t0 = now();
    for (let i = 0; i < bytes; i += 4096) u8[i] = 1;
    lastCpu = (cpu() - c0) / (bytes / 4096);
    return Number(now() - t0) / (bytes / 4096);
  };
  const fresh = (): Uint8Array => {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 2048 });
    m.grow(bytes / 65536);
    return new Uint8Array(m.buffer);
  };
  const first: number[] = [];
  const firstCpu: number[] = [];
  const second: number[] = [];
  const again: number[] = [];
  for (let r = 0; r < 5; r++) {
    const u8 = fresh();
    first.push(touch(u8));
    firstCpu.push(lastCpu);
    second.push(touch(u8));
    again.push(touch(fresh()));
  }
  const grow = (steps: number, pages: number): number => {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 2048 });
    const t0 = now();
    for (let k = 0; k < steps; k++) m.grow(pages);
    return Number(now() - t0) / 1000 / steps;
  };
  return {
    firstNs: median(first),
    firstCpuNs: median(firstCpu),
    secondNs: median(second),
    againNs: median(again),
    growSmallUs: grow(256, 1),
    growBigUs: grow(1, 256),
  };
}

/**
 * W5w: the same faults on an engine whose memory has already been grown and touched: before each
 * operation the previous mm exits (its tables and frames go back to the engine's free lists) and a
 * new one maps the range again, so the faults reuse memory and no first touch is inside the figure.
 */
export function warmTouch(c: Ctx): Workload {
  const bytes = c.quick ? 64 * MiB : GiB;
  const pages = bytes / PAGE;
  const title = `first-touch write faults, engine memory already grown and touched, ${fmtBytes(bytes)}`;
  c.log(`W5w: ${title}`);
  const contenders: Contender[] = (["release", "simd"] as Build[]).map((b) => {
    const eng = engineOf(c, b);
    const p = new PfnArray(eng, pages);
    let s: Scene | undefined;
    return {
      name: b === "release" ? "wasm-scalar" : "wasm-simd",
      before: () => {
        s?.mm.exit();
        s = newScene(eng, bytes);
      },
      op: () => s!.mm.withReadLock(() => walkOnce(s!, p, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE, "wasm")),
    };
  });
  const w: Workload = {
    id: "W5w",
    title,
    pages,
    figures: race(c, contenders, pages, "ns/faulted page"),
    notes: [
      "one engine per build; before each timed operation the previous mm exits and a new mm maps the range (untimed)",
    ],
  };
  logWorkload(c, w);
  return w;
}

/**
 * W5 (W5t with `thp`). `firstTouchNs` (the probe's first-touch cost per 4 KiB page) turns the
 * fresh memory an operation writes into the part of its figure the operating system charges.
 */
export function firstTouch(c: Ctx, thp: boolean, firstTouchNs?: number): Workload {
  let touchedBytesPerPage = 0;
  const id = thp ? "W5t" : "W5";
  const bytes = c.quick ? 64 * MiB : GiB;
  const pages = bytes / PAGE;
  const title = `first-touch write faults${thp ? ", THP always" : ""} (fresh engine per operation), ${fmtBytes(bytes)}`;
  c.log(`${id}: ${title}`);
  const builds: Build[] = ["release", "simd"];
  const cur = new Map<Build, { s: Scene; p: PfnArray }>();
  const fresh = (b: Build): void => {
    const s = newScene(engineOf(c, b), bytes, { thp: thp ? "always" : "madvise" });
    cur.set(b, { s, p: new PfnArray(s.eng, pages) });
  };
  const op = (b: Build): void => {
    const { s, p } = cur.get(b)!;
    s.mm.withReadLock(() => walkOnce(s, p, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE, "wasm"));
  };
  const contenders: Contender[] = builds.map((b) => ({
    name: b === "release" ? "wasm-scalar" : "wasm-simd",
    op: () => op(b),
    before: () => fresh(b),
  }));
  const w: Workload = {
    id,
    title,
    pages,
    figures: race(c, contenders, pages, "ns/faulted page"),
    digests: {},
    notes: [
      "the engine, mm, VMA, notifier and hmm_pfns array are created before each timed operation; the walk passes, the faults, page-table and metadata allocation and linear-memory growth are inside it",
    ],
  };
  for (const b of builds) {
    fresh(b);
    const heap0 = cur.get(b)!.s.eng.raw.heapBytes();
    op(b);
    const { s, p } = cur.get(b)!;
    // fresh linear memory the operation writes first: the heap it grows (tables, frame metadata)
    // and the hmm_pfns array allocated (untouched) before it
    if (b === "release") touchedBytesPerPage = (s.eng.raw.heapBytes() - heap0 + pages * 8) / pages;
    w.digests![b === "release" ? "wasm-scalar" : "wasm-simd"] = digest(p);
    if (countValid(p) !== pages) w.notes.push(`WARNING (${b}): ${countValid(p)} valid pages of ${pages}`);
    if (b === "release") w.notes.push(`faulted pages per operation (mm.hmmStats): ${s.mm.hmmStats.faultedPages}`);
  }
  if (thp) w.notes.push("ns per page of the range: each 2 MiB fault maps 512 pages");
  w.notes.push(
    `fresh linear memory written per faulted page: ${touchedBytesPerPage.toFixed(1)} B` +
      (firstTouchNs !== undefined
        ? `; at the probe's first-touch CPU cost that alone is ${((touchedBytesPerPage * firstTouchNs) / 4096).toPrecision(3)} ns/faulted page`
        : ""),
  );
  w.touchedBytesPerPage = touchedBytesPerPage;
  logWorkload(c, w);
  return w;
}
