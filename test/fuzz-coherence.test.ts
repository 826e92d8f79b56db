// A bounded run of the coherence fuzzer (fuzz/coherence): random sequences of mm operations,
// CPU and device accesses, migrations both ways, exclusive access, daemons, fork and exit on one
// engine with several Mms and three devices; every invariant (src/sim/check) after every step and
// the teardown check at the end. `npm run fuzz:coherence` runs the long version.
import { describe, expect, it } from "vitest";
import { formatSequence, generate, runSequence, shrink } from "../fuzz/coherence/runner.js";
import { ENGINE_OPTS, FUZZ_SEQUENCES } from "./env.js";

describe("coherence fuzzer", () => {
  it(`keeps every invariant over ${FUZZ_SEQUENCES} sequences of 40 steps`, () => {
    let steps = 0;
    for (let seed = 1; seed <= FUZZ_SEQUENCES; seed++) {
      const seq = generate(seed, 40);
      const f = runSequence(seq, ENGINE_OPTS);
      if (f) {
        const small = shrink(seq, ENGINE_OPTS, 300);
        const again = runSequence(small, ENGINE_OPTS);
        expect.fail(
          `seed ${seed}: ${again?.what ?? f.what}\nreplay (npx tsx fuzz/coherence/main.ts --replay FILE):\n${formatSequence(small)}`,
        );
      }
      steps += seq.length;
    }
    expect(steps).toBe(FUZZ_SEQUENCES * 40);
  });

  it("finds a planted defect and shrinks it to a replayable sequence", () => {
    // an extra reference planted behind the kernel's back is reported, and shrinking keeps only
    // the steps needed for it: the harness can fail (it is not vacuous)
    const plant = { op: "plant", m: 0, a: 0, b: 0, c: 0, d: 0 };
    const write = { op: "write", m: 0, a: 0, b: 1, c: 0, d: 0 };
    const seq = [...generate(7, 6), { op: "mmap", m: 0, a: 0, b: 1, c: 1, d: 0 }, write, plant];
    const f = runSequence(seq, ENGINE_OPTS);
    expect(f?.what).toMatch(/^after plant:\nrefcount: pfn \d+: refcount 2, 1 reference\(s\) found/);
    const small = shrink(seq, ENGINE_OPTS, 200);
    expect(small.at(-1)).toEqual(plant);
    expect(small.length).toBeLessThanOrEqual(3);
    expect(runSequence(small, ENGINE_OPTS)?.what).toMatch(/refcount 2, 1 reference/);
    expect(formatSequence([plant])).toBe('[\n  {"op":"plant","m":0,"a":0,"b":0,"c":0,"d":0}\n]');
  });
});
