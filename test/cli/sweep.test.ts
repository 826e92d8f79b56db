// Sweeps: the sweep-file schema, the planner (grid, zip, random), job ids, and determinism of the
// results whatever the number of workers and the order jobs finish in.
import { describe, expect, it } from "vitest";
import {
  canonicalJson,
  jobId,
  loadSweep,
  runSweepJob,
  parsePath,
  parseSweep,
  planSweep,
  resultsCsv,
  runSweepInline,
  runSweepLocal,
  setPath,
  SweepError,
  validateSweep,
  type SweepOutcome,
} from "../../src/sim/sweep/index.js";
import { defaultScenarioObject } from "../../src/sim/sweep/backend.js";
import { adoptCompiledBuild, compiledBuild, wasmBytes } from "../../src/engine/builds.js";
import { PATHS, PRIMARY_PROJECT, smallSweep } from "./helpers.js";

describe.runIf(PRIMARY_PROJECT)("sweep files and plans", () => {
  it("canonical JSON sorts keys at every depth and rejects what JSON cannot carry", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: -0 }], e: undefined })).toBe('{"a":[{"c":0,"d":2}],"b":1}');
    expect(() => canonicalJson({ x: NaN })).toThrow("$.x: NaN has no JSON form");
    expect(() => canonicalJson({ f: () => 1 })).toThrow("$.f: a function has no JSON form");
  });

  it("paths address keys and list entries; a missing list entry is an error, a missing key is created", () => {
    expect(parsePath("actors[1].pattern.stride")).toEqual(["actors", 1, "pattern", "stride"]);
    expect(() => parsePath("a..b")).toThrow(/expected a key at "\.b"/);
    expect(() => parsePath("a[x]")).toThrow(/expected \[index\]/);
    const o: Record<string, unknown> = { a: [{ b: 1 }] };
    setPath(o, "a[0].c.d", 5);
    expect(o).toEqual({ a: [{ b: 1, c: { d: 5 } }] });
    expect(() => setPath(o, "a[3].b", 1)).toThrow("a[3].b: a has 1 entries, no [3]");
    expect(() => setPath(o, "a[0].b.x", 1)).toThrow("a[0].b.x: a[0].b is not an object in the scenario");
  });

  it("grid axes multiply (first axis slowest), zip groups advance together, seeds are innermost", () => {
    const sweep = validateSweep({
      parameters: {
        grid: { [PATHS.pages]: [128, 256] },
        zip: [{ [PATHS.rounds]: [4, 8, 12], "machine.profile": ["v6.1", "v6.16", "v6.1"] }],
      },
      seeds: [5, 9],
    });
    const plan = planSweep(sweep, defaultScenarioObject(), { version: "t" });
    expect(plan.params).toEqual([PATHS.pages, PATHS.rounds, "machine.profile"]);
    expect(plan.points.map((p) => Object.values(p.values))).toEqual([
      [128, 4, "v6.1"],
      [128, 8, "v6.16"],
      [128, 12, "v6.1"],
      [256, 4, "v6.1"],
      [256, 8, "v6.16"],
      [256, 12, "v6.1"],
    ]);
    expect(plan.jobs.map((j) => [j.point, j.seed])).toEqual(
      plan.points.flatMap((p) => [
        [p.index, 5],
        [p.index, 9],
      ]),
    );
    // each job carries its point's scenario as canonical JSON, with the values applied
    const s3 = JSON.parse(plan.jobs[6].scenario);
    expect([s3.processes[0].mappings[0].pages, s3.actors[1].count, s3.machine.profile]).toEqual([256, 4, "v6.1"]);
    expect(plan.jobs[6].scenario).toBe(canonicalJson(s3));
  });

  it("random samples are drawn from the sweep's own seed: the same file gives the same points", () => {
    const text = `parameters:\n  random:\n    samples: 5\n    seed: 42\n    params:\n      ${PATHS.rounds}: { int: [1, 100] }\n      ${PATHS.pages}: { logUniform: [64, 4096], round: true }\n      machine.profile: { choice: [v6.1, v6.16] }\n`;
    const a = planSweep(parseSweep(text), defaultScenarioObject(), { version: "t" });
    const b = planSweep(parseSweep(text), defaultScenarioObject(), { version: "t" });
    expect(a.points.length).toBe(5);
    expect(a.points.map((p) => p.values)).toEqual(b.points.map((p) => p.values));
    for (const p of a.points) {
      const r = p.values[PATHS.rounds] as number,
        pg = p.values[PATHS.pages] as number;
      expect(Number.isInteger(r) && r >= 1 && r <= 100).toBe(true);
      expect(Number.isInteger(pg) && pg >= 64 && pg <= 4096).toBe(true);
      expect(["v6.1", "v6.16"]).toContain(p.values["machine.profile"]);
    }
    const c = planSweep(parseSweep(text.replace("seed: 42", "seed: 43")), defaultScenarioObject(), { version: "t" });
    expect(c.points.map((p) => p.values)).not.toEqual(a.points.map((p) => p.values));
  });

  it("job ids hash the work (scenario, seed, strategy, metrics, version), not its place in the sweep", () => {
    const plan = loadSweep(parseSweep(smallSweep(2))).plan;
    const ids = plan.jobs.map((j) => j.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const j of plan.jobs) {
      expect(j.id).toMatch(/^j[0-9a-f]{64}$/);
      const { id: _id, ...rest } = j;
      expect(jobId({ ...rest, point: 99 })).toBe(j.id);
      expect(jobId({ ...rest, seed: rest.seed + 1000 })).not.toBe(j.id);
      expect(jobId({ ...rest, version: "other" })).not.toBe(j.id);
    }
  });

  it("schema errors name the path with line and column; points that do not validate are named with their values", () => {
    const text =
      "name: x\nparameters:\n  grid:\n    run.pages: []\n  random:\n    samples: 2\n    params:\n      run.rounds: { int: [1, 5], uniform: [0, 1] }\nseeds: [1, 1]\nstrategy: greedy\n";
    let err: SweepError | undefined;
    try {
      parseSweep(text, { source: "s.yaml" });
    } catch (e) {
      err = e as SweepError;
    }
    expect(err).toBeInstanceOf(SweepError);
    expect(err!.issues).toEqual([
      { path: "parameters.grid.run.pages", message: "expected at least one value", line: 4, col: 16 },
      {
        path: "parameters.random.params.run.rounds",
        message: "expected exactly one of int, uniform, logUniform, choice (got int, uniform)",
        line: 8,
        col: 19,
      },
      { path: "seeds", message: "seeds must be distinct", line: 9, col: 8 },
      { path: "strategy", message: expect.stringMatching(/random.*pct.*dfs/), line: 10, col: 11 },
    ]);
    expect(err!.message.split("\n")[0]).toBe(
      "s.yaml: parameters.grid.run.pages: expected at least one value (line 4, col 16)",
    );
    // a value the scenario rejects, and a path into a list entry that does not exist
    expect(() => loadSweep(validateSweep({ parameters: { grid: { [PATHS.pages]: [256, -8] } } }))).toThrow(
      new RegExp(
        `^point 1 \\(${PATHS.pages.replace(/[[\].]/g, "\\$&")}=-8\\): ${PATHS.pages.replace(/[[\].]/g, "\\$&")}: .*expected number to be >0`,
      ),
    );
    expect(() => loadSweep(validateSweep({ parameters: { grid: { "machine[2]": [1] } } }))).toThrow(
      "point 0 (machine[2]=1): machine[2]: machine is not a list in the scenario",
    );
  });
});

