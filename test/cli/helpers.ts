// Shared helpers of the command-line tests: run `hmmsim` from the sources (node --import tsx) as a
// child process, and make scratch folders.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ENGINE_OPTS } from "../env.js";
import { runCli } from "../../src/cli/program.js";

export const ROOT = resolve(import.meta.dirname, "../..");
export const MAIN = join(ROOT, "src/cli/main.ts");

/**
 * The command-line tests spawn processes and do not depend on the build or walker under test, so
 * they run in one vitest project (scalar) instead of three.
 */
export const PRIMARY_PROJECT = ENGINE_OPTS.build === "release" && ENGINE_OPTS.walker === "wasm";

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `hmmsim args…` in this process (fast: no process start, no transpiling), capturing its output. */
export async function hmmsim(args: string[]): Promise<CliResult> {
  let stdout = "",
    stderr = "";
  const code = await runCli(args, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    stderrTTY: null,
  });
  return { code, signal: null, stdout, stderr };
}

/** Runs `hmmsim args…` as a child process (node --import tsx src/cli/main.ts) to completion. */
export function cli(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "",
      stderr = "";
    p.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
    });
    p.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 90_000);
    p.on("error", fail);
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

/** A fresh scratch folder. */
export function scratch(prefix = "hmmsim-cli-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `text` to `dir/name` and returns the path. */
export function put(dir: string, name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** The parameter paths the tests sweep, into the built-in default scenario. */
export const PATHS = { pages: "processes[0].mappings[0].pages", rounds: "actors[1].count" } as const;

/** A small sweep file over the default scenario: 2 × 2 grid points × `seeds` seeds. */
export function smallSweep(seeds = 2, metrics = "[hmm.calls, retries.external, device.accesses]"): string {
  return `name: small
scenario: default
parameters:
  grid:
    "${PATHS.pages}": [128, 256]
    "${PATHS.rounds}": [8, 16]
seeds: ${seeds}
metrics: ${metrics}
`;
}

/** No line of a Node stack trace ("    at f (file:1:2)"). */
export function hasStackTrace(s: string): boolean {
  return /^\s+at .+[:(]\d+/m.test(s);
}
