// Sweeps across machines on a Redis-backed BullMQ queue. The coordinator adds one job per distinct
// unit of work with the job id the planner derived from its content, so submitting the same sweep
// twice adds nothing new and collects the results already there; `hmmsim worker` processes on any
// machine run the jobs on a local thread pool (so the worker's event loop stays free to renew job
// locks), and a worker that dies mid-job has its job handed to another after the lock expires.
// A bad scenario fails its job permanently (no retries); a violation or livelock is a result.
import { Queue, QueueEvents, UnrecoverableError, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { Piscina } from "piscina";
import { poolWorkerFile } from "./worker-file.js";
import { compiledBuild, defaultBuild } from "../../engine/builds.js";
import type { JobResult } from "./job.js";
import type { SweepJob, SweepPlan } from "./plan.js";
import type { JobFailure, ProgressFn, SweepOutcome } from "./outcome.js";
import type { TaskOutcome } from "./pool-worker.js";

/** The default queue name. */
export const DEFAULT_QUEUE_NAME = "hmmsim-sweep";

/** A queue URL that is not a redis:// or rediss:// URL. */
export class QueueUrlError extends Error {}

/** Checks a queue URL (redis://host:port/db or rediss://…) and returns it normalised. */
export function checkQueueUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueUrlError(`--queue: ${JSON.stringify(url)} is not a URL; expected redis://host:port/db`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:")
    throw new QueueUrlError(`--queue: expected a redis:// or rediss:// URL, got ${u.protocol}//`);
  if (!u.hostname) throw new QueueUrlError("--queue: the URL needs a host");
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db))
    throw new QueueUrlError(`--queue: the database must be a number, got ${JSON.stringify(db)}`);
  return u.toString();
}

/** The queue's Redis server cannot be reached (or does not answer PING). */
export class QueueUnreachableError extends Error {}

