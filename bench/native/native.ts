// The native anchor (bench/native/walk.c): built with the system's C compiler when there is one,
// run once per round by the interleaved timing (its own calibrated batch, CPU and wall time).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BatchSample } from "../lib/timing.js";

const here = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(here, "walk.c");

/** The two builds: gcc -O2 (the anchor of the ratios) and -O3 -march=native (W2's SIMD anchor). */
export type NativeVariant = "O2" | "O3native";
const FLAGS: Record<NativeVariant, string[]> = { O2: ["-O2"], O3native: ["-O3", "-march=native"] };

export interface NativeAnchor {
  compiler: string;
  binaries: Partial<Record<NativeVariant, string>>;
  note: string;
}

/**
 * Compiles walk.c with `cc` (into a directory under the OS's temporary directory: binaries are not
 * results); a missing compiler gives an anchor without binaries and a note saying so.
 */
export function buildNative(outDir = join(tmpdir(), "hmmsim-bench-native")): NativeAnchor {
  let compiler = "";
  try {
    compiler = execFileSync("cc", ["--version"], { encoding: "utf8" }).split("\n")[0];
  } catch {
    return {
      compiler: "",
      binaries: {},
      note: "no C compiler (cc) on this machine: the native anchor and its ratios are skipped",
    };
  }
  mkdirSync(outDir, { recursive: true });
  const binaries: NativeAnchor["binaries"] = {};
  const notes: string[] = [];
  for (const v of Object.keys(FLAGS) as NativeVariant[]) {
    const bin = join(outDir, `walk-${v}`);
    if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(SOURCE).mtimeMs) {
      const r = spawnSync("cc", [...FLAGS[v], "-o", bin, SOURCE], { encoding: "utf8" });
      if (r.status !== 0) {
        notes.push(`cc ${FLAGS[v].join(" ")} failed: ${r.stderr.trim().split("\n")[0]}`);
        continue;
      }
    }
    binaries[v] = bin;
  }
  return { compiler, binaries, note: notes.join("; ") };
}

/** One round of the native walk: `mode` pte | thp | copy over `pages` pages, a batch of ~batchMs. */
export function nativeRound(
  anchor: NativeAnchor,
  v: NativeVariant,
  mode: "pte" | "thp" | "copy",
  pages: number,
  batchMs: number,
): BatchSample {
  const bin = anchor.binaries[v];
  if (!bin) throw new Error(`native ${v} not built`);
  const out = execFileSync(bin, [mode, String(pages), String(batchMs)], { encoding: "utf8" });
  const m = /iters=(\d+) cpu_ns=(\d+) wall_ns=(\d+)/.exec(out);
  if (!m) throw new Error(`native walk printed ${out}`);
  const n = Number(m[1]);
  return { n, cpuNs: Number(m[2]) / n, wallNs: Number(m[3]) / n };
}

/** cc flags of a variant, for the report. */
export const nativeFlags = (v: NativeVariant): string => FLAGS[v].join(" ");
