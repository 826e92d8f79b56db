// Differential test of the two implementations of one hmm_range_fault() walk pass:
// assembly/walk.ts `hmmWalk` (WebAssembly: release, debug and SIMD builds) and src/hmm/reference-walk.ts
// (plain TypeScript, the readable oracle), plus fixed cases whose expected words are computed by
// hand from the decision table of docs/semantics.md §3, not from either walker.
//
// Two properties ("random address spaces", and "dense PTE tables" which puts every PTE kind in front
// of every kind of request) build the same case in two fresh engines (same generator value applied
// twice), run the WASM walker in one and the reference walker in the other, and compare the return
// code (or a trap), every WALK_CTX output, every hmm_pfns word, and finally linear memory (the
// walkers also clear bad PGD/P4D entries and unreported trans-huge PUDs). Walker-independent
// invariants of the retry protocol (§4.1) are checked on the way.
//
// Runs: HMMSIM_FUZZ_RUNS=<n> sets the number of cases per property and build (default 200);
// HMMSIM_FUZZ_SEED=<seed> replays the seed printed by a failure; HMMSIM_DIFF_STATS=1 prints what
// the random cases exercised. The generators and the comparison live in differential-harness.ts;
// long runs (a million cases, one reused pair of engines) are fuzz/walk.ts (`npm run fuzz`).
import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import {
  CTX,
  ERRNO,
  HMM_NEED_FAULT,
  HMM_NEED_WRITE_FAULT,
  HMM_PFN_DMA_MAPPED,
  HMM_PFN_ERROR,
  HMM_PFN_ORDER_SHIFT_LATE,
  HMM_PFN_ORDER_SHIFT_SEED,
  HMM_PFN_P2PDMA,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  PAGE_SHIFT,
  PHYS,
  PMD_ORDER,
  PMD_SHIFT,
  PROFILE_LATE_LAYOUT,
  PTE,
  PTE_HI,
  PTE_LO,
  PUD_ORDER,
  PUD_SHIFT,
  SWP,
  VM,
} from "../src/engine/layout.js";
import { type Entry, NONE, mk, mkPfnEntry, toBigInt } from "../src/engine/pte.js";
import {
  type Build,
  type Case,
  LEVEL_NAMES,
  OWNERS,
  PMD_PAGES,
  PUD_PAGES,
  STATS,
  TABLE_LO,
  VMA_LEAD,
  type WalkerName,
  type World,
  allocPfns,
  applyCase,
  buildWorld,
  caseArb,
  caseInputs,
  checkCase,
  denseCaseArb,
  hex,
  printable,
  readWords,
  retName,
  walkOnce,
  wordBig,
} from "./differential-harness.js";

/**
 * Builds whose WASM walker is compared with the reference. vitest.config.ts runs the suite once per
 * variant: the "scalar" variant (HMMSIM_BUILD=release) checks the release and debug builds, the
 * "simd" variant the SIMD build (its fast paths differ), and the "reference" variant
 * (HMMSIM_WALKER=reference) skips the random property, which does not depend on the variant.
 * Without a variant (a plain `vitest run`), all three builds are checked.
 */
const ENV_BUILD = process.env.HMMSIM_BUILD;
const BUILDS: readonly Build[] =
  ENV_BUILD === "simd"
    ? ["simd"]
    : ENV_BUILD === "release"
      ? ["release", "debug"]
      : ENV_BUILD === "debug"
        ? ["debug"]
        : ["release", "debug", "simd"];
const PROPERTY_ENABLED = process.env.HMMSIM_WALKER !== "reference";

const FUZZ_RUNS = Number(process.env.HMMSIM_FUZZ_RUNS ?? "") || 0;
const NUM_RUNS = FUZZ_RUNS > 0 ? FUZZ_RUNS : 200;
const SEED = process.env.HMMSIM_FUZZ_SEED !== undefined ? Number(process.env.HMMSIM_FUZZ_SEED) : undefined;

/**
 * checkCase, except that a case which corrupts its own engine while being built (a WebAssembly trap
 * outside the walks, which catch theirs: an entry that applyCase later follows as a table pointer
 * can point into the allocator's data) is discarded, as fuzz/walk.ts does, instead of failing.
 */
function checkOrDiscard(c: Parameters<typeof checkCase>[0], build: Parameters<typeof checkCase>[1]): void {
  try {
    checkCase(c, build);
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) fc.pre(false);
    throw err;
  }
}

