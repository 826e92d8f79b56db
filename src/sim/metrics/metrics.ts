// Run metrics: flat counters with stable dotted names (documented in docs/scenarios.md), kept in
// total and per actor, and latency samples summarised as percentiles of simulated time.

/** Percentiles of one latency distribution, in simulated nanoseconds. */
export interface LatencySummary {
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** Samples. */
  count: number;
}

export type Counters = Record<string, number>;

/** Counters and latency samples of one run. */
export class Metrics {
  readonly total: Counters = Object.create(null) as Counters;
  readonly perActor: Record<string, Counters> = Object.create(null) as Record<string, Counters>;
  /** Per key: sample values and how many times each was observed (weights). */
  private readonly samples = new Map<string, { v: number[]; n: number[] }>();

  /** The counters of one actor (created on first use). */
  actor(name: string): Counters {
    let c = this.perActor[name];
    if (!c) this.perActor[name] = c = Object.create(null) as Counters;
    return c;
  }

  /** Adds n to `key` in total and in the actor's counters (a counter exists once non-zero). */
  inc(actor: Counters, key: string, n = 1): void {
    if (n === 0) return;
    this.total[key] = (this.total[key] ?? 0) + n;
    actor[key] = (actor[key] ?? 0) + n;
  }

  /** Records a latency sample (ns) of `key`, observed `times` times. */
  sample(key: string, ns: number, times = 1): void {
    if (times <= 0) return;
    let s = this.samples.get(key);
    if (!s) this.samples.set(key, (s = { v: [], n: [] }));
    const last = s.v.length - 1;
    if (last >= 0 && s.v[last] === ns) s.n[last] += times;
    else {
      s.v.push(ns);
      s.n.push(times);
    }
  }

  /** Nearest-rank p50/p90/p99 of every sampled key (weighted by times observed), in name order. */
  latency(): Record<string, LatencySummary> {
    const out: Record<string, LatencySummary> = {};
    for (const key of [...this.samples.keys()].sort()) {
      const { v, n } = this.samples.get(key)!;
      const order = v.map((_, i) => i).sort((a, b) => v[a] - v[b]);
      const count = n.reduce((x, y) => x + y, 0);
      const at = (q: number): number => {
        const rank = Math.max(1, Math.ceil(q * count));
        let seen = 0;
        for (const i of order) if ((seen += n[i]) >= rank) return v[i];
        return v[order[order.length - 1]];
      };
      out[key] = { p50: at(0.5), p90: at(0.9), p99: at(0.99), count };
    }
    return out;
  }

  /** The counters as plain objects with keys in name order (stable JSON). */
  snapshot(): { total: Counters; perActor: Record<string, Counters> } {
    const sorted = (c: Counters): Counters => {
      const o: Counters = {};
      for (const k of Object.keys(c).sort()) o[k] = c[k];
      return o;
    };
    const perActor: Record<string, Counters> = {};
    for (const a of Object.keys(this.perActor)) perActor[a] = sorted(this.perActor[a]);
    return { total: sorted(this.total), perActor };
  }
}
