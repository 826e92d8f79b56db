// Every example in examples/ runs and prints what its text promises: the Node ones as a user runs
// them (tsx resolves "hmmsim" to the sources through tsconfig paths), the browser page and the
// worker page bundled by esbuild and opened in headless Chromium.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bundle, chromiumPath, runPage } from "./browser/harness.js";
import { REQUIRE_BROWSER } from "../env.js";

const tsx = (file: string): string[] =>
  execFileSync(process.execPath, ["--import", "tsx", file], { encoding: "utf8" }).trim().split("\n");
const alias = { hmmsim: "./src/index.ts" };

describe("examples", () => {
  it("node/mirror.mjs: the mirror drops what mprotect and munmap take away and refaults", () => {
    expect(tsx("examples/node/mirror.mjs")).toEqual([
      "fault: 0",
      "mirrored pages: 64",
      "events: MMU_NOTIFY_PROTECTION_VMA MMU_NOTIFY_UNMAP",
      "mirrored pages: 16",
      "refault read-only part: 0",
      "mirror matches the CPU page table: true",
    ]);
  });

  it("typescript/retry.ts: a migration between passes forces one retry, then the walk commits", () => {
    expect(tsx("examples/typescript/retry.ts")).toEqual([
      "attempts: 0 then read_retry, 0 committed",
      "last call: 1 pass(es), 0 page(s) faulted",
      "page 10 is valid and writable: true true",
      "data after migration: 10",
    ]);
  });

  it.runIf(chromiumPath() !== undefined || REQUIRE_BROWSER)(
    "browser/: the page runs the mirror on its main thread",
    async () => {
      const r = await runPage(
        {
          "/index.html": ["text/html", readFileSync("examples/browser/index.html", "utf8")],
          "/main.js": ["text/javascript", await bundle("examples/browser/main.ts", alias)],
        },
        "/index.html",
      );
      expect(r.consoleErrors).toEqual([]);
      expect(r.text.split("\n")).toEqual([
        expect.stringMatching(/^build: (simd|release)$/),
        "fault: 0",
        "mirrored pages: 256",
        "after munmap: 128",
        "coherent: true",
      ]);
    },
    60_000,
  );

  it.runIf(chromiumPath() !== undefined || REQUIRE_BROWSER)(
    "worker/: the simulation runs in a module Worker",
    async () => {
      const r = await runPage(
        {
          "/index.html": ["text/html", readFileSync("examples/worker/index.html", "utf8")],
          "/worker.js": ["text/javascript", await bundle("examples/worker/worker.ts", alias)],
        },
        "/index.html",
      );
      expect(r.consoleErrors).toEqual([]);
      expect(r.text.split("\n")).toEqual(["pages: 512", "fault: 0", "mirrored pages: 512", "CPU reads page 6: 6"]);
    },
    60_000,
  );
});
