// Writing a sweep's results.csv, results.json and report.html into a folder.
import { mkdirSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { reportHtml } from "./report-html.js";
import { resultsCsv, resultsJson } from "./results.js";
import type { SweepOutcome } from "./outcome.js";
import { hmmsimVersion } from "./version.js";

/** The paths writeSweepOutputs() wrote. */
export interface SweepFiles {
  /** results.csv: one row per job, reproducible byte for byte. */
  csv: string;
  /** results.json: the rows with job ids, schedules, failures and timings. */
  json: string;
  /** report.html: the offline charts and table. */
  html: string;
}

/** Writes the three result files into `dir` (created if missing); each file appears whole or not at all. */
export function writeSweepOutputs(o: SweepOutcome, dir: string, extra: { source?: string } = {}): SweepFiles {
  mkdirSync(dir, { recursive: true });
  const meta = { version: hmmsimVersion(), source: extra.source };
  const files: SweepFiles = {
    csv: join(dir, "results.csv"),
    json: join(dir, "results.json"),
    html: join(dir, "report.html"),
  };
  const put = (f: string, text: string) => {
    writeFileSync(f + ".tmp", text);
    renameSync(f + ".tmp", f);
  };
  put(files.csv, resultsCsv(o));
  put(files.json, resultsJson(o, meta));
  put(files.html, reportHtml(o, meta));
  return files;
}
