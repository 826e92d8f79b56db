// The deterministic scheduler: which runnable actor runs next. Strategies: seeded random (the
// default), PCT (Burckhardt et al., ASPLOS'10: random priorities and d-1 priority change points),
// and depth-first enumeration (driven by explore.ts). Every choice among two or more candidates
// is recorded; the schedule string replays it.
import type { Rng } from "./rng.js";

/** Scheduling strategy: uniform random choice, PCT (probabilistic concurrency testing), or bounded depth-first enumeration. */
export type Strategy = "random" | "pct" | "dfs";

/** A replayed schedule that asks for an actor which is not runnable at that point. */
export class ScheduleReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScheduleReplayError";
  }
}

const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** Run-length encodes actor indices: a letter per actor (a-z, A-Z), then the run length when above 1. */
export function encodeSchedule(choices: readonly number[]): string {
  let out = "";
  for (let i = 0; i < choices.length; ) {
    let j = i + 1;
    while (j < choices.length && choices[j] === choices[i]) j++;
    out += LETTERS[choices[i]] + (j - i > 1 ? String(j - i) : "");
    i = j;
  }
  return out;
}

/** The inverse of encodeSchedule(): actor indices from a schedule string. Throws ScheduleReplayError on a malformed string. */
export function decodeSchedule(s: string): number[] {
  const out: number[] = [];
  const re = /([a-zA-Z])(\d*)/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < s.length && (m = re.exec(s)) !== null) {
    const n = m[2] ? Number(m[2]) : 1;
    if (!Number.isSafeInteger(n) || n < 1)
      throw new ScheduleReplayError(`schedule string: bad run length at offset ${at}`);
    const a = LETTERS.indexOf(m[1]);
    for (let k = 0; k < n; k++) out.push(a);
    at = re.lastIndex;
  }
  if (at !== s.length)
    throw new ScheduleReplayError(
      `schedule string: unexpected "${s[at]}" at offset ${at} (expected a letter a-z/A-Z and an optional count)`,
    );
  return out;
}

export interface SchedulerOptions {
  strategy: Strategy;
  rng: Rng;
  actors: number;
  pctDepth?: number;
  /** Expected decisions of a run, for placing PCT's change points. */
  pctSteps?: number;
  replay?: string;
  /** DFS: the choices (actor indices) to follow before taking the first candidate each time. */
  dfsPrefix?: readonly number[];
}

/** Picks the next actor among the runnable candidates and records the choice. */
export class Scheduler {
  /** The chosen actor at every decision with two or more candidates. */
  readonly choices: number[] = [];
  /** DFS: the candidates of every decision. */
  readonly candidates: number[][] = [];
  private readonly replay: number[];
  private readonly prio: number[] = [];
  private readonly changePoints = new Map<number, number>();

  constructor(private readonly o: SchedulerOptions) {
    this.replay = o.replay ? decodeSchedule(o.replay) : o.dfsPrefix ? [...o.dfsPrefix] : [];
    if (o.strategy === "pct") {
      const d = Math.max(1, o.pctDepth ?? 3);
      // random distinct priorities d .. d+n-1 (a shuffled order), change points 1 .. d-1 at random decisions
      const order = Array.from({ length: o.actors }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = o.rng.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      order.forEach((a, rank) => {
        this.prio[a] = d + rank;
      });
      const k = Math.max(1, o.pctSteps ?? 1000);
      for (let j = 1; j < d; j++) this.changePoints.set(o.rng.int(k), d - j);
    }
  }

  /** The actor to run among `cands` (actor indices, ascending). */
  choose(cands: readonly number[]): number {
    if (cands.length === 1) return cands[0];
    const i = this.choices.length;
    let pick: number;
    if (i < this.replay.length) {
      pick = this.replay[i];
      if (!cands.includes(pick)) {
        throw new ScheduleReplayError(
          `schedule replay diverged at decision ${i}: actor ${LETTERS[pick]} is not runnable (runnable: ${cands.map((c) => LETTERS[c]).join("")})`,
        );
      }
    } else if (this.o.strategy === "dfs") {
      pick = cands[0];
    } else if (this.o.strategy === "pct") {
      pick = this.highest(cands);
      const lowered = this.changePoints.get(i);
      if (lowered !== undefined) {
        this.prio[pick] = lowered;
        pick = this.highest(cands);
      }
    } else {
      pick = cands[this.o.rng.int(cands.length)];
    }
    this.choices.push(pick);
    if (this.o.strategy === "dfs") this.candidates.push([...cands]);
    return pick;
  }

  private highest(cands: readonly number[]): number {
    let best = cands[0];
    for (const c of cands) if (this.prio[c] > this.prio[best]) best = c;
    return best;
  }

  get schedule(): string {
    return encodeSchedule(this.choices);
  }
}

/** DFS backtracking: the next prefix to explore after a run that made `choices` among `candidates`, or null when done. */
export function nextDfsPrefix(choices: readonly number[], candidates: readonly (readonly number[])[]): number[] | null {
  for (let i = choices.length - 1; i >= 0; i--) {
    const pos = candidates[i].indexOf(choices[i]);
    if (pos + 1 < candidates[i].length) return [...choices.slice(0, i), candidates[i][pos + 1]];
  }
  return null;
}
