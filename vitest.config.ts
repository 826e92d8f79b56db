import { defineConfig } from "vitest/config";

// CI asks for a machine-readable report (HMMSIM_TEST_REPORT=path) to print its own summary line.
const report = process.env.HMMSIM_TEST_REPORT;

// The engine suite runs three times: against the scalar WASM build, the SIMD build and the
// TypeScript reference walker (test/env.ts passes the variant to every Engine). Tests of the
// package as a whole (browser bundle, examples, ABI, packaging: test/host/) and of the command
// line and sweeps (test/cli/: processes, worker pools, Redis, the HTML report) run once.
const variant = (name: string, env: Record<string, string>) => ({
  extends: true as const,
  test: { name, env, include: ["test/**/*.test.ts"], exclude: ["test/host/**", "test/cli/**"] },
});

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: report ? ["default", ["json", { outputFile: report }]] : ["default"],
    projects: [
      variant("scalar", { HMMSIM_BUILD: "release", HMMSIM_WALKER: "wasm" }),
      variant("simd", { HMMSIM_BUILD: "simd", HMMSIM_WALKER: "wasm" }),
      variant("reference", { HMMSIM_BUILD: "release", HMMSIM_WALKER: "reference" }),
      { extends: true as const, test: { name: "host", include: ["test/host/**/*.test.ts", "test/cli/**/*.test.ts"] } },
    ],
  },
});
