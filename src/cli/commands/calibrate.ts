// `hmmsim calibrate`: measure this machine's CPU-side costs with the simulation layer's
// calibrate() (hmm_range_fault per call and per page walked, the anonymous fault) and write the
// cost-profile file, so simulations can charge measured numbers while staying deterministic
// (measurement happens only here, never during a run).
import { Command, Option } from "commander";
import { writeFileSync } from "node:fs";
import { BUILTIN_COST_PROFILES, calibrate, validateCostProfile } from "../../sim/index.js";
import { EXIT, UserError, type Output } from "../io.js";
import { choiceOption, intOption, textOption } from "../values.js";

interface CalOpts {
  out: string;
  base: string;
  name: string;
  pages: number;
  reps: number;
  json?: boolean;
  quiet?: boolean;
}

export function calibrateCommand(out: Output): Command {
  return new Command("calibrate")
    .description("measure this machine's hmm_range_fault and fault costs and write a cost-profile file")
    .addOption(
      new Option("-o, --out <file>", "profile file to write")
        .default("calibrated-profile.json")
        .argParser(textOption("--out")),
    )
    .addOption(
      new Option("--base <profile>", "built-in cost profile whose other entries the file keeps")
        .default("generic-x86-pcie4")
        .argParser(choiceOption("--base", Object.keys(BUILTIN_COST_PROFILES))),
    )
    .addOption(
      new Option("--name <name>", "name of the written profile").default("calibrated").argParser(textOption("--name")),
    )
    .addOption(
      new Option("--pages <n>", "pages per measured hmm_range_fault call")
        .default(512)
        .argParser(intOption("--pages", 2, 1 << 16)),
    )
    .addOption(
      new Option("--reps <n>", "calls per timed round (the fastest of 7 rounds is used)")
        .default(200)
        .argParser(intOption("--reps", 1, 1_000_000)),
    )
    .option("--json", "print one JSON document (docs/cli.md) instead of text")
    .option("-q, --quiet", "no progress lines")
    .action((o: CalOpts) => {
      out.json = !!o.json;
      out.quiet = !!o.quiet;
      const inputs = { out: o.out, base: o.base, name: o.name, pages: o.pages, reps: o.reps };
      out.inputs = inputs;
      out.note(`hmmsim calibrate: measuring ${o.pages}-page hmm_range_fault calls, ${o.reps} per round ...`);
      const profile = validateCostProfile(calibrate({ base: o.base, name: o.name, pages: o.pages, reps: o.reps }));
      try {
        writeFileSync(o.out, JSON.stringify(profile, null, 2) + "\n");
      } catch (e) {
        throw new UserError(
          `--out: cannot write ${o.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
      const e = profile.entries;
      if (out.json) out.emit("calibrate", EXIT.ok, inputs, { file: o.out, profile });
      else
        out.line(
          `wrote ${o.out}: hmm_range_fault ${e["hmm.callNs"].value} ns per call + ${e["walk.pageNs"].value} ns/page, anonymous fault ${e["fault.anonNs"].value} ns (use it as machine.costProfile)`,
        );
      out.exitCode = EXIT.ok;
    });
}
