// runScenario: determinism (same seed → same report and the same trace bytes), replay of a
// recorded schedule, different seeds → different schedules, and the metrics of a small run.
import { describe, expect, it } from "vitest";
import {
  type Scenario,
  type SimRunReport,
  StringTraceSink,
  defaultScenario,
  parseScenario,
  runScenario,
} from "../src/index.js";
import { ENGINE_OPTS } from "./env.js";

const SMALL = `version: 1
name: small
processes:
  - name: app
    mappings:
      - { name: heap, pages: 256 }
devices:
  - name: gpu
    memoryPages: 64
    driver: { faultChunk: 16, faultBatch: 4, migrateOnFault: write }
actors:
  - { kind: device, name: gpu0, device: gpu, process: app, mapping: heap, pattern: { kind: random }, writeRatio: 0.3, count: 200 }
  - kind: cpu
    name: cpu0
    process: app
    mode: random
    periodNs: 5000
    count: 60
    ops:
      - { op: write, mapping: heap, at: random, pages: 8, weight: 3 }
      - { op: read, mapping: heap, at: random, pages: 8, weight: 3 }
      - { op: mprotect, mapping: heap, prot: r }
      - { op: mprotect, mapping: heap, prot: rw }
  - { kind: daemon, name: numa, daemon: numa-balancing, process: app, periodNs: 200000, scanPages: 64, count: 8 }
`;

const small = (): Scenario => parseScenario(SMALL);
const run = (s: Scenario, o: Parameters<typeof runScenario>[1] = {}): SimRunReport =>
  runScenario(s, { engine: ENGINE_OPTS, ...o });
const stable = (r: SimRunReport) => ({ ...r, wallMs: 0, loopMs: 0 });

describe("runScenario", () => {
  it("is a pure function of (scenario, seed, strategy): same report, same trace bytes", () => {
    const t1 = new StringTraceSink();
    const t2 = new StringTraceSink();
    const a = run(small(), { seed: 7, trace: t1 });
    const b = run(small(), { seed: 7, trace: t2 });
    expect(a.status).toBe("ok");
    expect(stable(a)).toEqual(stable(b));
    expect(t1.text.length).toBeGreaterThan(1000);
    expect(t1.text).toBe(t2.text);
  });

  it("replays a recorded schedule bit for bit", () => {
    const a = run(small(), { seed: 3 });
    expect(a.schedule.length).toBeGreaterThan(4);
    const b = run(small(), { seed: 3, replay: a.schedule });
    expect(stable(b)).toEqual(stable(a));
    // the replay decides the interleaving even under another seed's strategy state
    const c = run(small(), { seed: 3, strategy: "pct", replay: a.schedule });
    expect(c.schedule).toBe(a.schedule);
  });

  it("gives different schedules for different seeds", () => {
    const schedules = new Set([1, 2, 3, 4].map((seed) => run(small(), { seed }).schedule));
    expect(schedules.size).toBe(4);
  });

  it("reports the metrics of the run in total and per actor", () => {
    const progress: [number, number][] = [];
    const r = run(small(), { seed: 1, onProgress: (done, total) => progress.push([done, total]) });
    expect(progress.at(-1)).toEqual([r.steps, 1_000_000]);
    expect(r.metrics.total["sim.steps"]).toBe(r.steps);
    const t = r.metrics.total;
    expect(t["device.accesses"]).toBe(200);
    expect(r.metrics.perActor.gpu0["device.accesses"]).toBe(200);
    expect(t["cpu.ops.write"] + t["cpu.ops.read"] + t["cpu.ops.mprotect"]).toBe(60);
    expect(t["daemon.numa-balancing.runs"]).toBe(8);
    expect(t["hmm.calls"]).toBeGreaterThan(0);
    // each call walks once plus its internal re-walks (a call on a stale sequence returns before walking)
    expect(t["hmm.passes"] - (t["hmm.rewalks"] ?? 0)).toBeLessThanOrEqual(t["hmm.calls"]);
    expect(t["hmm.passes"] - (t["hmm.rewalks"] ?? 0)).toBeGreaterThanOrEqual(
      t["hmm.calls"] - (t["retries.ebusy"] ?? 0),
    );
    expect(t["device.hits"] + t["device.faultBatches"]).toBeGreaterThan(0);
    // every external retry is attributed to the invalidation that caused it
    const causes = Object.entries(t)
      .filter(([k]) => k.startsWith("retries.cause."))
      .reduce((n, [, v]) => n + v, 0);
    expect(causes).toBe(t["retries.external"] ?? 0);
    expect(t["invalidations.total"]).toBe(
      Object.entries(t)
        .filter(([k]) => k.startsWith("invalidations.MMU_"))
        .reduce((n, [, v]) => n + v, 0),
    );
    expect(r.latency["device.access"].count).toBe(200 - (t["device.errors.unmapped"] ?? 0));
    expect(r.latency["device.access"].p50).toBeLessThanOrEqual(r.latency["device.access"].p99);
    expect(r.simTimeNs).toBeGreaterThan(0);
  });

  it("runs the default scenario cleanly", () => {
    const r = run(defaultScenario());
    expect(r.status).toBe("ok");
    expect(r.violations).toEqual([]);
    expect(r.metrics.total["device.accesses"]).toBe(4096);
    expect(r.metrics.total["migrations.toDevice.pages"]).toBeGreaterThan(0);
    expect(r.metrics.total["hmm.calls"]).toBeGreaterThan(0);
  });
});

