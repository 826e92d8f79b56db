// The hmmsim command line: help and version, exit codes, the --json envelope, bad values.
import { describe, expect, it } from "vitest";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SCENARIO_YAML } from "../../src/sim/index.js";
import { defaultScenarioObject } from "../../src/sim/sweep/backend.js";
import { spawn } from "node:child_process";
import { cli, hmmsim, hasStackTrace, MAIN, PATHS, PRIMARY_PROJECT, put, ROOT, scratch, smallSweep } from "./helpers.js";

const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const ENVELOPE_KEYS = ["command", "error", "exitCode", "inputs", "ok", "result", "schema", "timings", "versions"];

// biome-ignore lint/suspicious/noExplicitAny: the tests index the parsed JSON envelope freely
type Json = Record<string, any>;

function envelope(stdout: string): Json {
  const doc = JSON.parse(stdout) as Json;
  expect(Object.keys(doc).sort()).toEqual(ENVELOPE_KEYS);
  expect(doc.schema).toBe("hmmsim/cli@1");
  expect(doc.versions).toEqual({ hmmsim: VERSION, node: process.version, scenarioFormat: 1, sweepFormat: 1 });
  expect(Object.keys(doc.timings).sort()).toEqual(["startedAt", "wallMs"]);
  expect(Number.isNaN(Date.parse(doc.timings.startedAt))).toBe(false);
  expect(doc.ok).toBe(doc.exitCode === 0);
  return doc;
}

