// The long coherence fuzzer: random sequences of mm operations, CPU and device accesses,
// migrations, daemons, fork and exit, with every invariant checked after every step.
//
//   npm run fuzz:coherence -- --sequences 100000 --steps 60 --seed 1
//   npx tsx fuzz/coherence/main.ts --replay failure.json
//
// Options: --sequences N (default 100000), --steps N per sequence (default 60), --seed S (first
// seed; sequence i uses seed S + i), --progress N (default 1000), --build release|simd|debug,
// --walker wasm|reference, --replay FILE (runs one recorded sequence and prints its failure).
// Exit status 0 when no sequence failed, 1 otherwise (the shrunk sequence is printed).
import { readFileSync, writeFileSync } from "node:fs";
import type { EngineOptions } from "../../src/index.js";
import { formatSequence, generate, runSequence, shrink } from "./runner.js";
import type { Step } from "./world.js";

const args = process.argv.slice(2);
function opt(name: string, def: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}
const engineOpts: EngineOptions = {
  build: opt("build", "release") as EngineOptions["build"],
  walker: opt("walker", "wasm") as EngineOptions["walker"],
};

const replay = opt("replay", "");
if (replay) {
  const steps = JSON.parse(readFileSync(replay, "utf8")) as Step[];
  const f = runSequence(steps, engineOpts);
  console.log(f ? `FAIL at step ${f.index}: ${f.what}` : "ok: no failure");
  process.exit(f ? 1 : 0);
}

const sequences = Number(opt("sequences", "100000"));
const stepsPer = Number(opt("steps", "60"));
const seed0 = Number(opt("seed", String(Date.now() % 1e9)));
const progress = Number(opt("progress", "1000"));
const t0 = Date.now();
let failures = 0;
const seen = new Set<string>();
for (let i = 0; i < sequences; i++) {
  const seed = seed0 + i;
  const steps = generate(seed, stepsPer);
  const f = runSequence(steps, engineOpts);
  if (f) {
    const key = f.what.split("\n").slice(0, 2).join("|").replace(/[0-9a-fx]{4,}/g, "#");
    failures++;
    if (!seen.has(key)) {
      seen.add(key);
      const small = shrink(steps, engineOpts);
      const again = runSequence(small, engineOpts);
      const file = `coherence-failure-${seed}.json`;
      writeFileSync(file, formatSequence(small));
      console.log(`FAIL seed ${seed} (${small.length} steps, replay: npx tsx fuzz/coherence/main.ts --replay ${file}):\n${again?.what ?? f.what}\n${formatSequence(small)}`);
    }
  }
  if ((i + 1) % progress === 0) {
    const s = (Date.now() - t0) / 1000;
    console.log(`${i + 1} sequences, ${(i + 1) * stepsPer} steps, ${failures} failing, ${s.toFixed(0)} s`);
  }
}
console.log(`done: ${sequences} sequences x ${stepsPer} steps = ${sequences * stepsPer} steps from seed ${seed0}; ${failures} failing (${seen.size} distinct)`);
process.exit(failures ? 1 : 0);
