// The seeded random source of a run: every random choice (actor access patterns, op choices,
// scheduling) draws from pure-rand generators derived from the run's seed, so a run is a pure
// function of (scenario, seed, strategy).
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { JumpableRandomGenerator } from "pure-rand/types/JumpableRandomGenerator";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";

/** A seeded generator with the few draws the simulator needs. */
export class Rng {
  private constructor(private readonly g: JumpableRandomGenerator) {}

  static seeded(seed: number): Rng {
    return new Rng(xoroshiro128plus(seed | 0));
  }
  /** An independent stream (the k-th jump of this one's seed), e.g. one per actor. */
  stream(k: number): Rng {
    const g = this.g.clone();
    for (let i = 0; i <= k; i++) g.jump();
    return new Rng(g);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : uniformInt(this.g, 0, n - 1);
  }
  /** A float in [0, 1). */
  float(): number {
    return uniformFloat64(this.g);
  }
}
