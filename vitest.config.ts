import { defineConfig } from "vitest/config";

// CI asks for a machine-readable report (HMMSIM_TEST_REPORT=path) to print its own summary line.
const report = process.env.HMMSIM_TEST_REPORT;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: report ? ["default", ["json", { outputFile: report }]] : ["default"],
  },
});
