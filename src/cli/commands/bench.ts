// `hmmsim bench`: a quick measurement of this machine (device fault path per walker, and the
// default scenario). Figures are reported, never asserted; the full suite is `npm run bench`.
import { Command, Option } from "commander";
import { defaultScenarioObject, runScenarioObject } from "../../sim/sweep/backend.js";
import { EXIT, type Output } from "../io.js";
import { measureWalk } from "../walk-bench.js";
import { choiceOption, intOption } from "../values.js";

interface BenchOpts {
  pages: number;
  runs: number;
  walker: "wasm" | "reference" | "both";
  json?: boolean;
  quiet?: boolean;
}

export function benchCommand(out: Output): Command {
  return new Command("bench")
    .description(
      "measure this machine: device faults per walker and the default scenario (npm run bench has the full suite)",
    )
    .addOption(
      new Option("--pages <n>", "pages per device fault").default(4096).argParser(intOption("--pages", 64, 1 << 20)),
    )
    .addOption(
      new Option("--runs <n>", "timed runs per figure (the median is reported)")
        .default(5)
        .argParser(intOption("--runs", 1, 1000)),
    )
    .addOption(
      new Option("--walker <name>", "wasm, reference or both")
        .default("both")
        .argParser(choiceOption("--walker", ["wasm", "reference", "both"] as const)),
    )
    .option("--json", "print one JSON document (docs/cli.md) instead of text")
    .option("-q, --quiet", "print only the figures")
    .action((o: BenchOpts) => {
      out.json = !!o.json;
      out.quiet = !!o.quiet;
      const inputs = { pages: o.pages, runs: o.runs, walker: o.walker };
      out.inputs = inputs;
      const walkers = o.walker === "both" ? (["wasm", "reference"] as const) : [o.walker];
      const walks = walkers.map((w) => {
        out.note(`hmmsim bench: ${w} walker, ${o.pages} pages × ${o.runs} runs ...`);
        return measureWalk(w, o.pages, o.runs);
      });
      const ms: number[] = [];
      for (let r = 0; r < o.runs; r++) ms.push(runScenarioObject(defaultScenarioObject(), { seed: 1 }).wallMs);
      ms.sort((a, b) => a - b);
      const scenario = { name: "default", runs: o.runs, medianWallMs: ms[Math.floor(ms.length / 2)] };
      if (out.json) out.emit("bench", EXIT.ok, inputs, { walks, scenario });
      else {
        for (const w of walks) {
          out.line(
            `${w.walker.padEnd(9)} (${w.build}) first touch ${w.firstTouchNsPerPage.toFixed(1)} ns/page, resident ${w.residentNsPerPage.toFixed(1)} ns/page (${w.residentUsPerCall.toFixed(1)} µs per ${w.pages}-page call)`,
          );
        }
        out.line(`default scenario: ${scenario.medianWallMs.toFixed(1)} ms per run (median of ${o.runs})`);
      }
      out.exitCode = EXIT.ok;
    });
}