describe("differential: WASM hmmWalk vs reference walker", () => {
  for (const build of BUILDS) {
    it.runIf(PROPERTY_ENABLED)(
      `random address spaces agree (${build} build, ${NUM_RUNS} cases)`,
      () => {
        fc.assert(
          fc.property(caseArb.map(printable), (c) => checkOrDiscard(c, build)),
          {
            numRuns: NUM_RUNS,
            ...(SEED !== undefined ? { seed: SEED } : {}),
            endOnFailure: false,
          },
        );
        if (STATS) {
          console.log(
            `differential statistics (${build}):\n` +
              [...STATS]
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([k, v]) => `  ${k}: ${v}`)
                .join("\n"),
          );
          STATS.clear();
        }
      },
      Math.max(60_000, NUM_RUNS * 50),
    );

    it.runIf(PROPERTY_ENABLED)(
      `dense PTE tables agree (${build} build, ${NUM_RUNS} cases)`,
      () => {
        fc.assert(
          fc.property(denseCaseArb.map(printable), (c) => checkOrDiscard(c, build)),
          {
            numRuns: NUM_RUNS,
            ...(SEED !== undefined ? { seed: SEED } : {}),
            endOnFailure: false,
          },
        );
      },
      Math.max(60_000, NUM_RUNS * 50),
    );
  }

  it("a trap (walking through a table pointer beyond memory) happens in both walkers", () => {
    // PMD entry pointing to a PTE table beyond linear memory
    for (const build of BUILDS) {
      const c: Case = {
        levels: 4,
        base: 3 * 2 ** 27,
        pgmaps: 0,
        vmas: [{ gap: VMA_LEAD, len: 64, flags: VM.READ | VM.WRITE, huge: 21, align: false }],
        entries: [
          {
            level: 1,
            at: 0,
            count: 1,
            kind: "alias",
            more: [],
            pfn: { k: "zero" },
            write: false,
            oob: true,
            bits: 0,
            bitsHi: 0,
          },
        ],
        start: 0,
        len: 8,
        lastOff: 0,
        again: null,
        defaultHi: 0,
        maskHi: 0,
        owner: 0,
        profile: 0,
        fill: { lo: 0, hi: 0 },
        inputs: [],
      };
      checkCase(c, build);
      const w = buildWorld(build, 4, 0);
      applyCase(c, w);
      const p = allocPfns(w, caseInputs(c, 8));
      expect(
        walkOnce(w, "wasm", {
          pfns: p,
          startPage: c.base,
          lastPage: c.base,
          endPage: c.base + 8,
          defaultHi: 0,
          maskHi: 0,
          ownerId: 0,
          profile: 0,
        }).trap,
      ).toBe(true);
    }
  });
});

// ================================================================================================
// Fixed cases: expected words from the decision table (docs/semantics.md §3)
// ================================================================================================

/** Base of every fixed case: a PGD boundary (so also a P4D, PUD and PMD boundary). */
const B = 3 * 2 ** 27;
const V = HMM_PFN_VALID;
const W = HMM_PFN_WRITE;
const E = HMM_PFN_ERROR;
const DMA = HMM_PFN_DMA_MAPPED;
const ORD = (n: number, late = false): bigint =>
  BigInt(n) << BigInt(late ? HMM_PFN_ORDER_SHIFT_LATE : HMM_PFN_ORDER_SHIFT_SEED);
const REQ_R = HMM_PFN_VALID; // HMM_PFN_REQ_FAULT
const REQ_W = HMM_PFN_VALID | HMM_PFN_WRITE; // REQ_FAULT | REQ_WRITE
const hiOf = (v: bigint): number => Number(v >> 32n);
const RW = VM.READ | VM.WRITE;
const RO = VM.READ;
const NEED_R = HMM_NEED_FAULT;
const NEED_W = HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT;
const seq = (n: number, f: (i: number) => bigint): bigint[] => Array.from({ length: n }, (_, i) => f(i));
/** pte_pfn() of an entry, by the x86 rule (non-present entries are stored inverted). */
function ptePfnOf(e: Entry): bigint {
  let v = toBigInt(e);
  if (v !== 0n && (v & PTE.PRESENT) === 0n) v = BigInt.asUintN(64, ~v);
  return (v & PTE.PFN_MASK) >> BigInt(PAGE_SHIFT);
}

/** A hand-written case; page numbers are offsets from B. */
interface Fixed {
  name: string;
  levels?: number;
  vmas: [start: number, end: number, flags: number, hugeShift?: number][];
  entries?: (w: World) => [level: number, at: number, e: Entry][];
  range: [start: number, end: number];
  last?: number;
  defaultHi?: bigint;
  maskHi?: number;
  inputs?: bigint[]; // per page; missing pages are 0
  owner?: number;
  profile?: number;
  expect: (w: World) => {
    ret: number;
    last?: number; // default: the walk's start
    action?: number; // default: none
    faultEnd?: number;
    need?: number;
    words?: bigint[]; // default: every word keeps its input
  };
}

const FIXED: Fixed[] = [];
const fixed = (f: Fixed) => FIXED.push(f);

