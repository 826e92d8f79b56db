// The shape of a benchmark report (bench/results/report.json) and the formatting helpers shared by
// the console output, the HTML report and the README table.
import * as os from "node:os";
import { execFileSync } from "node:child_process";
import type { BatchSample, Timed } from "./timing.js";

/** One contender's figure on one workload; `value` is per `unit`, from CPU time (wall beside it). */
export interface Figure {
  name: string;
  unit: string;
  /** Median over rounds of CPU time per unit. */
  value: number;
  /** Median over rounds of wall time per unit. */
  wall: number;
  /** Median of individually timed operations per unit (0 when not taken). */
  perCall: number;
  /** Operations per batch and the per-round figures (CPU per unit). */
  batchOps: number;
  rounds: number[];
}

export interface Workload {
  id: string;
  title: string;
  /** Pages per operation (the divisor of ns/page). */
  pages: number;
  figures: Figure[];
  /** Output digests (FNV-1a of hmm_pfns) per contender: equal across walkers and across commits. */
  digests?: Record<string, string>;
  notes: string[];
  /** W5/W5t: bytes of fresh linear memory the operation writes per faulted page. */
  touchedBytesPerPage?: number;
}

export interface MemoryFigure {
  label: string;
  pages: number;
  /** Whole linear memory / blocks in use (page tables, frame metadata, mm, VMA table), per page. */
  memoryBytesPerPage: number;
  blockBytesPerPage: number;
  memoryBytes: number;
}

export interface TargetCheck {
  what: string;
  target: string;
  measured: string;
  met: boolean;
  /** For a missed target: where the time goes (from a profile). */
  why?: string;
}

export interface Machine {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  node: string;
  v8: string;
  os: string;
  cc: string;
  loadAvgStart: number[];
  loadAvgEnd?: number[];
}

export interface Report {
  quick: boolean;
  date: string;
  machine: Machine;
  settings: { rounds: number; batchMs: number; wasm: string };
  workloads: Workload[];
  memory: MemoryFigure[];
  targets: TargetCheck[];
  /** ns per 4 KiB page for the first touch of fresh WebAssembly memory (W5 runs only). */
  firstTouchNsPer4KiB?: number;
  /** The whole first-touch probe (W5 runs only): see bench/workloads/faults.ts firstTouchProbe. */
  firstTouch?: {
    firstNs: number;
    firstCpuNs: number;
    secondNs: number;
    againNs: number;
    growSmallUs: number;
    growBigUs: number;
  };
  notes: string[];
  seconds: number;
}

export function machine(cc: string): Machine {
  const cpus = os.cpus();
  let model = cpus[0]?.model ?? "?";
  try {
    // lscpu names virtual CPUs better than /proc/cpuinfo on some hosts
    const m = /Model name:\s*(.+)/.exec(execFileSync("lscpu", { encoding: "utf8" }));
    if (m) model = m[1].trim();
  } catch {
    // no lscpu: keep os.cpus()
  }
  return {
    cpuModel: model,
    cores: cpus.length,
    ramGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cc,
    loadAvgStart: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

/** A Figure from a Timed result: per-operation ns divided by `units` (pages, calls ...). */
export function toFigure(name: string, t: Timed, units: number, unit: string, scale = 1): Figure {
  const per = (ns: number): number => (ns / units) * scale;
  return {
    name,
    unit,
    value: per(t.cpuNs),
    wall: per(t.wallNs),
    perCall: t.perCallNs ? per(t.perCallNs) : 0,
    batchOps: t.rounds[0]?.n ?? 0,
    rounds: t.rounds.map((r: BatchSample) => per(r.cpuNs)),
  };
}

export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  return x.toPrecision(digits);
}

export function fmtBytes(b: number): string {
  if (b >= 2 ** 30) return `${+(b / 2 ** 30).toFixed(2)} GiB`;
  if (b >= 2 ** 20) return `${+(b / 2 ** 20).toFixed(2)} MiB`;
  return `${+(b / 1024).toFixed(2)} KiB`;
}

export function machineLine(m: Machine): string {
  return `${m.cpuModel}, ${m.cores} cores, ${m.ramGiB} GiB RAM, Node ${m.node} (V8 ${m.v8}), ${m.os}${m.cc ? `, ${m.cc}` : ""}`;
}
