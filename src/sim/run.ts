// runScenario(): builds the machine a scenario describes, runs its actors under the deterministic
// scheduler in simulated time, checks invariants, and reports metrics, latencies, violations and
// livelocks. A pure function of (scenario, seed, strategy) apart from wallMs.
import type { EngineOptions } from "../engine/engine.js";
import { checkInvariants } from "./check/index.js";
import { resolveCostProfile } from "./cost/index.js";
import type { SimEvent } from "./events.js";
import { type LatencySummary, Metrics } from "./metrics/metrics.js";
import type { Scenario } from "./scenario/schema.js";
import { Rng } from "./sched/rng.js";
import { ScheduleReplayError, Scheduler, type Strategy } from "./sched/scheduler.js";
import { ChromeTraceWriter, type TraceSink } from "./trace/chrome.js";
import { cpuActor } from "./actors/cpu.js";
import { daemonActor } from "./actors/daemon.js";
import { type DeviceRetryLog, deviceActor } from "./actors/device.js";
import {
  type ActorState,
  type LivelockReport,
  type SimViolation,
  type Wait,
  World,
  mirrorViews,
} from "./actors/world.js";

export type { LivelockReport, LivelockCause, SimViolation } from "./actors/world.js";

/** Options of runScenario(): overrides of the scenario's `run` section, trace and event sinks, engine options. */
export interface RunOptions {
  /** Overrides run.seed. */
  seed?: number;
  /** Overrides run.strategy. */
  strategy?: Strategy;
  /** Overrides run.pctDepth (PCT bug depth). */
  pctDepth?: number;
  /** A schedule string of an earlier run to reproduce. */
  replay?: string;
  /** Overrides run.check. */
  check?: "every-step" | "end" | "off";
  /** Receives the Perfetto trace (Chrome trace-event JSON), streamed. */
  trace?: TraceSink;
  /** Receives every event as it happens (for embedding tools). */
  onEvent?: (e: SimEvent) => void;
  /** Called every 4096 steps and once at the end with (steps done, step limit). */
  onProgress?: (done: number, total: number) => void;
  /** Engine options (build, walker) for the simulated machine. */
  engine?: EngineOptions;
  /** dfs only: at most this many runs (overrides run.dfsMaxRuns). */
  dfsMaxRuns?: number;
}

/** Event counts of a run (SimRunReport.metrics), by counter name such as "hmm.calls" or "faults.anon". */
export interface SimRunMetrics {
  /** Machine-wide counts: every actor's, added up, plus machine counters such as "sim.steps". */
  total: Record<string, number>;
  /** Each actor's own counts, by actor name. */
  perActor: Record<string, Record<string, number>>;
}

/** How to reproduce a finding of a run: the schedule up to it and what happened last before it. */
export interface SimReproduction {
  /** The scheduling choices up to the finding; RunOptions.replay reproduces it. */
  schedule: string;
  /** The last events before the finding, oldest first, one line each. */
  lastEvents: string[];
}

/** An invariant violation of a run (SimRunReport.violations), with how to reproduce it. */
export interface SimViolationReport extends SimViolation, SimReproduction {}

/** The livelock of a run (SimRunReport.livelock), with how to reproduce it. */
export interface LivelockRunReport extends LivelockReport, SimReproduction {}

/** Trace output of a run (SimRunReport.trace), when RunOptions.trace was given. */
export interface SimTraceStats {
  /** Trace events written to the sink. */
  events: number;
  /** Events not written (the trace's event limit was reached). */
  dropped: number;
}

