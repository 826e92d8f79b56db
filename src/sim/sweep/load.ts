// Loading a sweep from disk: the sweep file, its base scenario (the built-in default, a file beside
// it, or inline), and the plan.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { defaultScenarioObject, parseScenarioObject, ScenarioInputError, validateScenarioObject } from "./backend.js";
import { planSweep, type SweepPlan } from "./plan.js";
import { parseSweep, SweepError, type Sweep } from "./schema.js";
import { hmmsimVersion } from "./version.js";

/** A sweep file read, validated and planned (what loadSweepFile() and loadSweep() return). */
export interface LoadedSweep {
  /** The validated sweep file. */
  sweep: Sweep;
  /** The base scenario it names, validated, as a plain object. */
  base: Record<string, unknown>;
  /** Its points and jobs. */
  plan: SweepPlan;
  /** Where the sweep came from (the file's path, or the name given), for messages and results.json. */
  source: string;
}

/** Reads a file for the command line; a missing or unreadable file is an input error naming it. */
export function readInput(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "is a directory"
          : code === "EACCES"
            ? "permission denied"
            : (e as Error).message;
    throw new SweepError([{ path: "", message: `cannot read ${what} ${path}: ${why}` }]);
  }
}

/** The base scenario a sweep names. */
export function sweepBaseScenario(sweep: Sweep, sweepPath: string | undefined): Record<string, unknown> {
  const s = sweep.scenario;
  try {
    if (s === "default") return defaultScenarioObject();
    if (typeof s === "string") {
      const file = resolve(sweepPath ? dirname(sweepPath) : ".", s);
      return parseScenarioObject(readInput(file, "scenario"), file);
    }
    return validateScenarioObject(s);
  } catch (e) {
    if (e instanceof ScenarioInputError) {
      throw new SweepError(
        e.issues.map((i) => ({
          ...i,
          path: typeof s === "string" ? `scenario (${s}): ${i.path}` : `scenario.${i.path}`,
        })),
      );
    }
    throw e;
  }
}

/** Reads, validates and plans a sweep file. Throws SweepError for every input problem. */
export function loadSweepFile(path: string): LoadedSweep {
  const sweep = parseSweep(readInput(path, "sweep file"), { source: path });
  return loadSweep(sweep, path);
}

/** Plans an already-validated sweep (paths in it resolve against `path`'s folder). */
export function loadSweep(sweep: Sweep, path?: string): LoadedSweep {
  const base = sweepBaseScenario(sweep, path);
  return { sweep, base, plan: planSweep(sweep, base, { version: hmmsimVersion() }), source: path ?? "(inline)" };
}
