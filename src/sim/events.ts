// The event stream of a run (RunOptions.onEvent, and what the Perfetto trace is made of). Times
// are simulated nanoseconds; `actor` is the actor's name ("" for machine-wide counters).

/** A span of an actor's time: a hmm_range_fault call, a walk pass, a fault batch, an operation. */
export interface SimSliceEvent {
  /** Event kind discriminator. */
  type: "slice";
  /** Name of the actor whose time this is. */
  actor: string;
  /** What ran, e.g. "hmm_range_fault". */
  name: string;
  /** Category (Perfetto `cat`), for filtering. */
  cat: string;
  /** Start, in simulated nanoseconds. */
  ts: number;
  /** Duration, in simulated nanoseconds. */
  dur: number;
  /** Details (addresses, return codes, page counts). */
  args?: Record<string, string | number | boolean>;
}
/** A moment: an invalidation, an -EBUSY, a readRetry failure, a budget timeout. */
export interface SimInstantEvent {
  /** Event kind discriminator. */
  type: "instant";
  /** Name of the actor it happened to. */
  actor: string;
  /** What happened, e.g. "invalidate" or "EBUSY". */
  name: string;
  /** Category (Perfetto `cat`), for filtering. */
  cat: string;
  /** When, in simulated nanoseconds. */
  ts: number;
  /** Details (range, event, sequence numbers). */
  args?: Record<string, string | number | boolean>;
}
/** A cause and its effect: the invalidation (from) that made a device's call fail with -EBUSY (to). */
export interface SimFlowEvent {
  /** Event kind discriminator. */
  type: "flow";
  /** Flow id, unique within the run. */
  id: number;
  /** What links the two ends. */
  name: string;
  /** The cause: actor and simulated time (ns). */
  from: SimFlowEnd;
  /** The effect: actor and simulated time (ns). */
  to: SimFlowEnd;
}
/** One end of a SimFlowEvent. */
export interface SimFlowEnd {
  /** Name of the actor. */
  actor: string;
  /** Simulated time, in nanoseconds. */
  ts: number;
}
/** A machine-wide value over time (pages resident in a device's memory). */
export interface SimCounterEvent {
  /** Event kind discriminator. */
  type: "counter";
  /** Counter name. */
  name: string;
  /** When the value was sampled, in simulated nanoseconds. */
  ts: number;
  /** The value (e.g. pages). */
  value: number;
}
/** Any event of a run's stream. */
export type SimEvent = SimSliceEvent | SimInstantEvent | SimFlowEvent | SimCounterEvent;
