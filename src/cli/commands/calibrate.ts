// `hmmsim calibrate`: measure this machine's walk cost and write it as a cost-profile file (a
// built-in profile with the measured entries replaced, confidence "measured"), so
// simulations can charge measured CPU-side costs while staying deterministic (measurement happens
// only here, never during a run).
import { Command, Option } from "commander";
import { writeFileSync } from "node:fs";
import { hostname, cpus } from "node:os";
import { EXIT, type Output } from "../io.js";
import { measureWalk } from "../walk-bench.js";
import { choiceOption, intOption, textOption } from "../values.js";
import { BUILTIN_COST_PROFILES, validateCostProfile, type CostProfile } from "../../sim/index.js";

interface CalOpts { out: string; base: string; pages: number; runs: number; json?: boolean; quiet?: boolean }

export function calibrateCommand(out: Output): Command {
  return new Command("calibrate")
    .description("measure this machine's page-walk cost and write a cost-profile file")
    .addOption(new Option("-o, --out <file>", "profile file to write").default("calibrated-profile.json").argParser(textOption("--out")))
    .addOption(new Option("--base <profile>", "built-in cost profile whose other entries the file keeps").default("generic-x86-pcie4").argParser(choiceOption("--base", Object.keys(BUILTIN_COST_PROFILES))))
    .addOption(new Option("--pages <n>", "pages per measured device fault").default(4096).argParser(intOption("--pages", 64, 1 << 20)))
    .addOption(new Option("--runs <n>", "timed runs (the median is used)").default(9).argParser(intOption("--runs", 1, 1000)))
    .option("--json", "print one JSON document (docs/cli.md) instead of text")
    .option("-q, --quiet", "no progress lines")
    .action((o: CalOpts) => {
      out.json = !!o.json;
      out.quiet = !!o.quiet;
      const inputs = { out: o.out, base: o.base, pages: o.pages, runs: o.runs };
      out.inputs = inputs;
      out.note(`hmmsim calibrate: measuring ${o.pages}-page device faults, ${o.runs} runs ...`);
      const w = measureWalk("wasm", o.pages, o.runs);
      const source = `hmmsim calibrate on ${hostname()} (${cpus()[0]?.model ?? "unknown cpu"}), ${new Date().toISOString()}, median of ${o.runs} runs over ${o.pages} pages`;
      const base = BUILTIN_COST_PROFILES[o.base];
      const round = (x: number) => Math.round(x * 10) / 10;
      // Only the CPU-side figures this machine can measure change; the device side stays the base's.
      const profile: CostProfile = validateCostProfile({
        ...base,
        name: `calibrated-${hostname()}`,
        description: `${base.description} — walk and anonymous-fault costs measured by hmmsim calibrate`,
        entries: {
          ...base.entries,
          "walk.pageNs": { value: round(w.residentNsPerPage), unit: "ns/page", source, confidence: "measured" },
          "fault.anonNs": { value: round(Math.max(0, w.firstTouchNsPerPage - w.residentNsPerPage)), unit: "ns", source, confidence: "measured" },
        },
      });
      writeFileSync(o.out, JSON.stringify(profile, null, 2) + "\n");
      if (out.json) out.emit("calibrate", EXIT.ok, inputs, { file: o.out, profile });
      else out.line(`wrote ${o.out}: walk ${profile.entries["walk.pageNs"].value} ns/page, anonymous fault ${profile.entries["fault.anonNs"].value} ns (use it as machine.costProfile)`);
      out.exitCode = EXIT.ok;
    });
}
