// A piscina worker thread of the local sweep pool. It adopts the WebAssembly module its parent
// compiled (workerData.wasm), so no worker compiles the engine again; then each task is one job.
import { workerData } from "piscina";
import { adoptCompiledBuild, type WasmBuild } from "../../engine/builds.js";
import { runSweepJob, PermanentJobError, type JobResult } from "./job.js";
import type { SweepJob } from "./plan.js";

const data = workerData as { wasm?: { build: WasmBuild; module: WebAssembly.Module } } | undefined;
if (data?.wasm) adoptCompiledBuild(data.wasm.build, data.wasm.module);

/** A task's outcome; errors travel as data so the pool can tell a bad job from a broken worker. */
export type TaskOutcome = { ok: true; result: JobResult } | { ok: false; permanent: boolean; message: string };

export default function runTask(job: SweepJob): TaskOutcome {
  try {
    return { ok: true, result: runSweepJob(job) };
  } catch (e) {
    return { ok: false, permanent: e instanceof PermanentJobError, message: (e as Error).message };
  }
}
