// The simulation's data shadow against false data violations: remaps of every mapping kind read
// back what a fresh mapping reads, the default scenario at small heaps (where the device's own
// migrations and the CPU's munmap/remap collide most often) reports no violation over a sweep of
// sizes and seeds, and the trace sink gets nothing after it is closed (the teardown's mm.exit).
import { describe, expect, it } from "vitest";
import {
  ChromeTraceWriter,
  type SimEvent,
  type TraceSink,
  defaultScenario,
  parseScenario,
  runScenario,
} from "../src/index.js";
import type { Scenario } from "../src/sim/index.js";
import { ENGINE_OPTS } from "./env.js";

/** The default scenario as `hmmsim run --pages n` parametrises it. */
function defaultAt(pages: number): Scenario {
  const s = defaultScenario();
  s.processes[0].mappings[0].pages = pages;
  s.devices[0].memoryPages = Math.max(64, pages >> 2);
  const dev = s.actors.find((a) => a.kind === "device");
  if (dev && "count" in dev) dev.count = pages;
  return s;
}

const remapScenario = (kind: string, init: string) => `version: 1
name: remap-${kind}-${init}
processes:
  - name: app
    mappings:
      - { name: buf, kind: ${kind}, pages: 8, init: ${init} }
actors:
  - kind: cpu
    name: cpu0
    process: app
    mode: sequence
    count: 6
    ops:
      - { op: write, mapping: buf, page: 0, pages: 4 }
      - { op: munmap, mapping: buf }
      - { op: remap, mapping: buf }
      - { op: read, mapping: buf, page: 0 }
      - { op: remap, mapping: buf }
      - { op: read, mapping: buf, page: 0 }
`;

describe("data shadow: munmap + remap (MAP_FIXED) reads what a fresh mapping reads", () => {
  for (const kind of ["anon", "anon-shared", "file-private", "file-shared"]) {
    for (const init of ["none", "index"]) {
      it(`${kind}, init ${init}: no false data violation`, () => {
        const r = runScenario(parseScenario(remapScenario(kind, init)), { engine: ENGINE_OPTS, check: "every-step" });
        expect(r.violations).toEqual([]);
        expect(r.status).toBe("ok");
        expect(r.metrics.total["cpu.ops.remap"]).toBe(2);
        expect(r.metrics.total["cpu.ops.read"]).toBe(2);
        expect(r.metrics.total["cpu.accesses"]).toBe(4 + 8 + 8);
      });
    }
  }
});

describe("default scenario at small heaps: no false data violation", () => {
  // the reported reproductions: a device read its own stale entry after the CPU faulted the page
  // back from device memory (the driver must erase entries of its own migrations itself)
  for (const [pages, seed] of [
    [128, 3],
    [64, 1],
    [1024, 1],
  ] as const) {
    it(`--pages ${pages} --seed ${seed}`, () => {
      const r = runScenario(defaultAt(pages), { seed, engine: ENGINE_OPTS });
      expect(r.violations).toEqual([]);
      expect(r.status).toBe("ok");
      expect(r.metrics.total["device.reads"]).toBeGreaterThan(0);
      expect(r.metrics.total["migrations.toRam.pages"]).toBeGreaterThan(0);
    });
  }

  it("sweep: pages 64..256 x seeds 1..6", () => {
    const bad: string[] = [];
    let remaps = 0;
    for (const pages of [64, 96, 160, 256]) {
      for (let seed = 1; seed <= 6; seed++) {
        const r = runScenario(defaultAt(pages), { seed, engine: ENGINE_OPTS });
        remaps += r.metrics.total["cpu.ops.remap"] ?? 0;
        if (r.status !== "ok") bad.push(`pages ${pages} seed ${seed}: ${r.status} ${r.violations[0]?.message ?? ""}`);
      }
    }
    expect(bad).toEqual([]);
    expect(remaps).toBeGreaterThan(24);
  });
});

describe("trace sink: nothing after close", () => {
  it("a run whose teardown exits a forked child writes no event after closing the sink", () => {
    const s = parseScenario(`version: 1
name: fork-then-end
processes:
  - name: app
    mappings: [{ name: heap, pages: 64, init: index }]
devices:
  - { name: gpu, memoryPages: 64 }
actors:
  - { kind: device, name: gpu0, device: gpu, process: app, mapping: heap, pattern: { kind: random }, count: 64 }
  - kind: cpu
    name: cpu0
    process: app
    mode: sequence
    count: 3
    ops:
      - { op: write, mapping: heap, page: 0, pages: 16 }
      - { op: fork }
      - { op: write, mapping: heap, page: 0, pages: 16 }
`);
    let closed = false;
    let late = 0;
    let text = "";
    const sink: TraceSink = {
      write: (c) => {
        if (closed) late++;
        else text += c;
      },
      close: () => {
        closed = true;
      },
    };
    const events: SimEvent[] = [];
    let lateEvents = 0;
    const r = runScenario(s, {
      engine: ENGINE_OPTS,
      trace: sink,
      onEvent: (e) => {
        if (closed) lateEvents++;
        else events.push(e);
      },
    });
    expect(r.status).toBe("ok");
    expect(closed).toBe(true);
    expect(late).toBe(0);
    expect(lateEvents).toBe(0);
    expect(events.length).toBeGreaterThan(0);
    expect(text.endsWith("\n]\n")).toBe(true);
    expect(() => JSON.parse(text)).not.toThrow();
  });

  it("ChromeTraceWriter ignores events and a second close after close", () => {
    const chunks: string[] = [];
    let closes = 0;
    const wr = new ChromeTraceWriter({ write: (c) => chunks.push(c), close: () => closes++ }, "t", ["a"]);
    wr.event({ type: "instant", actor: "a", name: "x", cat: "c", ts: 1 });
    wr.close();
    const n = chunks.length;
    wr.event({ type: "instant", actor: "a", name: "y", cat: "c", ts: 2 });
    wr.close();
    expect(chunks.length).toBe(n);
    expect(closes).toBe(1);
    expect(wr.written).toBe(1);
    const parsed = JSON.parse(chunks.join("")) as { name: string }[];
    expect(parsed.filter((e) => e.name === "x")).toHaveLength(1);
    expect(parsed.filter((e) => e.name === "y")).toHaveLength(0);
  });
});
