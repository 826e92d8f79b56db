// The package's version, read from its package.json (found by walking up from this file, which sits
// at src/sim/sweep/ in a checkout and at dist/src/sim/sweep/ when built).
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/** hmmsim's version ("0.1.0"). */
export function hmmsimVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const f = join(dir, "package.json");
    if (existsSync(f)) {
      const pkg = JSON.parse(readFileSync(f, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "hmmsim" && pkg.version) return (cached = pkg.version);
    }
    dir = dirname(dir);
  }
  return (cached = "0.0.0");
}
