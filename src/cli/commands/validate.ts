// `hmmsim validate <file…>`: check scenario and sweep files without running them. A file whose
// top level has `parameters` or `seeds` is read as a sweep file (and planned, so every point is
// checked too); anything else as a scenario.
import { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { parseScenarioObject, ScenarioInputError } from "../../sim/sweep/backend.js";
import { loadSweep, readInput } from "../../sim/sweep/load.js";
import { formatIssue, parseSweep, SweepError } from "../../sim/sweep/schema.js";
import { EXIT, type Issue, type Output } from "../io.js";

interface FileReport {
  file: string;
  kind: "scenario" | "sweep";
  ok: boolean;
  issues: Issue[];
  points: number | null;
  jobs: number | null;
}

/** Whether a file's text looks like a sweep file (a top-level `parameters` or `seeds` key). */
function looksLikeSweep(text: string): boolean {
  try {
    const v = parseYaml(text) as unknown;
    return v !== null && typeof v === "object" && !Array.isArray(v) && ("parameters" in v || "seeds" in v);
  } catch {
    return false;
  }
}

function check(file: string): FileReport {
  let text: string;
  try {
    text = readInput(file, "file");
  } catch (e) {
    return { file, kind: "scenario", ok: false, issues: (e as SweepError).issues, points: null, jobs: null };
  }
  if (looksLikeSweep(text)) {
    try {
      const l = loadSweep(parseSweep(text, { source: file }), file);
      return { file, kind: "sweep", ok: true, issues: [], points: l.plan.points.length, jobs: l.plan.jobs.length };
    } catch (e) {
      if (e instanceof SweepError)
        return { file, kind: "sweep", ok: false, issues: e.issues, points: null, jobs: null };
      throw e;
    }
  }
  try {
    parseScenarioObject(text, file);
    return { file, kind: "scenario", ok: true, issues: [], points: null, jobs: null };
  } catch (e) {
    if (e instanceof ScenarioInputError)
      return { file, kind: "scenario", ok: false, issues: e.issues, points: null, jobs: null };
    throw e;
  }
}

export function validateCommand(out: Output): Command {
  return new Command("validate")
    .description("check scenario and sweep files (exit 0 when all are valid, 2 otherwise)")
    .argument("<file...>", "scenario or sweep files (YAML or JSON)")
    .option("--json", "print one JSON document (docs/cli.md) instead of text")
    .option("-q, --quiet", "print nothing for valid files")
    .action((files: string[], o: { json?: boolean; quiet?: boolean }) => {
      out.json = !!o.json;
      out.quiet = !!o.quiet;
      const reports = files.map(check);
      const code = reports.every((r) => r.ok) ? EXIT.ok : EXIT.usage;
      if (out.json) {
        const bad = reports.filter((r) => !r.ok);
        out.emit(
          "validate",
          code,
          { files },
          { files: reports },
          bad.length
            ? {
                kind: "input",
                message: `${bad.length} of ${reports.length} files invalid`,
                issues: bad.flatMap((r) => r.issues.map((i) => ({ ...i, path: `${r.file}: ${i.path}` }))),
              }
            : null,
        );
      } else {
        for (const r of reports) {
          if (r.ok) {
            if (!out.quiet)
              out.line(
                `${r.file}: valid ${r.kind}${r.kind === "sweep" ? ` (${r.points} points, ${r.jobs} jobs)` : ""}`,
              );
          } else {
            out.io.stderr(`${r.file}: invalid ${r.kind}\n${r.issues.map((i) => `  ${formatIssue(i)}\n`).join("")}`);
          }
        }
      }
      out.exitCode = code;
    });
}
