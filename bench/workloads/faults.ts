// W5: first-touch write faults over an untouched anonymous VMA, on a fresh engine per operation (so
// memory growth, first touch of fresh linear memory and page-table allocation are all inside the
// figure), in ns per faulted page; W5t the same with THP "always" (one 2 MiB fault per PMD).
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE } from "../../src/hmm/range-fault.js";
import { PfnArray } from "../../src/hmm/pfns.js";
import { type Build, type Ctx, engineOf, logWorkload, race } from "../lib/context.js";
import { type Workload, fmtBytes } from "../lib/report.js";
import { GiB, MiB, PAGE, type Scene, countValid, digest, newScene, walkOnce } from "../lib/scenes.js";
import { type Contender, median, now } from "../lib/timing.js";

/**
 * What the operating system charges for the first touch of fresh linear memory: a WebAssembly
 * memory grown by 64 MiB, one byte written per 4 KiB page; ns per 4 KiB page, median of 5.
 */
export function firstTouchProbe(): number {
  const xs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const bytes = 64 * MiB;
    const m = new WebAssembly.Memory({ initial: 1, maximum: 2048 });
    m.grow(bytes / 65536);
    const u8 = new Uint8Array(m.buffer);
    const t0 = now();
    for (let i = 0; i < bytes; i += 4096) u8[i] = 1;
    xs.push(Number(now() - t0) / (bytes / 4096));
  }
  return median(xs);
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
    id: "W5w", title, pages, figures: race(c, contenders, pages, "ns/faulted page"),
    notes: ["one engine per build; before each timed operation the previous mm exits and a new mm maps the range (untimed)"],
  };
  logWorkload(c, w);
  return w;
}

export function firstTouch(c: Ctx, thp: boolean): Workload {
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
  const contenders: Contender[] = builds.map((b) => ({ name: b === "release" ? "wasm-scalar" : "wasm-simd", op: () => op(b), before: () => fresh(b) }));
  const w: Workload = {
    id, title, pages, figures: race(c, contenders, pages, "ns/faulted page"), digests: {},
    notes: ["the engine, mm, VMA, notifier and hmm_pfns array are created before each timed operation; the walk passes, the faults, page-table and metadata allocation and linear-memory growth are inside it"],
  };
  for (const b of builds) {
    fresh(b);
    op(b);
    const { s, p } = cur.get(b)!;
    w.digests![b === "release" ? "wasm-scalar" : "wasm-simd"] = digest(p);
    if (countValid(p) !== pages) w.notes.push(`WARNING (${b}): ${countValid(p)} valid pages of ${pages}`);
    if (b === "release") w.notes.push(`faulted pages per operation (mm.hmmStats): ${s.mm.hmmStats.faultedPages}`);
  }
  if (thp) w.notes.push("ns per page of the range: each 2 MiB fault maps 512 pages");
  logWorkload(c, w);
  return w;
}
