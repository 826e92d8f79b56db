// The scheduler: two device walks interleave at fault granularity, PCT and DFS strategies, the
// schedule string, and replay errors.
import { describe, expect, it } from "vitest";
import {
  ScheduleReplayError,
  type SimEvent,
  decodeSchedule,
  encodeSchedule,
  parseScenario,
  runScenario,
} from "../src/index.js";
import { ENGINE_OPTS } from "./env.js";

const TWO_DEVICES = (interleave: "fault" | "pass") =>
  parseScenario(`version: 1
machine: { ramPages: 8192 }
processes:
  - name: app
    mappings: [{ name: heap, pages: 512 }]
devices:
  - { name: g1, driver: { faultChunk: 64, faultBatch: 64 } }
  - { name: g2, driver: { faultChunk: 64, faultBatch: 64 } }
actors:
  - { kind: device, name: a, device: g1, process: app, mapping: heap, count: 256 }
  - { kind: device, name: b, device: g2, process: app, mapping: heap, pattern: { kind: strided, stride: 1048576 }, count: 256 }
run: { interleave: ${interleave}, timeWindowNs: 1000000000 }
`);

/** Whether some fault of `other` ran between two faults of one hmm_range_fault call of `actor`. */
function interleavedWithin(events: SimEvent[], actor: string, other: string): boolean {
  let inCall = false;
  let sawOther = false;
  for (const e of events) {
    if (e.type !== "slice") continue;
    if (e.actor === actor && e.name === "hmm_range_fault") {
      inCall = false;
      sawOther = false;
      continue;
    }
    if (e.actor === actor && e.name.startsWith("fault ")) {
      if (inCall && sawOther) return true;
      inCall = true;
      sawOther = false;
    } else if (e.actor === other && e.name.startsWith("fault ") && inCall) {
      sawOther = true;
    }
  }
  return false;
}

describe("scheduler", () => {
  it("interleaves two device walks between the faults of one chunk", () => {
    const events: SimEvent[] = [];
    const r = runScenario(TWO_DEVICES("fault"), { engine: ENGINE_OPTS, onEvent: (e) => events.push(e) });
    expect(r.status).toBe("ok");
    expect(interleavedWithin(events, "a", "b") || interleavedWithin(events, "b", "a")).toBe(true);
    expect(r.metrics.total["hmm.faultedPages"]).toBeGreaterThan(0);
  });

  it("with interleave: pass a chunk's faults run in one step", () => {
    const events: SimEvent[] = [];
    const r = runScenario(TWO_DEVICES("pass"), { engine: ENGINE_OPTS, onEvent: (e) => events.push(e) });
    expect(r.status).toBe("ok");
    expect(interleavedWithin(events, "a", "b")).toBe(false);
    expect(interleavedWithin(events, "b", "a")).toBe(false);
  });

  it("PCT is deterministic per seed and schedules differently from random", () => {
    const s = TWO_DEVICES("fault");
    const p1 = runScenario(s, { engine: ENGINE_OPTS, strategy: "pct", pctDepth: 3, seed: 5 });
    const p2 = runScenario(s, { engine: ENGINE_OPTS, strategy: "pct", pctDepth: 3, seed: 5 });
    const rnd = runScenario(s, { engine: ENGINE_OPTS, strategy: "random", seed: 5 });
    expect(p1.strategy).toBe("pct");
    expect(p1.schedule).toBe(p2.schedule);
    expect(p1.schedule).not.toBe(rnd.schedule);
    // PCT runs the highest-priority actor until a change point: long runs of one letter
    expect(Math.max(...decodeRuns(p1.schedule))).toBeGreaterThan(Math.max(...decodeRuns(rnd.schedule)));
  });

  it("DFS enumerates every interleaving of a tiny scenario (2 actors x 3 steps = 20)", () => {
    const s = parseScenario(`version: 1
machine: { ramPages: 4096 }
processes: [{ name: app, mappings: [{ name: heap, pages: 8 }] }]
actors:
  - { kind: cpu, name: x, process: app, periodNs: 0, count: 2, ops: [{ op: write, mapping: heap, pages: 1 }] }
  - { kind: cpu, name: y, process: app, periodNs: 0, count: 2, ops: [{ op: read, mapping: heap, pages: 1 }] }
run: { strategy: dfs, timeWindowNs: 1000000000, check: off }
`);
    const r = runScenario(s, { engine: ENGINE_OPTS });
    expect(r.status).toBe("ok");
    expect(r.explored).toBe(20);
    const capped = runScenario(s, { engine: ENGINE_OPTS, dfsMaxRuns: 7 });
    expect(capped.explored).toBe(7);
  });

  it("encodes schedules compactly and rejects a replay that does not fit", () => {
    expect(encodeSchedule([0, 0, 0, 1, 2, 2, 0])).toBe("a3bc2a");
    expect(decodeSchedule("a3bc2a")).toEqual([0, 0, 0, 1, 2, 2, 0]);
    expect(() => decodeSchedule("a3?")).toThrow(ScheduleReplayError);
    const s = TWO_DEVICES("fault");
    expect(() => runScenario(s, { engine: ENGINE_OPTS, replay: "z" })).toThrow(/actor z is not runnable/);
  });
});

function decodeRuns(schedule: string): number[] {
  return [...schedule.matchAll(/[a-zA-Z](\d*)/g)].map((m) => (m[1] ? Number(m[1]) : 1));
}
