// `hmmsim run [scenario]`: run one scenario (the built-in default when none is named) and report.
import { Command, Option } from "commander";
import { closeSync, openSync, writeSync } from "node:fs";
import {
  applyDefaultKnobs,
  defaultScenarioObject,
  describeDefault,
  parseScenarioObject,
  runScenarioObject,
  ScenarioInputError,
  type BackendReport,
} from "../../sim/sweep/backend.js";
import type { TraceSink } from "../../sim/index.js";
import { readInput } from "../../sim/sweep/load.js";
import { SweepError } from "../../sim/sweep/schema.js";
import { EXIT, UserError, type Output } from "../io.js";
import { progress } from "../progress.js";
import { choiceOption, intOption, textOption } from "../values.js";

interface RunOpts {
  seed?: number;
  strategy?: "random" | "pct" | "dfs";
  pctDepth?: number;
  replay?: string;
  check?: "every-step" | "end" | "off";
  trace?: string;
  pages?: number;
  rounds?: number;
  levels?: 4 | 5;
  profile?: "v6.1" | "v6.16";
  engine?: "wasm" | "reference";
  json?: boolean;
  quiet?: boolean;
}

/**
 * A trace sink streaming to a file (opened now: a bad path is a usage error before the run). The
 * simulation closes the sink after its last chunk; anything written after that (teardown events)
 * is dropped so the file stays one valid JSON array. finish() closes the file.
 */
