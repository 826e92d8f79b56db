// `hmmsim sweep <sweep-file>`: run every point × seed of a sweep on local worker threads (or on a
// Redis queue with --queue) and write results.csv, results.json and report.html. Ctrl-C stops
// handing out jobs and writes the results finished so far.
import { Command, Option } from "commander";
import { loadSweepFile } from "../../sim/sweep/load.js";
import { defaultWorkers, runSweepLocal } from "../../sim/sweep/pool.js";
import {
  checkQueueUrl,
  DEFAULT_QUEUE_NAME,
  QueueUnreachableError,
  QueueUrlError,
  runSweepQueue,
} from "../../sim/sweep/queue.js";
import { SweepError } from "../../sim/sweep/schema.js";
import { writeSweepOutputs } from "../../sim/sweep/outputs.js";
import type { SweepOutcome } from "../../sim/sweep/outcome.js";
import { EXIT, UserError, type Output } from "../io.js";
import { progress } from "../progress.js";
import { intOption, textOption } from "../values.js";

interface SweepOpts {
  workers?: number;
  queue?: string;
  queueName: string;
  attempts: number;
  backoff: number;
  out: string;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** The exit code of a finished sweep. */
export function sweepExitCode(o: SweepOutcome): number {
  if (!o.complete) return EXIT.interrupted;
  if (o.failures.some((f) => f.permanent)) return EXIT.usage;
  if (o.failures.length) return EXIT.incomplete;
  return o.results.some((r) => r && r.status !== "ok") ? EXIT.violation : EXIT.ok;
}

export function sweepCommand(out: Output): Command {
  return new Command("sweep")
    .description("run a parameter sweep (points × seeds) and write results.csv, results.json and report.html")
    .argument("<sweep-file>", "sweep file (YAML or JSON; docs/sweeps.md)")
    .addOption(
      new Option(
        "-w, --workers <n>",
        `worker threads (default: the number of cores, ${defaultWorkers()} here)`,
      ).argParser(intOption("--workers", 1, 1024)),
    )
    .addOption(
      new Option(
        "--queue <url>",
        "run on a BullMQ queue at redis://host:port/db (start workers with hmmsim worker)",
      ).argParser(textOption("--queue")),
    )
    .addOption(
      new Option("--queue-name <name>", "queue name").default(DEFAULT_QUEUE_NAME).argParser(textOption("--queue-name")),
    )
    .addOption(
      new Option("--attempts <n>", "queue: tries per job before it fails")
        .default(3)
        .argParser(intOption("--attempts", 1, 100)),
    )
    .addOption(
      new Option("--backoff <ms>", "queue: first retry delay, doubling per try")
        .default(1000)
        .argParser(intOption("--backoff", 0, 3_600_000)),
    )
    .addOption(
      new Option("-o, --out <dir>", "folder for results.csv, results.json, report.html")
        .default("sweep-results")
        .argParser(textOption("--out")),
    )
    .option("--dry-run", "validate and plan only: print the points and jobs, run nothing")
    .option("--json", "print one JSON document (docs/cli.md) instead of text")
    .option("-q, --quiet", "no progress lines")
    .action(async (file: string, o: SweepOpts) => {
      out.json = !!o.json;
      out.quiet = !!o.quiet;
      const inputs = {
        sweep: file,
        workers: o.queue ? null : (o.workers ?? defaultWorkers()),
        queue: o.queue ?? null,
        queueName: o.queue ? o.queueName : null,
        attempts: o.queue ? o.attempts : null,
        backoffMs: o.queue ? o.backoff : null,
        out: o.out,
        dryRun: !!o.dryRun,
      };
      out.inputs = inputs;
      if (o.queue && o.workers !== undefined)
        throw new UserError(
          "--workers applies to local runs; with --queue, start workers with hmmsim worker --concurrency N",
        );
      if (o.queue) {
        try {
          checkQueueUrl(o.queue);
        } catch (e) {
          if (e instanceof QueueUrlError) throw new UserError(e.message);
          throw e;
        }
      }
      let loaded: ReturnType<typeof loadSweepFile>;
      try {
        loaded = loadSweepFile(file);
      } catch (e) {
        if (e instanceof SweepError) throw new UserError(e.message, "input", e.issues);
        throw e;
      }
      const { plan } = loaded;
      const shape = {
        name: plan.name,
        params: plan.params,
        metrics: plan.metrics,
        seeds: plan.seeds,
        points: plan.points.length,
        jobs: plan.jobs.length,
      };
      if (o.dryRun) {
        if (out.json)
          out.emit("sweep", EXIT.ok, inputs, {
            ...shape,
            plan: plan.points.map((p) => ({ point: p.index, values: p.values })),
            counts: null,
            files: null,
            complete: null,
            retried: null,
            wallMs: null,
            jobsPerSec: null,
          });
        else {
          out.line(
            `sweep ${plan.name}: ${plan.points.length} points × ${plan.seeds.length} seeds = ${plan.jobs.length} jobs`,
          );
          for (const p of plan.points)
            out.line(
              `  point ${p.index}: ${
                Object.entries(p.values)
                  .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
                  .join(", ") || "(base scenario)"
              }`,
            );
        }
        return;
      }
      const ac = new AbortController();
      const stop = () => {
        if (!ac.signal.aborted) {
          out.note("hmmsim sweep: interrupted; finishing up and writing the results so far");
          ac.abort();
        }
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const bar = progress(`hmmsim sweep ${plan.name}`, "jobs", { quiet: out.quiet, io: out.io });
      let outcome: SweepOutcome;
      try {
        outcome = o.queue
          ? await runSweepQueue(plan, {
              url: o.queue,
              name: o.queueName,
              attempts: o.attempts,
              backoffMs: o.backoff,
              signal: ac.signal,
              onProgress: (d, t) => bar.update(d, t),
            })
          : await runSweepLocal(plan, {
              workers: o.workers,
              signal: ac.signal,
              onProgress: (d, t) => bar.update(d, t),
            });
      } catch (e) {
        if (e instanceof QueueUnreachableError) throw new UserError(e.message, "input");
        throw e;
      } finally {
        bar.stop();
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
      const files = writeSweepOutputs(outcome, o.out, { source: file });
      const counts: Record<string, number> = { ok: 0, violation: 0, livelock: 0, error: outcome.failures.length };
      for (const r of outcome.results) if (r) counts[r.status] = (counts[r.status] ?? 0) + 1;
      const code = sweepExitCode(outcome);
      const finished = outcome.results.filter((r) => r).length + outcome.failures.length;
      const jobsPerSec = finished / Math.max(1e-9, outcome.wallMs / 1000);
      if (out.json) {
        out.emit(
          "sweep",
          code,
          inputs,
          {
            ...shape,
            plan: null,
            counts,
            files,
            complete: outcome.complete,
            retried: outcome.retried,
            wallMs: outcome.wallMs,
            jobsPerSec,
          },
          outcome.failures.length
            ? {
                kind: code === EXIT.usage ? "input" : "internal",
                message: `${outcome.failures.length} jobs failed`,
                issues: outcome.failures.slice(0, 50).map((f) => ({ path: `job ${f.job}`, message: f.message })),
              }
            : code === EXIT.interrupted
              ? {
                  kind: "interrupted",
                  message: `interrupted after ${finished} of ${plan.jobs.length} jobs`,
                  issues: [],
                }
              : null,
        );
      } else {
        out.line(
          `sweep ${plan.name}: ${plan.points.length} points × ${plan.seeds.length} seeds = ${plan.jobs.length} jobs ${o.queue ? `on queue ${o.queueName}` : `on ${outcome.workers} worker${outcome.workers === 1 ? "" : "s"}`}${outcome.complete ? "" : ` (interrupted after ${finished})`}`,
        );
        out.line(
          `results: ${Object.entries(counts)
            .map(([k, v]) => `${v} ${k}`)
            .join(
              ", ",
            )}${outcome.retried ? `; ${outcome.retried} jobs retried` : ""}; ${(outcome.wallMs / 1000).toFixed(2)} s, ${jobsPerSec.toFixed(1)} jobs/s`,
        );
        for (const f of outcome.failures.slice(0, 10))
          out.io.stderr(`hmmsim sweep: job ${f.job} failed: ${f.message}\n`);
        out.line(`wrote ${files.csv}, ${files.json}, ${files.html}`);
      }
      out.exitCode = code;
    });
}
