// The Perfetto trace: Chrome trace-event JSON with metadata names per actor, X slices that nest
// on each track, invalidation instants, flow arrows whose two ends match, counters, and a cap.
import { describe, expect, it } from "vitest";
import { type SimEvent, StringTraceSink, parseScenario, runScenario } from "../src/index.js";
import { ENGINE_OPTS } from "./env.js";

const SCENARIO = `version: 1
name: traced
machine: { ramPages: 8192 }
processes:
  - name: app
    mappings: [{ name: heap, pages: 512, init: index }]
devices:
  - { name: gpu, memoryPages: 128, driver: { faultChunk: 32, faultBatch: 8, migrateOnFault: always } }
actors:
  - { kind: device, name: gpu0, device: gpu, process: app, mapping: heap, pattern: { kind: random }, count: 400 }
  - kind: cpu
    name: cpu0
    process: app
    mode: random
    periodNs: 3000
    count: 80
    ops:
      - { op: write, mapping: heap, at: random, pages: 4 }
      - { op: mprotect, mapping: heap, prot: r, weight: 0.2 }
      - { op: mprotect, mapping: heap, prot: rw, weight: 0.2 }
`;

interface TraceEvent {
  ph: string;
  pid: number;
  tid?: number;
  name: string;
  ts?: number;
  dur?: number;
  id?: number;
  bp?: string;
  args?: Record<string, unknown>;
}

function traced(maxEvents?: number) {
  const sink = new StringTraceSink(maxEvents);
  const events: SimEvent[] = [];
  const report = runScenario(parseScenario(SCENARIO), {
    engine: ENGINE_OPTS,
    trace: sink,
    onEvent: (e) => events.push(e),
  });
  return { report, events, text: sink.text, trace: JSON.parse(sink.text) as TraceEvent[] };
}

describe("Perfetto trace", () => {
  const { report, events, trace, text } = traced();

  it("is a JSON array of trace events with the expected phases", () => {
    expect(report.status).toBe("ok");
    expect(text.startsWith("[\n")).toBe(true);
    expect(new Set(trace.map((e) => e.ph))).toEqual(new Set(["M", "X", "i", "s", "f", "C"]));
    expect(trace.every((e) => e.pid === 1)).toBe(true);
    expect(report.trace).toEqual({ events: trace.filter((e) => e.ph !== "M").length, dropped: 0 });
    // every event handed to onEvent is in the trace (a flow is two trace events)
    const expected = events.reduce((n, e) => n + (e.type === "flow" ? 2 : 1), 0);
    expect(report.trace!.events).toBe(expected);
  });

  it("names one track per actor", () => {
    const names = trace.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => [e.tid, e.args!.name]);
    expect(names).toEqual([
      [0, "machine"],
      [1, "gpu0"],
      [2, "cpu0"],
    ]);
    expect(trace.find((e) => e.name === "process_name")!.args).toEqual({ name: "hmmsim: traced" });
  });

  it("has X slices that nest on every track", () => {
    const byTid = new Map<number, TraceEvent[]>();
    for (const e of trace) if (e.ph === "X") byTid.set(e.tid!, [...(byTid.get(e.tid!) ?? []), e]);
    expect([...byTid.keys()].sort()).toEqual([1, 2]);
    const eps = 1e-6;
    for (const slices of byTid.values()) {
      slices.sort((x, y) => x.ts! - y.ts! || y.dur! - x.dur!);
      const stack: TraceEvent[] = [];
      for (const s of slices) {
        expect(s.dur).toBeGreaterThanOrEqual(0);
        while (stack.length && stack[stack.length - 1].ts! + stack[stack.length - 1].dur! <= s.ts! + eps) stack.pop();
        const top = stack[stack.length - 1];
        // inside its parent, never straddling its end
        if (top) expect(s.ts! + s.dur!).toBeLessThanOrEqual(top.ts! + top.dur! + eps);
        stack.push(s);
      }
    }
    const names = new Set(trace.filter((e) => e.ph === "X").map((e) => e.name));
    for (const n of ["hmm_range_fault", "walk pass", "fault batch", "migrate to device", "write"])
      expect(names).toContain(n);
  });

  it("has invalidation instants and flows from an invalidation to the retry it caused", () => {
    const inv = trace.filter((e) => e.ph === "i" && e.name.startsWith("invalidate "));
    expect(inv.length).toBeGreaterThan(0);
    const starts = trace.filter((e) => e.ph === "s");
    const ends = trace.filter((e) => e.ph === "f");
    expect(starts.length).toBe(
      report.metrics.total["retries.external"] - (report.metrics.total["retries.cause.ownMigration"] ?? 0),
    );
    expect(starts.length).toBeGreaterThan(0);
    expect(new Set(starts.map((e) => e.id)).size).toBe(starts.length);
    for (const s of starts) {
      const f = ends.filter((e) => e.id === s.id);
      expect(f).toHaveLength(1);
      expect(f[0].bp).toBe("e");
      expect(f[0].ts!).toBeGreaterThanOrEqual(s.ts!);
      // the arrow ends on the device's track at a retry instant
      expect(f[0].tid).toBe(1);
      expect(
        trace.some(
          (e) => e.ph === "i" && e.tid === 1 && e.ts === f[0].ts && (e.name === "-EBUSY" || e.name === "readRetry"),
        ),
      ).toBe(true);
      // and starts where an invalidation was raised
      expect(inv.some((e) => e.tid === s.tid && e.ts === s.ts)).toBe(true);
    }
  });

  it("has a counter of pages resident per device", () => {
    const c = trace.filter((e) => e.ph === "C");
    expect(c.length).toBeGreaterThan(0);
    expect(
      c.every(
        (e) => e.name === "gpu resident pages" && typeof e.args!.value === "number" && (e.args!.value as number) <= 128,
      ),
    ).toBe(true);
  });

  it("caps the events and still closes the JSON", () => {
    const capped = traced(50);
    expect(capped.trace.filter((e) => e.ph !== "M")).toHaveLength(50);
    expect(capped.report.trace!.dropped).toBe(report.trace!.events - 50);
    expect(capped.trace.at(-1)).toMatchObject({
      ph: "M",
      name: "hmmsim_dropped_events",
      args: { dropped: report.trace!.events - 50 },
    });
  });
});
