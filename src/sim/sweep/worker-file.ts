// Where the sweep pool's worker-thread module is: pool-worker.js when built, or a small bootstrap
// that registers tsx first when running from the TypeScript sources (see pool-worker.dev.mjs).
import { extname } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the module piscina loads in each worker thread. */
export function poolWorkerFile(): string {
  const fromSources = extname(fileURLToPath(import.meta.url)) === ".ts";
  return fileURLToPath(new URL(fromSources ? "./pool-worker.dev.mjs" : "./pool-worker.js", import.meta.url));
}
