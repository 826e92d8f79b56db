// Sweep results as rows (one per point × seed, in plan order) and their CSV and JSON forms. The CSV
// holds only what a job's input determines, in a fixed column order: point, seed, the swept
// parameters in file order, status, simTimeNs, then the metrics (in the sweep file's order, or sorted
// by name when it names none). So the same sweep gives the same bytes on 1 worker, N workers or a
// queue. Wall times go to results.json only.
import { stringify } from "csv-stringify/sync";
import { canonicalJson } from "./canonical.js";
import type { SweepOutcome } from "./outcome.js";

/** One row of results.csv / results.json: a job's point, seed, parameter values and outcome. */
export interface ResultRow {
  /** Index of the job's point. */
  point: number;
  /** The job's seed. */
  seed: number;
  /** The job's id (SweepJob.id). */
  jobId: string;
  /** Swept parameter path → value at this point. */
  values: Record<string, unknown>;
  /** "ok" | "violation" | "livelock" from the simulation, or "error" when the job produced no result. */
  status: string;
  /** Simulated time at the end of the run (ns); null when the job failed. */
  simTimeNs: number | null;
  /** Metric name → value (null: the report has no such metric, or the job failed). */
  metrics: Record<string, number | null>;
  /** The run's schedule string (for --replay); null when the job failed. */
  schedule: string | null;
  /** Why the job failed (status "error"). */
  error?: string;
}

/** The metric columns of an outcome. */
export function metricColumns(o: SweepOutcome): string[] {
  if (o.plan.metrics) return [...o.plan.metrics];
  const names = new Set<string>();
  for (const r of o.results) if (r) for (const k of Object.keys(r.metrics)) names.add(k);
  return [...names].sort();
}

/** One row per finished job (results and failures), in plan order; jobs that never ran are left out. */
export function resultRows(o: SweepOutcome): ResultRow[] {
  const failed = new Map(o.failures.map((f) => [f.job, f]));
  const cols = metricColumns(o);
  const rows: ResultRow[] = [];
  o.plan.jobs.forEach((job, i) => {
    const r = o.results[i];
    const f = failed.get(i);
    if (!r && !f) return;
    const values = o.plan.points[job.point].values;
    const metrics: Record<string, number | null> = {};
    for (const c of cols) metrics[c] = r ? (r.metrics[c] ?? null) : null;
    rows.push({
      point: job.point,
      seed: job.seed,
      jobId: job.id,
      values,
      status: r ? r.status : "error",
      simTimeNs: r ? r.simTimeNs : null,
      metrics,
      schedule: r ? r.schedule : null,
      ...(f ? { error: f.message } : {}),
    });
  });
  return rows;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "true" : "false";
  return canonicalJson(v);
}

/** results.csv: a header line, then one line per row; "\n" line ends. */
export function resultsCsv(o: SweepOutcome): string {
  const cols = metricColumns(o);
  const header = ["point", "seed", ...o.plan.params, "status", "simTimeNs", ...cols];
  const body = resultRows(o).map((r) => [
    String(r.point),
    String(r.seed),
    ...o.plan.params.map((p) => cell(r.values[p])),
    r.status,
    cell(r.simTimeNs),
    ...cols.map((c) => cell(r.metrics[c])),
  ]);
  return stringify([header, ...body], { record_delimiter: "unix" });
}

/** Schema id of results.json. */
export const RESULTS_SCHEMA = "hmmsim/sweep-results@1";

/** results.json: the inputs, every row (with its schedule string), failures and timings. */
export function resultsJson(o: SweepOutcome, extra: { version: string; source?: string }): string {
  const rows = resultRows(o);
  const counts: Record<string, number> = { ok: 0, violation: 0, livelock: 0, error: 0 };
  for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + 1;
  const doc = {
    schema: RESULTS_SCHEMA,
    name: o.plan.name,
    source: extra.source ?? null,
    versions: { hmmsim: extra.version, node: process.version },
    params: o.plan.params,
    metrics: metricColumns(o),
    seeds: o.plan.seeds,
    points: o.plan.points.length,
    jobs: o.plan.jobs.length,
    complete: o.complete,
    counts,
    rows,
    failures: o.failures.map((f) => ({ ...f, jobId: o.plan.jobs[f.job].id })),
    timings: {
      mode: o.mode,
      workers: o.workers,
      wallMs: o.wallMs,
      retried: o.retried,
      jobWallMs: o.results.reduce((s, r) => s + (r?.wallMs ?? 0), 0),
    },
  };
  return JSON.stringify(doc, null, 2) + "\n";
}
