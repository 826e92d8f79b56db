// npm run bench:profile -- W6 [options]: where the time of one benchmark workload goes. Runs the
// workload's timed operation (the one `npm run bench` measures, built the same way) under V8's
// sampling CPU profiler (node:inspector) and prints the functions by self time, in % of the
// samples, WebAssembly functions by name (see lib/wasm-names.ts), plus the split between
// WebAssembly, the library's TypeScript, the bench's own code and V8 (GC, runtime).
//
//   W1 | W2 | W4 | W5 | W5w | W6   the workload (W4/W6: 64 GiB, 4 GiB with --quick)
//   --build scalar|simd             the engine build (default simd)
//   --seconds N                     seconds of profiled operations (default 5)
//   --interval N                    sampling interval in µs (default 100)
//   --top N                         rows printed (default 25)
//   --quick                         the smaller spaces of bench --quick
//   --wasm-dir DIR                  profile DIR/<build>.wasm (names from DIR/<build>.wat)
//   --cpuprofile FILE               also write the merged profile (open it in Chrome DevTools)
//
// Setup that the bench does outside the timed region (W5's fresh engine, W5w's new mm) runs inside
// untimedSetup(), and the samples under that frame are left out: the tables cover the timed
// operations only.
import { Session } from "node:inspector";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { Engine } from "../src/engine/engine.js";
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE } from "../src/hmm/range-fault.js";
import { PfnArray } from "../src/hmm/pfns.js";
import type { Ctx } from "./lib/context.js";
import { GiB, MiB, PAGE, type Scene, newScene, walkOnce } from "./lib/scenes.js";
import { withFunctionNames } from "./lib/wasm-names.js";
import { W1_BYTES, W4_BYTES, driverRangeFault, populated } from "./workloads/walks.js";
import { Rng } from "../src/sim/sched/rng.js";

const here = dirname(fileURLToPath(import.meta.url));
const WORKLOADS = ["W1", "W2", "W4", "W5", "W5w", "W6"] as const;
type WorkloadId = (typeof WORKLOADS)[number];

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("needs a positive number");
  return n;
}
const program = new Command("bench:profile")
  .description("the functions a benchmark workload spends its time in (V8 CPU profiler)")
  .argument("<workload>", WORKLOADS.join(" | "), (v: string) => {
    const w = WORKLOADS.find((x) => x.toLowerCase() === v.toLowerCase());
    if (!w) throw new InvalidArgumentError(`one of ${WORKLOADS.join(", ")}`);
    return w;
  })
  .option(
    "--build <b>",
    "scalar | simd",
    (v: string) => {
      if (v !== "scalar" && v !== "simd") throw new InvalidArgumentError("scalar or simd");
      return v;
    },
    "simd",
  )
  .option("--seconds <n>", "seconds of profiled operations", positive, 5)
  .option("--interval <us>", "sampling interval in µs", positive, 100)
  .option("--top <n>", "rows printed", positive, 25)
  .option("--quick", "the smaller spaces of bench --quick", false)
  .option("--wasm-dir <dir>", "profile DIR/<build>.wasm (function names from DIR/<build>.wat)")
  .option("--cpuprofile <file>", "also write the merged profile")
  .showHelpAfterError()
  .parse();
const id = program.processedArgs[0] as WorkloadId;
const opts = program.opts<{
  build: "scalar" | "simd";
  seconds: number;
  interval: number;
  top: number;
  quick: boolean;
  wasmDir?: string;
  cpuprofile?: string;
}>();
const build = opts.build === "scalar" ? "release" : "simd";
const dir = opts.wasmDir ? resolve(opts.wasmDir) : join(here, "..", "build");
const wasm = withFunctionNames(readFileSync(join(dir, `${build}.wasm`)), join(dir, `${build}.wat`));
const engine = (): Engine => new Engine({ build, wasm });
// the Ctx of the bench workloads, with this build's named module for both builds
const ctx: Ctx = {
  quick: opts.quick,
  rounds: 1,
  batchMs: 300,
  log: () => {},
  reference: false,
  native: { binaries: {}, compiler: "", note: "" },
  wasm: { release: wasm, simd: wasm },
};

