// The targets of issue 10, checked against one report (reported, never asserted). Ratios are
// WASM ÷ native in the same run, both from the median CPU time of interleaved calibrated batches.
import { type Report, type TargetCheck, fmt } from "./lib/report.js";

export function checkTargets(r: Report): TargetCheck[] {
  const out: TargetCheck[] = [];
  const fig = (id: string, name: string) => r.workloads.find((w) => w.id === id)?.figures.find((f) => f.name === name);
  const ratio = (what: string, id: string, name: string, anchor: string, limit: number): void => {
    const a = fig(id, name);
    const b = fig(id, anchor);
    if (!a || !b) return;
    const x = a.value / b.value;
    out.push({
      what: `${what} (${fmt(a.value)} vs ${fmt(b.value)} ns/page)`,
      target: `≤ ${limit}× ${anchor}`,
      measured: `${fmt(x)}×`,
      met: x <= limit,
    });
  };
  const abs = (what: string, id: string, name: string, limit: number): void => {
    const a = fig(id, name);
    if (!a) return;
    out.push({ what, target: `≤ ${limit} ${a.unit}`, measured: `${fmt(a.value)} ${a.unit}`, met: a.value <= limit });
  };
  const size = (id: string): string => r.workloads.find((w) => w.id === id)?.title.match(/[\d.]+ [KMG]iB$/)?.[0] ?? "";
  ratio(`W1 ${size("W1")} 4 KiB, SIMD`, "W1", "wasm-simd", "native-O2", 0.35);
  ratio(`W1 ${size("W1")} 4 KiB, scalar`, "W1", "wasm-scalar", "native-O2", 0.7);
  ratio(`W4 ${size("W4")} 4 KiB, scalar`, "W4", "wasm-scalar", "native-O2", 1.0);
  ratio(`W4 ${size("W4")} 4 KiB, SIMD`, "W4", "wasm-simd", "native-O2", 0.8);
  abs(`W6 512-page calls in ${size("W6")}, SIMD`, "W6", "wasm-simd", 0.8);
  abs(`W6 512-page calls in ${size("W6")}, scalar`, "W6", "wasm-scalar", 1.0);
  ratio(`W2 ${size("W2")} THP, SIMD`, "W2", "wasm-simd", "native-O3-march", 1.2);
  abs("W5 first-touch write faults incl. growth, SIMD", "W5", "wasm-simd", 10);
  abs("W5 first-touch write faults incl. growth, scalar", "W5", "wasm-scalar", 10);
  abs("W5w the same faults in memory already grown and touched, SIMD", "W5w", "wasm-simd", 10);
  const w8limits: Record<string, number> = { munmap: 5, mprotect: 3, fork: 10, exit: 5 };
  for (const id of ["W8", "W8-large"]) {
    for (const [op, limit] of Object.entries(w8limits)) abs(`W8 ${op}, ${size(id)}`, id, op, limit);
    abs(`W8 fork-reused (child tables in memory already touched), ${size(id)}`, id, "fork-reused", w8limits.fork);
  }
  for (const m of r.memory) {
    if (!/^(64|256) GiB/.test(m.label)) continue;
    out.push({
      what: `linear memory per populated page, ${m.label}`,
      target: "≤ 16 B/page",
      measured: `${m.memoryBytesPerPage.toFixed(2)} B/page (blocks ${m.blockBytesPerPage.toFixed(2)})`,
      met: m.memoryBytesPerPage <= 16,
    });
  }
  return out;
}
