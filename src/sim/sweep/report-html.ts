// report.html: one self-contained offline page (uPlot and its stylesheet inlined, no network) with
// a chart of each metric against each swept parameter, the spread over seeds (and the other
// parameters) drawn as a min–max band around the mean, and the table of every row.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { canonicalJson } from "./canonical.js";
import { metricColumns, resultRows, type ResultRow } from "./results.js";
import type { SweepOutcome } from "./outcome.js";

/** The uPlot chart library's script and stylesheet, as text to inline into a page. */
export interface UplotAssets {
  /** uPlot's script (the IIFE build that defines the global uPlot). */
  js: string;
  /** uPlot's stylesheet. */
  css: string;
}

/** One chart: a metric against a parameter, aggregated per distinct parameter value. */
export interface ChartSeries {
  /** The metric on the y axis (or "simTimeNs"). */
  metric: string;
  /** The swept parameter on the x axis (or "seed" when none is swept). */
  param: string;
  /** Category labels when the parameter is not numeric (x is then 0..n-1). */
  labels: string[] | null;
  /** The distinct parameter values (or their category indices), ascending. */
  x: number[];
  /** Mean of the metric over the rows at each x (null: no row had a value). */
  mean: (number | null)[];
  /** Minimum at each x. */
  min: (number | null)[];
  /** Maximum at each x. */
  max: (number | null)[];
  /** Rows behind each x (seeds × other parameters). */
  n: number[];
}

