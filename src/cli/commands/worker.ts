// `hmmsim worker --queue URL`: pull sweep jobs from a BullMQ queue and run them on local threads
// until stopped (Ctrl-C / SIGTERM lets running jobs finish). Run it on as many machines as you like.
import { Command, Option } from "commander";
import {
  checkQueueUrl,
  DEFAULT_QUEUE_NAME,
  probeQueue,
  QueueUnreachableError,
  QueueUrlError,
  startQueueWorker,
} from "../../sim/sweep/queue.js";
import { hmmsimVersion } from "../../sim/sweep/version.js";
import { EXIT, UserError, type Output } from "../io.js";
import { intOption, textOption } from "../values.js";

interface WorkerOpts {
  queue: string;
  queueName: string;
  concurrency: number;
  lockDuration: number;
  stalledInterval: number;
  maxStalled: number;
  json?: boolean;
  quiet?: boolean;
}

export function workerCommand(out: Output): Command {
  return new Command("worker")
    .description("run sweep jobs from a Redis queue (see hmmsim sweep --queue) until interrupted")
    .addOption(
      new Option("--queue <url>", "the queue's Redis, redis://host:port/db")
        .makeOptionMandatory()
        .argParser(textOption("--queue")),
    )
    .addOption(
      new Option("--queue-name <name>", "queue name").default(DEFAULT_QUEUE_NAME).argParser(textOption("--queue-name")),
    )
    .addOption(
      new Option("-c, --concurrency <n>", "jobs run at once, one thread each")
        .default(1)
        .argParser(intOption("--concurrency", 1, 1024)),
    )
    .addOption(
      new Option("--lock-duration <ms>", "a job whose worker is silent this long is handed to another worker")
        .default(30_000)
        .argParser(intOption("--lock-duration", 100, 3_600_000)),
    )
    .addOption(
      new Option("--stalled-interval <ms>", "how often to look for such stalled jobs")
        .default(30_000)
        .argParser(intOption("--stalled-interval", 100, 3_600_000)),
    )
    .addOption(
      new Option("--max-stalled <n>", "times a job may stall before it fails")
        .default(1)
        .argParser(intOption("--max-stalled", 0, 100)),
    )
    .option("--json", "one JSON line per job event on stdout, then a JSON document (docs/cli.md) at exit")
    .option("-q, --quiet", "no per-job lines")
    .action(async (o: WorkerOpts) => {
      out.json = !!o.json;
      out.quiet = !!o.quiet;
      const inputs = {
        queue: o.queue,
        queueName: o.queueName,
        concurrency: o.concurrency,
        lockDurationMs: o.lockDuration,
        stalledIntervalMs: o.stalledInterval,
        maxStalled: o.maxStalled,
      };
      out.inputs = inputs;
      try {
        checkQueueUrl(o.queue);
      } catch (e) {
        if (e instanceof QueueUrlError) throw new UserError(e.message);
        throw e;
      }
      try {
        await probeQueue(o.queue);
      } catch (e) {
        if (e instanceof QueueUnreachableError) throw new UserError(e.message, "input");
        throw e;
      }
      const counts = { started: 0, completed: 0, failed: 0 };
      const worker = startQueueWorker({
        url: o.queue,
        name: o.queueName,
        concurrency: o.concurrency,
        lockDurationMs: o.lockDuration,
        stalledIntervalMs: o.stalledInterval,
        maxStalledCount: o.maxStalled,
        version: hmmsimVersion(),
        onError: (e) => out.warn(`hmmsim worker: ${e.message} (reconnecting)`),
        onEvent: (e) => {
          counts[e.event]++;
          if (out.json) out.io.stdout(JSON.stringify(e) + "\n");
          else if (!out.quiet) {
            out.line(
              `hmmsim worker: ${e.event} job ${e.jobId} (point ${e.point}, seed ${e.seed})${e.status ? `: ${e.status}` : ""}${e.message ? `: ${e.message}` : ""}`,
            );
          }
        },
      });
      await worker.ready;
      if (!out.json && !out.quiet)
        out.line(`hmmsim worker: waiting for jobs on ${o.queueName} (concurrency ${o.concurrency})`);
      else if (out.json)
        out.io.stdout(JSON.stringify({ event: "ready", queue: o.queueName, concurrency: o.concurrency }) + "\n");
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await worker.close();
      if (out.json) out.emit("worker", EXIT.ok, inputs, counts);
      else out.note(`hmmsim worker: stopped after ${counts.completed} jobs (${counts.failed} failed)`);
      out.exitCode = EXIT.ok;
    });
}
