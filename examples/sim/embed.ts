// Embedding the simulator: a scenario built in code, run with an event stream, summarised the way
// a tool would (which invalidation events made the device retry, and how long its batches took).
// `npx tsx examples/sim/embed.ts` prints the summary; test/sim-examples.test.ts asserts it.
import { type EngineOptions, type SimEvent, validateScenario, runScenario } from "../../src/index.js";

export interface RetrySummary {
  status: string;
  /** -EBUSY / readRetry instants seen on the event stream, by the invalidation event that caused them. */
  retriesByEvent: Record<string, number>;
  /** The same counted by the report's retries.cause.* metrics. */
  reportedByEvent: Record<string, number>;
  batchP99Ns: number;
  schedule: string;
}

/** A GPU reading a heap while a CPU thread write-protects and re-enables it: who makes it retry? */
export function retrySummary(seed = 1, engine: EngineOptions = {}): RetrySummary {
  const scenario = validateScenario({
    version: 1,
    name: "embedded",
    machine: { ramPages: 8192 },
    processes: [{ name: "app", mappings: [{ name: "heap", pages: 1024, populate: "write" }] }],
    devices: [{ name: "gpu", driver: { faultChunk: 64, faultBatch: 32 } }],
    actors: [
      {
        kind: "device",
        name: "gpu0",
        device: "gpu",
        process: "app",
        mapping: "heap",
        pattern: { kind: "random" },
        count: 3000,
      },
      {
        kind: "cpu",
        name: "cpu0",
        process: "app",
        periodNs: 40000,
        count: 60,
        ops: [
          { op: "mprotect", mapping: "heap", prot: "r" },
          { op: "mprotect", mapping: "heap", prot: "rw" },
        ],
      },
    ],
    run: { seed },
  });
  const causeOf = new Map<number, string>();
  const retriesByEvent: Record<string, number> = {};
  const onEvent = (e: SimEvent): void => {
    if (e.type === "instant" && e.cat === "invalidate")
      causeOf.set(e.args!.id as number, e.name.replace("invalidate ", ""));
    if (e.type === "instant" && e.cat === "retry" && typeof e.args?.cause === "number" && e.args.cause > 0) {
      const ev = causeOf.get(e.args.cause) ?? "unknown";
      retriesByEvent[ev] = (retriesByEvent[ev] ?? 0) + 1;
    }
  };
  const r = runScenario(scenario, { onEvent, engine });
  const reportedByEvent: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.metrics.total))
    if (k.startsWith("retries.cause.")) reportedByEvent[k.slice(14)] = v;
  return {
    status: r.status,
    retriesByEvent,
    reportedByEvent,
    batchP99Ns: r.latency["device.faultBatch"]?.p99 ?? 0,
    schedule: r.schedule,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(retrySummary());
