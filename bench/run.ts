// npm run bench [-- options]: the benchmarks of bench/README.md in one run. Prints every figure and
// every target of issue 10 with met / missed, and writes bench/results/report[-quick].json and
// .html (self-contained) under the repository, wherever it is run from.
//
//   --quick            smaller spaces, 3 rounds of 150 ms batches (about a minute)
//   --only W1,W4,...   run only these workloads (W1 W2 W3 W4 W5 W6 W8 MEM)
//   --rounds N         interleaved rounds per workload (default 5; quick 3)
//   --batch-ms N       length of a calibrated batch (default 300; quick 150)
//   --reference        also time the TypeScript reference walker (W1-W4, W6)
//   --wasm-dir DIR     run DIR/release.wasm and DIR/simd.wasm instead of the embedded builds (A/B runs)
//   --out DIR          results directory (default: bench/results of this checkout)
import { Command } from "commander";
import { positiveInt } from "./lib/cli.js";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import * as os from "node:os";
import { fileURLToPath } from "node:url";
import type { Ctx } from "./lib/context.js";
import { reportHtml } from "./lib/html.js";
import { type Report, fmt, machine, machineLine } from "./lib/report.js";
import { GiB, MiB } from "./lib/scenes.js";
import { now } from "./lib/timing.js";
import { buildNative, nativeFlags } from "./native/native.js";
import { checkTargets } from "./targets.js";
import { firstTouch, firstTouchProbe, warmTouch } from "./workloads/faults.js";
import { memoryAt, memoryFigure } from "./workloads/memory.js";
import { mmOps } from "./workloads/mmops.js";
import { W1_BYTES, W4_BYTES, populated, randomCalls, snapshot } from "./workloads/walks.js";

const WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6", "W8", "MEM"];
const here = dirname(fileURLToPath(import.meta.url));

const program = new Command("bench")
  .description("the benchmarks of bench/README.md in one run")
  .option("--quick", "smaller spaces, 3 rounds of 150 ms batches (about a minute)", false)
  .option("--only <ids>", `run only these workloads (${WORKLOADS.join(",")})`, (v) => v.toUpperCase().split(","))
  .option("--rounds <n>", "interleaved rounds per workload (default 5; quick 3)", positiveInt)
  .option("--batch-ms <n>", "length of a calibrated batch in ms (default 300; quick 150)", positiveInt)
  .option("--reference", "also time the TypeScript reference walker (W1-W4, W6)", false)
  .option("--wasm-dir <dir>", "run DIR/release.wasm and DIR/simd.wasm instead of the embedded builds")
  .option("--out <dir>", "results directory (default: bench/results of this checkout)")
  .showHelpAfterError()
  .parse();
const opts = program.opts<{
  quick: boolean;
  only?: string[];
  rounds?: number;
  batchMs?: number;
  reference: boolean;
  wasmDir?: string;
  out?: string;
}>();
const { quick, only, rounds, batchMs, reference } = opts;
const wasmDir = opts.wasmDir === undefined ? undefined : resolve(opts.wasmDir);
const outDir = opts.out === undefined ? join(here, "results") : resolve(opts.out);
for (const o of only ?? []) if (!WORKLOADS.includes(o)) program.error(`bench: unknown workload ${o}`);
const want = (id: string): boolean => !only || only.includes(id);

const T0 = now();
const native = buildNative();
const c: Ctx = {
  quick,
  rounds: rounds ?? (quick ? 3 : 5),
  batchMs: batchMs ?? (quick ? 150 : 300),
  log: (s) => console.log(s),
  native,
  reference,
  wasm: wasmDir
    ? { release: readFileSync(join(wasmDir, "release.wasm")), simd: readFileSync(join(wasmDir, "simd.wasm")) }
    : undefined,
};
const report: Report = {
  quick,
  date: new Date().toISOString(),
  machine: machine(native.compiler),
  settings: { rounds: c.rounds, batchMs: c.batchMs, wasm: wasmDir ?? "embedded builds" },
  workloads: [],
  memory: [],
  targets: [],
  notes: [],
  seconds: 0,
};
c.log(
  `hmmsim bench${quick ? " --quick" : ""}: ${machineLine(report.machine)}; load average ${report.machine.loadAvgStart.join(" ")}`,
);
c.log(
  `timing: ${c.rounds} interleaved rounds of calibrated ~${c.batchMs} ms batches per contender, medians; figures are CPU time, wall time beside them`,
);
if (native.note) report.notes.push(native.note);
if (native.binaries.O2)
  report.notes.push(
    `native anchor: bench/native/walk.c built with cc ${nativeFlags("O2")} (and ${nativeFlags("O3native")} for W2)`,
  );
