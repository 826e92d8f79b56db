// The README's library example, bundled for the browser with esbuild and run in headless Chromium
// on the main thread and in a module Worker: the core must need no Node built-in, no process and
// no filesystem, and must print exactly what it prints under Node.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REQUIRE_BROWSER } from "../../env.js";
import { bundle, chromiumPath, runInChromium } from "./harness.js";

const EXAMPLE = "examples/readme.ts";

describe("README library example in headless Chromium", () => {
  it("the README shows examples/readme.ts verbatim", () => {
    const readme = readFileSync("README.md", "utf8");
    expect(readme).toContain("```ts\n" + readFileSync(EXAMPLE, "utf8") + "```");
  });

  it.runIf(chromiumPath() !== undefined || REQUIRE_BROWSER)(
    "prints the same values on the main thread, in a Worker and in Node",
    async () => {
      const alias = { hmmsim: "./src/index.ts" };
      const dir = mkdtempSync(join(tmpdir(), "hmmsim-readme-"));
      writeFileSync(join(dir, "example.mjs"), await bundle(EXAMPLE, alias, "node"));
      const node = execFileSync(process.execPath, [join(dir, "example.mjs")], { encoding: "utf8" })
        .trim()
        .split("\n");
      rmSync(dir, { recursive: true });
      // valid, writable, a RAM pfn, and the VALID bit (bit 63) of the output word
      expect(node).toEqual([expect.stringMatching(/^true true \d+ 9223372036854775808n$/)]);
      const code = await bundle(EXAMPLE, alias);
      expect(code).not.toMatch(/\bfrom\s*["']node:/);
      const runs = await runInChromium(code, ["main", "worker"]);
      for (const mode of ["main", "worker"] as const) {
        expect(runs[mode].error, mode).toBeUndefined();
        expect(runs[mode].consoleErrors, mode).toEqual([]);
        expect(runs[mode].lines, mode).toEqual(node);
      }
    },
    120_000,
  );
});
