// Run metrics: flat counters with stable dotted names (documented in docs/scenarios.md), kept in
// total and per actor, and latency samples summarised as percentiles of simulated time.

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  count: number;
}

export type Counters = Record<string, number>;

/** Counters and latency samples of one run. */
export class Metrics {
  readonly total: Counters = Object.create(null) as Counters;
  readonly perActor: Record<string, Counters> = Object.create(null) as Record<string, Counters>;
  private readonly samples = new Map<string, number[]>();

  /** The counters of one actor (created on first use). */
  actor(name: string): Counters {
    let c = this.perActor[name];
    if (!c) this.perActor[name] = c = Object.create(null) as Counters;
    return c;
  }

  /** Adds n to `key` in total and in the actor's counters. */
  inc(actor: Counters, key: string, n = 1): void {
    this.total[key] = (this.total[key] ?? 0) + n;
    actor[key] = (actor[key] ?? 0) + n;
  }

  /** Records one latency sample (ns) of `key`. */
  sample(key: string, ns: number): void {
    let s = this.samples.get(key);
    if (!s) this.samples.set(key, (s = []));
    s.push(ns);
  }

  /** Nearest-rank p50/p90/p99 of every sampled key, in name order. */
  latency(): Record<string, LatencySummary> {
    const out: Record<string, LatencySummary> = {};
    for (const key of [...this.samples.keys()].sort()) {
      const s = Float64Array.from(this.samples.get(key) as number[]).sort();
      const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
      out[key] = { p50: at(0.5), p90: at(0.9), p99: at(0.99), count: s.length };
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