/** Connects once and PINGs, so an unreachable server is one clear error, not a retry loop. */
export async function probeQueue(url: string, timeoutMs = 5000): Promise<void> {
  const client = new Redis(checkQueueUrl(url), {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
  });
  // the socket's own error (ECONNREFUSED, ENOTFOUND…) says more than the client's "Connection is closed"
  let cause: NodeJS.ErrnoException | undefined;
  client.on("error", (e: NodeJS.ErrnoException) => {
    cause ??= e;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const err = cause ?? (e as NodeJS.ErrnoException);
    throw new QueueUnreachableError(`cannot reach the queue at ${url}: ${err.code ?? err.message}`);
  } finally {
    client.disconnect();
  }
}

function connection(url: string) {
  // BullMQ needs blocking commands to wait forever (maxRetriesPerRequest: null).
  return { url: checkQueueUrl(url), maxRetriesPerRequest: null };
}

/** Options of runSweepQueue(): where the queue is, retries, progress. */
export interface QueueRunOptions {
  /** The Redis server, e.g. "redis://host:6379/0". */
  url: string;
  /** The queue's name (default DEFAULT_QUEUE_NAME). */
  name?: string;
  /** Tries per job before it counts as failed (default 3); a permanent failure is never retried. */
  attempts?: number;
  /** First retry back-off in ms, doubling each try (default 1000). */
  backoffMs?: number;
  /** Called as jobs finish. */
  onProgress?: ProgressFn;
  /** Aborting stops waiting (jobs stay queued for a later resubmission); finished results are kept. */
  signal?: AbortSignal;
  /** How often to re-read the state of unfinished jobs, in case an event was missed (ms, default 2000). */
  pollMs?: number;
}

/** Submits `plan` to the queue and waits for every job's result. */
export async function runSweepQueue(plan: SweepPlan, opts: QueueRunOptions): Promise<SweepOutcome> {
  const t0 = performance.now();
  const name = opts.name ?? DEFAULT_QUEUE_NAME;
  await probeQueue(opts.url);
  const conn = connection(opts.url);
  const queue = new Queue(name, { connection: conn });
  const events = new QueueEvents(name, { connection: conn });
  // A connection lost mid-sweep is retried by the client; the periodic re-read catches up after.
  queue.on("error", () => {});
  events.on("error", () => {});
  const total = plan.jobs.length;
  const results: (JobResult | null)[] = new Array(total).fill(null);
  const failures: JobFailure[] = [];
  // Identical work shares one queue job: an id maps to every slot that wants its result.
  const slots = new Map<string, number[]>();
  plan.jobs.forEach((j, i) => {
    const s = slots.get(j.id);
    if (s) s.push(i);
    else slots.set(j.id, [i]);
  });
  const pending = new Set(slots.keys());
  let done = 0;
  let retried = 0;
  let wake: () => void = () => {};

  const settle = (job: Job | undefined, id: string, state: string): void => {
    if (!pending.has(id) || !job) return;
    if (state === "completed") {
      pending.delete(id);
      const r = job.returnvalue as JobResult;
      for (const i of slots.get(id)!) results[i] = { ...r };
    } else if (state === "failed") {
      pending.delete(id);
      const permanent = (job.failedReason ?? "").startsWith("permanent:");
      for (const i of slots.get(id)!) failures.push({ job: i, permanent, message: job.failedReason || "job failed" });
    } else return;
    if (job.attemptsStarted > 1 || job.stalledCounter > 0) retried++;
    done += slots.get(id)!.length;
    opts.onProgress?.(done, total);
    if (pending.size === 0) wake();
  };
  const check = async (id: string): Promise<void> => {
    // the state first, then the job: a job fetched before it failed and asked for its state after
    // would report "failed" with no failedReason (and so look retryable)
    const state = await queue.getJobState(id);
    if (state !== "completed" && state !== "failed") return;
    settle(await queue.getJob(id), id, state);
  };

  try {
    await events.waitUntilReady();
    events.on("completed", ({ jobId }) => {
      void check(jobId);
    });
    events.on("failed", ({ jobId }) => {
      void check(jobId);
    });
    const attempts = opts.attempts ?? 3;
    const backoff = { type: "exponential" as const, delay: opts.backoffMs ?? 1000 };
    const ids = [...slots.keys()];
    for (let k = 0; k < ids.length; k += 500) {
      await queue.addBulk(
        ids.slice(k, k + 500).map((id) => ({
          name: "point",
          data: plan.jobs[slots.get(id)![0]],
          opts: { jobId: id, attempts, backoff, removeOnComplete: false, removeOnFail: false },
        })),
      );
    }
    // Jobs finished by an earlier submission (or before the listener saw them).
    await Promise.all(ids.map(check));
    const finished = new Promise<void>((resolve) => {
      wake = resolve;
      if (pending.size === 0) resolve();
      opts.signal?.addEventListener("abort", () => resolve(), { once: true });
    });
    const poll = setInterval(() => {
      for (const id of pending) void check(id);
    }, opts.pollMs ?? 2000);
    try {
      await finished;
    } finally {
      clearInterval(poll);
    }
  } finally {
    await events.close();
    await queue.close();
  }
  failures.sort((a, b) => a.job - b.job);
  return {
    plan,
    results,
    failures,
    complete: pending.size === 0,
    mode: "queue",
    workers: 0,
    wallMs: performance.now() - t0,
    retried,
  };
}

/** Options of startQueueWorker(): the queue, concurrency and the stalled-job settings. */
export interface QueueWorkerOptions {
  /** The Redis server, e.g. "redis://host:6379/0". */
  url: string;
  /** The queue's name (default DEFAULT_QUEUE_NAME). */
  name?: string;
  /** Jobs run at once, each on its own thread (default 1). */
  concurrency?: number;
  /** Job lock duration (ms, default 30000): a worker silent this long is presumed dead and its job re-queued. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for (ms, default 30000). */
  stalledIntervalMs?: number;
  /** Times a job may stall (its worker dies) before it fails (default 1). */
  maxStalledCount?: number;
  /** The version of this worker; a job planned by another version fails permanently. */
  version: string;
  /** Called with connection errors (the client keeps reconnecting). */
  onError?: (e: Error) => void;
  /** Called as jobs start and end. */
  onEvent?: (e: {
    event: "started" | "completed" | "failed";
    jobId: string;
    point: number;
    seed: number;
    status?: string;
    message?: string;
    wallMs?: number;
  }) => void;
}

/** A running queue worker; close() lets running jobs finish, then disconnects. */
export interface QueueWorkerHandle {
  /** Lets the running jobs finish, then disconnects and stops the threads. */
  close(): Promise<void>;
  /** Settles when the worker is connected and taking jobs. */
  ready: Promise<void>;
}

/** Starts a worker that pulls sweep jobs from the queue until closed. */
export function startQueueWorker(opts: QueueWorkerOptions): QueueWorkerHandle {
  const concurrency = opts.concurrency ?? 1;
  const build = defaultBuild();
  const pool = new Piscina({
    filename: poolWorkerFile(),
    minThreads: concurrency,
    maxThreads: concurrency,
    idleTimeout: 60_000,
    workerData: { wasm: { build, module: compiledBuild(build) } },
  });
  const worker = new Worker(
    opts.name ?? DEFAULT_QUEUE_NAME,
    async (job: Job<SweepJob>) => {
      const data = job.data;
      if (data.version !== opts.version) {
        throw new UnrecoverableError(
          `permanent: job planned by hmmsim ${data.version}, this worker runs ${opts.version}`,
        );
      }
      opts.onEvent?.({ event: "started", jobId: data.id, point: data.point, seed: data.seed });
      const out = (await pool.run(data)) as TaskOutcome;
      if (!out.ok) {
        opts.onEvent?.({ event: "failed", jobId: data.id, point: data.point, seed: data.seed, message: out.message });
        if (out.permanent) throw new UnrecoverableError(`permanent: ${out.message}`);
        throw new Error(out.message);
      }
      opts.onEvent?.({
        event: "completed",
        jobId: data.id,
        point: data.point,
        seed: data.seed,
        status: out.result.status,
        wallMs: out.result.wallMs,
      });
      return out.result;
    },
    {
      connection: connection(opts.url),
      concurrency,
      autorun: true,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.stalledIntervalMs ?? 30_000,
      maxStalledCount: opts.maxStalledCount ?? 1,
    },
  );
  worker.on("error", (e) => opts.onError?.(e));
  return {
    ready: worker.waitUntilReady().then(() => undefined),
    async close() {
      await worker.close();
      await pool.destroy();
    },
  };
}
