// Running one sweep job: the same function runs in a pool worker thread, in a queue worker on
// another machine and in-process, so a job's result depends on its input alone.
import { runScenarioObject, ScenarioInputError, type BackendReport } from "./backend.js";
import type { SweepJob } from "./plan.js";

/** What comes back from a job. Everything but `wallMs` is a function of the job's input. */
export interface JobResult {
  /** The job's id (SweepJob.id). */
  id: string;
  /** "ok", "violation" or "livelock". */
  status: BackendReport["status"];
  /** The run's scheduling choices: `hmmsim run SCENARIO --seed S --replay SCHEDULE` reproduces it. */
  schedule: string;
  /** Simulated time at the end of the run (ns). */
  simTimeNs: number;
  /** Requested metric → value (null when the report has no such metric). */
  metrics: Record<string, number | null>;
  /** Wall time of the run in this worker (ms); not deterministic, kept out of results.csv. */
  wallMs: number;
}

/** A job whose input can never run (a bad scenario): retrying cannot help. */
export class PermanentJobError extends Error {
  /** The class name, as Error.prototype.name. */
  override name = "PermanentJobError";
}

/** Runs one job. Throws PermanentJobError for input the simulation rejects. */
export function runSweepJob(job: SweepJob): JobResult {
  let scenario: Record<string, unknown>;
  try {
    scenario = JSON.parse(job.scenario) as Record<string, unknown>;
  } catch (e) {
    throw new PermanentJobError(`job ${job.id}: scenario is not JSON: ${(e as Error).message}`);
  }
  let report: BackendReport;
  try {
    report = runScenarioObject(scenario, {
      seed: job.seed,
      strategy: job.strategy,
      pctDepth: job.pctDepth,
      check: job.check,
    });
  } catch (e) {
    if (e instanceof ScenarioInputError || e instanceof RangeError || e instanceof TypeError) {
      throw new PermanentJobError(`job ${job.id} (point ${job.point}, seed ${job.seed}): ${(e as Error).message}`);
    }
    throw e;
  }
  return {
    id: job.id,
    status: report.status,
    schedule: report.schedule,
    simTimeNs: report.simTimeNs,
    metrics: pickMetrics(report, job.metrics),
    wallMs: report.wallMs,
  };
}

/**
 * The requested metrics of a report. A name is a key of metrics.total ("deviceFaults"), or a dotted
 * path into the report ("latency.deviceAccess.p99"); null = every numeric entry of metrics.total.
 */
export function pickMetrics(report: BackendReport, names: string[] | null): Record<string, number | null> {
  const total = report.metrics.total;
  if (names === null) {
    const out: Record<string, number | null> = {};
    for (const k of Object.keys(total).sort()) if (typeof total[k] === "number") out[k] = total[k];
    return out;
  }
  const out: Record<string, number | null> = {};
  for (const n of names) {
    const v: unknown = Object.hasOwn(total, n) ? total[n] : lookup(report.raw, n);
    out[n] = typeof v === "number" && Number.isFinite(v) ? v : null;
  }
  return out;
}

/** A dotted path into the report, where keys may contain dots themselves ("latency.device.access.p99"). */
function lookup(root: unknown, path: string): unknown {
  const segs = path.split(".");
  const walk = (cur: unknown, i: number): unknown => {
    if (i === segs.length) return cur;
    if (cur === null || typeof cur !== "object") return undefined;
    // the longest key first: "device.access" before "device"
    for (let j = segs.length; j > i; j--) {
      const key = segs.slice(i, j).join(".");
      if (Object.hasOwn(cur, key)) {
        const v = walk((cur as Record<string, unknown>)[key], j);
        if (v !== undefined) return v;
      }
    }
    return undefined;
  };
  return walk(root, 0);
}
