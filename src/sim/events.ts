// The event stream of a run (RunOptions.onEvent, and what the Perfetto trace is made of). Times
// are simulated nanoseconds; `actor` is the actor's name ("" for machine-wide counters).

/** A span of an actor's time: a hmm_range_fault call, a walk pass, a fault batch, an operation. */
export interface SimSliceEvent {
  type: "slice";
  actor: string;
  name: string;
  cat: string;
  ts: number;
  dur: number;
  args?: Record<string, string | number | boolean>;
}
/** A moment: an invalidation, an -EBUSY, a readRetry failure, a budget timeout. */
export interface SimInstantEvent {
  type: "instant";
  actor: string;
  name: string;
  cat: string;
  ts: number;
  args?: Record<string, string | number | boolean>;
}
/** A cause and its effect: the invalidation (from) that made a device's call fail with -EBUSY (to). */
export interface SimFlowEvent {
  type: "flow";
  id: number;
  name: string;
  from: { actor: string; ts: number };
  to: { actor: string; ts: number };
}
/** A machine-wide value over time (pages resident in a device's memory). */
export interface SimCounterEvent {
  type: "counter";
  name: string;
  ts: number;
  value: number;
}
export type SimEvent = SimSliceEvent | SimInstantEvent | SimFlowEvent | SimCounterEvent;
