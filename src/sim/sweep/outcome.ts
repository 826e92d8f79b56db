// What running a sweep produced, whichever way it ran (local pool, queue, in-process).
import type { JobResult } from "./job.js";
import type { SweepPlan } from "./plan.js";

/** A job that produced no result. */
export interface JobFailure {
  /** Index into plan.jobs. */
  job: number;
  /** A bad input that no retry can fix (true), or a crash/transport error (false). */
  permanent: boolean;
  /** What went wrong. */
  message: string;
}

/** What running a sweep produced (runSweepLocal, runSweepQueue, runSweepInline): a result or a failure per job. */
export interface SweepOutcome {
  /** The plan that ran. */
  plan: SweepPlan;
  /** Aligned with plan.jobs; null where the job failed or did not run (interrupted). */
  results: (JobResult | null)[];
  /** The jobs that produced no result, in plan order. */
  failures: JobFailure[];
  /** False when the run was interrupted before every job finished. */
  complete: boolean;
  /** How it ran: "local" (worker threads), "queue" or "inline". */
  mode: "local" | "queue" | "inline";
  /** Worker threads (local), 0 for a queue, 1 for inline. */
  workers: number;
  /** Host time the whole sweep took (ms): not deterministic. */
  wallMs: number;
  /** Jobs a queue ran more than once (a worker died or stalled mid-job); 0 for local runs. */
  retried: number;
}

/** Progress report: jobs finished so far (results + failures) out of the total. */
export type ProgressFn = (done: number, total: number) => void;