describe.runIf(PRIMARY_PROJECT)("worker threads share the parent's compiled module", () => {
  it("adoptCompiledBuild seeds the memo once; a bad build or a non-module is refused", () => {
    const mod = compiledBuild("debug");
    // already compiled here: the thread keeps its own module
    adoptCompiledBuild("debug", new WebAssembly.Module(wasmBytes("debug") as BufferSource));
    expect(compiledBuild("debug")).toBe(mod);
    expect(() => adoptCompiledBuild("fast" as never, mod)).toThrow('unknown build "fast"');
    expect(() => adoptCompiledBuild("debug", {} as never)).toThrow("adoptCompiledBuild needs a WebAssembly.Module");
  });

  it("the pool worker's task runs a job like runSweepJob and returns errors as data", async () => {
    const plan = loadSweep(parseSweep(smallSweep(1))).plan;
    const { default: runTask } = await import("../../src/sim/sweep/pool-worker.js");
    const out = runTask(plan.jobs[0]);
    expect(out).toEqual({ ok: true, result: { ...runSweepJob(plan.jobs[0]), wallMs: expect.any(Number) } });
    const bad = runTask({ ...plan.jobs[0], scenario: '{"machine":{"levels":3}}' });
    expect(bad).toEqual({ ok: false, permanent: true, message: expect.stringMatching(/machine\.levels/) });
    expect(runTask({ ...plan.jobs[0], scenario: "{" })).toEqual({
      ok: false,
      permanent: true,
      message: expect.stringMatching(/scenario is not JSON/),
    });
  });
});