// ---- V: range / VMA level -------------------------------------------------------------------
fixed({
  name: "V1 no VMA below the first one: ERROR, then the VMA (empty tables) 0",
  vmas: [[0, 64, RW]],
  range: [-4, 4],
  expect: () => ({ ret: 0, words: [E, E, E, E, 0n, 0n, 0n, 0n] }),
});
fixed({
  name: "V1 gap between VMAs and after the last",
  vmas: [
    [0, 4, RW],
    [8, 12, RW],
  ],
  range: [2, 14],
  expect: () => ({ ret: 0, words: [0n, 0n, E, E, E, E, 0n, 0n, 0n, 0n, E, E] }),
});
fixed({
  name: "V1 + REQ_FAULT: -EFAULT, nothing written",
  vmas: [[0, 64, RW]],
  range: [-4, 4],
  defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EFAULT }),
});
fixed({
  name: "V1 written, then a fault requested inside the VMA: FAULT(start of VMA, range end)",
  vmas: [[0, 64, RW]],
  range: [-4, 4],
  maskHi: 0xffffffff,
  inputs: [0n, 0n, 0n, 0n, 0n, REQ_R, 0n, 0n],
  expect: () => ({
    ret: -ERRNO.EBUSY,
    last: B,
    action: CTX.ACTION_FAULT,
    faultEnd: B + 4,
    need: NEED_R,
    words: [E, E, E, E, 0n, REQ_R, 0n, 0n],
  }),
});
fixed({
  name: "V2 VM_IO: ERROR",
  vmas: [[0, 8, VM.READ | VM.IO]],
  range: [0, 8],
  expect: () => ({ ret: 0, words: seq(8, () => E) }),
});
fixed({
  name: "V2 VM_PFNMAP + REQ_FAULT: -EFAULT",
  vmas: [[0, 8, RW | VM.PFNMAP]],
  range: [0, 8],
  defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EFAULT }),
});
fixed({
  name: "V2 one page requesting a read fault fails the VMA; the gap before it is written",
  vmas: [[0, 8, VM.READ | VM.IO]],
  range: [-2, 8],
  maskHi: 0xffffffff,
  inputs: [0n, 0n, 0n, 0n, 0n, 0n, 0n, REQ_R],
  expect: () => ({ ret: -ERRNO.EFAULT, words: [E, E, 0n, 0n, 0n, 0n, 0n, REQ_R, 0n, 0n] }),
});
fixed({
  name: "V3 write-only VMA: ERROR",
  vmas: [[0, 8, VM.WRITE]],
  range: [0, 8],
  expect: () => ({ ret: 0, words: seq(8, () => E) }),
});
fixed({
  name: "V3 PROT_NONE VMA + REQ_FAULT: -EFAULT",
  vmas: [[0, 8, 0]],
  range: [0, 8],
  defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EFAULT }),
});
fixed({
  name: "V4 VM_MIXEDMAP is walked normally",
  vmas: [[0, 8, RW | VM.MIXEDMAP]],
  range: [0, 4],
  entries: (w) => [[0, 1, mk.page(w.frames[0], true)]],
  expect: (w) => ({ ret: 0, words: [0n, BigInt(w.frames[0]) | V | W, 0n, 0n] }),
});

// ---- U: upper levels --------------------------------------------------------------------------
fixed({
  name: "U1 no tables at all: 0",
  vmas: [[0, 2048, RW]],
  range: [0, 8],
  expect: () => ({ ret: 0, words: seq(8, () => 0n) }),
});
fixed({
  name: "U1 + read request: FAULT(start, range end)",
  vmas: [[0, 2048, RW]],
  range: [0, 8],
  defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EBUSY, action: CTX.ACTION_FAULT, faultEnd: B + 8, need: NEED_R }),
});
fixed({
  name: "U1 + write request in a read-only VMA: -EPERM",
  vmas: [[0, 2048, RO]],
  range: [0, 8],
  defaultHi: REQ_W,
  expect: () => ({ ret: -ERRNO.EPERM }),
});
fixed({
  name: "U1 PUD none: the fault chunk ends at the PUD boundary",
  vmas: [[PUD_PAGES - 8, PUD_PAGES + 600, RW]],
  entries: (w) => [[0, PUD_PAGES + 512, mk.page(w.frames[0], true)]],
  range: [PUD_PAGES - 4, PUD_PAGES + 4],
  defaultHi: REQ_R,
  expect: () => ({
    ret: -ERRNO.EBUSY,
    last: B + PUD_PAGES - 4,
    action: CTX.ACTION_FAULT,
    faultEnd: B + PUD_PAGES,
    need: NEED_R,
  }),
});
fixed({
  name: "U1 PGD none after a populated PGD slot: outputs before, FAULT(B, range end)",
  vmas: [[-8, 8, RW]],
  entries: (w) => [[0, -1, mk.page(w.frames[1], true)]],
  range: [-4, 4],
  maskHi: 0xffffffff,
  inputs: [0n, 0n, 0n, 0n, 0n, 0n, REQ_R, 0n],
  expect: (w) => ({
    ret: -ERRNO.EBUSY,
    last: B,
    action: CTX.ACTION_FAULT,
    faultEnd: B + 4,
    need: NEED_R,
    words: [0n, 0n, 0n, BigInt(w.frames[1]) | V | W, 0n, 0n, REQ_R, 0n],
  }),
});
const PUD_PFN = 5 * PUD_PAGES;
fixed({
  name: "U3 devmap PUD leaf, writable: pfn+idx | VALID | WRITE | order 18",
  vmas: [[0, 2048, RW]],
  entries: () => [[2, 0, mk.huge(PUD_PFN, true, 0, PTE_HI.DEVMAP)]],
  range: [5, 9],
  expect: () => ({ ret: 0, words: seq(4, (i) => BigInt(PUD_PFN + 5 + i) | V | W | ORD(PUD_ORDER)) }),
});
fixed({
  name: "U3 read-only devmap PUD + read request: VALID | order 18",
  vmas: [[0, 2048, RW]],
  entries: () => [[2, 0, mk.huge(PUD_PFN, false, 0, PTE_HI.DEVMAP)]],
  range: [5, 9],
  defaultHi: REQ_R,
  expect: () => ({ ret: 0, words: seq(4, (i) => BigInt(PUD_PFN + 5 + i) | V | ORD(PUD_ORDER)) }),
});
fixed({
  name: "U3 read-only devmap PUD + write request: FAULT(a, e, W)",
  vmas: [[0, 2048, RW]],
  entries: () => [[2, 0, mk.huge(PUD_PFN, false, 0, PTE_HI.DEVMAP)]],
  range: [5, 9],
  defaultHi: REQ_W,
  expect: () => ({ ret: -ERRNO.EBUSY, action: CTX.ACTION_FAULT, faultEnd: B + 9, need: NEED_W }),
});
fixed({
  name: "U3 LATE layout: order at bit 53, sticky input bits kept, the rest of the input dropped",
  vmas: [[0, 2048, RW]],
  entries: () => [[2, 0, mk.huge(PUD_PFN, true, 0, PTE_HI.DEVMAP)]],
  range: [5, 9],
  profile: PROFILE_LATE_LAYOUT,
  inputs: [0n, DMA | HMM_PFN_P2PDMA | 0x1234n, REQ_R | 0xffffn, 0n],
  expect: () => ({
    ret: 0,
    words: seq(
      4,
      (i) => BigInt(PUD_PFN + 5 + i) | V | W | ORD(PUD_ORDER, true) | (i === 1 ? DMA | HMM_PFN_P2PDMA : 0n),
    ),
  }),
});
fixed({
  name: "U4 devmap PUD not present: a hole (0)",
  vmas: [[0, 2048, RW]],
  entries: () => [[2, 0, mkPfnEntry(PUD_PFN, PTE_LO.USER | PTE_LO.PSE, PTE_HI.DEVMAP)]],
  range: [5, 9],
  expect: () => ({ ret: 0, words: seq(4, () => 0n) }),
});

