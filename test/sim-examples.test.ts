// The scenario examples (examples/sim/*.yaml) run with asserted outcomes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type SimRunReport, parseScenario, runScenario } from "../src/index.js";
import { ENGINE_OPTS } from "./env.js";

const reports = new Map<string, SimRunReport>();

/** Runs an example once per test file (the metric-name check reuses the reports). */
function runExample(name: string): SimRunReport {
  let r = reports.get(name);
  if (!r) {
    const path = new URL(`../examples/sim/${name}.yaml`, import.meta.url);
    r = runScenario(parseScenario(readFileSync(path, "utf8"), { source: name }), { engine: ENGINE_OPTS });
    reports.set(name, r);
  }
  return r;
}

describe("examples/sim", () => {
  it("gpu-oversubscription: streams a buffer 4x device memory through it, evicting to RAM", () => {
    const r = runExample("gpu-oversubscription");
    const t = r.metrics.total;
    expect(r.status).toBe("ok");
    expect(t["device.accesses"]).toBe(8192);
    expect(t["migrations.toDevice.pages"]).toBe(8192);
    // everything but the last 512 pages (the device's memory) went back to RAM
    expect(t["migrations.toRam.pages"]).toBe(8192 - 512);
    expect(t["migrations.toDevice.bytes"]).toBe(8192 * 4096);
    expect(t["migrations.evictions"]).toBe((8192 - 512) / 64);
    expect(t["device.reads"]).toBe(8192);
    expect(r.costProfile).toBe("uvmsmart-pcie3");
    // each 256-fault batch pays the 45 us far-fault latency
    expect(r.latency["device.faultBatch"].p50).toBeGreaterThan(45_000);
  });

  it("fork-cow-mirror: COW breaks after fork invalidate the mirror, the device reads the new data", () => {
    const r = runExample("fork-cow-mirror");
    const t = r.metrics.total;
    expect(r.status).toBe("ok");
    expect(r.violations).toEqual([]);
    expect(t["cpu.ops.fork"]).toBe(1);
    expect(t["faults.cow"]).toBeGreaterThan(30);
    expect(t["invalidations.MMU_NOTIFY_CLEAR"]).toBe(t["faults.cow"]);
    expect(t["retries.cause.MMU_NOTIFY_CLEAR"]).toBeGreaterThan(0);
    expect(t["device.reads"]).toBeGreaterThan(750);
  });

  it("numa-storm-stale-seq: the driver that keeps its notifierSeq livelocks, and the report says why", () => {
    const r = runExample("numa-storm-stale-seq");
    expect(r.status).toBe("livelock");
    expect(r.ok).toBe(false);
    expect(r.endReason).toBe("livelock");
    const l = r.livelock!;
    expect(l.actor).toBe("gpu0");
    expect(l.detectedNs - l.sinceNs).toBeGreaterThan(50_000_000);
    expect(l.staleRetries).toBe(l.retries - 1);
    expect(l.cycle).toHaveLength(1);
    expect(l.cycle[0]).toMatchObject({ event: "MMU_NOTIFY_CLEAR", by: "gpu0", retries: l.retries });
    expect(l.cause).toContain("refreshSeqOnBusy: false");
    expect(l.cause).toContain(`invalidation #${l.cycle[0].id} MMU_NOTIFY_CLEAR`);
    expect(l.schedule).toBe(r.schedule);
    expect(r.metrics.total["retries.staleSeq"]).toBe(l.retries - 1);
  });

  it("numa-storm-fixed: the same storm converges with a driver that refreshes notifierSeq", () => {
    const r = runExample("numa-storm-fixed");
    const t = r.metrics.total;
    expect(r.status).toBe("ok");
    expect(t["device.accesses"]).toBe(6000);
    expect(t["retries.ebusy"]).toBeGreaterThan(0);
    expect(t["retries.staleSeq"]).toBeUndefined();
    expect(t["faults.numa"]).toBeGreaterThan(1000);
    expect(t["retries.cause.MMU_NOTIFY_CLEAR"]).toBe(t["retries.external"]);
  });

  it("khugepaged-storm: collapses land between walks and commits, the device retries", () => {
    const r = runExample("khugepaged-storm");
    const t = r.metrics.total;
    expect(r.status).toBe("ok");
    expect(t["daemon.collapsed"]).toBeGreaterThan(10);
    expect(t["retries.cause.MMU_NOTIFY_CLEAR"]).toBeGreaterThan(10);
    expect(t["retries.readRetry"]).toBeGreaterThan(0);
    expect(r.metrics.perActor.khugepaged["invalidations.MMU_NOTIFY_CLEAR"]).toBeGreaterThanOrEqual(
      t["daemon.collapsed"],
    );
  });

  it("two-device-pingpong: pages move between two owners through RAM", () => {
    const r = runExample("two-device-pingpong");
    const { a, b } = r.metrics.perActor;
    expect(r.status).toBe("ok");
    expect(r.violations).toEqual([]);
    expect(a["migrations.toDevice.pages"]).toBeGreaterThan(50);
    // b keeps taking pages to its memory again and again (more than the buffer's 256 pages)
    expect(b["migrations.toDevice.pages"]).toBeGreaterThan(256);
    expect(r.metrics.total["migrations.toDevice.pages"]).toBeGreaterThan(2 * 256);
    // a device faulting on the other's page pulls it back to RAM (migrate_to_ram)
    expect(a["faults.migrateToRam"]).toBeGreaterThan(100);
    expect(a["invalidations.MMU_NOTIFY_MIGRATE"]).toBeGreaterThan(100);
    expect(r.metrics.total["invalidations.MMU_NOTIFY_MIGRATE"]).toBeGreaterThan(100);
  });
});

describe("metric names", () => {
  it("every counter the examples report is documented in docs/scenarios.md", () => {
    const doc = readFileSync(new URL("../docs/scenarios.md", import.meta.url), "utf8");
    const table = doc.slice(doc.indexOf("### Metric names"), doc.indexOf("## Events and the trace"));
    const patterns = [...table.matchAll(/`([a-zA-Z.<>-]+)`/g)].map(
      (m) => new RegExp(`^${m[1].replace(/\./g, "\\.").replace(/<[^>]+>/g, "[^.]+")}$`),
    );
    const names = new Set<string>();
    for (const ex of ["khugepaged-storm", "two-device-pingpong", "numa-storm-stale-seq"]) {
      for (const k of Object.keys(runExample(ex).metrics.total)) names.add(k);
    }
    const undocumented = [...names].filter((n) => !patterns.some((p) => p.test(n)));
    expect(undocumented).toEqual([]);
    expect(names.size).toBeGreaterThan(25);
  });
});

describe("examples/sim/embed.ts", () => {
  it("summarises retries from the event stream, agreeing with the report", async () => {
    const { retrySummary } = await import("../examples/sim/embed.js");
    const s = retrySummary(3, ENGINE_OPTS);
    expect(s.status).toBe("ok");
    expect(s.retriesByEvent).toEqual(s.reportedByEvent);
    expect(s.retriesByEvent.MMU_NOTIFY_PROTECTION_VMA).toBeGreaterThan(0);
    expect(s.batchP99Ns).toBeGreaterThan(20_000);
    expect(retrySummary(3, ENGINE_OPTS).schedule).toBe(s.schedule);
  });
});
