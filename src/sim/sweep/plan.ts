// Planning a sweep: expand the parameters into points (grid axes, zipped groups, random samples),
// apply each point to the base scenario, validate it, and lay out one job per point × seed. The plan
// is a pure function of the sweep file and the base scenario, so every machine that plans the same
// sweep gets the same points, the same canonical scenario bytes and the same job ids.
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { canonicalJson, sha256Hex } from "./canonical.js";
import { PathError, setPath } from "./paths.js";
import { SweepError, type Distribution, type Sweep, type SweepIssue } from "./schema.js";
import { ScenarioInputError, validateScenarioObject, type CheckMode, type Strategy } from "./backend.js";

/** One point of the sweep: the swept parameters' values and the scenario they give. */
export interface SweepPoint {
  /** Position of the point in the plan (0-based; SweepPlan.points[index]). */
  index: number;
  /** Swept parameter path → value, in the plan's `params` order. */
  values: Record<string, unknown>;
  /** The point's scenario as canonical JSON. */
  scenario: string;
}

/** One unit of work: a point run with one seed. Everything a worker needs travels in it. */
export interface SweepJob {
  /** "j" + SHA-256 of the job's canonical JSON without the id: the same work always has the same id. */
  id: string;
  /** Index of the job's point in SweepPlan.points. */
  point: number;
  /** The run's seed (scenario run.seed). */
  seed: number;
  /** The point's scenario as canonical JSON. */
  scenario: string;
  /** Overrides the scenario's run.strategy when set. */
  strategy?: Strategy;
  /** Overrides the scenario's run.pctDepth when set. */
  pctDepth?: number;
  /** Overrides the scenario's run.check when set. */
  check?: CheckMode;
  /** Metric names to return; null = every total metric. */
  metrics: string[] | null;
  /** hmmsim version that planned the job (a different version is different work). */
  version: string;
}

/** What planSweep() returns: the sweep's points and its jobs (point × seed), in a fixed order. */
export interface SweepPlan {
  /** The sweep's name (its `name`, default "sweep"). */
  name: string;
  /** Swept parameter paths, in file order (grid, then zip groups, then random). */
  params: string[];
  /** Metric names each job returns; null = every total metric. */
  metrics: string[] | null;
  /** The seeds every point runs with, in order. */
  seeds: number[];
  /** The points, in plan order. */
  points: SweepPoint[];
  /** Point-major, seed-minor: jobs[p * seeds.length + s]. */
  jobs: SweepJob[];
}

/** Hard cap on point × seed jobs in one sweep. */
export const MAX_SWEEP_JOBS = 1_000_000;

type Assignment = [path: string, value: unknown][];

/** Expands `sweep` over `base` (a validated scenario object); throws SweepError for points that do not validate. */
export function planSweep(sweep: Sweep, base: Record<string, unknown>, opts: { version: string }): SweepPlan {
  const axes: Assignment[][] = [];
  const params: string[] = [];
  for (const [p, vals] of Object.entries(sweep.parameters.grid ?? {})) {
    params.push(p);
    axes.push(vals.map((v) => [[p, v]]));
  }
  for (const group of sweep.parameters.zip ?? []) {
    const keys = Object.keys(group);
    params.push(...keys);
    axes.push(group[keys[0]].map((_, i) => keys.map((k): [string, unknown] => [k, group[k][i]])));
  }
  const random = sweep.parameters.random;
  if (random) {
    const keys = Object.keys(random.params);
    params.push(...keys);
    const rng = xoroshiro128plus(random.seed);
    const samples: Assignment[] = [];
    for (let i = 0; i < random.samples; i++) samples.push(keys.map((k) => [k, draw(rng, random.params[k])]));
    axes.push(samples);
  }
  const seeds = typeof sweep.seeds === "number" ? Array.from({ length: sweep.seeds }, (_, i) => i + 1) : sweep.seeds;
  const nPoints = axes.reduce((n, a) => n * a.length, 1);
  if (nPoints * seeds.length > MAX_SWEEP_JOBS) {
    throw new SweepError([
      {
        path: "parameters",
        message: `${nPoints} points × ${seeds.length} seeds = ${nPoints * seeds.length} jobs, more than the ${MAX_SWEEP_JOBS} a sweep may hold`,
      },
    ]);
  }

  const points: SweepPoint[] = [];
  const issues: SweepIssue[] = [];
  const baseJson = canonicalJson(base);
  for (let index = 0; index < nPoints; index++) {
    // Row-major: the first axis varies slowest.
    const assignment: Assignment = [];
    let rest = index;
    const picks: number[] = [];
    for (let a = axes.length - 1; a >= 0; a--) {
      picks[a] = rest % axes[a].length;
      rest = Math.floor(rest / axes[a].length);
    }
    for (let a = 0; a < axes.length; a++) assignment.push(...axes[a][picks[a]]);
    const scenario = JSON.parse(baseJson) as Record<string, unknown>;
    const values: Record<string, unknown> = {};
    try {
      for (const [p, v] of assignment) {
        setPath(scenario, p, v);
        values[p] = v;
      }
      points.push({ index, values, scenario: canonicalJson(validateScenarioObject(scenario)) });
    } catch (e) {
      if (!(e instanceof PathError || e instanceof ScenarioInputError)) throw e;
      const label = assignment.map(([p, v]) => `${p}=${JSON.stringify(v)}`).join(", ");
      const msgs = e instanceof ScenarioInputError ? e.issues.map((i) => `${i.path}: ${i.message}`) : [e.message];
      for (const m of msgs) issues.push({ path: `point ${index}${label ? ` (${label})` : ""}`, message: m });
      if (issues.length >= 20) break;
    }
  }
  if (issues.length) throw new SweepError(issues);

  const metrics = sweep.metrics ?? null;
  const jobs: SweepJob[] = [];
  for (const pt of points) {
    for (const seed of seeds) {
      const body: Omit<SweepJob, "id"> = {
        point: pt.index,
        seed,
        scenario: pt.scenario,
        metrics,
        version: opts.version,
        ...(sweep.strategy !== undefined ? { strategy: sweep.strategy } : {}),
        ...(sweep.check !== undefined ? { check: sweep.check } : {}),
        ...(sweep.pctDepth !== undefined ? { pctDepth: sweep.pctDepth } : {}),
      };
      jobs.push({ id: jobId(body), ...body });
    }
  }
  return { name: sweep.name ?? "sweep", params, metrics, seeds, points, jobs };
}

/** The job id: what the work is, not where it sits in the sweep (the point index is left out). */
export function jobId(job: Omit<SweepJob, "id">): string {
  const { point: _point, ...work } = job;
  return "j" + sha256Hex(canonicalJson(work));
}

function draw(rng: ReturnType<typeof xoroshiro128plus>, d: Distribution): unknown {
  if (d.int) return uniformInt(rng, d.int[0], d.int[1]);
  if (d.choice) return d.choice[uniformInt(rng, 0, d.choice.length - 1)];
  const u = uniformFloat64(rng);
  let x: number;
  if (d.uniform) x = d.uniform[0] + (d.uniform[1] - d.uniform[0]) * u;
  else {
    const [a, b] = d.logUniform!;
    x = Math.exp(Math.log(a) + (Math.log(b) - Math.log(a)) * u);
  }
  return d.round ? Math.round(x) : x;
}