/** The timed operation of a workload, and the untimed setup before each one (if any). */
interface Job {
  title: string;
  before?: () => void;
  op: () => void;
}
function jobOf(w: WorkloadId): Job {
  switch (w) {
    case "W1":
    case "W2":
    case "W4": {
      const bytes = w === "W4" ? W4_BYTES(ctx) : W1_BYTES(ctx);
      const s = populated(ctx, build, bytes, w === "W2" ? "thp" : "pte");
      const p = new PfnArray(s.eng, s.pages);
      return {
        title: `${w} snapshot of ${bytes / GiB} GiB (${w === "W2" ? "THPs" : "4 KiB pages"})`,
        op: () => s.mm.withReadLock(() => walkOnce(s, p, 0n, "wasm")),
      };
    }
    case "W6": {
      const s = populated(ctx, build, W4_BYTES(ctx), "pte");
      const callPages = 512;
      const p = new PfnArray(s.eng, callPages);
      const r = Rng.seeded(12345); // the simulator's seeded generator: the same places every run
      const maxStart = s.pages - callPages;
      const calls = 1000;
      return {
        title: `W6 512-page calls at random places in ${s.bytes / GiB} GiB, driver protocol (1000 calls per operation)`,
        op: () => {
          for (let i = 0; i < calls; i++) {
            const start = s.start + r.int(maxStart) * PAGE;
            driverRangeFault(s, start, start + callPages * PAGE, p, "wasm");
          }
        },
      };
    }
    case "W5":
    case "W5w": {
      const bytes = opts.quick ? 64 * MiB : GiB;
      const eng = w === "W5w" ? engine() : undefined;
      let cur: { s: Scene; p: PfnArray } | undefined;
      return {
        title:
          w === "W5"
            ? `W5 first-touch write faults over ${bytes / MiB} MiB, fresh engine per operation`
            : `W5w first-touch write faults over ${bytes / MiB} MiB, engine memory grown and touched`,
        before: () => {
          if (eng) {
            cur?.s.mm.exit();
            const s = newScene(eng, bytes);
            cur = { s, p: cur?.p ?? new PfnArray(eng, bytes / PAGE) };
          } else {
            const s = newScene(engine(), bytes);
            cur = { s, p: new PfnArray(s.eng, bytes / PAGE) };
          }
        },
        op: () => cur!.s.mm.withReadLock(() => walkOnce(cur!.s, cur!.p, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE, "wasm")),
      };
    }
  }
}

// ---- the V8 profiler -----------------------------------------------------------------------------

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  scriptId: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const session = new Session();
session.connect();
function post<T = unknown>(method: string, params?: object): T {
  let result: T | undefined;
  let error: Error | null = null;
  session.post(method, params, (err, res) => {
    error = err;
    result = res as T;
  });
  if (error) throw error;
  if (result === undefined) throw new Error(`inspector: ${method} did not answer synchronously`);
  return result;
}

const job = jobOf(id);
console.log(
  `hmmsim profile: ${job.title}; build ${opts.build} (${dir}/${build}.wasm with function names); ` +
    `${opts.seconds} s of operations, sampled every ${opts.interval} µs`,
);
// warm-up (tier-up of the WebAssembly and the JIT) outside the profile
for (let i = 0, t0 = performance.now(); i < 3 || performance.now() - t0 < 300; i++) {
  job.before?.();
  job.op();
}
post("Profiler.enable");
post("Profiler.setSamplingInterval", { interval: Math.round(opts.interval) });
const profiles: Profile[] = [];
let ops = 0;
let opMs = 0;
/** Runs untimed setup; samples under this frame are left out of the tables. */
function untimedSetup(f: () => void): void {
  f();
}
const UNTIMED = "untimedSetup";
while (opMs < opts.seconds * 1000) {
  // profiles of ~1 s (starting and stopping the profiler costs milliseconds: not per operation)
  post("Profiler.start");
  const seg0 = performance.now();
  do {
    if (job.before) untimedSetup(job.before);
    const t0 = performance.now();
    job.op();
    opMs += performance.now() - t0;
    ops++;
  } while (performance.now() - seg0 < 1000);
  profiles.push(post<{ profile: Profile }>("Profiler.stop").profile);
}
post("Profiler.disable");
session.disconnect();

// ---- self time per function ----------------------------------------------------------------------

