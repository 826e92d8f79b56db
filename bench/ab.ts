// npx tsx bench/ab.ts DIR [GIB]: A/B of the W4 walk (a snapshot of GIB GiB of populated 4 KiB pages,
// default 8) between DIR/release.wasm and DIR/simd.wasm (for example the builds of another commit)
// and the embedded builds, in interleaved calibrated rounds in one process, so that both sides share
// the machine's load alike. Prints CPU and wall ns/page and each side's output digest (they must match).
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Engine } from "../src/engine/engine.js";
import { PfnArray } from "../src/hmm/pfns.js";
import { positiveInt } from "./lib/cli.js";
import { type Contender, interleaved } from "./lib/timing.js";
import { GiB, PMD_SIZE, PAGE, digest, newScene, walkOnce, writePteTables } from "./lib/scenes.js";

const program = new Command("bench/ab.ts")
  .description("A/B of the W4 walk: DIR/{release,simd}.wasm against the embedded builds, interleaved")
  .argument("<dir>", "directory holding release.wasm and simd.wasm")
  .argument("[gib]", "GiB of populated 4 KiB pages", positiveInt, 8)
  .showHelpAfterError()
  .parse();
const dir = program.args[0];
const bytes = (program.processedArgs[1] as number) * GiB;
const side = (name: string, build: "release" | "simd", wasm?: Uint8Array): Contender & { out: PfnArray } => {
  const s = newScene(new Engine({ build, ...(wasm ? { wasm } : {}) }), bytes);
  const step = (16 * GiB) / PMD_SIZE;
  for (let t = 0; t < bytes / PMD_SIZE; t += step)
    writePteTables(s, s.start + t * PMD_SIZE, Math.min(step, bytes / PMD_SIZE - t));
  const out = new PfnArray(s.eng, bytes / PAGE);
  return { name, out, op: () => s.mm.withReadLock(() => walkOnce(s, out, 0n, "wasm")) };
};
const file = (b: string): Uint8Array => readFileSync(join(resolve(dir), `${b}.wasm`));
const sides = [
  side("A simd", "simd", file("simd")),
  side("B simd", "simd"),
  side("A scalar", "release", file("release")),
  side("B scalar", "release"),
];
console.log(
  `W4 A/B over ${bytes / GiB} GiB: A = ${dir}, B = the embedded builds; 7 interleaved rounds of ~300 ms batches`,
);
const r = interleaved(sides, 7, 300);
for (const x of sides) {
  const t = r.get(x.name)!;
  const per = (ns: number): string => (ns / (bytes / PAGE)).toFixed(3);
  console.log(`  ${x.name.padEnd(9)} ${per(t.cpuNs)} ns/page CPU, ${per(t.wallNs)} wall, digest ${digest(x.out)}`);
}
