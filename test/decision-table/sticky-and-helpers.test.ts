// The v6.16 sticky DMA bits and the hmm_pfn decoding helpers against both flag layouts (docs/semantics.md §1.2).
import { describe, expect, it } from "vitest";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE } from "../../src/index.js";
import { E, PAGE, STICKY, V, W, baseOf, cpuPfn, hexWords, makeSim, ord, runRange } from "../helpers.js";
import { RW, R, Z } from "./harness.js";

// Sticky bits are dropped by SEED even where the output is a plain 0 or ERROR fill.
describe("sticky DMA bits (docs/semantics.md §1.2)", () => {
  it.each([4, 5] as const)(
    "v6.1 overwrites them, v6.16 keeps them, in 0 / ERROR / VALID outputs (%i-level)",
    (levels) => {
      for (const profile of ["v6.1", "v6.16"] as const) {
        const t = makeSim({ levels, profile });
        const base = baseOf(levels);
        t.mm.mmap({ addr: base, length: 2 * PAGE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        t.mm.touch(base, true);
        const r = runRange(t, { start: base, end: base + 3 * PAGE, req: [STICKY, STICKY | R, 0x1000000000000000n] });
        expect(r.ret).toBe(0);
        const keep = profile === "v6.16";
        const pfn = BigInt(cpuPfn(t, base));
        expect(hexWords(r.out)).toEqual(
          hexWords([
            (keep ? STICKY : 0n) | pfn | V | W,
            (keep ? STICKY : 0n) | Z,
            (keep ? 0x1000000000000000n : 0n) | E,
          ]),
        );
      }
    },
  );
});

describe("hmm_pfn helpers agree with the layouts", () => {
  it("order / pfn extraction of a THP word in both profiles", async () => {
    const { hmmPfnToMapOrder, hmmPfnToPfn } = await import("../../src/index.js");
    expect(hmmPfnToMapOrder(0x1234n | V | ord(9, "v6.1"), "v6.1")).toBe(9);
    expect(hmmPfnToMapOrder(0x1234n | V | ord(18, "v6.16") | STICKY, "v6.16")).toBe(18);
    expect(hmmPfnToPfn(0x1234n | V | W | ord(9, "v6.16") | STICKY, "v6.16")).toBe(0x1234);
  });
});
