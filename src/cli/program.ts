// The hmmsim command line as a function: runCli(argv, io) parses and runs one command and resolves
// to its exit code, writing through `io` (the process's streams by default). main.ts is the
// executable; tests call runCli directly. docs/cli.md documents every command.
import { Command, CommanderError } from "commander";
import { hmmsimVersion } from "../sim/sweep/version.js";
import { EXIT, Output, UserError, processIo, type CliIo, type ErrorKind, type Issue } from "./io.js";
import { runCommand } from "./commands/run.js";
import { validateCommand } from "./commands/validate.js";
import { sweepCommand } from "./commands/sweep.js";
import { workerCommand } from "./commands/worker.js";
import { benchCommand } from "./commands/bench.js";
import { calibrateCommand } from "./commands/calibrate.js";

function buildProgram(out: Output): Command {
  const io = out.io;
  // Under --json, commander's own error text becomes the envelope's message instead.
  const output = {
    writeOut: (s: string) => io.stdout(s),
    writeErr: (s: string) => {
      if (!out.json) io.stderr(s);
    },
    getErrHasColors: () => false,
    getOutHasColors: () => false,
  };
  const program = new Command("hmmsim")
    .description(
      "User-space simulator of Linux HMM (hmm_range_fault, mmu interval notifiers): scenarios, sweeps, benchmarks",
    )
    .version(hmmsimVersion(), "-v, --version", "print the version")
    .helpOption("-h, --help", "show help for a command")
    .helpCommand("help [command]", "show help for a command")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput(output)
    .addHelpText(
      "after",
      `
Exit codes: 0 ok, 1 violation or livelock found, 2 usage or input error, 3 sweep jobs without results, 130 interrupted.
Every command takes --json (one JSON document on stdout; docs/cli.md) and -h/--help.`,
    );
  for (const c of [
    runCommand(out),
    validateCommand(out),
    sweepCommand(out),
    workerCommand(out),
    benchCommand(out),
    calibrateCommand(out),
  ]) {
    program.addCommand(c.exitOverride().configureOutput(output).showHelpAfterError(`(see hmmsim ${c.name()} --help)`));
  }
  return program;
}

function commandOf(argv: string[]): string {
  return argv.find((a) => !a.startsWith("-")) ?? "hmmsim";
}

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  const out = new Output(io);
  // --json is known before parsing so that even a parse error comes out as JSON.
  out.json = argv.includes("--json");
  const program = buildProgram(out);
  const fail = (kind: ErrorKind, message: string, code: number, issues: Issue[] = []): number => {
    if (out.done) return code;
    if (out.json) out.emit(commandOf(argv), code, out.inputs ?? { argv }, null, { kind, message, issues });
    else io.stderr(`hmmsim: ${message}\n`);
    return code;
  };
  if (argv.length === 0) {
    io.stderr(program.helpInformation());
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return out.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help")
        return EXIT.ok;
      // commander already printed its message in text mode; under --json, report it.
      if (out.json) return fail("usage", e.message.replace(/^error: /, ""), EXIT.usage);
      return EXIT.usage;
    }
    if (e instanceof UserError) return fail(e.kind, e.message, EXIT.usage, e.issues);
    const err = e as Error;
    return fail("internal", `internal error: ${err?.stack ?? String(e)}`, EXIT.incomplete);
  }
}
