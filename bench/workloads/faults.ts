// W5: first-touch write faults over an untouched anonymous VMA, on a fresh engine per operation (so
// memory growth, first touch of fresh linear memory and page-table allocation are all inside the
// figure), in ns per faulted page; W5t the same with THP "always" (one 2 MiB fault per PMD).
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE } from "../../src/hmm/range-fault.js";
import { PfnArray } from "../../src/hmm/pfns.js";
import { type Build, type Ctx, engineOf, logWorkload, race } from "../lib/context.js";
import { type Workload, fmtBytes } from "../lib/report.js";
import { GiB, MiB, PAGE, type Scene, countValid, digest, newScene, walkOnce } from "../lib/scenes.js";
import type { Contender } from "../lib/timing.js";

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
