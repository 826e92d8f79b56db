// The one place the test suite reads its environment: which build and walker a vitest project
// runs (vitest.config.ts sets HMMSIM_BUILD and HMMSIM_WALKER per project). Tests pass these options
// down to every Engine they create; the library itself never reads the environment.
import type { EngineOptions } from "../src/engine/engine.js";

const build = (process.env.HMMSIM_BUILD ?? "release") as NonNullable<EngineOptions["build"]>;
const walker = (process.env.HMMSIM_WALKER ?? "wasm") as NonNullable<EngineOptions["walker"]>;

/** Engine options of the running test variant. */
export const ENGINE_OPTS: Readonly<EngineOptions> = Object.freeze({ build, walker });

/** Under CI (CI=true) the browser tests must run: a missing Chromium fails them instead of skipping. */
export const REQUIRE_BROWSER = process.env.CI === "true";
/** Sequences the coherence fuzzer test runs per project (HMMSIM_FUZZ_SEQUENCES; default 200). */
export const FUZZ_SEQUENCES = Number(process.env.HMMSIM_FUZZ_SEQUENCES ?? 200);