/** What runScenario() returns: outcome, schedule for replay, metrics, latencies, violations. */
export interface SimRunReport {
  /** "ok", "violation" (an invariant, data or deadlock problem stopped the run) or "livelock". */
  status: "ok" | "violation" | "livelock";
  /** status === "ok". */
  ok: boolean;
  /** The scenario's name. */
  scenario: string;
  /** The seed the run used. */
  seed: number;
  /** The scheduling strategy the run used. */
  strategy: Strategy;
  /** The scheduling choices of this run; RunOptions.replay reproduces it. */
  schedule: string;
  /** Scheduling steps taken, and why the run ended. */
  steps: number;
  /** Why the run ended: every actor done, run.durationNs reached, run.maxSteps reached, a violation, or a livelock. */
  endReason: "done" | "duration" | "maxSteps" | "violation" | "livelock";
  /** Simulated time at the end (the latest actor clock, ns). */
  simTimeNs: number;
  /** Host time the run took, and of that the scheduling loop alone (no setup, final check, teardown): not deterministic. */
  wallMs: number;
  /** Host milliseconds of the scheduling loop alone (see wallMs). */
  loopMs: number;
  /** Event counts (e.g. hmm calls, EBUSY retries, faults), machine-wide and per actor. */
  metrics: SimRunMetrics;
  /** Simulated-time latency percentiles (ns): device.access, device.faultBatch. */
  latency: Record<string, LatencySummary>;
  /** Invariant violations found, each with the schedule that reproduces it and the last events before it. */
  violations: SimViolationReport[];
  /** The livelock detected, if any, with its schedule and last events. */
  livelock?: LivelockRunReport;
  /** The cost profile the run charged. */
  costProfile: string;
  /** dfs: how many schedules were run. */
  explored?: number;
  /** Trace events written and dropped (when RunOptions.trace was given). */
  trace?: SimTraceStats;
}

interface Runner {
  state: ActorState;
  gen: Generator<Wait | undefined, void, void>;
}

