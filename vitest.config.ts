import { defineConfig } from "vitest/config";

// CI asks for a machine-readable report (HMMSIM_TEST_REPORT=path) to print its own summary line.
const report = process.env.HMMSIM_TEST_REPORT;

// The whole suite runs three times: against the scalar WASM build, the SIMD build and the
// TypeScript reference walker.
const variant = (name: string, env: Record<string, string>) => ({
  extends: true as const,
  test: { name, env },
});

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: report ? ["default", ["json", { outputFile: report }]] : ["default"],
    projects: [
      variant("scalar", { HMMSIM_BUILD: "release", HMMSIM_WALKER: "wasm" }),
      variant("simd", { HMMSIM_BUILD: "simd", HMMSIM_WALKER: "wasm" }),
      variant("reference", { HMMSIM_BUILD: "release", HMMSIM_WALKER: "reference" }),
    ],
  },
});
