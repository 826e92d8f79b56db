// Device access streams: which page of its mapping a device touches next.
import { PAGE_SIZE } from "../../engine/layout.js";
import type { PatternSpec } from "../scenario/schema.js";
import type { Rng } from "../sched/rng.js";

/** Returns the page index (within a mapping of `pages` pages) of each next access. */
export function makePattern(spec: PatternSpec, pages: number, rng: Rng): () => number {
  let k = 0;
  switch (spec.kind) {
    case "sequential":
      return () => k++ % pages;
    case "strided": {
      const s = spec.stride / PAGE_SIZE;
      // k-th access at k*s, shifted by one page per wrap so every page is reached
      return () => {
        const v = k++ * s;
        return (v + Math.floor(v / pages)) % pages;
      };
    }
    case "random":
      return () => rng.int(pages);
    case "hot-set": {
      const { hotPages, hotProbability } = spec;
      return () => (rng.float() < hotProbability ? rng.int(hotPages) : rng.int(pages));
    }
    case "zipf": {
      // rank r (page r) has weight 1/(r+1)^theta; inverse-CDF sampling by binary search
      const cdf = new Float64Array(pages);
      let sum = 0;
      for (let r = 0; r < pages; r++) cdf[r] = sum += 1 / Math.pow(r + 1, spec.theta);
      return () => {
        const u = rng.float() * sum;
        let lo = 0;
        let hi = pages - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cdf[mid] <= u) lo = mid + 1;
          else hi = mid;
        }
        return lo;
      };
    }
    case "replay": {
      const list = spec.pages;
      return () => list[k++ % list.length];
    }
  }
}