// ---- M: PMD level -----------------------------------------------------------------------------
const withPmdTable = (w: World): [number, number, Entry][] => [[0, 600, mk.page(w.frames[0], true)]];
fixed({
  name: "M1 PMD none: 0",
  vmas: [[0, 2048, RW]],
  entries: withPmdTable,
  range: [10, 20],
  expect: () => ({ ret: 0, words: seq(10, () => 0n) }),
});
fixed({
  name: "M1 PMD none + one read request: FAULT(start, PMD boundary)",
  vmas: [[0, 2048, RW]],
  entries: withPmdTable,
  range: [500, 530],
  maskHi: 0xffffffff,
  inputs: [0n, 0n, 0n, 0n, 0n, REQ_R],
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 500, action: CTX.ACTION_FAULT, faultEnd: B + 512, need: NEED_R }),
});
fixed({
  name: "M2 PMD migration entry, no request: 0",
  vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.migration(w.thp, true)]],
  range: [0, 8],
  expect: () => ({ ret: 0, words: seq(8, () => 0n) }),
});
fixed({
  name: "M2 PMD migration entry + write request in a read-only VMA: wait (no -EPERM)",
  vmas: [[0, 2048, RO]],
  entries: (w) => [[1, 0, mk.migration(w.thp, true)]],
  range: [3, 8],
  defaultHi: REQ_W,
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 3, action: CTX.ACTION_WAIT_MIGRATION }),
});
fixed({
  name: "M3 PMD swap entry: ERROR",
  vmas: [[0, 2048, RW]],
  entries: () => [[1, 0, mk.swap(1, 0x1234)]],
  range: [0, 4],
  expect: () => ({ ret: 0, words: seq(4, () => E) }),
});
fixed({
  name: "M3 PMD device-private entry (SEED) + read request: -EFAULT",
  vmas: [[0, 2048, RW]],
  owner: 1,
  entries: (w) => [[1, 0, mk.devicePrivate(w.devFirst[0], true)]],
  range: [0, 4],
  defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EFAULT }),
});
fixed({
  name: "M4 read-only THP: pfn+idx | VALID | order 9",
  vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.huge(w.thp, false)]],
  range: [3, 6],
  expect: (w) => ({ ret: 0, words: seq(3, (i) => BigInt(w.thp + 3 + i) | V | ORD(PMD_ORDER)) }),
});
fixed({
  name: "M4 read-only THP + write request: FAULT(a, e, W)",
  vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.huge(w.thp, false)]],
  range: [3, 6],
  defaultHi: REQ_W,
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 3, action: CTX.ACTION_FAULT, faultEnd: B + 6, need: NEED_W }),
});
fixed({
  name: "M4 writable THP + write request: VALID | WRITE | order 9",
  vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.huge(w.thp, true)]],
  range: [3, 6],
  defaultHi: REQ_W,
  expect: (w) => ({ ret: 0, words: seq(3, (i) => BigInt(w.thp + 3 + i) | V | W | ORD(PMD_ORDER)) }),
});
fixed({
  name: "M4 protnone PMD: raw pfn, no flags, no order (QUIRK)",
  vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.protnone(w.thp, true, PTE_LO.PSE)]],
  range: [3, 6],
  expect: (w) => ({ ret: 0, words: seq(3, (i) => BigInt(w.thp + 3 + i)) }),
});
fixed({
  name: "M4 protnone PMD + read request: FAULT(a, e, R)",
  vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.protnone(w.thp, true, PTE_LO.PSE)]],
  range: [3, 6],
  defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 3, action: CTX.ACTION_FAULT, faultEnd: B + 6, need: NEED_R }),
});
fixed({
  name: "M4 huge zero PMD: VALID | order 9, no WRITE",
  vmas: [[0, 2048, RW]],
  entries: () => [[1, 0, mk.huge(PHYS.HUGE_ZERO_PFN, false)]],
  range: [3, 6],
  defaultHi: REQ_R,
  expect: () => ({ ret: 0, words: seq(3, (i) => BigInt(PHYS.HUGE_ZERO_PFN + 3 + i) | V | ORD(PMD_ORDER)) }),
});
/** A 512-aligned pfn above highest_memmap_pfn (no struct page). */
const alignedAbove = (w: World): number => Math.ceil((w.highest + 1) / PMD_PAGES) * PMD_PAGES;
fixed({
  name: "M4 devmap PMD (SEED) without struct pages is reported",
  vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.huge(alignedAbove(w), true, 0, PTE_HI.DEVMAP)]],
  range: [3, 6],
  expect: (w) => ({ ret: 0, words: seq(3, (i) => BigInt(alignedAbove(w) + 3 + i) | V | W | ORD(PMD_ORDER)) }),
});
const badPmd = (w: World): [number, number, Entry][] => [[1, 0, mkPfnEntry(w.zeroBlockPfn, TABLE_LO | PTE_LO.SPECIAL)]];
fixed({
  name: "M5 bad PMD: ERROR",
  vmas: [[0, 2048, RW]],
  entries: badPmd,
  range: [0, 4],
  expect: () => ({ ret: 0, words: seq(4, () => E) }),
});
fixed({
  name: "M5 bad PMD + read request: -EFAULT",
  vmas: [[0, 2048, RW]],
  entries: badPmd,
  range: [0, 4],
  defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EFAULT }),
});