describe("machine.swapPages", () => {
  it("bounds the swap device: kswapd swaps out at most that many pages", () => {
    const yaml = (swap: string) => `version: 1
machine: { ramPages: 4096${swap} }
processes: [{ name: app, mappings: [{ name: heap, pages: 256, populate: write }] }]
actors: [{ kind: daemon, name: kswapd, daemon: kswapd, process: app, scanPages: 256, count: 1 }]
`;
    const bounded = run(parseScenario(yaml(", swapPages: 100")));
    const unbounded = run(parseScenario(yaml("")));
    expect(bounded.metrics.total["daemon.reclaimed"]).toBe(100);
    expect(unbounded.metrics.total["daemon.reclaimed"]).toBe(256);
  });
});

describe("every mapping kind, fork, mremap and the daemons", () => {
  it("run with invariants checked after every step", () => {
    const r = run(
      parseScenario(`version: 1
machine: { ramPages: 4096, hugetlb: { pages2M: 4 } }
processes:
  - name: app
    mappings:
      - { name: a, kind: anon, pages: 64, init: index }
      - { name: as, kind: anon-shared, pages: 64, init: index }
      - { name: fp, kind: file-private, pages: 64, init: index }
      - { name: fs, kind: file-shared, pages: 64, init: index }
      - { name: h, kind: hugetlb, pages: 512, init: index }
      - { name: d, kind: device, device: gpu, pages: 16 }
devices: [{ name: gpu, memoryPages: 64 }]
actors:
  - { kind: device, name: g, device: gpu, process: app, mapping: fs, pattern: { kind: random }, writeRatio: 0.5, count: 100 }
  - { kind: device, name: g2, device: gpu, process: app, mapping: h, pattern: { kind: random }, writeRatio: 0.5, count: 100 }
  - { kind: device, name: g3, device: gpu, process: app, mapping: d, count: 20 }
  - kind: cpu
    name: c
    process: app
    mode: random
    count: 100
    ops:
      - { op: read, mapping: a, at: random, pages: 4 }
      - { op: write, mapping: as, at: random, pages: 4 }
      - { op: read, mapping: fp, at: random, pages: 4 }
      - { op: write, mapping: fp, at: random, pages: 4 }
      - { op: read, mapping: fs, at: random, pages: 4 }
      - { op: write, mapping: h, at: random, pages: 4 }
      - { op: read, mapping: h, at: random, pages: 4 }
      - { op: madvise, mapping: fp, advice: dontneed, at: random, pages: 4 }
      - { op: mremap, mapping: a }
      - { op: fork }
  - { kind: daemon, name: k, daemon: kswapd, process: app, periodNs: 50000, scanPages: 64, count: 10 }
  - { kind: daemon, name: ksm, daemon: ksm, process: app, periodNs: 70000, scanPages: 64, count: 10 }
  - { kind: daemon, name: cmp, daemon: compaction, process: app, periodNs: 90000, scanPages: 64, count: 10 }
run: { check: every-step }
`),
    );
    const t = r.metrics.total;
    expect(r.status).toBe("ok");
    expect(r.violations).toEqual([]);
    expect(t["daemon.kswapd.runs"] + t["daemon.ksm.runs"] + t["daemon.compaction.runs"]).toBe(30);
    expect(t["faults.swapin"]).toBeGreaterThan(0);
    expect(t["faults.cow"]).toBeGreaterThan(0);
    expect(t["faults.file"]).toBeGreaterThan(0);
    expect(t["device.writes"]).toBeGreaterThan(0);
    // the device mapping (VM_MIXEDMAP) cannot be mirrored: every chunk fails with -EFAULT
    expect(r.metrics.perActor.g3["device.errors.EFAULT"]).toBe(20);
    expect(t["daemon.merged"]).toBeUndefined();
  });
});