for (const n of report.notes) c.log(`note: ${n}`);
if (os.loadavg()[0] > os.cpus().length / 2)
  c.log(
    "note: the machine is busy (load average above half the cores): interleaved rounds keep the ratios fair, absolute figures move",
  );

if (want("W1")) {
  const b = W1_BYTES(c);
  const sc = { release: populated(c, "release", b, "pte"), simd: populated(c, "simd", b, "pte") };
  if (want("MEM")) report.memory.push(memoryFigure(`${b / GiB} GiB of 4 KiB pages`, sc.release));
  report.workloads.push(snapshot(c, "W1", "snapshot of populated 4 KiB pages, in cache", b, "pte", sc));
}
if (want("W2")) report.workloads.push(snapshot(c, "W2", "snapshot of 2 MiB THPs", W1_BYTES(c), "thp"));
if (want("W3"))
  report.workloads.push(snapshot(c, "W3", "snapshot, 10% of the PTE tables present", W1_BYTES(c), "sparse"));
if (want("W4") || want("W6")) {
  const b = W4_BYTES(c);
  const t0 = now();
  const sc = { release: populated(c, "release", b, "pte"), simd: populated(c, "simd", b, "pte") };
  c.log(`populated ${b / GiB} GiB of 4 KiB pages twice in ${(Number(now() - t0) / 1e9).toFixed(1)} s`);
  if (want("MEM")) report.memory.push(memoryFigure(`${b / GiB} GiB of 4 KiB pages`, sc.release));
  if (want("W4"))
    report.workloads.push(
      snapshot(c, "W4", "snapshot of populated 4 KiB pages, tables far beyond the caches", b, "pte", sc),
    );
  if (want("W6")) report.workloads.push(randomCalls(c, sc));
}
if (want("W5")) {
  const ft = firstTouchProbe();
  report.firstTouch = ft;
  report.firstTouchNsPer4KiB = ft.firstNs;
  c.log(
    `first touch of fresh linear memory (64 MiB grown, one byte written per 4 KiB page): ${fmt(ft.firstNs)} ns per page (${fmt(ft.firstCpuNs)} ns CPU time); ` +
      `the same pages again ${fmt(ft.secondNs)} ns; a second fresh memory ${fmt(ft.againNs)} ns; memory.grow ${fmt(ft.growSmallUs)} µs per 64 KiB step, ` +
      `${fmt(ft.growBigUs)} µs for one 16 MiB step`,
  );
  if (ft.firstNs > 2000 && ft.againNs > 2000) {
    c.log(
      "note: every fresh page costs microseconds here, memory used before included: the host faults guest pages in " +
        "(a VM that backs memory lazily or takes freed pages back); W5's fresh-engine figure carries that cost per byte of linear memory it writes",
    );
  }
  // W5's figures are CPU time: so is the share of first touch they are compared with
  report.workloads.push(firstTouch(c, false, ft.firstCpuNs));
  report.workloads.push(warmTouch(c));
  report.workloads.push(firstTouch(c, true, ft.firstCpuNs));
}
if (want("W8")) {
  report.workloads.push(mmOps(c, quick ? 256 * MiB : GiB));
  report.workloads.push(mmOps(c, quick ? 4 * GiB : 64 * GiB));
}
if (want("MEM") && !quick) report.memory.push(memoryAt(c, 256 * GiB));

report.targets = checkTargets(report);
report.seconds = Number(now() - T0) / 1e9;
report.machine.loadAvgEnd = os.loadavg().map((x) => +x.toFixed(2));
c.log("");
c.log("targets of issue 10 (reported, not asserted):");
for (const t of report.targets)
  c.log(`  ${t.met ? " met  " : "MISSED"}  ${t.what}: ${t.measured} (target ${t.target})`);
mkdirSync(outDir, { recursive: true });
const base = join(outDir, quick ? "report-quick" : "report");
writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + "\n");
writeFileSync(`${base}.html`, reportHtml(report));
c.log(`report: ${base}.json, ${base}.html`);
c.log(`done in ${fmt(report.seconds)} s (load average at the end ${report.machine.loadAvgEnd.join(" ")})`);
