// The HTML report of a run: one self-contained page (inline SVG bar charts, no script, nothing
// fetched), so it opens offline.
import { type Report, type Workload, fmt, machineLine } from "./report.js";

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const COLORS: Record<string, string> = {
  "wasm-scalar": "#4e79a7",
  "wasm-simd": "#f28e2b",
  "native-O2": "#59a14f",
  "native-O3-march": "#76b7b2",
  "memcpy-floor": "#bab0ac",
  reference: "#e15759",
};

/** Horizontal bars of the CPU-time figure, wall time as a thin line; a log scale when spans are wide. */
function chart(w: Workload): string {
  const fs = w.figures;
  const max = Math.max(...fs.map((f) => Math.max(f.value, f.wall)));
  const min = Math.min(...fs.map((f) => f.value).filter((x) => x > 0));
  const log = max / min > 30;
  const W = 520;
  const x = (v: number): number => (log ? (Math.log10(v / min) + 1) / (Math.log10(max / min) + 1) : v / max) * W;
  const rows = fs.map((f, i) => {
    const y = 10 + i * 26;
    const color = COLORS[f.name] ?? "#9c755f";
    return (
      `<text x="0" y="${y + 14}" font-size="12">${esc(f.name)}</text>` +
      `<rect x="130" y="${y}" width="${x(f.value).toFixed(1)}" height="18" fill="${color}"/>` +
      `<line x1="${(130 + x(f.wall)).toFixed(1)}" x2="${(130 + x(f.wall)).toFixed(1)}" y1="${y - 2}" y2="${y + 20}" stroke="#333"/>` +
      `<text x="${(136 + x(Math.max(f.value, f.wall))).toFixed(1)}" y="${y + 14}" font-size="12">${fmt(f.value)} ${esc(f.unit)}</text>`
    );
  });
  const h = 20 + fs.length * 26;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${130 + W + 160}" height="${h}" role="img">${rows.join("")}</svg>` +
    (log ? `<p class="n">log scale</p>` : "")
  );
}

export function reportHtml(r: Report): string {
  const parts = [
    `<!doctype html><html><head><meta charset="utf-8"><title>hmmsim benchmarks ${esc(r.date)}</title>`,
    "<style>body{font:14px system-ui,sans-serif;max-width:900px;margin:2em auto}td,th{padding:2px 8px;text-align:right}" +
      "td:first-child,th:first-child{text-align:left}.n{color:#666;font-size:12px}.m{color:#080}.x{color:#b00}</style></head><body>",
    `<h1>hmmsim benchmarks</h1><p>${esc(r.date)}${r.quick ? " (quick)" : ""}<br>${esc(machineLine(r.machine))}<br>` +
      `load average ${r.machine.loadAvgStart.join(" ")} at the start, ${(r.machine.loadAvgEnd ?? []).join(" ")} at the end; ` +
      `${r.settings.rounds} interleaved rounds of ~${r.settings.batchMs} ms calibrated batches, medians of CPU time (bars) and wall time (lines)</p>`,
    "<h2>Targets</h2><table><tr><th>what</th><th>target</th><th>measured</th><th></th></tr>",
    ...r.targets.map(
      (t) =>
        `<tr><td>${esc(t.what)}</td><td>${esc(t.target)}</td><td>${esc(t.measured)}</td><td class="${t.met ? "m" : "x"}">${t.met ? "met" : "missed"}</td></tr>`,
    ),
    "</table>",
  ];
  for (const w of r.workloads) {
    parts.push(`<h2>${esc(w.id)}: ${esc(w.title)}</h2>`, chart(w));
    if (w.digests)
      parts.push(
        `<p class="n">output digests: ${esc(
          Object.entries(w.digests)
            .map(([k, v]) => `${k} ${v}`)
            .join(", "),
        )}</p>`,
      );
    for (const n of w.notes) parts.push(`<p class="n">${esc(n)}</p>`);
  }
  if (r.memory.length) {
    parts.push("<h2>Memory</h2><table><tr><th>space</th><th>linear memory B/page</th><th>blocks B/page</th></tr>");
    for (const m of r.memory)
      parts.push(
        `<tr><td>${esc(m.label)}</td><td>${m.memoryBytesPerPage.toFixed(2)}</td><td>${m.blockBytesPerPage.toFixed(2)}</td></tr>`,
      );
    parts.push("</table>");
  }
  for (const n of r.notes) parts.push(`<p class="n">${esc(n)}</p>`);
  parts.push("</body></html>\n");
  return parts.join("\n");
}
