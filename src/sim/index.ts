// The batch simulation layer: scenarios (YAML/JSON, validated), actors under a deterministic
// scheduler in simulated time, cost profiles, metrics, invariant checks and Perfetto traces.
// Runs in any JavaScript host: loading files is the caller's job (the CLI's); this takes text or objects.
import { DEFAULT_SCENARIO_YAML } from "./scenario/builtin/default.js";
import { parseScenario } from "./scenario/parse.js";
import type { Scenario } from "./scenario/schema.js";

export {
  parseScenario,
  validateScenario,
  ScenarioError,
  formatIssue,
  formatPath,
  type ScenarioIssue,
  type PathSegment,
} from "./scenario/parse.js";
export {
  ScenarioSchema,
  type Scenario,
  type ScenarioInput,
  type MachineSpec,
  type ProcessSpec,
  type MappingSpec,
  type DeviceSpec,
  type DriverSpec,
  type ActorSpec,
  type DeviceActorSpec,
  type CpuActorSpec,
  type DaemonActorSpec,
  type CpuOpSpec,
  type PatternSpec,
} from "./scenario/schema.js";
export { DEFAULT_SCENARIO_YAML } from "./scenario/builtin/default.js";
export { runScenario } from "./explore.js";
export type {
  RunOptions,
  SimRunReport,
  LivelockReport,
  SimViolation,
  SimRunMetrics,
  SimReproduction,
  SimViolationReport,
  LivelockRunReport,
  SimTraceStats,
  LivelockCause,
} from "./run.js";
export type { SimEvent, SimSliceEvent, SimInstantEvent, SimFlowEvent, SimFlowEnd, SimCounterEvent } from "./events.js";
export { type TraceSink, StringTraceSink, ChromeTraceWriter } from "./trace/chrome.js";
export type { LatencySummary } from "./metrics/metrics.js";
export { encodeSchedule, decodeSchedule, ScheduleReplayError, type Strategy } from "./sched/scheduler.js";
export {
  BUILTIN_COST_PROFILES,
  COST_KEYS,
  CostProfileSchema,
  validateCostProfile,
  resolveCostProfile,
  transferNs,
  type CostKey,
  type CostEntry,
  type CostProfile,
  type CostProfileInput,
  type CostTable,
  type Costs,
  type ResolvedCostProfile,
} from "./cost/index.js";

/** The built-in default scenario, parsed. */
export function defaultScenario(): Scenario {
  return parseScenario(DEFAULT_SCENARIO_YAML, { source: "default scenario" });
}
export { calibrate, type CalibrateOptions } from "./cost/calibrate.js";
