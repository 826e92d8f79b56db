// Timing of the benchmarks: calibrated batches (the figures), per-call samples (a second view),
// and interleaved rounds so that several contenders share the machine's moods alike.
//
// A batch runs an operation n times back to back, n chosen so the batch lasts about `batchMs`
// (300 ms by default), and records the wall time (hrtime) and the process CPU time (user + system,
// process.cpuUsage) of the whole batch: per-operation figures are batch / n. The reported figure
// is the median over rounds. On a shared machine CPU time is the steadier of the two (time spent
// waiting for a core is not counted); wall time shows what a user waits.

export interface BatchSample {
  /** Operations in the batch. */
  n: number;
  /** Wall and CPU nanoseconds of one operation (batch total / n). */
  wallNs: number;
  cpuNs: number;
}

export interface Timed {
  /** Median over rounds of the per-operation wall and CPU time (ns). */
  wallNs: number;
  cpuNs: number;
  /** Median of the individually timed operations of the first round (ns); 0 when not taken. */
  perCallNs: number;
  rounds: BatchSample[];
}

export const now = (): bigint => process.hrtime.bigint();
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One batch of n operations; `before` (untimed) runs ahead of each operation when given. */
export function batch(n: number, op: () => void, before?: () => void): BatchSample {
  if (before) {
    // setup between operations: time each one and add up (setup stays outside)
    let wall = 0;
    let cpu = 0;
    for (let i = 0; i < n; i++) {
      before();
      const c0 = cpuNow();
      const t0 = now();
      op();
      wall += Number(now() - t0);
      cpu += cpuNow() - c0;
    }
    return { n, wallNs: wall / n, cpuNs: cpu / n };
  }
  const c0 = cpuNow();
  const t0 = now();
  for (let i = 0; i < n; i++) op();
  const wall = Number(now() - t0);
  return { n, wallNs: wall / n, cpuNs: (cpuNow() - c0) / n };
}

/** How many operations make a batch of about batchMs (at least 1), after a warm-up. */
export function calibrate(op: () => void, batchMs: number, before?: () => void, warmMs = 100): number {
  const w0 = now();
  let runs = 0;
  do {
    before?.();
    op();
    runs++;
  } while (Number(now() - w0) < warmMs * 1e6 && runs < 1000);
  // the fastest of three: a single timing on a busy machine may include a long preemption
  let one = Infinity;
  for (let i = 0; i < 3; i++) {
    before?.();
    const t0 = now();
    op();
    one = Math.min(one, Math.max(1, Number(now() - t0)));
  }
  return Math.max(1, Math.round((batchMs * 1e6) / one));
}

/** Per-call samples: `n` operations timed one by one (ns each). */
export function perCall(n: number, op: () => void, before?: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    before?.();
    const t0 = now();
    op();
    out.push(Number(now() - t0));
  }
  return out;
}

export interface Contender {
  name: string;
  op: () => void;
  before?: () => void;
  /** For contenders outside this process (the native anchor): one round returns its own batch. */
  external?: () => BatchSample;
}

/**
 * Interleaved rounds: every round runs one calibrated batch of each contender in turn, so a
 * change of load hits all of them; the figure of each is the median over rounds.
 */
export function interleaved(
  contenders: Contender[],
  rounds: number,
  batchMs: number,
  perCallSamples = 0,
): Map<string, Timed> {
  const n = new Map<string, number>();
  for (const c of contenders) if (!c.external) n.set(c.name, calibrate(c.op, batchMs, c.before));
  const res = new Map<string, Timed>(
    contenders.map((c) => [c.name, { wallNs: 0, cpuNs: 0, perCallNs: 0, rounds: [] }]),
  );
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      const t = res.get(c.name)!;
      t.rounds.push(c.external ? c.external() : batch(n.get(c.name)!, c.op, c.before));
    }
  }
  for (const c of contenders) {
    const t = res.get(c.name)!;
    t.wallNs = median(t.rounds.map((x) => x.wallNs));
    t.cpuNs = median(t.rounds.map((x) => x.cpuNs));
    if (perCallSamples > 0 && !c.external) t.perCallNs = median(perCall(perCallSamples, c.op, c.before));
  }
  return res;
}
