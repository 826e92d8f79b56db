#!/usr/bin/env node
// hmmsim command line: `hmmsim run` (the default simulation). Benchmarks: `npm run bench` in a checkout.
import { runDefaultSimulation, type SimOptions } from "../sim/default.js";

const USAGE = `usage: hmmsim <command> [options]

commands:
  run     run the built-in default simulation (GPU mirror vs CPU mprotect/munmap/migration)
          --pages N (4096)  --rounds N (64)  --seed N (1)  --levels 4|5  --profile v6.1|v6.16|v6.19
          --engine wasm|reference  --json  --quiet
  help    show this text`;

function parseArgs(argv: string[]): { cmd: string; flags: Map<string, string | true> } {
  const [cmd = "run", ...rest] = argv;
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith("--")) throw new UsageError(`unexpected argument ${a}`);
    const [k, v] = a.slice(2).split("=", 2);
    if (v !== undefined) flags.set(k, v);
    else if (i + 1 < rest.length && !rest[i + 1].startsWith("--")) flags.set(k, rest[++i]);
    else flags.set(k, true);
  }
  return { cmd, flags };
}

class UsageError extends Error {}

function int(flags: Map<string, string | true>, k: string): number | undefined {
  const v = flags.get(k);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isInteger(n)) throw new UsageError(`--${k} needs an integer`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { cmd, flags } = parseArgs(argv);
  if (cmd === "help" || flags.has("help")) {
    console.log(USAGE);
    return 0;
  }
  if (cmd === "run") {
    const known = new Set(["pages", "rounds", "seed", "levels", "profile", "engine", "json", "quiet"]);
    for (const k of flags.keys()) if (!known.has(k)) throw new UsageError(`unknown option --${k}`);
    const levels = int(flags, "levels") ?? 4;
    if (levels !== 4 && levels !== 5) throw new UsageError("--levels must be 4 or 5");
    const profile = (flags.get("profile") ?? "v6.1") as SimOptions["profile"];
    if (profile !== "v6.1" && profile !== "v6.16" && profile !== "v6.19") throw new UsageError("--profile must be v6.1, v6.16 or v6.19");
    const engine = (flags.get("engine") ?? "wasm") as SimOptions["engine"];
    if (engine !== "wasm" && engine !== "reference") throw new UsageError("--engine must be wasm or reference");
    const quiet = flags.has("quiet") || flags.has("json");
    const report = runDefaultSimulation({
      pages: int(flags, "pages"), rounds: int(flags, "rounds"), seed: int(flags, "seed"), levels, profile, engine,
      log: quiet ? undefined : (s) => console.log(s),
    });
    if (flags.has("json")) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      console.log(`device faults: ${report.deviceFaults} (external -EBUSY retries: ${report.externalRetries}), walk passes: ${report.walkPasses}`);
      console.log(`invalidations seen by the device: ${Object.entries(report.invalidations).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}`);
      console.log(`migrated to device: ${report.migratedToDevice} pages, migrate_to_ram calls: ${report.migratedToRam}, CPU+HMM faults: ${report.cpuFaults}`);
      console.log(`final notifier sequence: ${report.finalSeq}`);
      console.log(`mirror matches CPU page table: ${report.mirrorMismatches === 0 ? "yes" : `NO (${report.mirrorMismatches} mismatches)`}; data matches: ${report.dataMismatches === 0 ? "yes" : "NO"}`);
      console.log(report.ok ? "simulation OK" : "simulation FAILED");
    }
    return report.ok ? 0 : 1;
  }
  throw new UsageError(`unknown command ${cmd}`);
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
  if (e instanceof UsageError) {
    console.error(`hmmsim: ${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
  console.error(`hmmsim: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
