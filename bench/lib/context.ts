// What every workload receives: sizes, timing settings, engine factories and the native anchor.
import { Engine, type EngineOptions } from "../../src/engine/engine.js";
import type { NativeAnchor } from "../native/native.js";
import type { Workload } from "./report.js";
import { type Contender, interleaved } from "./timing.js";
import { type Figure, toFigure } from "./report.js";

export interface Ctx {
  quick: boolean;
  /** Interleaved rounds per workload and the length of a calibrated batch. */
  rounds: number;
  batchMs: number;
  log: (s: string) => void;
  native: NativeAnchor;
  /** Also time the TypeScript reference walker (slow: one extra batch per round). */
  reference: boolean;
  /** WebAssembly to run instead of the embedded builds (bench --wasm-dir, for A/B runs). */
  wasm?: { release: Uint8Array; simd: Uint8Array };
}

export type Build = "release" | "simd";

/** A fresh engine of a build (embedded, or the bytes given with --wasm-dir). */
export function engineOf(c: Ctx, build: Build, opts: EngineOptions = {}): Engine {
  const wasm = c.wasm?.[build];
  return new Engine({ ...opts, build, ...(wasm ? { wasm } : {}) });
}

/** Runs the contenders in interleaved rounds and turns them into figures per `units`. */
export function race(
  c: Ctx,
  contenders: Contender[],
  units: number,
  unit: string,
  scale = 1,
  perCallSamples = 0,
): Figure[] {
  const t = interleaved(contenders, c.rounds, c.batchMs, perCallSamples);
  return contenders.map((x) => toFigure(x.name, t.get(x.name)!, units, unit, scale));
}

export function logWorkload(c: Ctx, w: Workload): void {
  for (const f of w.figures) {
    const pc = f.perCall ? `, per-call median ${f.perCall.toPrecision(3)}` : "";
    c.log(
      `    ${f.name.padEnd(16)} ${f.value.toPrecision(3).padStart(8)} ${f.unit} CPU, ${f.wall.toPrecision(3)} wall${pc} (${f.rounds.length} rounds × ${f.batchOps} ops)`,
    );
  }
  if (w.digests)
    c.log(
      `    output digests: ${Object.entries(w.digests)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}`,
    );
  for (const n of w.notes) c.log(`    note: ${n}`);
}
