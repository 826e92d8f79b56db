// Scenario files: parsing YAML and JSON, defaults, and errors that name the path and position.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_SCENARIO_YAML,
  ScenarioError,
  defaultScenario,
  parseScenario,
  validateScenario,
} from "../src/index.js";

const MINIMAL = `version: 1
processes:
  - name: app
    mappings:
      - name: heap
        pages: 64
devices:
  - name: gpu
actors:
  - kind: device
    name: g
    device: gpu
    process: app
    mapping: heap
    count: 10
`;

function issuesOf(text: string): ScenarioError["issues"] {
  try {
    parseScenario(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as ScenarioError).issues;
  }
  throw new Error("expected a ScenarioError");
}

describe("parseScenario", () => {
  it("fills every default of a minimal scenario", () => {
    const s = parseScenario(MINIMAL);
    expect(s.machine).toEqual({
      levels: 4,
      profile: "v6.1",
      thp: "madvise",
      hugetlb: { pages2M: 0, pages1G: 0 },
      costProfile: "generic-x86-pcie4",
    });
    expect(s.devices[0]).toEqual({
      name: "gpu",
      kind: "private",
      memoryPages: 1024,
      driver: { faultChunk: 64, faultBatch: 1, retryBudgetNs: 1e9, migrateOnFault: "never", refreshSeqOnBusy: true },
    });
    expect(s.processes[0].mappings[0]).toEqual({
      name: "heap",
      kind: "anon",
      pages: 64,
      prot: "rw",
      hugepage: false,
      populate: "none",
      init: "none",
      hugeSize: "2M",
    });
    expect(s.actors[0]).toMatchObject({
      kind: "device",
      pattern: { kind: "sequential" },
      writeRatio: 0,
      thinkNs: 0,
      startNs: 0,
      count: 10,
    });
    expect(s.run).toMatchObject({
      seed: 1,
      strategy: "random",
      check: "end",
      interleave: "fault",
      maxSteps: 1_000_000,
    });
  });

  it("reads JSON with the same schema", () => {
    const obj = parseScenario(MINIMAL);
    expect(parseScenario(JSON.stringify(obj))).toEqual(obj);
    expect(validateScenario(JSON.parse(JSON.stringify(obj)))).toEqual(obj);
  });

  it("parses the built-in default scenario", () => {
    const s = defaultScenario();
    expect(s.name).toBe("default");
    expect(s.actors.map((a) => a.name)).toEqual(["gpu0", "cpu0"]);
    expect(DEFAULT_SCENARIO_YAML).toContain("version: 1");
  });

  it("names a wrong type with path, line and column", () => {
    const issues = issuesOf(MINIMAL.replace("pages: 64", "pages: lots"));
    expect(issues).toEqual([
      { path: "processes[0].mappings[0].pages", message: 'expected number, got string "lots"', line: 6, col: 16 },
    ]);
  });

  it("names an out-of-range value (a stride that is not a multiple of 4096)", () => {
    const text = MINIMAL.replace(
      "    count: 10",
      "    count: 10\n    pattern:\n      kind: strided\n      stride: 1000",
    );
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      path: "actors[0].pattern.stride",
      message: "expected a positive multiple of 4096",
      line: 18,
      col: 15,
    });
    try {
      parseScenario(text);
    } catch (e) {
      expect((e as Error).message).toBe(
        "actors[0].pattern.stride: expected a positive multiple of 4096 (line 18, col 15)",
      );
    }
  });

  it("names an unknown key at the key", () => {
    const issues = issuesOf(MINIMAL.replace("  - name: gpu", "  - name: gpu\n    colour: blue"));
    expect(issues).toEqual([{ path: "devices[0].colour", message: 'unknown key "colour"', line: 9, col: 5 }]);
  });

  it("names a bad reference between sections", () => {
    const issues = issuesOf(MINIMAL.replace("device: gpu", "device: tpu"));
    expect(issues).toEqual([{ path: "actors[0].device", message: 'no device named "tpu"', line: 12, col: 13 }]);
    const m = issuesOf(MINIMAL.replace("mapping: heap", "mapping: stack"));
    expect(m).toEqual([
      { path: "actors[0].mapping", message: 'process "app" has no mapping named "stack"', line: 14, col: 14 },
    ]);
  });

  it("names an unknown enum value", () => {
    const issues = issuesOf(MINIMAL.replace("  - name: gpu", "  - name: gpu\n    kind: magic"));
    expect(issues).toEqual([
      { path: "devices[0].kind", message: 'expected one of "private", "coherent"', line: 9, col: 11 },
    ]);
  });

  it("names a run length that is missing everywhere", () => {
    const issues = issuesOf(MINIMAL.replace("    count: 10\n", ""));
    expect(issues).toEqual([
      { path: "actors[0].count", message: "expected count or durationNs here or run.durationNs", line: 10, col: 5 },
    ]);
  });

  it("lists every schema problem at once", () => {
    const issues = issuesOf(MINIMAL.replace("pages: 64", "pages: -1").replace("count: 10", "count: 0.5"));
    expect(issues.map((i) => [i.path, i.line])).toEqual([
      ["processes[0].mappings[0].pages", 6],
      ["actors[0].count", 15],
    ]);
  });

  it("reports YAML syntax errors with their position", () => {
    const issues = issuesOf("version: 1\nprocesses: [\n");
    expect(issues[0].line).toBeGreaterThan(0);
    expect(issues[0].path).toBe("");
  });

  it("validateScenario reports paths without positions", () => {
    expect(() => validateScenario({ version: 2 })).toThrow(ScenarioError);
    try {
      validateScenario({ version: 2, processes: [], actors: [] });
    } catch (e) {
      const issues = (e as ScenarioError).issues;
      expect(issues.map((i) => i.path)).toEqual(["version", "processes", "actors"]);
      expect(issues.every((i) => i.line === undefined)).toBe(true);
    }
  });
});

describe("docs/scenarios.md", () => {
  it("shows the built-in default scenario as it is", async () => {
    const { readFileSync } = await import("node:fs");
    const doc = readFileSync(new URL("../docs/scenarios.md", import.meta.url), "utf8");
    expect(doc).toContain("```yaml\n" + DEFAULT_SCENARIO_YAML + "```");
  });
});
