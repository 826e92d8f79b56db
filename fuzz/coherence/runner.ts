// Runs, checks and shrinks coherence-fuzzer sequences (see world.ts). After every step the
// invariant checker (src/sim/check) must report nothing; at the end every Mm exits and the
// teardown check must find everything returned. A failing sequence is shrunk by deleting steps
// (chunks, then single steps) while it still fails, and printed as JSON that `--replay` runs.
import { checkInvariants, checkTeardown, formatViolations, type EngineOptions } from "../../src/index.js";
import { Rng } from "../../src/sim/sched/rng.js";
import { OPS, type Step, World, isFinding } from "./world.js";

const TOTAL = OPS.reduce((n, [, w]) => n + w, 0);

/**
 * The sequence of `steps` steps of seed `seed`, drawn from the simulator's seeded generator
 * (pure-rand, the same sequence in every host).
 */
export function generate(seed: number, steps: number): Step[] {
  const r = Rng.seeded(seed);
  const int = (): number => r.int(2 ** 31);
  const out: Step[] = [];
  for (let i = 0; i < steps; i++) {
    let x = r.float() * TOTAL;
    let op = OPS[0][0];
    for (const [name, w] of OPS) {
      if ((x -= w) < 0) {
        op = name;
        break;
      }
    }
    out.push({ op, m: int(), a: int(), b: int(), c: int(), d: int() });
  }
  return out;
}

export interface Failure {
  /** Index of the step after which the failure showed (steps.length: at teardown). */
  index: number;
  what: string;
}

/** Runs steps on a fresh world; returns the first failure or null. */
export function runSequence(steps: readonly Step[], engineOpts: EngineOptions = {}): Failure | null {
  let world: World;
  try {
    world = new World(engineOpts);
  } catch (e) {
    return { index: -1, what: `world setup threw ${String(e)}` };
  }
  for (let i = 0; i < steps.length; i++) {
    try {
      world.apply(steps[i]);
    } catch (e) {
      if (isFinding(e))
        return { index: i, what: `${steps[i].op} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` };
    }
    const vs = checkInvariants(world.engine, { mirrors: world.liveMirrors(), files: world.files, limit: 5 });
    if (vs.length > 0) return { index: i, what: `after ${steps[i].op}:\n${formatViolations(vs)}` };
  }
  try {
    world.teardown();
  } catch (e) {
    return {
      index: steps.length,
      what: `teardown threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    };
  }
  const vs = [
    ...checkInvariants(world.engine, { files: world.files, limit: 5 }),
    ...checkTeardown(world.engine, { files: world.files }),
  ];
  if (vs.length > 0) return { index: steps.length, what: `at teardown:\n${formatViolations(vs)}` };
  return null;
}

/** Deletes steps while the sequence still fails (any failure); returns the shortest found. */
export function shrink(steps: readonly Step[], engineOpts: EngineOptions = {}, budget = 2000): Step[] {
  let cur = [...steps];
  const first = runSequence(cur, engineOpts);
  if (!first) return cur;
  // everything after the failing step is irrelevant
  if (first.index >= 0 && first.index < cur.length) cur = cur.slice(0, first.index + 1);
  let runs = 0;
  for (let chunk = Math.max(1, cur.length >> 1); chunk >= 1; chunk >>= 1) {
    for (let i = 0; i < cur.length && runs < budget; ) {
      const cand = [...cur.slice(0, i), ...cur.slice(i + chunk)];
      runs++;
      const f = cand.length > 0 ? runSequence(cand, engineOpts) : null;
      if (f) cur = f.index >= 0 && f.index < cand.length ? cand.slice(0, f.index + 1) : cand;
      else i += chunk;
    }
  }
  return cur;
}

/** A failing sequence as replayable text. */
export function formatSequence(steps: readonly Step[]): string {
  return "[\n" + steps.map((s) => "  " + JSON.stringify(s)).join(",\n") + "\n]";
}
