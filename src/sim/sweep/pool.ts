// The local sweep pool: worker threads (piscina), each adopting the parent's compiled WebAssembly
// module, fed one job per task through a bounded window. Results land in the slot of their job, so
// the outcome is the same whatever the number of workers and the order tasks finish in.
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import { poolWorkerFile } from "./worker-file.js";
import { compiledBuild, defaultBuild } from "../../engine/builds.js";
import type { JobResult } from "./job.js";
import type { SweepPlan } from "./plan.js";
import type { JobFailure, ProgressFn, SweepOutcome } from "./outcome.js";
import type { TaskOutcome } from "./pool-worker.js";

/** Options of runSweepLocal() (and runSweepInline(), which ignores `workers`). */
export interface LocalRunOptions {
  /** Worker threads (default: the number of cores). */
  workers?: number;
  /** Called as jobs finish. */
  onProgress?: ProgressFn;
  /** Aborting stops handing out jobs; running ones finish, and every finished result is kept. */
  signal?: AbortSignal;
}

/** The number of cores (the default for --workers). */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** Runs every job of `plan` on a pool of worker threads. */
export async function runSweepLocal(plan: SweepPlan, opts: LocalRunOptions = {}): Promise<SweepOutcome> {
  const workers = opts.workers ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 1 || workers > 1024)
    throw new RangeError(`workers must be an integer in 1..1024, got ${workers}`);
  const t0 = performance.now();
  const build = defaultBuild();
  const filename = poolWorkerFile();
  const pool = new Piscina({
    filename,
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: 60_000,
    workerData: { wasm: { build, module: compiledBuild(build) } },
  });
  const total = plan.jobs.length;
  const results: (JobResult | null)[] = new Array(total).fill(null);
  const failures: JobFailure[] = [];
  let next = 0;
  let done = 0;
  const signal = opts.signal;
  const stopped = () => signal?.aborted === true;

  // A window of a few tasks per worker keeps every thread busy without queueing the whole sweep.
  const lane = async (): Promise<void> => {
    while (!stopped() && next < total) {
      const i = next++;
      let out: TaskOutcome;
      try {
        // Running jobs are not cancelled: an abort only stops handing out new ones.
        out = (await pool.run(plan.jobs[i])) as TaskOutcome;
      } catch (e) {
        out = { ok: false, permanent: false, message: (e as Error).message };
      }
      if (out.ok) results[i] = out.result;
      else failures.push({ job: i, permanent: out.permanent, message: out.message });
      done++;
      opts.onProgress?.(done, total);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(total, workers * 4) }, lane));
  } finally {
    await pool.destroy();
  }
  failures.sort((a, b) => a.job - b.job);
  return {
    plan,
    results,
    failures,
    complete: done === total,
    mode: "local",
    workers,
    wallMs: performance.now() - t0,
    retried: 0,
  };
}

/** Runs every job in this thread, one after another (no pool): for embedding and small sweeps. */
export async function runSweepInline(
  plan: SweepPlan,
  opts: Omit<LocalRunOptions, "workers"> = {},
): Promise<SweepOutcome> {
  const { runSweepJob, PermanentJobError } = await import("./job.js");
  const t0 = performance.now();
  const results: (JobResult | null)[] = new Array(plan.jobs.length).fill(null);
  const failures: JobFailure[] = [];
  let done = 0;
  for (let i = 0; i < plan.jobs.length && !opts.signal?.aborted; i++) {
    try {
      results[i] = runSweepJob(plan.jobs[i]);
    } catch (e) {
      failures.push({ job: i, permanent: e instanceof PermanentJobError, message: (e as Error).message });
    }
    done++;
    opts.onProgress?.(done, plan.jobs.length);
    // Let a signal handler run between jobs.
    await new Promise<void>((r) => setImmediate(r));
  }
  return {
    plan,
    results,
    failures,
    complete: done === plan.jobs.length,
    mode: "inline",
    workers: 1,
    wallMs: performance.now() - t0,
    retried: 0,
  };
}