// ---- P: PTE level. One entry at page 1 of [0, 4); requests only on page 1 -------------------------
function pteCase(
  name: string,
  entry: (w: World) => Entry,
  req: bigint,
  expect: Fixed["expect"],
  opts: Partial<Fixed> = {},
): void {
  fixed({
    name,
    vmas: [[0, 2048, RW]],
    entries: (w) => [
      [0, 1, entry(w)],
      [0, 0, NONE],
    ],
    range: [0, 4],
    maskHi: 0xffffffff,
    inputs: [0n, req, 0n, 0n],
    expect,
    ...opts,
  });
}
const faultAt1 = (need: number) => () => ({
  ret: -ERRNO.EBUSY,
  last: B + 1,
  action: CTX.ACTION_FAULT,
  faultEnd: B + 4,
  need,
  words: [0n, need === NEED_W ? REQ_W : REQ_R, 0n, 0n],
});
const out1 = (v: bigint) => ({ ret: 0, words: [0n, v, 0n, 0n] });

pteCase(
  "P1 pte none: 0",
  () => NONE,
  0n,
  () => out1(0n),
);
pteCase("P1 pte none + read request: FAULT(addr, chunk end, R)", () => NONE, REQ_R, faultAt1(NEED_R));
pteCase(
  "P1 pte none + write request, read-only VMA: -EPERM",
  () => NONE,
  REQ_W,
  () => ({ ret: -ERRNO.EPERM, last: B + 1, words: [0n, REQ_W, 0n, 0n] }),
  { vmas: [[0, 2048, RO]] },
);
pteCase(
  "P1 uffd-wp PTE marker is none (SEED): 0",
  () => mk.marker(SWP.MARKER_UFFD_WP),
  0n,
  () => out1(0n),
);
pteCase(
  "P1 swapin-error PTE marker + read request: FAULT",
  () => mk.marker(SWP.MARKER_SWAPIN_ERROR),
  REQ_R,
  faultAt1(NEED_R),
);
fixed({
  name: "P1 over-fault: the fault runs to the PMD chunk end",
  vmas: [[0, 2048, RW]],
  entries: (w) => [[0, 0, mk.page(w.frames[0], true)]],
  range: [0, 600],
  maskHi: 0xffffffff,
  inputs: [0n, REQ_R],
  expect: (w) => ({
    ret: -ERRNO.EBUSY,
    last: B + 1,
    action: CTX.ACTION_FAULT,
    faultEnd: B + 512,
    need: NEED_R,
    words: [BigInt(w.frames[0]) | V | W, REQ_R, ...seq(598, () => 0n)],
  }),
});
pteCase(
  "P2 device-private writable, owner matches: pfn | VALID | WRITE",
  (w) => mk.devicePrivate(w.devFirst[0] + 3, true),
  REQ_W,
  (w) => out1(BigInt(w.devFirst[0] + 3) | V | W),
  { owner: 1 },
);
pteCase(
  "P2 device-private read-only, owner matches, write request: VALID only, no fault",
  (w) => mk.devicePrivate(w.devFirst[0], false),
  REQ_W,
  (w) => out1(BigInt(w.devFirst[0]) | V),
  { owner: 1 },
);
pteCase(
  "P3 swap entry, no request: 0",
  () => mk.swap(3, 0x777),
  0n,
  () => out1(0n),
);
pteCase(
  "P3 device-exclusive entry, no request: 0",
  (w) => mk.deviceExclusive(w.frames[0], true),
  0n,
  () => out1(0n),
);
pteCase(
  "P3 device-private of another owner, no request: 0",
  (w) => mk.devicePrivate(w.devFirst[1], true),
  0n,
  () => out1(0n),
  { owner: 1 },
);
pteCase("P4 swap entry + read request: FAULT", () => mk.swap(3, 0x777), REQ_R, faultAt1(NEED_R));
pteCase(
  "P4 swap entry + write request, read-only VMA: -EPERM",
  () => mk.swap(3, 0x777),
  REQ_W,
  () => ({ ret: -ERRNO.EPERM, last: B + 1, words: [0n, REQ_W, 0n, 0n] }),
  { vmas: [[0, 2048, RO]] },
);
pteCase(
  "P5 device-private of another owner + read request: FAULT",
  (w) => mk.devicePrivate(w.devFirst[1], true),
  REQ_R,
  faultAt1(NEED_R),
  { owner: 1 },
);
pteCase(
  "P5 device-private, NULL range owner + write request: FAULT(W)",
  (w) => mk.devicePrivate(w.devFirst[0], true),
  REQ_W,
  faultAt1(NEED_W),
  { owner: 0 },
);
pteCase(
  "P6 device-exclusive + read request: FAULT",
  (w) => mk.deviceExclusive(w.frames[0], false),
  REQ_R,
  faultAt1(NEED_R),
  { owner: 1 },
);
pteCase(
  "P7 migration entry + write request, read-only VMA: wait (no -EPERM)",
  (w) => mk.migration(w.frames[0], true),
  REQ_W,
  () => ({ ret: -ERRNO.EBUSY, last: B + 1, action: CTX.ACTION_WAIT_MIGRATION, words: [0n, REQ_W, 0n, 0n] }),
  { vmas: [[0, 2048, RO]] },
);
pteCase(
  "P8 hwpoison, no request: 0",
  (w) => mk.hwpoison(w.frames[0]),
  0n,
  () => out1(0n),
);
pteCase(
  "P8 hwpoison + read request: -EFAULT",
  (w) => mk.hwpoison(w.frames[0]),
  REQ_R,
  () => ({ ret: -ERRNO.EFAULT, words: [0n, REQ_R, 0n, 0n] }),
);
pteCase(
  "P9 protnone PTE: raw pfn, no flags (QUIRK)",
  (w) => mk.protnone(w.frames[2], true),
  0n,
  (w) => out1(BigInt(w.frames[2])),
);
pteCase("P9 protnone PTE + read request: FAULT", (w) => mk.protnone(w.frames[2], false), REQ_R, faultAt1(NEED_R));
pteCase(
  "P10 writable page + write request: pfn | VALID | WRITE",
  (w) => mk.page(w.frames[1], true),
  REQ_W,
  (w) => out1(BigInt(w.frames[1]) | V | W),
);
pteCase(
  "P11 read-only page + read request: pfn | VALID",
  (w) => mk.page(w.frames[1], false),
  REQ_R,
  (w) => out1(BigInt(w.frames[1]) | V),
);
pteCase("P11 read-only page + write request: FAULT(W)", (w) => mk.page(w.frames[1], false), REQ_W, faultAt1(NEED_W));
pteCase(
  "P12 zero page: ZERO_PFN | VALID",
  () => mk.zero(PHYS.ZERO_PFN),
  REQ_R,
  () => out1(BigInt(PHYS.ZERO_PFN) | V),
);
pteCase("P12 zero page + write request: FAULT(W)", () => mk.zero(PHYS.ZERO_PFN), REQ_W, faultAt1(NEED_W));
pteCase(
  "P12 zero page + write request, read-only VMA: -EPERM",
  () => mk.zero(PHYS.ZERO_PFN),
  REQ_W,
  () => ({ ret: -ERRNO.EPERM, last: B + 1, words: [0n, REQ_W, 0n, 0n] }),
  { vmas: [[0, 2048, RO]] },
);
pteCase(
  "P13 devmap PTE without struct page (SEED): treated as normal",
  (w) => mk.page(w.highest + 7, false, 0, PTE_HI.DEVMAP),
  REQ_R,
  (w) => out1(BigInt(w.highest + 7) | V),
);
pteCase(
  "P13 read-only devmap PTE + write request: FAULT(W)",
  (w) => mk.page(w.highest + 7, false, 0, PTE_HI.DEVMAP),
  REQ_W,
  faultAt1(NEED_W),
);
pteCase(
  "P14 special PTE: ERROR",
  (w) => mk.page(w.frames[0], true, PTE_LO.SPECIAL),
  0n,
  () => out1(E),
);
pteCase(
  "P14 pfn above highest_memmap_pfn: ERROR",
  (w) => mk.page(w.highest + 1, true),
  0n,
  () => out1(E),
);
pteCase(
  "P14 read-only special PTE + read request: -EFAULT",
  (w) => mk.page(w.frames[0], false, PTE_LO.SPECIAL),
  REQ_R,
  () => ({ ret: -ERRNO.EFAULT, words: [0n, REQ_R, 0n, 0n] }),
);
pteCase(
  "P14 read-only special PTE + write request: FAULT(W) first",
  (w) => mk.page(w.frames[0], false, PTE_LO.SPECIAL),
  REQ_W,
  faultAt1(NEED_W),
);
pteCase(
  "P14 writable special PTE + write request: -EFAULT",
  (w) => mk.page(w.frames[0], true, PTE_LO.SPECIAL),
  REQ_W,
  () => ({ ret: -ERRNO.EFAULT, words: [0n, REQ_W, 0n, 0n] }),
);
pteCase(
  "P LATE: sticky bits survive 0, ERROR and pfn outputs",
  (w) => mk.page(w.frames[0], true, PTE_LO.SPECIAL),
  0n,
  () => ({ ret: 0, words: [DMA, E | DMA, HMM_PFN_P2PDMA, 0n] }),
  // page 1 asks REQ_WRITE without REQ_FAULT: ignored, so the special PTE gives ERROR, not -EFAULT
  { profile: PROFILE_LATE_LAYOUT, inputs: [DMA | 0xffn, DMA | HMM_PFN_WRITE, HMM_PFN_P2PDMA | 0x5n, 0xabcn] },
);