describe.runIf(PRIMARY_PROJECT)("hmmsim command line", () => {
  it("--version and -v print the package version; --help and -h list every command", async () => {
    // One real process: the executable's exit code and streams.
    const v1 = await cli(["--version"]);
    const [v2, h1, h2, none, unknown] = [
      await hmmsim(["-v"]),
      await hmmsim(["--help"]),
      await hmmsim(["-h"]),
      await hmmsim([]),
      await hmmsim(["frobnicate"]),
    ];
    expect([v1.code, v1.stdout]).toEqual([0, `${VERSION}\n`]);
    expect([v2.code, v2.stdout]).toEqual([0, `${VERSION}\n`]);
    for (const h of [h1, h2]) {
      expect(h.code).toBe(0);
      for (const c of ["run", "validate", "sweep", "worker", "bench", "calibrate"])
        expect(h.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
      expect(h.stdout).toMatch(/Exit codes: 0 ok, 1 violation or livelock found, 2 usage or input error/);
    }
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage: hmmsim \[options\] \[command\]/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it("every command has its own --help with its own options", async () => {
    const own: Record<string, string[]> = {
      run: [
        "--seed <n>",
        "--strategy <name>",
        "--replay <schedule>",
        "--trace <file>",
        "--check <when>",
        "--pages <n>",
        "--levels <n>",
        "--json",
        "--quiet",
      ],
      validate: ["<file...>", "--json"],
      sweep: ["<sweep-file>", "--workers <n>", "--queue <url>", "--out <dir>", "--dry-run", "--json"],
      worker: ["--queue <url>", "--concurrency <n>", "--lock-duration <ms>", "--json"],
      bench: ["--pages <n>", "--runs <n>", "--walker <name>", "--json"],
      calibrate: ["--out <file>", "--base <profile>", "--reps <n>", "--json"],
    };
    const names = Object.keys(own);
    const res: Awaited<ReturnType<typeof hmmsim>>[] = [];
    for (const c of names) res.push(await hmmsim([c, "--help"]), await hmmsim([c, "-h"]));
    names.forEach((c, i) => {
      for (const r of [res[2 * i], res[2 * i + 1]]) {
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^Usage: hmmsim ${c} `));
        for (const opt of own[c]) expect(r.stdout).toContain(opt);
      }
    });
    // run's help does not list sweep's options
    expect(res[0].stdout).not.toContain("--workers");
  });

  it("run --json prints one envelope with inputs, versions, seed, schedule, metrics and timings", async () => {
    const r = await hmmsim(["run", "--pages", "128", "--rounds", "8", "--seed", "2", "--json"]);
    expect(r.code).toBe(0);
    const doc = envelope(r.stdout);
    expect(doc.command).toBe("run");
    expect(doc.error).toBeNull();
    expect(doc.inputs).toEqual({
      scenario: null,
      seed: 2,
      strategy: null,
      pctDepth: null,
      replay: null,
      check: null,
      trace: null,
      pages: 128,
      rounds: 8,
      levels: null,
      profile: null,
      engine: null,
    });
    expect(Object.keys(doc.result).sort()).toEqual([
      "metrics",
      "report",
      "schedule",
      "seed",
      "simTimeNs",
      "status",
      "strategy",
      "wallMs",
    ]);
    expect(doc.result.status).toBe("ok");
    expect(doc.result.seed).toBe(2);
    expect(doc.result.schedule).toMatch(/^[a-z0-9]+$/);
    expect(doc.result.metrics.total["device.accesses"]).toBe(128);
    expect(doc.result.metrics.total["cpu.ops.write"] + doc.result.metrics.total["cpu.ops.read"]).toBeLessThanOrEqual(8);
    // the schedule string replays the run exactly
    const again = await hmmsim([
      "run",
      "--pages",
      "128",
      "--rounds",
      "8",
      "--seed",
      "2",
      "--replay",
      doc.result.schedule,
      "--json",
    ]);
    const r2 = envelope(again.stdout).result;
    expect([r2.schedule, r2.metrics, r2.simTimeNs]).toEqual([
      doc.result.schedule,
      doc.result.metrics,
      doc.result.simTimeNs,
    ]);
  });

  it("run exits 1 when the simulation finds a livelock, with its report; --trace writes a trace-event file", async () => {
    const dir = scratch();
    const f = put(
      dir,
      "stale.yaml",
      DEFAULT_SCENARIO_YAML.replace("refreshSeqOnBusy: true", "refreshSeqOnBusy: false"),
    );
    const trace = join(dir, "trace.json");
    const r = await hmmsim(["run", f, "--json", "--trace", trace]);
    expect(r.code).toBe(1);
    const doc = envelope(r.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.error).toBeNull();
    expect(doc.inputs.scenario).toBe(f);
    expect(doc.result.status).toBe("livelock");
    expect(doc.result.report.livelock.schedule).toBe(doc.result.schedule);
    const events = JSON.parse(readFileSync(trace, "utf8")) as { ph: string }[];
    expect(events.length).toBeGreaterThanOrEqual(doc.result.report.trace.events);
    expect(events[0].ph).toBe("M");
    const text = await hmmsim(["run", f, "--quiet"]);
    expect(text.code).toBe(1);
    expect(text.stdout.trim().split("\n").at(-1)).toBe("simulation FAILED: livelock");
    // --pages and --rounds belong to the built-in scenario only
    const mixed = await hmmsim(["run", f, "--pages", "128"]);
    expect([mixed.code, mixed.stderr]).toEqual([
      2,
      "hmmsim: --pages and --rounds parametrise the built-in default scenario; set these in the scenario file instead\n",
    ]);
  });

  it("bad values exit 2 with a message and no stack trace, as text or as JSON", async () => {
    const cases: [string[], RegExp][] = [
      [["run", "--pages="], /--pages needs an integer, got ""/],
      [["run", "--pages", "12abc"], /--pages needs an integer, got "12abc"/],
      [["run", "--pages", "10"], /--pages must be an integer in 64\.\.16777216, got 10/],
      [["run", "--json=false"], /unknown option '--json=false'/],
      [["run", "--levels", "3"], /--levels must be 4 or 5/],
      [["run", "--strategy", "greedy"], /--strategy must be random, pct or dfs, got "greedy"/],
      [["run", "--seed", "-1"], /--seed must be an integer in 0\.\.4294967295, got -1/],
      [["run", "--pct-depth", "3"], /--pct-depth applies to --strategy pct only/],
      [["run", "--frob"], /unknown option '--frob'/],
      [["sweep"], /missing required argument 'sweep-file'/],
      [["sweep", "x.yaml", "--workers", "0"], /--workers must be an integer in 1\.\.1024, got 0/],
      [["sweep", "no-such-file.yaml"], /cannot read sweep file no-such-file\.yaml: no such file/],
      [
        ["sweep", "x.yaml", "--queue", "http://127.0.0.1:1"],
        /--queue: expected a redis:\/\/ or rediss:\/\/ URL, got http:\/\//,
      ],
      [["worker"], /required option '--queue <url>' not specified/],
      [
        ["worker", "--queue", "redis://127.0.0.1:1/0"],
        /cannot reach the queue at redis:\/\/127\.0\.0\.1:1\/0: ECONNREFUSED/,
      ],
      [
        ["sweep", "examples/sweeps/stale-seq.yaml", "--queue", "redis://127.0.0.1:1/0"],
        /cannot reach the queue at redis:\/\/127\.0\.0\.1:1\/0: ECONNREFUSED/,
      ],
      [["validate"], /missing required argument 'file'/],
      [["bench", "--runs", "0"], /--runs must be an integer in 1\.\.1000, got 0/],
    ];
    const res: Awaited<ReturnType<typeof hmmsim>>[] = [];
    for (const [a] of cases) res.push(await hmmsim(a));
    res.forEach((r, i) => {
      expect([cases[i][0].join(" "), r.code]).toEqual([cases[i][0].join(" "), 2]);
      expect(r.stderr).toMatch(cases[i][1]);
      expect(hasStackTrace(r.stderr)).toBe(false);
      expect(r.stdout).toBe("");
    });
    const json: Awaited<ReturnType<typeof hmmsim>>[] = [];
    for (const [a] of cases) json.push(await hmmsim([...a, "--json"]));
    // and one as a real process: exit status 2, the JSON on stdout, nothing on stderr
    const proc = await cli(["run", "--pages", "10", "--json"]);
    expect([proc.code, proc.stderr]).toEqual([2, ""]);
    expect(envelope(proc.stdout).error.message).toMatch(cases[2][1]);
    json.forEach((r, i) => {
      expect(r.code).toBe(2);
      expect(r.stderr).toBe("");
      const doc = envelope(r.stdout);
      expect(doc.result).toBeNull();
      expect(["usage", "input"]).toContain(doc.error.kind);
      expect(doc.error.message).toMatch(cases[i][1]);
    });
  });

  it("an invalid scenario or sweep file is an input error naming path, line and column", async () => {
    const dir = scratch();
    const bad = put(
      dir,
      "bad-sweep.yaml",
      "scenario: default\nparameters:\n  grid:\n    run.pages: 12\nseeds: 2\ncolour: blue\n",
    );
    const r = await hmmsim(["sweep", bad, "--json"]);
    expect(r.code).toBe(2);
    const doc = envelope(r.stdout);
    expect(doc.error.kind).toBe("input");
    expect(doc.error.issues).toEqual([
      { path: "parameters.grid.run.pages", message: expect.stringMatching(/expected array/), line: 4, col: 16 },
      { path: "", message: "unknown key colour", line: 6, col: 1 },
    ]);
    const t = await hmmsim(["validate", bad]);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain(`${bad}: invalid sweep`);
    expect(t.stderr).toContain("(top): unknown key colour (line 6, col 1)");
    expect(hasStackTrace(t.stderr)).toBe(false);
  });

  it("validate reports every file, valid and invalid, and exits 2 when any is invalid", async () => {
    const dir = scratch();
    const good = put(dir, "good.yaml", smallSweep(3));
    const bad = put(dir, "bad.yaml", "parameters:\n  grid:\n    run.pages: [8]\n");
    const ok = await hmmsim(["validate", good, "--json"]);
    expect(ok.code).toBe(0);
    expect(envelope(ok.stdout).result).toEqual({
      files: [{ file: good, kind: "sweep", ok: true, issues: [], points: 4, jobs: 12 }],
    });
    const both = await hmmsim(["validate", good, bad, "--json"]);
    expect(both.code).toBe(2);
    const doc = envelope(both.stdout);
    expect(doc.result.files.map((f: { ok: boolean }) => f.ok)).toEqual([true, false]);
    expect(doc.result.files[1].issues[0].path).toMatch(/^point 0 \(run\.pages=8\)/);
    expect(doc.error).toEqual({ kind: "input", message: "1 of 2 files invalid", issues: expect.any(Array) });
  });

  it("sweep --dry-run plans without running; sweep --json reports counts and files", async () => {
    const dir = scratch();
    const f = put(dir, "s.yaml", smallSweep(2));
    const dry = await hmmsim(["sweep", f, "--dry-run", "--json"]);
    expect(dry.code).toBe(0);
    const d = envelope(dry.stdout);
    expect(d.result.points).toBe(4);
    expect(d.result.jobs).toBe(8);
    expect(d.result.params).toEqual([PATHS.pages, PATHS.rounds]);
    expect(d.result.plan[3]).toEqual({ point: 3, values: { [PATHS.pages]: 256, [PATHS.rounds]: 16 } });
    expect(existsSync(join(dir, "sweep-results"))).toBe(false);

    const out = join(dir, "out");
    const run = await hmmsim(["sweep", f, "--workers", "1", "--out", out, "--json"]);
    expect(run.code).toBe(0);
    const doc = envelope(run.stdout);
    expect(doc.inputs).toEqual({
      sweep: f,
      workers: 1,
      queue: null,
      queueName: null,
      attempts: null,
      backoffMs: null,
      out,
      dryRun: false,
    });
    expect(doc.result.counts).toEqual({ ok: 8, violation: 0, livelock: 0, error: 0 });
    expect(doc.result.complete).toBe(true);
    expect(doc.result.files).toEqual({
      csv: join(out, "results.csv"),
      json: join(out, "results.json"),
      html: join(out, "report.html"),
    });
    const csv = readFileSync(join(out, "results.csv"), "utf8").split("\n");
    expect(csv[0]).toBe(
      `point,seed,${PATHS.pages},${PATHS.rounds},status,simTimeNs,hmm.calls,retries.external,device.accesses`,
    );
    expect(csv.length).toBe(10); // header, 8 rows, final newline
  });

  it("Ctrl-C stops a sweep cleanly: exit 130, the finished results written, marked incomplete", async () => {
    const dir = scratch();
    const out = join(dir, "out");
    // the example sweep with 50 seeds per point: 300 jobs, far more than finish before the interrupt
    const f = put(
      dir,
      "long.yaml",
      readFileSync(join(ROOT, "examples/sweeps/stale-seq.yaml"), "utf8").replace("seeds: 4", "seeds: 50"),
    );
    const p = spawn(process.execPath, ["--import", "tsx", MAIN, "sweep", f, "--workers", "1", "--out", out], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "",
      stdout = "";
    p.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
    });
    // stderr is not a terminal: a plain progress line every 5 s; interrupt after the first
    await new Promise<void>((done) =>
      p.stderr.setEncoding("utf8").on("data", (s: string) => {
        stderr += s;
        if (/hmmsim sweep stale-seq: \d+\/300 jobs/.test(stderr)) done();
      }),
    );
    p.kill("SIGINT");
    const code = await new Promise<number | null>((done) => p.on("close", (c) => done(c)));
    expect(code).toBe(130);
    expect(stderr).toContain("hmmsim sweep: interrupted; finishing up and writing the results so far");
    expect(stdout).toMatch(/^sweep stale-seq: 6 points × 50 seeds = 300 jobs on 1 worker \(interrupted after \d+\)$/m);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as {
      complete: boolean;
      rows: { point: number; seed: number }[];
    };
    expect(res.complete).toBe(false);
    expect(res.rows.length).toBeGreaterThanOrEqual(1);
    expect(res.rows.length).toBeLessThan(300);
    // one worker takes jobs in plan order: the finished ones are the first ones
    expect(res.rows.map((r) => `${r.point}/${r.seed}`)).toEqual(
      res.rows.map((_, i) => `${Math.floor(i / 50)}/${(i % 50) + 1}`),
    );
    expect(readFileSync(join(out, "results.csv"), "utf8").trimEnd().split("\n").length).toBe(res.rows.length + 1);
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("incomplete (interrupted)");
  });

  it("bench and calibrate report figures as JSON", async () => {
    const dir = scratch();
    const b = await hmmsim(["bench", "--pages", "128", "--runs", "1", "--walker", "wasm", "--json"]);
    const c = await hmmsim([
      "calibrate",
      "--pages",
      "64",
      "--reps",
      "5",
      "--name",
      "here",
      "--out",
      join(dir, "p.json"),
      "--json",
    ]);
    expect(b.code).toBe(0);
    const bd = envelope(b.stdout);
    expect(bd.inputs).toEqual({ pages: 128, runs: 1, walker: "wasm" });
    expect(bd.result.walks.map((w: { walker: string; pages: number }) => [w.walker, w.pages])).toEqual([["wasm", 128]]);
    expect(bd.result.walks[0].residentNsPerPage).toBeGreaterThan(0);
    expect(c.code).toBe(0);
    const cd = envelope(c.stdout);
    expect(cd.result.file).toBe(join(dir, "p.json"));
    expect(JSON.parse(readFileSync(join(dir, "p.json"), "utf8"))).toEqual(cd.result.profile);
    expect(cd.result.profile.name).toBe("here");
    for (const k of ["hmm.callNs", "walk.pageNs", "fault.anonNs"])
      expect(cd.result.profile.entries[k].confidence).toBe("measured");
    // the written profile is one a scenario accepts as its machine.costProfile
    const f = put(
      dir,
      "s.json",
      JSON.stringify({
        ...JSON.parse(JSON.stringify(defaultScenarioObject())),
        machine: { ...(defaultScenarioObject().machine as object), costProfile: cd.result.profile },
      }),
    );
    expect((await hmmsim(["validate", f])).code).toBe(0);
  });
});
