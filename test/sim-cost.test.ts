// Cost profiles: the built-ins validate, every entry has a source, the atan transfer curve, a
// user's profile is validated like a scenario, and calibrate() returns a profile of measured entries.
import { describe, expect, it } from "vitest";
import {
  BUILTIN_COST_PROFILES,
  COST_KEYS,
  type CostProfile,
  ScenarioError,
  calibrate,
  parseScenario,
  resolveCostProfile,
  runScenario,
  transferNs,
  validateCostProfile,
} from "../src/index.js";
import { ENGINE_OPTS } from "./env.js";

describe("cost profiles", () => {
  it("ship a generic x86 + PCIe4 and a UVMSmart-like PCIe3 profile, every entry sourced", () => {
    expect(Object.keys(BUILTIN_COST_PROFILES).sort()).toEqual(["generic-x86-pcie4", "uvmsmart-pcie3"]);
    for (const p of Object.values(BUILTIN_COST_PROFILES)) {
      expect(validateCostProfile(p)).toEqual(p);
      expect(Object.keys(p.entries).sort()).toEqual([...COST_KEYS].sort());
      for (const e of Object.values(p.entries)) expect(e.source.length).toBeGreaterThan(5);
    }
    const u = BUILTIN_COST_PROFILES["uvmsmart-pcie3"].entries;
    expect(u["gpu.farFaultBatchNs"]).toMatchObject({ value: 45000, unit: "ns", confidence: "medium" });
    expect(BUILTIN_COST_PROFILES["generic-x86-pcie4"].entries["hmm.callNs"].confidence).toBe("unknown");
  });

  it("computes transfers on the UVMSmart atan curve and on a flat link", () => {
    const { costs: u } = resolveCostProfile("uvmsmart-pcie3");
    // 4 KiB at ~2.17 GiB/s, 2 MiB at ~11.9 GiB/s
    expect(transferNs(u, 4096)).toBeCloseTo((4096 / ((24 / Math.PI) * Math.atan(0.07292 * 4) * 2 ** 30)) * 1e9, 6);
    expect(((4096 / transferNs(u, 4096)) * 1e9) / 2 ** 30).toBeCloseTo(2.17, 2);
    expect(((2 ** 21 / transferNs(u, 2 ** 21)) * 1e9) / 2 ** 30).toBeCloseTo(11.94, 1);
    const { costs: g } = resolveCostProfile("generic-x86-pcie4");
    expect(transferNs(g, 31500)).toBeCloseTo(1000, 9);
    expect(transferNs(g, 0)).toBe(0);
  });

  it("rejects a bad inline profile with the path of the entry", () => {
    const base = BUILTIN_COST_PROFILES["generic-x86-pcie4"];
    const bad = {
      ...base,
      entries: { ...base.entries, "walk.pageNs": { value: -1, unit: "ns", source: "x", confidence: "sure" } },
    };
    expect(() => validateCostProfile(bad)).toThrow();
    const yaml = `version: 1\nmachine:\n  costProfile: ${JSON.stringify(bad)}\nprocesses: [{ name: p, mappings: [{ name: m, pages: 1 }] }]\nactors: [{ kind: cpu, name: c, process: p, count: 1, ops: [{ op: read, mapping: m }] }]\n`;
    try {
      parseScenario(yaml);
      throw new Error("expected a ScenarioError");
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      const paths = (e as ScenarioError).issues.map((i) => i.path);
      expect(paths).toContain("machine.costProfile.entries.walk.pageNs.value");
      expect(paths).toContain("machine.costProfile.entries.walk.pageNs.confidence");
    }
    expect(() => resolveCostProfile("no-such-profile")).toThrow(/unknown cost profile "no-such-profile"/);
  });

  it("charges simulated time from the profile a scenario names", () => {
    const yaml = (profile: string) =>
      `version: 1\nmachine: { costProfile: ${profile}, ramPages: 4096 }\nprocesses: [{ name: p, mappings: [{ name: m, pages: 64 }] }]\ndevices: [{ name: g, driver: { faultChunk: 64, faultBatch: 64 } }]\nactors: [{ kind: device, name: d, device: g, process: p, mapping: m, count: 64 }]\n`;
    const a = runScenario(parseScenario(yaml("generic-x86-pcie4")), { engine: ENGINE_OPTS });
    const b = runScenario(parseScenario(yaml("uvmsmart-pcie3")), { engine: ENGINE_OPTS });
    expect(a.metrics.total).toEqual(b.metrics.total);
    // one far-fault batch: 20 us vs 45 us, and the same CPU-side work
    expect(b.simTimeNs - a.simTimeNs).toBe(25_000 + (68 - 500) * 0);
    expect(a.costProfile).toBe("generic-x86-pcie4");
  });

  it("calibrate() measures the walk and marks those entries", () => {
    let t = 0;
    const p: CostProfile = calibrate({ reps: 4, pages: 64, engine: ENGINE_OPTS, now: () => (t += 0.01) });
    expect(validateCostProfile(p)).toEqual(p);
    expect(p.name).toBe("calibrated");
    for (const k of ["hmm.callNs", "walk.pageNs", "fault.anonNs"] as const) {
      expect(p.entries[k].confidence).toBe("measured");
      expect(p.entries[k].source).toMatch(/^calibrate\(\) on this machine/);
    }
    expect(p.entries["gpu.farFaultBatchNs"]).toEqual(
      BUILTIN_COST_PROFILES["generic-x86-pcie4"].entries["gpu.farFaultBatchNs"],
    );
  });
});