function fileTraceSink(path: string): TraceSink & { finish(): void } {
  let fd: number;
  try {
    fd = openSync(path, "w");
  } catch (e) {
    throw new UserError(`--trace: cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let closed = false;
  let open = true;
  return {
    write: (chunk) => {
      if (!closed) writeSync(fd, chunk);
    },
    close: () => {
      closed = true;
    },
    finish: () => {
      if (open) {
        open = false;
        closeSync(fd);
      }
    },
  };
}

export function runCommand(out: Output): Command {
  return new Command("run")
    .description("run a scenario (the built-in default scenario when none is given) and report its metrics")
    .argument("[scenario]", "scenario file (YAML or JSON)")
    .addOption(
      new Option("--seed <n>", "seed of the scheduler's random choices (default: the scenario's, else 1)").argParser(
        intOption("--seed", 0, 2 ** 32 - 1),
      ),
    )
    .addOption(
      new Option("--strategy <name>", "scheduling strategy: random, pct or dfs").argParser(
        choiceOption("--strategy", ["random", "pct", "dfs"] as const),
      ),
    )
    .addOption(
      new Option("--pct-depth <d>", "PCT bug depth (with --strategy pct)").argParser(intOption("--pct-depth", 1, 64)),
    )
    .addOption(
      new Option("--replay <schedule>", "replay a recorded schedule string exactly").argParser(textOption("--replay")),
    )
    .addOption(
      new Option("--check <when>", "invariant checks: every-step, end or off").argParser(
        choiceOption("--check", ["every-step", "end", "off"] as const),
      ),
    )
    .addOption(
      new Option("--trace <file>", "write a Perfetto / Chrome trace-event JSON file").argParser(textOption("--trace")),
    )
    .addOption(
      new Option("--pages <n>", "default scenario: pages in the mirrored heap (4096)").argParser(
        intOption("--pages", 64, 1 << 24),
      ),
    )
    .addOption(
      new Option("--rounds <n>", "default scenario: rounds of CPU and device activity (64)").argParser(
        intOption("--rounds", 1, 1 << 24),
      ),
    )
    .addOption(
      new Option("--levels <n>", "page-table levels, 4 or 5").argParser(
        (v) => Number(choiceOption("--levels", ["4", "5"] as const, "--levels must be 4 or 5")(v)) as 4 | 5,
      ),
    )
    .addOption(
      new Option("--profile <kernel>", "kernel behaviour profile: v6.1 or v6.16").argParser(
        choiceOption("--profile", ["v6.1", "v6.16"] as const),
      ),
    )
    .addOption(
      new Option("--engine <walker>", "page walker: wasm or reference").argParser(
        choiceOption("--engine", ["wasm", "reference"] as const),
      ),
    )
    .option("--json", "print one JSON document (docs/cli.md) instead of text")
    .option("-q, --quiet", "no progress and no log lines")
    .action((file: string | undefined, o: RunOpts) => {
      out.json = !!o.json;
      out.quiet = !!o.quiet;
      const inputs = {
        scenario: file ?? null,
        seed: o.seed ?? null,
        strategy: o.strategy ?? null,
        pctDepth: o.pctDepth ?? null,
        replay: o.replay ?? null,
        check: o.check ?? null,
        trace: o.trace ?? null,
        pages: o.pages ?? null,
        rounds: o.rounds ?? null,
        levels: o.levels ?? null,
        profile: o.profile ?? null,
        engine: o.engine ?? null,
      };
      out.inputs = inputs;
      if (o.pctDepth !== undefined && o.strategy !== "pct")
        throw new UserError("--pct-depth applies to --strategy pct only");
      let scenario: Record<string, unknown>;
      try {
        if (file === undefined) scenario = defaultScenarioObject();
        else {
          if (o.pages !== undefined || o.rounds !== undefined)
            throw new UserError(
              "--pages and --rounds parametrise the built-in default scenario; set these in the scenario file instead",
            );
          scenario = parseScenarioObject(readInput(file, "scenario"), file);
        }
        scenario = applyDefaultKnobs(scenario, o);
      } catch (e) {
        if (e instanceof ScenarioInputError || e instanceof SweepError)
          throw new UserError(e.message, "input", e.issues);
        throw e;
      }
      const seed = o.seed ?? (scenario as { run?: { seed?: number } }).run?.seed ?? 1;
      if (file === undefined && !out.json) out.line(describeDefault(scenario, seed));
      const bar = progress("hmmsim run", "steps", { quiet: out.quiet, io: out.io });
      let report: BackendReport;
      const trace = o.trace ? fileTraceSink(o.trace) : undefined;
      try {
        report = runScenarioObject(scenario, {
          seed,
          strategy: o.strategy,
          pctDepth: o.pctDepth,
          replay: o.replay,
          check: o.check,
          trace,
          onProgress: (d, t) => bar.update(d, t),
        });
      } catch (e) {
        if (e instanceof ScenarioInputError) throw new UserError(e.message, "input", e.issues);
        if (e instanceof RangeError) throw new UserError(e.message, "input");
        throw e;
      } finally {
        bar.stop();
        trace?.finish();
      }
      const code = report.status === "ok" ? EXIT.ok : EXIT.violation;
      if (out.json) {
        out.emit("run", code, inputs, {
          status: report.status,
          seed: report.seed,
          strategy: report.strategy,
          schedule: report.schedule,
          simTimeNs: report.simTimeNs,
          wallMs: report.wallMs,
          metrics: report.metrics,
          report: report.raw,
        });
      } else {
        const entries = Object.entries(report.metrics.total);
        const w = Math.max(0, ...entries.map(([k]) => k.length));
        out.line("metrics:");
        for (const [k, v] of entries) out.line(`  ${k.padEnd(w)}  ${v}`);
        out.line(
          `seed ${report.seed}, strategy ${report.strategy}, simulated time ${report.simTimeNs} ns, wall ${report.wallMs.toFixed(1)} ms`,
        );
        const t = report.raw.trace;
        if (o.trace && t)
          out.line(
            `trace: ${o.trace} (${t.events} events${t.dropped ? `, ${t.dropped} dropped at the cap` : ""}; open it in ui.perfetto.dev)`,
          );
        if (report.raw.livelock) out.line(`livelock: ${JSON.stringify(report.raw.livelock).slice(0, 400)}`);
        for (const v of report.raw.violations.slice(0, 5)) out.line(`violation: ${JSON.stringify(v).slice(0, 400)}`);
        if (report.schedule)
          out.line(
            `schedule: ${report.schedule.length > 200 ? report.schedule.slice(0, 200) + `… (${report.schedule.length} chars; --json has it whole)` : report.schedule}`,
          );
        out.line(
          report.status === "ok"
            ? "simulation OK"
            : report.status === "violation"
              ? "simulation FAILED: invariant violation"
              : "simulation FAILED: livelock",
        );
      }
      out.exitCode = code;
    });
}