// ---- H: hugetlb -------------------------------------------------------------------------------
const HUGE2M = RW | VM.HUGETLB;
/** Writes entry `e` into the PMD slot of page 0 (creating the PUD and PMD tables). */
const hugePmd =
  (f: (w: World) => Entry) =>
  (w: World): [number, number, Entry][] => [[1, 0, f(w)]];
fixed({
  name: "H1 hugetlb, no PMD table: a hole (0, no order)",
  vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  range: [3, 7],
  expect: () => ({ ret: 0, words: seq(4, () => 0n) }),
});
fixed({
  name: "H2 hugetlb PTE none: (0 + idx) | order, no VALID (QUIRK)",
  vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd(() => NONE),
  range: [3, 7],
  expect: () => ({ ret: 0, words: seq(4, (i) => BigInt(3 + i) | ORD(PMD_ORDER)) }),
});
fixed({
  name: "H2 hugetlb PTE none, read request on the first page: FAULT(a, e, R)",
  vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd(() => NONE),
  range: [3, 7],
  maskHi: 0xffffffff,
  inputs: [REQ_R],
  expect: () => ({
    ret: -ERRNO.EBUSY,
    last: B + 3,
    action: CTX.ACTION_FAULT,
    faultEnd: B + 7,
    need: NEED_R,
    words: [REQ_R, 0n, 0n, 0n],
  }),
});
fixed({
  name: "H2 hugetlb PTE none, request on a later page only: ignored (first page decides, QUIRK)",
  vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd(() => NONE),
  range: [3, 7],
  maskHi: 0xffffffff,
  inputs: [0n, REQ_W],
  expect: () => ({ ret: 0, words: seq(4, (i) => BigInt(3 + i) | ORD(PMD_ORDER)) }),
});
fixed({
  name: "H3 hugetlb writable: pfn+idx | VALID | WRITE | order 9",
  vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd((w) => mk.huge(w.thp, true)),
  range: [3, 7],
  defaultHi: REQ_W,
  expect: (w) => ({ ret: 0, words: seq(4, (i) => BigInt(w.thp + 3 + i) | V | W | ORD(PMD_ORDER)) }),
});
fixed({
  name: "H3 hugetlb 1 GiB writable: order 18",
  vmas: [[0, PUD_PAGES, HUGE2M, PUD_SHIFT]],
  entries: () => [[2, 0, mk.huge(PUD_PFN, true)]],
  range: [1000, 1003],
  expect: () => ({ ret: 0, words: seq(3, (i) => BigInt(PUD_PFN + 1000 + i) | V | W | ORD(PUD_ORDER)) }),
});
fixed({
  name: "H4 hugetlb read-only: VALID | order 9",
  vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd((w) => mk.huge(w.thp, false)),
  range: [3, 7],
  defaultHi: REQ_R,
  expect: (w) => ({ ret: 0, words: seq(4, (i) => BigInt(w.thp + 3 + i) | V | ORD(PMD_ORDER)) }),
});
fixed({
  name: "H4 hugetlb read-only + write request: FAULT(a, e, W)",
  vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd((w) => mk.huge(w.thp, false)),
  range: [3, 7],
  defaultHi: REQ_W,
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 3, action: CTX.ACTION_FAULT, faultEnd: B + 7, need: NEED_W }),
});
fixed({
  name: "H4 hugetlb read-only + write request, VMA without VM_WRITE: -EPERM",
  vmas: [[0, 1024, RO | VM.HUGETLB, PMD_SHIFT]],
  entries: hugePmd((w) => mk.huge(w.thp, false)),
  range: [3, 7],
  defaultHi: REQ_W,
  expect: () => ({ ret: -ERRNO.EPERM, last: B + 3 }),
});
fixed({
  name: "H5 hugetlb migration entry: (swap-derived garbage + idx) | order",
  vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd((w) => mk.migration(w.thp, true)),
  range: [3, 7],
  expect: (w) => ({
    ret: 0,
    words: seq(4, (i) => (ptePfnOf(mk.migration(w.thp, true)) + BigInt(3 + i)) | ORD(PMD_ORDER)),
  }),
});
fixed({
  name: "H5 hugetlb hwpoison + read request: FAULT (hugetlb_fault decides)",
  vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd((w) => mk.hwpoison(w.thp)),
  range: [3, 7],
  defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 3, action: CTX.ACTION_FAULT, faultEnd: B + 7, need: NEED_R }),
});

