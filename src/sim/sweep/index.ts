/**
 * Parameter sweeps (Node only), imported as `hmmsim/sweep`: plan a sweep, run it on a local
 * worker-thread pool, in-process, or on a Redis-backed queue, and write results.csv /
 * results.json / report.html. docs/sweeps.md describes the sweep file; the `hmmsim sweep` and
 * `hmmsim worker` commands are built on this API.
 *
 * @module hmmsim/sweep
 */
export { parseSweep, validateSweep, sweepSchema, SweepError, formatIssue, SWEEP_FORMAT_VERSION } from "./schema.js";
export type { Sweep, SweepIssue, Distribution } from "./schema.js";
export type { Strategy, CheckMode, BackendReport } from "./backend.js";
export { planSweep, jobId, MAX_SWEEP_JOBS } from "./plan.js";
export type { SweepPlan, SweepPoint, SweepJob } from "./plan.js";
export { loadSweepFile, loadSweep, sweepBaseScenario } from "./load.js";
export type { LoadedSweep } from "./load.js";
export { runSweepJob, pickMetrics, PermanentJobError } from "./job.js";
export type { JobResult } from "./job.js";
export { runSweepLocal, runSweepInline, defaultWorkers } from "./pool.js";
export type { LocalRunOptions } from "./pool.js";
export {
  runSweepQueue,
  startQueueWorker,
  checkQueueUrl,
  probeQueue,
  DEFAULT_QUEUE_NAME,
  QueueUrlError,
  QueueUnreachableError,
} from "./queue.js";
export type { QueueRunOptions, QueueWorkerOptions, QueueWorkerHandle } from "./queue.js";
export type { SweepOutcome, JobFailure, ProgressFn } from "./outcome.js";
export { resultRows, resultsCsv, resultsJson, metricColumns, RESULTS_SCHEMA } from "./results.js";
export type { ResultRow } from "./results.js";
export { reportHtml, chartSeries, uplotInline, type ChartSeries, type UplotAssets } from "./report-html.js";
export { writeSweepOutputs } from "./outputs.js";
export type { SweepFiles } from "./outputs.js";
export { canonicalJson, sha256Hex } from "./canonical.js";
export { parsePath, setPath, PathError, type PathSegment } from "./paths.js";
export { hmmsimVersion } from "./version.js";
