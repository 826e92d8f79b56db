// Output conventions shared by every command: exit codes, user errors (never a stack trace), and
// the --json envelope. docs/cli.md documents the envelope as a stable schema: every key is always
// present (null when it does not apply), so scripts can rely on the key set.
import { hmmsimVersion } from "../sim/sweep/version.js";
import { SCENARIO_FORMAT_VERSION } from "../sim/sweep/backend.js";
import { SWEEP_FORMAT_VERSION } from "../sim/sweep/schema.js";

/** Exit codes (docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** The simulation found a violation or a livelock. */
  violation: 1,
  /** Bad command line, bad value, unreadable or invalid scenario / sweep file. */
  usage: 2,
  /** A sweep finished with jobs that crashed or could not be delivered (not an input problem). */
  incomplete: 3,
  /** Interrupted (Ctrl-C / SIGTERM); a sweep keeps and writes the results it had. */
  interrupted: 130,
} as const;

/** Schema id of the --json envelope. */
export const CLI_JSON_SCHEMA = "hmmsim/cli@1";

/** One problem with an input, at a path (and a position in the file when known). */
export interface Issue {
  path: string;
  message: string;
  line?: number;
  col?: number;
}

export type ErrorKind = "usage" | "input" | "internal" | "interrupted";

/** An error the user can fix: printed as one message (or JSON), no stack trace, exit 2. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly kind: "usage" | "input" = "usage",
    readonly issues: Issue[] = [],
  ) {
    super(message);
    this.name = "UserError";
  }
}

export interface Envelope {
  schema: typeof CLI_JSON_SCHEMA;
  command: string;
  ok: boolean;
  exitCode: number;
  versions: { hmmsim: string; node: string; scenarioFormat: number; sweepFormat: number };
  inputs: Record<string, unknown>;
  result: unknown;
  error: { kind: ErrorKind; message: string; issues: Issue[] } | null;
  timings: { startedAt: string; wallMs: number };
}

/** Where a command writes: the process's streams, or a test's buffers. */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Whether stderr is a terminal (progress bars) and the stream to draw them on. */
  stderrTTY: NodeJS.WriteStream | null;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return {
    stdout: (s) => {
      process.stdout.write(s);
    },
    stderr: (s) => {
      process.stderr.write(s);
    },
    stderrTTY: process.stderr.isTTY ? process.stderr : null,
  };
}

/** Per-invocation output state: where to write, whether --json is on, the exit code so far. */
export class Output {
  json = false;
  quiet = false;
  /** The command's exit code, set by its action. */
  exitCode: number = EXIT.ok;
  /** The command's inputs as reported in the envelope (set by the action once options are read). */
  inputs: Record<string, unknown> | undefined;
  constructor(readonly io: CliIo = processIo()) {}
  readonly startedAt = new Date();
  private readonly t0 = performance.now();
  /** Set once a command has written its envelope (so an error after it is not reported twice). */
  done = false;

  envelope(
    command: string,
    exitCode: number,
    inputs: Record<string, unknown>,
    result: unknown,
    error: Envelope["error"],
  ): Envelope {
    return {
      schema: CLI_JSON_SCHEMA,
      command,
      ok: exitCode === EXIT.ok,
      exitCode,
      versions: {
        hmmsim: hmmsimVersion(),
        node: process.version,
        scenarioFormat: SCENARIO_FORMAT_VERSION,
        sweepFormat: SWEEP_FORMAT_VERSION,
      },
      inputs,
      result,
      error,
      timings: {
        startedAt: this.startedAt.toISOString(),
        wallMs: Math.round((performance.now() - this.t0) * 1000) / 1000,
      },
    };
  }

  /** Writes the JSON envelope to stdout. */
  emit(
    command: string,
    exitCode: number,
    inputs: Record<string, unknown>,
    result: unknown,
    error: Envelope["error"] = null,
  ): void {
    this.io.stdout(JSON.stringify(this.envelope(command, exitCode, inputs, result, error), null, 2) + "\n");
    this.done = true;
  }

  /** A human line on stdout (not under --json). */
  line(s: string): void {
    if (!this.json) this.io.stdout(s + "\n");
  }

  /** An error or warning line on stderr (always). */
  warn(s: string): void {
    this.io.stderr(s + "\n");
  }

  /** A diagnostic line on stderr (not under --quiet). */
  note(s: string): void {
    if (!this.quiet) this.io.stderr(s + "\n");
  }
}
