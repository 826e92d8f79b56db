// runScenario() and the bounded exhaustive enumeration (strategy "dfs"): every schedule of a
// small scenario, depth first, until one fails or the run budget is spent.
import type { Scenario } from "./scenario/schema.js";
import { type Scheduler, nextDfsPrefix } from "./sched/scheduler.js";
import { type RunOptions, type SimRunReport, runOnce } from "./run.js";

/**
 * Runs a scenario: synchronously, a pure function of (scenario, seed, strategy) apart from
 * wallMs. With strategy "dfs" it enumerates schedules depth first (at most run.dfsMaxRuns) and
 * returns the first that fails, or the last one with `explored` set. Throws ScheduleReplayError
 * for a replay string that does not fit the scenario.
 *
 * @example
 * ```ts
 * const report = runScenario(defaultScenario(), { seed: 1, check: "end" });
 * if (!report.ok) console.log(report.violations[0]?.message, "replay with", report.schedule);
 * const again = runScenario(defaultScenario(), { replay: report.schedule });  // the same run
 * ```
 */
export function runScenario(s: Scenario, opts: RunOptions = {}): SimRunReport {
  const strategy = opts.strategy ?? s.run.strategy;
  if (strategy !== "dfs" || opts.replay !== undefined) return runOnce(s, opts);
  const max = opts.dfsMaxRuns ?? s.run.dfsMaxRuns;
  let prefix: number[] | null = [];
  let explored = 0;
  let last: SimRunReport | undefined;
  while (prefix !== null && explored < max) {
    const box: { out?: Scheduler } = {};
    // only the first run writes the trace
    last = runOnce(s, explored === 0 ? opts : { ...opts, trace: undefined }, prefix, box);
    explored++;
    if (!last.ok) break;
    const sch = box.out as Scheduler;
    prefix = nextDfsPrefix(sch.choices, sch.candidates);
  }
  return { ...(last as SimRunReport), explored };
}
