#!/usr/bin/env node
// The hmmsim command: run, validate, sweep, worker, bench, calibrate (docs/cli.md). Exit codes:
// 0 success, 1 the simulation found a violation or livelock, 2 usage or input error, 3 a sweep left
// jobs without results, 130 interrupted. User errors print one message (or a JSON envelope under
// --json), never a stack trace.
import { Command, CommanderError } from "commander";
import { hmmsimVersion } from "../sim/sweep/version.js";
import { EXIT, Output, UserError, type ErrorKind, type Issue } from "./io.js";
import { runCommand } from "./commands/run.js";
import { validateCommand } from "./commands/validate.js";
import { sweepCommand } from "./commands/sweep.js";
import { workerCommand } from "./commands/worker.js";
import { benchCommand } from "./commands/bench.js";
import { calibrateCommand } from "./commands/calibrate.js";

/** The program, with `out` collecting the per-invocation output state. */
function buildProgram(out: Output): Command {
  const program = new Command("hmmsim")
    .description("User-space simulator of Linux HMM (hmm_range_fault, mmu interval notifiers): scenarios, sweeps, benchmarks")
    .version(hmmsimVersion(), "-v, --version", "print the version")
    .helpOption("-h, --help", "show help for a command")
    .addHelpCommand("help [command]", "show help for a command")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Under --json, commander's own error text becomes the envelope's message instead.
      writeErr: (s) => { if (!out.json) process.stderr.write(s); },
      outputError: (s, write) => write(s),
    })
    .addHelpText("after", `
Exit codes: 0 ok, 1 violation or livelock found, 2 usage or input error, 3 sweep jobs without results, 130 interrupted.
Every command takes --json (one JSON document on stdout; docs/cli.md) and -h/--help.`);
  for (const c of [runCommand(out), validateCommand(out), sweepCommand(out), workerCommand(out), benchCommand(out), calibrateCommand(out)]) {
    program.addCommand(c.exitOverride().configureOutput({
      writeErr: (s) => { if (!out.json) process.stderr.write(s); },
    }).showHelpAfterError(`(see hmmsim ${c.name()} --help)`));
  }
  return program;
}

function commandOf(argv: string[]): string {
  return argv.find((a) => !a.startsWith("-")) ?? "hmmsim";
}

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
async function main(argv: string[]): Promise<number> {
  const out = new Output();
  // --json is known before parsing so that even a parse error comes out as JSON.
  out.json = argv.includes("--json");
  const program = buildProgram(out);
  const fail = (kind: ErrorKind, message: string, code: number, issues: Issue[] = []): number => {
    if (out.done) return code;
    if (out.json) {
      const inputs = (out as Output & { inputs?: Record<string, unknown> }).inputs ?? { argv };
      out.emit(commandOf(argv), code, inputs, null, { kind, message, issues });
    } else {
      process.stderr.write(`hmmsim: ${message}\n`);
    }
    return code;
  };
  if (argv.length === 0) {
    process.stderr.write(program.helpInformation());
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return EXIT.ok;
      // commander already printed its message (text mode); under --json, report it.
      if (out.json) return fail("usage", e.message.replace(/^error: /, ""), EXIT.usage);
      return EXIT.usage;
    }
    if (e instanceof UserError) return fail(e.kind, e.message, EXIT.usage, e.issues);
    const err = e as Error;
    return fail("internal", `internal error: ${err?.stack ?? String(e)}`, EXIT.incomplete);
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
