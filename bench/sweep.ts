// npm run bench:sweep [-- --points N] [--queue-points N] [--no-queue]: sweep throughput on the
// local worker pool (1 vs 2 workers), the per-job overhead of the pool (threads, structured clone
// of the job and its result) and of the Redis queue (BullMQ round trips), over N small points.
// Figures are reported, never asserted. The queue part starts Debian's redis-server on 127.0.0.1
// (a free port) when it is installed, and stops it by its pid.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, cpus } from "node:os";
import {
  loadSweep,
  runSweepInline,
  runSweepLocal,
  runSweepQueue,
  startQueueWorker,
  validateSweep,
  hmmsimVersion,
  type SweepOutcome,
  type SweepPlan,
} from "../src/sim/sweep/index.js";
import { Command } from "commander";
import { positiveInt } from "./lib/cli.js";

const opts = new Command("bench:sweep")
  .description("sweep throughput: small points on 1 vs 2 workers, pool and queue overhead")
  .option("--points <n>", "points of the worker-pool runs", positiveInt, 1000)
  .option("--queue-points <n>", "points of the Redis-queue run", positiveInt, 300)
  .option("--no-queue", "skip the Redis-queue run")
  .showHelpAfterError()
  .parse()
  .opts<{ points: number; queuePoints: number; queue: boolean }>();
const POINTS = opts.points;
const QPOINTS = opts.queuePoints;
const SMALL = 20;
const withQueue = opts.queue;

/** N small points of the default scenario (a 256-page heap, 64 device accesses, 16 CPU operations) with random sizes. */
function plan(n: number, seed = 7): SweepPlan {
  return loadSweep(
    validateSweep({
      name: `bench-${n}`,
      parameters: {
        grid: { "actors[0].count": [64], "actors[1].count": [16] },
        random: { samples: n, seed, params: { "processes[0].mappings[0].pages": { int: [256, 1024] } } },
      },
      metrics: ["hmm.calls", "retries.external"],
    }),
  ).plan;
}

const fmt = (x: number, d = 2) => x.toFixed(d);

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
}

const big = plan(POINTS);
const small = plan(SMALL, 9);
console.log(
  `sweep bench: ${POINTS} points (each 64 device accesses, 16 CPU ops), node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}), hmmsim ${hmmsimVersion()}`,
);

const [, inlineMs] = await timed(() => runSweepInline(big));
const perJobInline = inlineMs / POINTS;
console.log(
  `in-process:  ${fmt(inlineMs, 0)} ms, ${fmt(POINTS / (inlineMs / 1000), 1)} points/s (${fmt(perJobInline, 3)} ms of simulation per point)`,
);

/** Sum of the simulation time the workers measured for their jobs (ms). */
const simMs = (o: SweepOutcome) => o.results.reduce((s, r) => s + (r?.wallMs ?? 0), 0);

const pool: Record<number, { ms: number; perJob: number; overhead: number }> = {};
for (const w of [1, 2]) {
  const [os, smallMs] = await timed(() => runSweepLocal(small, { workers: w }));
  const [o, ms] = await timed(() => runSweepLocal(big, { workers: w }));
  if (!o.complete || o.failures.length) throw new Error("bench: pool run incomplete");
  // startup (threads, module loading) cancels out in the difference of a big and a small run;
  // the overhead is the wall time per job beyond the simulation the worker itself measured, so a
  // change in the machine's load between runs does not count as overhead
  const perJob = (ms - smallMs) / (POINTS - SMALL);
  const overhead = ((ms - smallMs) * w - (simMs(o) - simMs(os))) / (POINTS - SMALL);
  pool[w] = { ms, perJob, overhead };
  console.log(
    `pool, ${w} worker${w > 1 ? "s" : ""}: ${fmt(ms, 0)} ms, ${fmt(POINTS / (ms / 1000), 1)} points/s; steady state ${fmt(1000 / perJob, 1)} points/s; ${fmt(simMs(o) / POINTS, 3)} ms of simulation per point in the workers`,
  );
}
const overhead = pool[1].overhead;
console.log(
  `2 vs 1 worker: ${fmt(pool[1].perJob / pool[2].perJob)}× steady-state throughput (target >= 1.8× on 2 cores), ${fmt(pool[1].ms / pool[2].ms)}× end to end`,
);
console.log(
  `pool overhead per job (pool, thread hand-off, clone of job and result; wall − the workers' own simulation time): ${fmt(overhead, 3)} ms with 1 worker, ${fmt(pool[2].overhead, 3)} ms per worker-job with 2 (target <= 5 ms)`,
);

if (withQueue) {
  const redisBin = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => existsSync(p));
  if (!redisBin) console.log("queue: skipped (no redis-server; apt-get install redis-server)");
  else {
    const port = await new Promise<number>((done) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => done(p));
      });
    });
    const redis = spawn(redisBin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    await new Promise<void>((done) =>
      redis.stdout!.on("data", (d: Buffer) => {
        if (/Ready to accept/.test(String(d))) done();
      }),
    );
    const url = `redis://127.0.0.1:${port}/0`;
    try {
      const worker = startQueueWorker({ url, concurrency: 1, version: hmmsimVersion() });
      await worker.ready;
      // other sampling seeds: the queue keeps finished jobs, and identical work would be collected, not run
      const qbig = plan(QPOINTS, 11),
        qsmall = plan(SMALL, 13);
      const [os, smallMs] = await timed(() => runSweepQueue(qsmall, { url, pollMs: 500 }));
      const [o, ms] = await timed(() => runSweepQueue(qbig, { url, pollMs: 500 }));
      if (!o.complete || o.failures.length) throw new Error("bench: queue run incomplete");
      const perJob = (ms - smallMs) / (QPOINTS - SMALL);
      const qOverhead = (ms - smallMs - (simMs(o) - simMs(os))) / (QPOINTS - SMALL);
      console.log(
        `queue, 1 worker (concurrency 1, same host): ${fmt(ms, 0)} ms for ${QPOINTS} points, steady state ${fmt(1000 / perJob, 1)} points/s`,
      );
      console.log(
        `queue overhead per job (Redis round trips + the worker's thread; wall − simulation): ${fmt(qOverhead, 3)} ms, next to the pool's ${fmt(overhead, 3)} ms`,
      );
      await worker.close();
    } finally {
      process.kill(redis.pid!, "SIGTERM");
    }
  }
}