describe.runIf(PRIMARY_PROJECT)("sweep metrics", () => {
  it("a metric is a total metric, or a dotted path into the report whose keys may hold dots; an unknown one is an empty cell", async () => {
    const plan = loadSweep(
      validateSweep({
        parameters: { grid: { "actors[0].count": [64] } },
        metrics: ["hmm.calls", "latency.device.access.p99", "no.such.metric"],
      }),
    ).plan;
    const o = await runSweepInline(plan);
    const r = o.results[0]!;
    const direct = runSweepJob(plan.jobs[0]);
    expect(r.metrics["hmm.calls"]).toBe(direct.metrics["hmm.calls"]);
    expect(r.metrics["hmm.calls"]).toBeGreaterThan(0);
    expect(r.metrics["latency.device.access.p99"]).toBeGreaterThan(0);
    expect(r.metrics["no.such.metric"]).toBeNull();
    expect(resultsCsv(o).split("\n")[1]).toMatch(/,$/);
  });
});

describe.runIf(PRIMARY_PROJECT)("sweep determinism", () => {
  it("1 worker, 2 workers and in-process runs give byte-identical CSV, in plan order", async () => {
    const plan = loadSweep(parseSweep(smallSweep(3))).plan;
    const progress: number[] = [];
    const inline = await runSweepInline(plan);
    const one = await runSweepLocal(plan, { workers: 1 });
    const two = await runSweepLocal(plan, {
      workers: 2,
      onProgress: (d, t) => {
        expect(t).toBe(12);
        progress.push(d);
      },
    });
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const csv = resultsCsv(inline);
    expect(resultsCsv(one)).toBe(csv);
    expect(resultsCsv(two)).toBe(csv);
    const lines = csv.trimEnd().split("\n");
    expect(lines.length).toBe(13);
    expect(lines.slice(1).map((l) => l.split(",").slice(0, 2).join(","))).toEqual(
      plan.jobs.map((j) => `${j.point},${j.seed}`),
    );
    expect(two.complete && two.failures.length === 0 && two.workers === 2).toBe(true);
  });

  it("results land in their job's slot whatever order the jobs finish in", async () => {
    const plan = loadSweep(parseSweep(smallSweep(2))).plan;
    const inline = await runSweepInline(plan);
    // the same results, delivered in reverse order, give the same CSV
    const reversed: SweepOutcome = { ...inline, results: [] };
    const order = plan.jobs.map((_, i) => i).reverse();
    reversed.results = new Array(plan.jobs.length).fill(null);
    for (const i of order) reversed.results[i] = inline.results[i];
    expect(resultsCsv(reversed)).toBe(resultsCsv(inline));
  });

  it("an aborted local run keeps the results finished so far and says it is incomplete", async () => {
    const plan = loadSweep(parseSweep(smallSweep(3))).plan;
    const ac = new AbortController();
    const o = await runSweepLocal(plan, {
      workers: 1,
      signal: ac.signal,
      onProgress: (d) => {
        if (d === 3) ac.abort();
      },
    });
    expect(o.complete).toBe(false);
    const done = o.results.filter((r) => r !== null).length;
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThan(12);
    const full = await runSweepInline(plan);
    o.results.forEach((r, i) => {
      if (r) expect({ ...r, wallMs: 0 }).toEqual({ ...full.results[i]!, wallMs: 0 });
    });
    expect(resultsCsv(o).trimEnd().split("\n").length).toBe(1 + done);
  });
});
