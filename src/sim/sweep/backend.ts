// The one seam between sweeps / the command line and the batch-simulation core (src/sim): load,
// validate and run a scenario held as a plain JSON object (what sweep jobs carry), and the legacy
// `hmmsim run` knobs that parametrise the built-in default scenario.
import {
  defaultScenario,
  parseScenario,
  runScenario,
  ScenarioError,
  validateScenario,
  type RunOptions,
  type Scenario,
  type SimRunMetrics,
  type SimRunReport,
  type TraceSink,
} from "../index.js";

export { ScenarioError as ScenarioInputError } from "../index.js";
export type { ScenarioIssue } from "../index.js";

/** A scheduling strategy (scenario run.strategy): seeded random, PCT, or bounded DFS. */
export type Strategy = "random" | "pct" | "dfs";
/** When invariants are checked (scenario run.check): after every step, at the end only, or never. */
export type CheckMode = "every-step" | "end" | "off";

export interface BackendRunOptions {
  seed?: number;
  strategy?: Strategy;
  pctDepth?: number;
  replay?: string;
  check?: CheckMode;
  trace?: TraceSink;
  onProgress?: (done: number, total: number) => void;
}

/** What the command line and sweeps read from a run. */
export interface BackendReport {
  /** "ok", "violation" or "livelock" (SimRunReport.status). */
  status: SimRunReport["status"];
  /** status === "ok". */
  ok: boolean;
  /** The seed the run used. */
  seed: number;
  /** The scheduling strategy the run used. */
  strategy: string;
  /** The run's scheduling choices; replaying them reproduces it. */
  schedule: string;
  /** Simulated time at the end (ns). */
  simTimeNs: number;
  /** Host time the run took (ms): not deterministic. */
  wallMs: number;
  /** The run's machine-wide event counts (SimRunReport.metrics.total). */
  metrics: Pick<SimRunMetrics, "total">;
  /** The simulation layer's full report. */
  raw: SimRunReport;
}

/** Version of the scenario format. */
export const SCENARIO_FORMAT_VERSION = 1;

/** The built-in default scenario as a plain object (defaults filled in). */
export function defaultScenarioObject(): Record<string, unknown> {
  return structuredClone(defaultScenario()) as unknown as Record<string, unknown>;
}

/** Parses scenario text (YAML or JSON) into a validated plain object; throws ScenarioError. */
export function parseScenarioObject(text: string, source?: string): Record<string, unknown> {
  return parseScenario(text, { source }) as unknown as Record<string, unknown>;
}

/** Validates a scenario object; returns it with defaults filled in. Throws ScenarioError. */
export function validateScenarioObject(obj: unknown, source?: string): Record<string, unknown> {
  try {
    return validateScenario(obj) as unknown as Record<string, unknown>;
  } catch (e) {
    if (e instanceof ScenarioError && source) throw new ScenarioError(e.issues, source);
    throw e;
  }
}

/** Runs a scenario object. Synchronous and a pure function of (scenario, seed, strategy) apart from wallMs. */
export function runScenarioObject(scenario: Record<string, unknown>, opts: BackendRunOptions = {}): BackendReport {
  const s = validateScenario(scenario);
  const ro: RunOptions = {};
  if (opts.seed !== undefined) ro.seed = opts.seed;
  if (opts.strategy !== undefined) ro.strategy = opts.strategy;
  if (opts.pctDepth !== undefined) ro.pctDepth = opts.pctDepth;
  if (opts.replay !== undefined) ro.replay = opts.replay;
  if (opts.check !== undefined) ro.check = opts.check;
  if (opts.trace !== undefined) ro.trace = opts.trace;
  if (opts.onProgress !== undefined) ro.onProgress = opts.onProgress;
  const r = runScenario(s, ro);
  return {
    status: r.status,
    ok: r.ok,
    seed: r.seed,
    strategy: r.strategy,
    schedule: r.schedule,
    simTimeNs: r.simTimeNs,
    wallMs: r.wallMs,
    metrics: { total: r.metrics.total },
    raw: r,
  };
}

/** The legacy `hmmsim run` knobs that parametrise the built-in default scenario (docs/cli.md). */
export interface DefaultKnobs {
  pages?: number;
  rounds?: number;
  levels?: 4 | 5;
  profile?: "v6.1" | "v6.16";
  engine?: "wasm" | "reference";
}

/**
 * Applies the knobs (a copy is returned): --pages sizes the heap, the device memory (a quarter of
 * it) and the device's access count (one pass's worth); --rounds is the CPU thread's operation
 * count; --levels and --profile set the machine; --engine the page walker. --pages and --rounds
 * need the default scenario's shape (a first mapping, a device, a device actor and a CPU actor).
 */
export function applyDefaultKnobs(scenario: Record<string, unknown>, k: DefaultKnobs): Record<string, unknown> {
  const s = structuredClone(scenario) as unknown as Scenario;
  if (k.pages !== undefined) {
    s.processes[0].mappings[0].pages = k.pages;
    if (s.devices[0]) s.devices[0].memoryPages = Math.max(64, k.pages >> 2);
    const dev = s.actors.find((a) => a.kind === "device");
    if (dev && "count" in dev) dev.count = k.pages;
  }
  if (k.rounds !== undefined) {
    const cpu = s.actors.find((a) => a.kind === "cpu");
    if (cpu && "count" in cpu) cpu.count = k.rounds;
  }
  if (k.levels !== undefined) s.machine.levels = k.levels;
  if (k.profile !== undefined) s.machine.profile = k.profile;
  if (k.engine !== undefined) s.machine.walker = k.engine;
  return s as unknown as Record<string, unknown>;
}

/** A one-line description of the default scenario as parametrised (the first line `hmmsim run` prints). */
export function describeDefault(scenario: Record<string, unknown>, seed: number): string {
  const s = scenario as unknown as Scenario;
  const pages = s.processes[0].mappings[0].pages;
  const cpu = s.actors.find((a) => a.kind === "cpu") as { count?: number } | undefined;
  return (
    `hmmsim default simulation: ${pages} pages (${(pages * 4096) / 2 ** 20} MiB), ${s.machine.levels}-level, profile ${s.machine.profile}, ` +
    `${cpu?.count ?? 0} CPU operations, seed ${seed}`
  );
}