/** What a sampled frame belongs to. */
function categoryOf(f: CallFrame): string {
  if (f.url.startsWith("wasm://")) return "WebAssembly";
  if (f.functionName === "(garbage collector)") return "V8 garbage collector";
  if (f.functionName.startsWith("(")) return `V8 ${f.functionName}`;
  if (f.url.includes("/src/")) return "library TypeScript (src/)";
  if (f.url.includes("/bench/")) return "bench code";
  return f.url === "" ? "V8 builtins and runtime" : "Node and other JavaScript";
}
function placeOf(f: CallFrame): string {
  if (f.url.startsWith("wasm://")) return "wasm";
  const m = /\/((?:src|bench|test|node_modules)\/.*)$/.exec(f.url);
  return m ? `${m[1]}:${f.lineNumber + 1}` : f.url ? `${f.url.replace(/^.*\//, "")}:${f.lineNumber + 1}` : "";
}
const self = new Map<string, { name: string; place: string; cat: string; us: number }>();
const cats = new Map<string, number>();
let totalUs = 0;
// --cpuprofile: the profiles merged under one root (DevTools opens one tree)
const ROOT_ID = 1;
const merged: Profile = {
  nodes: [{ id: ROOT_ID, callFrame: { functionName: "(root)", url: "", lineNumber: -1, scriptId: "0" }, children: [] }],
  startTime: 0,
  endTime: 0,
  samples: [],
  timeDeltas: [],
};
let idBase = ROOT_ID;
let untimedUs = 0;
for (const p of profiles) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // nodes at or below an untimedSetup frame
  const untimed = new Set<number>();
  const mark = (n: ProfileNode, under: boolean): void => {
    const u = under || n.callFrame.functionName === UNTIMED;
    if (u) untimed.add(n.id);
    for (const c of n.children ?? []) mark(byId.get(c)!, u);
  };
  mark(p.nodes[0], false);
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // the time up to the next sample belongs to this one (the last one gets the interval)
    const us = i + 1 < deltas.length ? Math.max(deltas[i + 1], 0) : opts.interval;
    const f = byId.get(samples[i])!.callFrame;
    if (f.functionName === "(root)") continue;
    if (untimed.has(samples[i])) {
      untimedUs += us;
      continue;
    }
    const name = f.functionName || "(anonymous)";
    const place = placeOf(f);
    const key = `${name}\u0000${place}`;
    const e = self.get(key) ?? { name, place, cat: categoryOf(f), us: 0 };
    e.us += us;
    self.set(key, e);
    cats.set(e.cat, (cats.get(e.cat) ?? 0) + us);
    totalUs += us;
  }
  if (opts.cpuprofile) {
    const rootId = p.nodes[0].id; // a profile's first node is its root
    const map = (x: number): number => (x === rootId ? ROOT_ID : x + idBase);
    for (const n of p.nodes) {
      if (n.id === rootId) merged.nodes[0].children!.push(...(n.children ?? []).map(map));
      else merged.nodes.push({ ...n, id: map(n.id), children: n.children?.map(map) });
    }
    merged.samples!.push(...samples.map(map));
    merged.timeDeltas!.push(...deltas);
    merged.endTime += p.endTime - p.startTime;
    idBase += Math.max(...p.nodes.map((n) => n.id));
  }
}
if (opts.cpuprofile) writeFileSync(resolve(opts.cpuprofile), JSON.stringify(merged));

const pct = (us: number): string => `${((100 * us) / Math.max(totalUs, 1)).toFixed(1).padStart(5)}%`;
console.log(
  `${ops} operations in ${(opMs / 1000).toFixed(2)} s (${(opMs / ops).toFixed(3)} ms each, wall, profiler on); ` +
    `${(totalUs / 1000).toFixed(0)} ms sampled${untimedUs ? ` (and ${(untimedUs / 1000).toFixed(0)} ms of untimed setup left out)` : ""}\n`,
);
console.log("by kind of code (self time):");
for (const [k, us] of [...cats].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(us)}  ${k}`);
console.log(`\ntop ${opts.top} functions by self time:`);
console.log("   self   ms      function                                  where");
for (const e of [...self.values()].sort((a, b) => b.us - a.us).slice(0, opts.top)) {
  console.log(`  ${pct(e.us)} ${(e.us / 1000).toFixed(0).padStart(6)}   ${e.name.padEnd(40)}  ${e.place}`);
}
if (opts.cpuprofile) console.log(`\nprofile: ${resolve(opts.cpuprofile)}`);
