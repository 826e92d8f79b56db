// Node-only helpers: where the .wasm files of a checkout or an installed package live on disk, for
// tools that hash or copy them (bench/, fuzz/). The library itself never needs them: the builds are
// embedded (builds.ts).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WasmBuild } from "./builds.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Finds build/<name>.wasm from src/engine/ (tsx, vitest) or dist/src/engine/ (compiled). */
export function wasmPath(build: WasmBuild): string {
  for (const rel of ["../../build", "../../../build"]) {
    const p = join(here, rel, `${build}.wasm`);
    if (existsSync(p)) return p;
  }
  throw new Error(`hmmsim: build/${build}.wasm not found; run "npm run asbuild" (npm install does it)`);
}