// ---- other walk_page_range() rules ------------------------------------------------------------
fixed({ name: "start >= end: -EINVAL", vmas: [[0, 8, RW]], range: [4, 4], expect: () => ({ ret: -ERRNO.EINVAL }) });
fixed({
  name: "5-level: a P4D hole, then a populated P4D",
  levels: 5,
  vmas: [[-4, 4, RW]],
  entries: (w) => [[0, 2, mk.page(w.frames[2], false)]],
  range: [-2, 4],
  expect: (w) => ({ ret: 0, words: [0n, 0n, 0n, 0n, BigInt(w.frames[2]) | V, 0n] }),
});

function runFixed(f: Fixed, build: Build, which: WalkerName) {
  const w = buildWorld(build, f.levels ?? 4, 2);
  const { e, mm } = w;
  e.raw.vmaReserve(mm, Math.max(f.vmas.length, 1));
  f.vmas.forEach(([s, en, flags, huge], i) => e.raw.vmaSet(mm, i, B + s, B + en, flags, huge ?? 0));
  e.raw.vmaSetCount(mm, f.vmas.length);
  for (const [level, at, entry] of f.entries?.(w) ?? []) {
    const ptr = e.raw.entryPtr(mm, B + at, level, 1) >>> 0;
    if (ptr === 0) throw new Error(`fixed case "${f.name}": no slot for ${LEVEL_NAMES[level]}@${at}`);
    e.writeEntry(ptr, entry);
  }
  const [s, en] = f.range;
  const n = Math.max(en - s, 1);
  const inputs = Array.from({ length: n }, (_, i) => f.inputs?.[i] ?? 0n);
  const pfns = allocPfns(
    w,
    inputs.map((v) => [Number(v & 0xffffffffn), Number(v >> 32n)]),
  );
  const o = walkOnce(w, which, {
    pfns,
    startPage: B + s,
    lastPage: B + (f.last ?? s),
    endPage: B + en,
    defaultHi: hiOf(f.defaultHi ?? 0n),
    maskHi: f.maskHi ?? 0,
    ownerId: e.ownerId(OWNERS[f.owner ?? 0]),
    profile: f.profile ?? 0,
  });
  return { o, w, words: readWords(w, pfns, n).map(wordBig), inputs };
}

describe("fixed cases from the decision table (docs/semantics.md §3)", () => {
  for (const f of FIXED) {
    it(f.name, () => {
      for (const build of BUILDS) {
        for (const which of ["wasm", "reference"] as const) {
          const { o, w, words, inputs } = runFixed(f, build, which);
          const x = f.expect(w);
          const where = `${which} walker, ${build} build`;
          expect(o.trap, where).toBe(false);
          expect(retName(o.ret), where).toBe(retName(x.ret));
          expect(o.last - B, `${where}: CTX_LAST (offset from B)`).toBe((x.last ?? B + (f.last ?? f.range[0])) - B);
          expect(o.action, `${where}: CTX_ACTION`).toBe(x.action ?? CTX.ACTION_NONE);
          if (x.faultEnd !== undefined)
            expect(o.faultEnd - B, `${where}: CTX_FAULT_END (offset from B)`).toBe(x.faultEnd - B);
          if (x.need !== undefined) expect(o.need, `${where}: CTX_NEED`).toBe(x.need);
          const want = x.words ?? inputs;
          expect(
            words.map((v) => hex(v, 16)),
            `${where}: hmm_pfns`,
          ).toEqual(want.map((v) => hex(v, 16)));
        }
      }
    });
  }
});
