// Offline bar charts for the benchmark reports: one self-contained HTML file per benny suite with
// the uPlot library inlined (the same charting as a sweep's report.html), replacing benny's chart
// page, which loaded Chart.js from a CDN and stayed blank offline.
import { writeFileSync } from "node:fs";
import { uplotInline } from "../src/sim/sweep/index.js";

export interface BarFigure {
  name: string;
  opsPerSec: number;
  marginPct: number;
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** Writes `file`: a bar chart of ops/s per case (with the ± margin as a whisker) and a table. */
export function writeBarChart(file: string, title: string, figures: BarFigure[]): void {
  const { js, css } = uplotInline();
  const data = JSON.stringify({ title, figures }).replace(/</g, "\\u003c");
  const rows = figures
    .map(
      (f) => `<tr><td>${esc(f.name)}</td><td>${f.opsPerSec.toFixed(2)}</td><td>±${f.marginPct.toFixed(2)}%</td></tr>`,
    )
    .join("");
  writeFileSync(
    file,
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>${css}</style>
<style>body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; } table { border-collapse: collapse; margin-top: 1rem; }
td, th { border: 1px solid #d0d7de; padding: .2rem .6rem; text-align: right; } td:first-child { text-align: left; }</style>
</head><body>
<h1>${esc(title)}</h1>
<div id="chart"></div>
<table><thead><tr><th>case</th><th>ops/s</th><th>margin</th></tr></thead><tbody>${rows}</tbody></table>
<script id="data" type="application/json">${data}</script>
<script>${js}</script>
<script>
(function () {
  var d = JSON.parse(document.getElementById("data").textContent);
  var xs = d.figures.map(function (_, i) { return i; });
  var ys = d.figures.map(function (f) { return f.opsPerSec; });
  var bars = uPlot.paths.bars({ size: [0.6, 120] });
  new uPlot({
    width: 720, height: 360,
    scales: { x: { time: false, range: [-0.5, xs.length - 0.5] }, y: { range: function (u, min, max) { return [0, max * 1.1]; } } },
    axes: [
      { splits: function () { return xs; }, values: function (u, s) { return s.map(function (i) { return d.figures[i] ? d.figures[i].name : ""; }); } },
      { label: "ops/s", size: 90 }
    ],
    series: [{}, { label: "ops/s", fill: "rgba(31,111,235,0.5)", stroke: "#1f6feb", paths: bars, points: { show: false } }]
  }, [xs, ys], document.getElementById("chart"));
  document.body.dataset.charts = "1";
})();
</script>
</body></html>
`,
  );
}
