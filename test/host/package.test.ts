// The package as a user gets it: `npm pack` ships the built library, the .wasm builds, the docs
// and the licence (no sources, tests or benchmark code), and the tarball installed into an empty
// project imports, runs the README's main command and prints no warning about this package.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = resolve(".");
const work = mkdtempSync(join(tmpdir(), "hmmsim-pack-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface PackEntry {
  filename: string;
  files: { path: string }[];
}

describe("npm package", () => {
  let tarball = "";

  it("packs the library, the wasm builds, docs and licence, and nothing else", () => {
    const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
      cwd: root,
      encoding: "utf8",
    });
    const [entry] = JSON.parse(out) as PackEntry[];
    tarball = join(work, entry.filename);
    const files = entry.files.map((f) => f.path);
    for (const f of [
      "package.json",
      "README.md",
      "LICENSE",
      "CHANGELOG.md",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/index.node.js",
      "dist/src/cli/main.js",
      "dist/src/engine/builds.generated.js",
      "build/release.wasm",
      "build/simd.wasm",
      "build/debug.wasm",
      "docs/semantics.md",
    ]) {
      expect(files, f).toContain(f);
    }
    const stray = files.filter(
      (f) => /^(src|test|bench|fuzz|tools|assembly|examples)\//.test(f) || (f.endsWith(".ts") && !f.endsWith(".d.ts")),
    );
    expect(stray).toEqual([]);
  });

  it("installs into an empty project without a warning about hmmsim, imports and runs", () => {
    const app = join(work, "app");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "app", version: "1.0.0", type: "module", private: true }),
    );
    const install = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], {
      cwd: app,
      encoding: "utf8",
    });
    expect(install.status, install.stderr).toBe(0);
    expect(install.stderr.split("\n").filter((l) => /warn/i.test(l) && /hmmsim/i.test(l))).toEqual([]);
    writeFileSync(
      join(app, "use.mjs"),
      [
        'import { Engine, Mm, wasmPath } from "hmmsim";',
        "const mm = new Mm(new Engine());",
        'console.log(typeof wasmPath("release"), mm.id);',
      ].join("\n"),
    );
    expect(execFileSync(process.execPath, ["use.mjs"], { cwd: app, encoding: "utf8" }).trim()).toBe("string 1");
    const run = spawnSync(join(app, "node_modules", ".bin", "hmmsim"), ["run", "--pages", "128", "--rounds", "4"], {
      cwd: app,
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim().split("\n").at(-1)).toBe("simulation OK");
  }, 180_000);
});
