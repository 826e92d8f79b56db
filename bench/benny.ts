// benny suites of the walk workloads: one suite per workload, one case per build and walker, for a
// quick ops/s comparison with benny's statistics (the calibrated-batch figures of `npm run bench`
// remain the reference). Each suite writes bench/results/benny-<id>.json and an offline chart
// (bench/chart.ts: uPlot inlined, no CDN).
// Run: npm run bench:benny [-- --quick]
import { Command } from "commander";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { add, complete, cycle, save, suite } from "benny";
import { Engine, HMM_PFN_REQ_FAULT, PfnArray, type WalkEngine } from "../src/index.js";
import { writeBarChart } from "./chart.js";
import { GiB, MiB, newScene, walkOnce, writePteTables, writeThps } from "./lib/scenes.js";

const { quick } = new Command("bench:benny")
  .description("benny suites of the walk workloads, with an offline chart")
  .option("--quick", "smaller spaces", false)
  .showHelpAfterError()
  .parse()
  .opts<{ quick: boolean }>();
const out = join(dirname(fileURLToPath(import.meta.url)), "results");
mkdirSync(out, { recursive: true });

type Case = { name: string; build: "release" | "simd"; walker: WalkEngine };
const CASES: Case[] = [
  { name: "WASM scalar", build: "release", walker: "wasm" },
  { name: "WASM SIMD", build: "simd", walker: "wasm" },
  { name: "TS reference", build: "release", walker: "reference" },
];

async function walkSuite(
  id: string,
  title: string,
  bytes: number,
  fill: (s: ReturnType<typeof newScene>) => void,
): Promise<void> {
  const benches = CASES.map((c) => {
    const s = newScene(new Engine({ build: c.build }), bytes);
    fill(s);
    const pfns = new PfnArray(s.eng, s.pages);
    return add(c.name, () => {
      s.mm.mmapReadLock();
      try {
        walkOnce(s, pfns, HMM_PFN_REQ_FAULT, c.walker);
      } finally {
        s.mm.mmapReadUnlock();
      }
    });
  });
  const summary = await suite(
    title,
    ...benches,
    cycle(),
    complete(),
    save({ file: `benny-${id}`, folder: out, format: "json" }),
  );
  writeBarChart(
    join(out, `benny-${id}.html`),
    title,
    summary.results.map((r) => ({ name: r.name, opsPerSec: r.ops, marginPct: r.margin })),
  );
}

const bytes = quick ? 64 * MiB : GiB;
await walkSuite("w1", `W1 snapshot of populated 4 KiB pages, ${bytes / MiB} MiB`, bytes, (s) => {
  writePteTables(s, s.start, s.bytes / (2 * MiB));
});
await walkSuite("w2", `W2 snapshot of 2 MiB THPs, ${bytes / MiB} MiB`, bytes, (s) => {
  writeThps(s, s.start, s.bytes / (2 * MiB));
});
