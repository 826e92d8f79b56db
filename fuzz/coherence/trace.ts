// Replays a recorded sequence step by step, printing each step, the VMAs of every live Mm and
// the invariant violations after it (a debugging aid for fuzzer findings).
//   npx tsx fuzz/coherence/trace.ts failure.json
import { readFileSync } from "node:fs";
import { checkInvariants, formatViolations } from "../../src/index.js";
import { type Step, World } from "./world.js";

const steps = JSON.parse(readFileSync(process.argv[2], "utf8")) as Step[];
const w = new World();
for (const [i, s] of steps.entries()) {
  let err = "";
  try {
    w.apply(s);
  } catch (e) {
    err = ` threw ${String(e)}`;
  }
  console.log(`#${i} ${JSON.stringify(s)}${err}`);
  for (const mm of w.mms) if (!mm.exited) console.log(`   mm ${mm.id}: ${mm.vmas.join(" ")}`);
  const vs = checkInvariants(w.engine, { mirrors: w.liveMirrors(), files: w.files, limit: 6 });
  if (vs.length) console.log(formatViolations(vs).replace(/^/gm, "   ! "));
}