/** Runs one schedule of a scenario (strategy "dfs": explores schedules, see explore.ts). */
export function runOnce(
  s: Scenario,
  opts: RunOptions,
  dfsPrefix?: readonly number[],
  sched?: { out?: Scheduler },
): SimRunReport {
  const t0 = performance.now();
  const seed = opts.seed ?? s.run.seed;
  const strategy = opts.strategy ?? s.run.strategy;
  const check = opts.check ?? s.run.check;
  const { profile, costs } = resolveCostProfile(s.machine.costProfile);
  const metrics = new Metrics();
  const trace = opts.trace
    ? new ChromeTraceWriter(
        opts.trace,
        s.name,
        s.actors.map((a) => a.name),
      )
    : null;
  const onEvent = opts.onEvent;
  const emit =
    trace && onEvent
      ? (e: SimEvent) => {
          trace.event(e);
          onEvent(e);
        }
      : trace
        ? (e: SimEvent) => trace.event(e)
        : (onEvent ?? null);
  const w = new World(s, costs, metrics, emit, opts.engine ?? {});
  const root = Rng.seeded(seed);
  const scheduler = new Scheduler({
    strategy,
    rng: root.stream(0),
    actors: s.actors.length,
    pctDepth: opts.pctDepth ?? s.run.pctDepth,
    pctSteps: Math.min(s.run.maxSteps, 10_000),
    replay: opts.replay ?? s.run.replay,
    dfsPrefix,
  });
  if (sched) sched.out = scheduler;
  const runners: Runner[] = s.actors.map((spec, index) => {
    const state: ActorState = {
      index,
      name: spec.name,
      kind: spec.kind,
      clock: 0,
      counters: metrics.actor(spec.name),
      wait: null,
      done: false,
      lastProgressNs: 0,
    };
    w.actors.push(state);
    const rng = root.stream(index + 1);
    const gen =
      spec.kind === "device"
        ? deviceActor(w, state, spec, rng, { retries: 0, stale: 0, causes: new Map() } satisfies DeviceRetryLog)
        : spec.kind === "cpu"
          ? cpuActor(w, state, spec, rng)
          : daemonActor(w, state, spec);
    return { state, gen };
  });
  const mirrors = () => mirrorViews(w);
  const files = () =>
    [...w.procs.values()].flatMap((p) => [...p.mappings.values()].flatMap((m) => (m.file ? [m.file] : [])));
  const runCheck = (ignoreLocks: boolean): void => {
    const v = checkInvariants(w.engine, { mirrors: mirrors(), files: files(), limit: 5 }).filter(
      (x) => !(ignoreLocks && x.kind === "lock-held"),
    );
    if (v.length > 0) w.violation("invariant", v.map((x) => `${x.kind}: ${x.message}`).join("; "));
  };

  const durationNs = s.run.durationNs ?? Infinity;
  const window = s.run.timeWindowNs;
  const maxSteps = s.run.maxSteps;
  let endReason: SimRunReport["endReason"] = "done";
  let now = 0;
  const cands: number[] = [];
  const loop0 = performance.now();
  let loopMs = 0;
  try {
    for (;;) {
      if (w.stopped) break;
      if (w.step >= maxSteps) {
        endReason = "maxSteps";
        break;
      }
      let minClock = Infinity;
      let live = 0;
      for (const r of runners) {
        const a = r.state;
        if (a.done) continue;
        live++;
        if (a.wait && !a.wait.until()) continue;
        if (a.clock < minClock) minClock = a.clock;
      }
      if (live === 0) break;
      if (minClock === Infinity) {
        w.current = null;
        const blocked = runners
          .filter((r) => !r.state.done)
          .map((r) => `${r.state.name} waits for ${r.state.wait?.reason}`);
        w.violation("deadlock", `every live actor is blocked: ${blocked.join("; ")}`);
        break;
      }
      if (minClock >= durationNs) {
        endReason = "duration";
        break;
      }
      cands.length = 0;
      for (const r of runners) {
        const a = r.state;
        if (a.done || (a.wait && !a.wait.until())) continue;
        if (a.clock <= minClock + window) cands.push(a.index);
      }
      const r = runners[scheduler.choose(cands)];
      const a = r.state;
      if (a.wait) {
        a.wait = null;
        if (a.clock < now) a.clock = now;
      }
      w.current = a;
      w.step++;
      const res = r.gen.next();
      if (res.done) a.done = true;
      else a.wait = res.value ?? null;
      if (a.clock > now) now = a.clock;
      if (check === "every-step" && !w.stopped) runCheck(true);
      if (opts.onProgress && (w.step & 4095) === 0) opts.onProgress(w.step, maxSteps);
    }
  } catch (e) {
    // a schedule that does not fit the scenario is the caller's error, not the simulation's
    if (e instanceof ScheduleReplayError) {
      for (const r of runners) if (!r.state.done) r.gen.return();
      throw e;
    }
    w.violation(
      "error",
      `${w.current?.name ?? "setup"} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    );
  } finally {
    loopMs = performance.now() - loop0;
    for (const r of runners) if (!r.state.done) r.gen.return();
  }
  w.current = null;
  opts.onProgress?.(w.step, maxSteps);
  if (w.livelock) endReason = "livelock";
  else if (w.violations.length > 0) endReason = "violation";
  else if (check !== "off") runCheck(false);
  if (w.violations.length > 0 && endReason !== "livelock") endReason = "violation";
  const schedule = scheduler.schedule;
  let simTimeNs = 0;
  for (const r of runners) simTimeNs = Math.max(simTimeNs, Math.min(r.state.clock, durationNs));
  metrics.total["sim.steps"] = w.step;
  // the run ends here: nothing is emitted from now on, so the sink is closed before the teardown
  // (whose invalidations are neither traced nor counted) and never written after its close
  w.emit = null;
  w.stopped = true;
  if (trace) trace.close();
  const lastEvents = w.lastEvents(16);
  const status: SimRunReport["status"] = w.livelock ? "livelock" : w.violations.length > 0 ? "violation" : "ok";
  for (const p of w.procs.values()) {
    for (const c of p.children) if (!c.exited) c.exit();
    if (!p.mm.exited) p.mm.exit();
  }
  return {
    status,
    ok: status === "ok",
    scenario: s.name,
    seed,
    strategy,
    schedule,
    steps: w.step,
    endReason,
    simTimeNs: Math.round(simTimeNs),
    wallMs: performance.now() - t0,
    loopMs,
    metrics: metrics.snapshot(),
    latency: metrics.latency(),
    violations: w.violations.map((v) => ({ ...v, schedule, lastEvents })),
    ...(w.livelock ? { livelock: { ...w.livelock, schedule, lastEvents } } : {}),
    costProfile: profile.name,
    ...(trace ? { trace: { events: trace.written, dropped: trace.dropped } } : {}),
  };
}
