// npm run bench [-- --quick] [--out FILE] [--only W1,W4,...]: runs src/bench.ts and prints its report.
import { BENCH_WORKLOADS, runBenchmarks } from "./suite.js";

const args = process.argv.slice(2);
let quick = false;
let out: string | undefined;
let only: string[] | undefined;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--quick") quick = true;
  else if (a === "--out") out = args[++i];
  else if (a.startsWith("--out=")) out = a.slice(6);
  else if (a === "--only") only = args[++i]?.split(",");
  else if (a.startsWith("--only=")) only = a.slice(7).split(",");
  else if (a === "--help" || a === "-h") {
    console.log(`usage: tsx bench/run.ts [--quick] [--out FILE] [--only ${BENCH_WORKLOADS.join(",")}]`);
    process.exit(0);
  } else {
    console.error(`bench: unknown argument ${a}`);
    process.exit(2);
  }
}

await runBenchmarks({ quick, out, only });
