// npm run bench [-- --quick] [--out FILE] [--only W1,W4,...]: runs bench/suite.ts and prints its report.
import { Command, InvalidArgumentError } from "commander";
import { BENCH_WORKLOADS, runBenchmarks } from "./suite.js";

const program = new Command("bench")
  .description("hmmRangeFault benchmarks: WASM (release, SIMD) against the TypeScript reference walker (bench/README.md)")
  .option("--quick", "smaller sizes and shorter suites (under a minute), no capacity probe")
  .option("--out <file>", "path of the JSON report (default bench/results/report[-quick].json)")
  .option("--only <ids>", `run only these workloads, comma-separated: ${BENCH_WORKLOADS.join(",")}`, (v: string) => {
    const ids = v.split(",").filter(Boolean);
    const bad = ids.filter((id) => !(BENCH_WORKLOADS as readonly string[]).includes(id));
    if (!ids.length || bad.length) throw new InvalidArgumentError(`unknown workload ${bad.join(",") || "(none)"}; expected ${BENCH_WORKLOADS.join(",")}`);
    return ids;
  })
  // usage errors exit 2, like hmmsim's
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .parse(process.argv.slice(2), { from: "user" });

const o = program.opts<{ quick?: boolean; out?: string; only?: string[] }>();
await runBenchmarks({ quick: !!o.quick, out: o.out, only: o.only });
