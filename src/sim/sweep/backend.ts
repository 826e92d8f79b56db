// The one seam between sweeps/the command line and the simulation layer: load, validate and run a
// scenario given as a plain JSON object. INTERIM: until the batch-simulation core (src/sim/index.ts)
// lands, the "scenario" is the default simulation's knobs and a run is runDefaultSimulation().
import { runDefaultSimulation, type SimReport } from "../default.js";
import { parse as parseYaml } from "yaml";

export interface ScenarioIssue { path: string; message: string; line?: number; col?: number }

/** A scenario that does not parse or validate. */
export class ScenarioInputError extends Error {
  constructor(readonly issues: ScenarioIssue[], source?: string) {
    super((source ? `${source}: ` : "") + issues.map((i) => `${i.path || "(top)"}: ${i.message}${i.line !== undefined ? ` (line ${i.line}, col ${i.col})` : ""}`).join("\n"));
    this.name = "ScenarioInputError";
  }
}

export type Strategy = "random" | "pct" | "dfs";
export type CheckMode = "every-step" | "end" | "off";

export interface BackendRunOptions {
  seed?: number;
  strategy?: Strategy;
  pctDepth?: number;
  replay?: string;
  check?: CheckMode;
  onProgress?: (done: number, total: number) => void;
  /** Human progress/report lines of the simulation, when it has any. */
  log?: (line: string) => void;
}

/** The legacy `hmmsim run` knobs that parametrise the built-in default scenario. */
export interface DefaultKnobs { pages?: number; rounds?: number; levels?: 4 | 5; profile?: "v6.1" | "v6.16"; engine?: "wasm" | "reference" }

/** Applies the knobs to the default scenario object (a copy is returned). */
export function applyDefaultKnobs(scenario: Record<string, unknown>, k: DefaultKnobs): Record<string, unknown> {
  const s = structuredClone(scenario) as { machine: Record<string, unknown>; run: Record<string, unknown> };
  if (k.pages !== undefined) s.run.pages = k.pages;
  if (k.rounds !== undefined) s.run.rounds = k.rounds;
  if (k.levels !== undefined) s.machine.levels = k.levels;
  if (k.profile !== undefined) s.machine.profile = k.profile;
  if (k.engine !== undefined) s.machine.engine = k.engine;
  return s;
}

/** A one-line description of the default scenario as parametrised (the first line `hmmsim run` prints). */
export function describeDefault(scenario: Record<string, unknown>, seed: number): string {
  const s = scenario as { machine: { levels: number; profile: string }; run: { pages: number; rounds: number } };
  return `hmmsim default simulation: ${s.run.pages} pages (${s.run.pages * 4096 / 2 ** 20} MiB), ${s.machine.levels}-level, profile ${s.machine.profile}, ${s.run.rounds} rounds, seed ${seed}`;
}

/** What the command line and sweeps read from a run. */
export interface BackendReport {
  status: "ok" | "violation" | "livelock";
  ok: boolean;
  seed: number;
  strategy: string;
  schedule: string;
  simTimeNs: number;
  wallMs: number;
  metrics: { total: Record<string, number> };
  /** The simulation layer's full report, as it gave it. */
  raw: unknown;
}

/** Version of the scenario format. */
export const SCENARIO_FORMAT_VERSION = 1;

/** The built-in default scenario as a plain object. */
export function defaultScenarioObject(): Record<string, unknown> {
  return { version: 1, machine: { levels: 4, profile: "v6.1", engine: "wasm" }, run: { pages: 4096, rounds: 64 } };
}

/** Parses scenario text (YAML or JSON) into a validated plain object. */
export function parseScenarioObject(text: string, source?: string): Record<string, unknown> {
  let obj: unknown;
  try { obj = parseYaml(text); } catch (e) { throw new ScenarioInputError([{ path: "", message: (e as Error).message.split("\n")[0] }], source); }
  return validateScenarioObject(obj, source);
}

/** Validates a scenario object; returns it with defaults filled in. */
export function validateScenarioObject(obj: unknown, source?: string): Record<string, unknown> {
  const issues: ScenarioIssue[] = [];
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new ScenarioInputError([{ path: "", message: "expected an object" }], source);
  const d = defaultScenarioObject() as { machine: Record<string, unknown>; run: Record<string, unknown> };
  const o = obj as { machine?: Record<string, unknown>; run?: Record<string, unknown> };
  const machine = { ...d.machine, ...(o.machine ?? {}) };
  const run = { ...d.run, ...(o.run ?? {}) };
  if (machine.levels !== 4 && machine.levels !== 5) issues.push({ path: "machine.levels", message: "expected 4 or 5" });
  if (machine.profile !== "v6.1" && machine.profile !== "v6.16") issues.push({ path: "machine.profile", message: "expected v6.1 or v6.16" });
  if (machine.engine !== "wasm" && machine.engine !== "reference") issues.push({ path: "machine.engine", message: "expected wasm or reference" });
  if (!Number.isInteger(run.pages) || (run.pages as number) < 64) issues.push({ path: "run.pages", message: "expected an integer >= 64" });
  if (!Number.isInteger(run.rounds) || (run.rounds as number) < 1) issues.push({ path: "run.rounds", message: "expected a positive integer" });
  if (issues.length) throw new ScenarioInputError(issues, source);
  return { version: 1, machine, run };
}

/** Runs a validated scenario object. Synchronous and a pure function of (scenario, seed, strategy). */
export function runScenarioObject(scenario: Record<string, unknown>, opts: BackendRunOptions = {}): BackendReport {
  const s = validateScenarioObject(scenario) as { machine: { levels: 4 | 5; profile: "v6.1" | "v6.16"; engine: "wasm" | "reference" }; run: { pages: number; rounds: number } };
  const t0 = performance.now();
  const seed = opts.seed ?? 1;
  const r: SimReport = runDefaultSimulation({ pages: s.run.pages, rounds: s.run.rounds, seed, levels: s.machine.levels, profile: s.machine.profile, engine: s.machine.engine,
    // The command line prints its own header line (describeDefault).
    log: opts.log ? (l) => { if (!l.startsWith("hmmsim default simulation:")) opts.log!(l); } : undefined });
  const total: Record<string, number> = {
    deviceFaults: r.deviceFaults, externalRetries: r.externalRetries, walkPasses: r.walkPasses,
    migratedToDevice: r.migratedToDevice, migratedToRam: r.migratedToRam, cpuFaults: r.cpuFaults, finalSeq: r.finalSeq,
  };
  return {
    status: r.ok ? "ok" : "violation", ok: r.ok, seed, strategy: opts.strategy ?? "random", schedule: "",
    simTimeNs: 0, wallMs: performance.now() - t0, metrics: { total }, raw: r,
  };
}
