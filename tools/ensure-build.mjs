// Builds what is missing or older than its sources: the WASM builds (with their embedded copy) from
// assembly/, and dist/ from src/. Runs before `npm start` and `npm test`, so a fresh clone needs only
// `npm install` and no install script ships in the package (npm 11 warns about those).
import { execSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const at = (p) => join(root, p);

function newest(dir, test) {
  let t = 0;
  for (const e of readdirSync(at(dir), { withFileTypes: true, recursive: true })) {
    if (e.isFile() && test(e.name)) t = Math.max(t, statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs);
  }
  return t;
}
const mtime = (p) => (existsSync(at(p)) ? statSync(at(p)).mtimeMs : 0);
const run = (cmd) => execSync(cmd, { cwd: root, stdio: "inherit" });

const wasmSources = Math.max(
  newest("assembly", (n) => n.endsWith(".ts")),
  mtime("asconfig.json"),
);
const wasmOutputs = ["build/release.wasm", "build/simd.wasm", "build/debug.wasm", "src/engine/builds.generated.ts"];
if (wasmOutputs.some((p) => mtime(p) < wasmSources)) run("npm run --silent asbuild");

const tsSources = Math.max(
  newest("src", (n) => n.endsWith(".ts")),
  mtime("tsconfig.json"),
  mtime("tsconfig.build.json"),
);
if (mtime("dist/src/index.js") < tsSources) run("npm run --silent build:ts");