/** The charts of an outcome: every metric (and simTimeNs) against every swept parameter (or the seed when none is swept). */
export function chartSeries(o: SweepOutcome): ChartSeries[] {
  const rows = resultRows(o).filter((r) => r.status !== "error");
  const metrics = ["simTimeNs", ...metricColumns(o)];
  const params = o.plan.params.length ? o.plan.params : ["seed"];
  const xOf = (r: ResultRow, p: string): unknown =>
    p === "seed" && !o.plan.params.includes("seed") ? r.seed : r.values[p];
  const out: ChartSeries[] = [];
  for (const p of params) {
    const raw = rows.map((r) => xOf(r, p));
    const numeric = raw.every((v) => typeof v === "number");
    const keyOf = (v: unknown) => (typeof v === "string" ? v : canonicalJson(v));
    const labels = numeric ? null : [...new Set(raw.map(keyOf))];
    const xs = numeric ? [...new Set(raw as number[])].sort((a, b) => a - b) : labels!.map((_, i) => i);
    const slot = new Map<unknown, number>();
    xs.forEach((x, i) => slot.set(numeric ? x : labels![i], i));
    for (const m of metrics) {
      const buckets: number[][] = xs.map(() => []);
      rows.forEach((r, i) => {
        const v = m === "simTimeNs" ? r.simTimeNs : r.metrics[m];
        if (typeof v === "number") buckets[slot.get(numeric ? raw[i] : keyOf(raw[i]))!].push(v);
      });
      const agg = (f: (b: number[]) => number) => buckets.map((b) => (b.length ? f(b) : null));
      out.push({
        metric: m,
        param: p,
        labels,
        x: xs,
        mean: agg((b) => b.reduce((s, v) => s + v, 0) / b.length),
        min: agg((b) => Math.min(...b)),
        max: agg((b) => Math.max(...b)),
        n: buckets.map((b) => b.length),
      });
    }
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** JSON safe to place inside a <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

let uplotAssets: { js: string; css: string } | undefined;
function assets(): { js: string; css: string } {
  if (!uplotAssets) {
    const req = createRequire(import.meta.url);
    uplotAssets = {
      js: readFileSync(req.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
      css: readFileSync(req.resolve("uplot/dist/uPlot.min.css"), "utf8"),
    };
  }
  return uplotAssets;
}

/** The inlined uPlot script and stylesheet, for other offline reports (the bench's). */
export function uplotInline(): UplotAssets {
  return assets();
}

// The page's own script: draws every chart, then records how many it drew on <body data-charts>.
const CLIENT = `
(function () {
  var data = JSON.parse(document.getElementById("hmmsim-data").textContent);
  var grid = document.getElementById("charts");
  var drawn = 0;
  data.charts.forEach(function (c, i) {
    var box = document.createElement("figure");
    box.className = "chart";
    box.dataset.metric = c.metric;
    box.dataset.param = c.param;
    var cap = document.createElement("figcaption");
    cap.textContent = c.metric + " vs " + c.param;
    box.appendChild(cap);
    grid.appendChild(box);
    var xAxis = { label: c.param };
    if (c.labels) {
      xAxis.values = function (u, splits) { return splits.map(function (s) { return c.labels[s] === undefined ? "" : c.labels[s]; }); };
      xAxis.splits = function () { return c.x; };
    }
    var opts = {
      width: 440, height: 260,
      scales: { x: { time: false } },
      axes: [xAxis, { label: c.metric, size: 96 }],
      legend: { show: true },
      series: [
        { label: c.param },
        { label: "mean", stroke: "#1f6feb", width: 2, points: { show: true, size: 6 } },
        { label: "min", stroke: "rgba(31,111,235,0.35)", dash: [4, 4] },
        { label: "max", stroke: "rgba(31,111,235,0.35)", dash: [4, 4] }
      ],
      bands: [{ series: [3, 2], fill: "rgba(31,111,235,0.12)" }]
    };
    new uPlot(opts, [c.x, c.mean, c.min, c.max], box);
    drawn++;
  });
  document.body.dataset.charts = String(drawn);
})();
`;

/** report.html for an outcome. */
export function reportHtml(o: SweepOutcome, extra: { version: string; source?: string }): string {
  const { js, css } = assets();
  const rows = resultRows(o);
  const metrics = metricColumns(o);
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const head = ["point", "seed", ...o.plan.params, "status", "simTimeNs", ...metrics];
  const cell = (v: unknown) =>
    esc(v === null || v === undefined ? "" : typeof v === "object" ? canonicalJson(v) : String(v));
  const table = rows
    .map(
      (r) =>
        `<tr class="${esc(r.status)}">${[r.point, r.seed, ...o.plan.params.map((p) => r.values[p]), r.status, r.simTimeNs, ...metrics.map((m) => r.metrics[m])].map((v) => `<td>${cell(v)}</td>`).join("")}</tr>`,
    )
    .join("\n");
  const summary = [...counts].map(([k, v]) => `${v} ${esc(k)}`).join(", ") || "no results";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hmmsim sweep: ${esc(o.plan.name)}</title>
<style>${css}</style>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1b1f24; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
.meta { color: #57606a; margin-bottom: 1rem; }
#charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure.chart { margin: 0; border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
table.results { border-collapse: collapse; margin-top: 1.5rem; font-variant-numeric: tabular-nums; }
table.results th, table.results td { border: 1px solid #d0d7de; padding: .2rem .5rem; text-align: right; }
table.results th { background: #f6f8fa; position: sticky; top: 0; }
tr.violation td, tr.livelock td { background: #fff1e5; }
tr.error td { background: #ffebe9; }
</style>
</head>
<body>
<h1>hmmsim sweep: ${esc(o.plan.name)}</h1>
<div class="meta">hmmsim ${esc(extra.version)}${extra.source ? ` · ${esc(extra.source)}` : ""} · ${o.plan.points.length} points × ${o.plan.seeds.length} seeds = ${o.plan.jobs.length} jobs · ${summary}${o.complete ? "" : " · <strong>incomplete (interrupted)</strong>"} · band: min–max over seeds and other parameters, line: mean</div>
<div id="charts"></div>
<table class="results">
<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
<tbody>
${table}
</tbody>
</table>
<script id="hmmsim-data" type="application/json">${scriptJson({ charts: chartSeries(o) })}</script>
<script>${js}</script>
<script>${CLIENT}</script>
</body>
</html>
`;
}
