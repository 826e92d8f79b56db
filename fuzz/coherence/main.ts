// The long coherence fuzzer: random sequences of mm operations, CPU and device accesses,
// migrations, daemons, fork and exit, with every invariant checked after every step.
//
//   npm run fuzz:coherence -- --sequences 100000 --steps 60 --seed 1
//   npx tsx fuzz/coherence/main.ts --replay failure.json
//
// Options (--help lists them): --sequences N (default 100000), --steps N per sequence (default 60),
// --seed S (first seed; sequence i uses seed S + i), --progress N (default 1000), --build
// release|simd|debug, --walker wasm|reference, --replay FILE (runs one recorded sequence).
// Exit status 0 when no sequence failed, 1 otherwise (the shrunk sequence is printed).
import { Command, InvalidArgumentError, Option } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import type { EngineOptions } from "../../src/index.js";
import { formatSequence, generate, runSequence, shrink } from "./runner.js";
import type { Step } from "./world.js";

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("needs a positive integer");
  return n;
};
const seedArg = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("needs a non-negative integer");
  return n;
};
const program = new Command("fuzz:coherence")
  .description("random sequences of mm operations with every invariant checked after every step")
  .option("--sequences <n>", "sequences to run", positiveInt, 100000)
  .option("--steps <n>", "steps per sequence", positiveInt, 60)
  .option("--seed <s>", "first seed; sequence i uses seed s + i (default: from the clock, printed at the end)", seedArg)
  .option("--progress <n>", "print a progress line every n sequences", positiveInt, 1000)
  .addOption(new Option("--build <build>", "engine build").choices(["release", "simd", "debug"]).default("release"))
  .addOption(new Option("--walker <walker>", "page walker").choices(["wasm", "reference"]).default("wasm"))
  .option("--replay <file>", "run one recorded sequence (JSON) and print its failure")
  .showHelpAfterError()
  .parse();
const o = program.opts<{
  sequences: number;
  steps: number;
  seed?: number;
  progress: number;
  build: string;
  walker: string;
  replay?: string;
}>();
const engineOpts: EngineOptions = {
  build: o.build as EngineOptions["build"],
  walker: o.walker as EngineOptions["walker"],
};

if (o.replay) {
  const steps = JSON.parse(readFileSync(o.replay, "utf8")) as Step[];
  const f = runSequence(steps, engineOpts);
  console.log(f ? `FAIL at step ${f.index}: ${f.what}` : "ok: no failure");
  process.exit(f ? 1 : 0);
}

const sequences = o.sequences;
const stepsPer = o.steps;
const seed0 = o.seed ?? Date.now() % 1e9;
const progress = o.progress;
const t0 = Date.now();
let failures = 0;
const seen = new Set<string>();
for (let i = 0; i < sequences; i++) {
  const seed = seed0 + i;
  const steps = generate(seed, stepsPer);
  const f = runSequence(steps, engineOpts);
  if (f) {
    const key = f.what
      .split("\n")
      .slice(0, 2)
      .join("|")
      .replace(/[0-9a-fx]{4,}/g, "#");
    failures++;
    if (!seen.has(key)) {
      seen.add(key);
      const small = shrink(steps, engineOpts);
      const again = runSequence(small, engineOpts);
      const file = `coherence-failure-${seed}.json`;
      writeFileSync(file, formatSequence(small));
      console.log(
        `FAIL seed ${seed} (${small.length} steps, replay: npx tsx fuzz/coherence/main.ts --replay ${file}):\n${again?.what ?? f.what}\n${formatSequence(small)}`,
      );
    }
  }
  if ((i + 1) % progress === 0) {
    const s = (Date.now() - t0) / 1000;
    console.log(`${i + 1} sequences, ${(i + 1) * stepsPer} steps, ${failures} failing, ${s.toFixed(0)} s`);
  }
}
console.log(
  `done: ${sequences} sequences x ${stepsPer} steps = ${sequences * stepsPer} steps from seed ${seed0}; ${failures} failing (${seen.size} distinct)`,
);
process.exit(failures ? 1 : 0);
