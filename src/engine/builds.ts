// The three builds of assembly/ that ship inside the library (embedded by tools/embed-wasm.mjs), and
// their compiled modules. A compiled WebAssembly.Module is immutable, so compiling each build once
// and sharing it between engines is memoisation, not shared state: every Engine still gets its own
// instance and linear memory.
import { DEBUG_WASM_BASE64, RELEASE_WASM_BASE64, SIMD_WASM_BASE64 } from "./builds.generated.js";

/** Which compiled build of assembly/ to run. */
export type WasmBuild = "release" | "simd" | "debug";

/** Every build, in the order the ABI test checks them. */
export const WASM_BUILDS: readonly WasmBuild[] = ["release", "simd", "debug"];

const BASE64: Record<WasmBuild, string> = {
  release: RELEASE_WASM_BASE64,
  simd: SIMD_WASM_BASE64,
  debug: DEBUG_WASM_BASE64,
};

function decode(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The bytes of a build (a fresh copy: the caller may keep or transfer it). */
export function wasmBytes(build: WasmBuild): Uint8Array {
  const b64 = BASE64[build];
  if (b64 === undefined)
    throw new RangeError(`unknown build ${JSON.stringify(build)}; expected one of ${WASM_BUILDS.join(", ")}`);
  return decode(b64);
}

const compiled = new Map<WasmBuild, WebAssembly.Module>();

/** The compiled module of a build (compiled synchronously on first use, then shared). */
export function compiledBuild(build: WasmBuild): WebAssembly.Module {
  let mod = compiled.get(build);
  if (!mod) {
    mod = new WebAssembly.Module(wasmBytes(build) as BufferSource);
    compiled.set(build, mod);
  }
  return mod;
}

/**
 * Seeds the memo with a module compiled elsewhere (a worker thread handed its parent's compiled
 * module), so engines in this thread reuse it instead of compiling the build again. The caller
 * vouches that the module is that build (it came from compiledBuild(build) in another thread); a
 * build already compiled here keeps its own module.
 */
export function adoptCompiledBuild(build: WasmBuild, mod: WebAssembly.Module): void {
  if (!WASM_BUILDS.includes(build))
    throw new RangeError(`unknown build ${JSON.stringify(build)}; expected one of ${WASM_BUILDS.join(", ")}`);
  if (!(mod instanceof WebAssembly.Module)) throw new TypeError("adoptCompiledBuild needs a WebAssembly.Module");
  if (!compiled.has(build)) compiled.set(build, mod);
}

let simd: boolean | undefined;
/** True when this host can run the SIMD build (WebAssembly.validate accepts it). */
export function simdSupported(): boolean {
  simd ??= WebAssembly.validate(wasmBytes("simd") as BufferSource);
  return simd;
}

/** The build an Engine runs when none is named: SIMD where the host validates it, else release. */
export function defaultBuild(): WasmBuild {
  return simdSupported() ? "simd" : "release";
}
