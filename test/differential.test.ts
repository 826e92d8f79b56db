// Differential test of the two implementations of one hmm_range_fault() walk pass:
// assembly/walk.ts `hmmWalk` (WebAssembly: release, debug and SIMD builds) and src/reference/walk.ts
// (plain TypeScript, the readable oracle), plus fixed cases whose expected words are computed by
// hand from the decision table of hmm-semantics.md §3 (/work/shared/spec), not from either walker.
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
// the random cases exercised.
import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import { Engine } from "../src/engine.js";
import {
  CTX, ERRNO, HMM_NEED_FAULT, HMM_NEED_WRITE_FAULT, HMM_PFN_DMA_MAPPED, HMM_PFN_ERROR, HMM_PFN_HI,
  HMM_PFN_ORDER_SHIFT_LATE, HMM_PFN_ORDER_SHIFT_SEED, HMM_PFN_P2PDMA, HMM_PFN_VALID, HMM_PFN_WRITE, MEM,
  PAGE_SHIFT, PHYS, PMD_ORDER, PMD_SHIFT, PROFILE_LATE_LAYOUT, PTE, PTE_HI, PTE_LO, PUD_ORDER, PUD_SHIFT,
  SWP, VM,
} from "../src/layout.js";
import { type Entry, NONE, mk, mkPfnEntry, toBigInt } from "../src/pte.js";
import { type HmmWalkFn, ReferenceTrap, createReferenceWalker } from "../src/reference/walk.js";

// ================================================================================================
// Shared harness
// ================================================================================================

type Build = "release" | "debug" | "simd";
/**
 * Builds whose WASM walker is compared with the reference. vitest.config.ts runs the suite once per
 * variant: the "scalar" variant (HMMSIM_BUILD=release) checks the release and debug builds, the
 * "simd" variant the SIMD build (its fast paths differ), and the "reference" variant
 * (HMMSIM_WALKER=reference) skips the random property, which does not depend on the variant.
 * Without a variant (a plain `vitest run`), all three builds are checked.
 */
const ENV_BUILD = process.env.HMMSIM_BUILD;
const BUILDS: readonly Build[] = ENV_BUILD === "simd" ? ["simd"] : ENV_BUILD === "release" ? ["release", "debug"]
  : ENV_BUILD === "debug" ? ["debug"] : ["release", "debug", "simd"];
const PROPERTY_ENABLED = process.env.HMMSIM_WALKER !== "reference";
type WalkerName = "wasm" | "reference";

const PMD_PAGES = 2 ** (PMD_SHIFT - PAGE_SHIFT);
const PUD_PAGES = 2 ** (PUD_SHIFT - PAGE_SHIFT);
const LEVEL_NAMES = ["PTE", "PMD", "PUD", "P4D", "PGD5"];
/** Pages mapped by one entry at `level` (0 = PTE). */
const pagesPerEntry = (level: number): number => 2 ** ((PMD_SHIFT - PAGE_SHIFT) * level);
/** Device pfns per registered pgmap. */
const DEV_PAGES = 16;
/** A table pointer beyond linear memory: walking through it traps in both walkers. */
const OOB_TABLE_PFN = 0xffff0;

/** Range owners: index 0 is NULL; A and B own pgmaps 0 and 1 (when registered), C owns none. */
const OWNERS: readonly (object | null)[] = [null, { owner: "A" }, { owner: "B" }, { owner: "C" }];
const OWNER_NAMES = ["NULL", "A", "B", "C"];

/** One engine with an address space and the frames the cases point at. */
interface World {
  e: Engine;
  mm: number;
  levels: number;
  frames: number[]; // three order-0 RAM frames
  thp: number; // an order-9 RAM folio (512-aligned)
  devFirst: number[]; // first device pfn of each registered pgmap
  zeroBlockPfn: number; // a zeroed 4 KiB block of linear memory, used as a shared "table"
  highest: number; // highest_memmap_pfn once everything is allocated
}

function buildWorld(build: Build, levels: number, pgmaps: number): World {
  const e = new Engine({ build });
  for (const o of OWNERS) e.ownerId(o); // ids A=1, B=2, C=3 in every engine
  const frames = [e.allocFrames(0, 0), e.allocFrames(0, 0), e.allocFrames(0, 0)];
  const thp = e.allocFrames(PMD_ORDER, 0);
  const devFirst: number[] = [];
  for (let j = 0; j < pgmaps; j++) devFirst.push(e.registerPgmap(OWNERS[1 + j], DEV_PAGES).firstPfn);
  const mm = e.raw.mmCreate(levels) >>> 0;
  const zeroBlockPfn = (e.raw.blockAlloc(MEM.BLOCK_SIZE) >>> 0) / MEM.BLOCK_SIZE;
  return { e, mm, levels, frames, thp, devFirst, zeroBlockPfn, highest: e.highestMemmapPfn() };
}

/** Allocates an hmm_pfns array with a sentinel word on each side; returns the pointer of word 0. */
const SENTINEL_LO = 0x5e5e5e5e;
const SENTINEL_HI = 0xa5a5a5a5;
function allocPfns(w: World, words: number[][]): number {
  const block = w.e.raw.blockAlloc((words.length + 2) * 8) >>> 0;
  const u32 = w.e.mem().u32;
  const put = (ptr: number, lo: number, hi: number) => {
    u32[ptr >>> 2] = lo;
    u32[(ptr >>> 2) + 1] = hi;
  };
  put(block, SENTINEL_LO, SENTINEL_HI);
  words.forEach(([lo, hi], i) => put(block + 8 + i * 8, lo, hi));
  put(block + 8 + words.length * 8, SENTINEL_LO, SENTINEL_HI);
  return block + 8;
}
function readWords(w: World, pfns: number, n: number): number[][] {
  const u32 = w.e.mem().u32;
  const out: number[][] = [];
  for (let i = 0; i < n; i++) out.push([u32[(pfns >>> 2) + 2 * i], u32[(pfns >>> 2) + 2 * i + 1]]);
  return out;
}
function sentinelsIntact(w: World, pfns: number, n: number): boolean {
  const u32 = w.e.mem().u32;
  const ok = (ptr: number) => u32[ptr >>> 2] === SENTINEL_LO && u32[(ptr >>> 2) + 1] === SENTINEL_HI;
  return ok(pfns - 8) && ok(pfns + n * 8);
}

interface WalkArgs {
  pfns: number;
  startPage: number;
  lastPage: number;
  endPage: number;
  defaultHi: number;
  maskHi: number;
  ownerId: number;
  profile: number;
}
/** What one walk pass reports. */
interface Outcome {
  trap: boolean;
  ret: number;
  last: number;
  action: number;
  faultEnd: number;
  need: number;
  vmaIndex: number;
  pagesWalked: number;
}

const referenceWalkers = new WeakMap<Engine, HmmWalkFn>();
function walkerOf(w: World, which: WalkerName): HmmWalkFn {
  if (which === "wasm") return w.e.raw.hmmWalk;
  let f = referenceWalkers.get(w.e);
  if (!f) {
    f = createReferenceWalker(w.e);
    referenceWalkers.set(w.e, f);
  }
  return f;
}

function walkOnce(w: World, which: WalkerName, a: WalkArgs): Outcome {
  const fn = walkerOf(w, which);
  let ret = 0;
  let trap = false;
  try {
    ret = fn(w.mm, a.pfns, a.startPage, a.lastPage, a.endPage, a.defaultHi, a.maskHi, a.ownerId, a.profile);
  } catch (err) {
    if (!(err instanceof WebAssembly.RuntimeError) && !(err instanceof ReferenceTrap)) throw err;
    trap = true;
  }
  const m = w.e.mem();
  const ctx = MEM.WALK_CTX;
  return {
    trap, ret,
    last: m.f64[(ctx + CTX.LAST) >>> 3],
    action: m.i32[(ctx + CTX.ACTION) >>> 2],
    faultEnd: m.f64[(ctx + CTX.FAULT_END) >>> 3],
    need: m.i32[(ctx + CTX.NEED) >>> 2],
    vmaIndex: m.i32[(ctx + CTX.VMA_INDEX) >>> 2],
    pagesWalked: m.i32[(ctx + CTX.PAGES_WALKED) >>> 2],
  };
}

const hex = (v: number | bigint, digits = 8): string => "0x" + v.toString(16).padStart(digits, "0");
const word = ([lo, hi]: number[]): string => "0x" + hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
const wordBig = ([lo, hi]: number[]): bigint => (BigInt(hi) << 32n) | BigInt(lo);
const ERRNAME = new Map<number, string>(Object.entries(ERRNO).map(([k, v]) => [-v, `-${k}`]));
const retName = (r: number): string => ERRNAME.get(r) ?? String(r);

/**
 * Address of the first byte where the linear memories of two engines differ, or -1. Compared: the
 * static data and header (walk context, pgmap table) below META_DIR_BASE, and the heap up to its
 * top (page tables, mm, VMA table, hmm_pfns arrays, frame metadata chunks). The frame metadata
 * directory and the never-used memory above the heap are skipped: no walk writes there, and
 * touching megabytes of fresh memory per case costs more than the walks.
 */
function firstMemoryDifference(a: Engine, b: Engine): number {
  if (a.raw.memory.buffer.byteLength !== b.raw.memory.buffer.byteLength || a.raw.heapBytes() !== b.raw.heapBytes()) return 0;
  for (const [from, to] of [[0, MEM.META_DIR_BASE], [MEM.HEAP_BASE, a.raw.heapBytes()]]) {
    const x = Buffer.from(a.raw.memory.buffer, from, to - from);
    const y = Buffer.from(b.raw.memory.buffer, from, to - from);
    if (x.equals(y)) continue;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return from + i;
  }
  return -1;
}

// ================================================================================================
// Random cases
// ================================================================================================

/** Where a pfn comes from (resolved per engine, identically). */
type PfnSel =
  | { k: "frame"; i: number } // a real RAM frame (vm_normal_page() finds it)
  | { k: "thp"; i: number } // a page of the order-9 folio
  | { k: "zero" } // the zero page
  | { k: "hugezero" } // the huge zero folio
  | { k: "dev"; j: number; i: number } // a device-private pfn of pgmap j
  | { k: "above"; x: number } // above highest_memmap_pfn: no struct page
  | { k: "raw"; v: number }; // anything

const PTE_KINDS = ["none", "page", "page", "page", "special", "zero", "devmap", "protnone", "swap", "migR", "migRX",
  "migW", "devR", "devR", "devW", "devW", "exclR", "exclW", "hwpoison", "marker", "garbage"] as const;
const PMD_KINDS = ["none", "none", "huge", "huge", "huge", "hugeDevmap", "hugeProtnone", "hugeZero", "pseOnly", "migR",
  "migW", "devR", "devW", "swap", "hwpoison", "bad", "garbage", "alias", "page"] as const;
const PUD_KINDS = ["none", "none", "huge", "huge", "hugeDevmap", "hugeDevmap", "hugeProtnone", "devmapNP", "migR",
  "hwpoison", "swap", "garbage", "alias", "bad"] as const;
const UPPER_KINDS = ["none", "bad", "garbage", "alias"] as const;
type Kind = (typeof PTE_KINDS)[number] | (typeof PMD_KINDS)[number] | (typeof PUD_KINDS)[number];

interface EntrySpec {
  level: number;
  at: number; // page offset from the case base
  count: number; // consecutive entries at this level (pfn + i)
  kind: Kind;
  more: Kind[]; // copy i has kind [kind, ...more][i % (1 + more.length)]: dense, mixed PTE tables
  pfn: PfnSel;
  write: boolean;
  oob: boolean; // a table-like entry that would be dereferenced points beyond memory (else: zero block)
  bits: number; // swap type / marker bits / garbage low half / extra "bad" flag
  bitsHi: number; // garbage high half
}
interface VmaSpec {
  gap: number;
  len: number;
  flags: number;
  huge: number; // hugetlb page shift
  align: boolean;
}
interface InputWord {
  lo: number;
  hi: number;
}
interface Case {
  levels: number;
  base: number;
  pgmaps: number;
  vmas: VmaSpec[];
  entries: EntrySpec[];
  start: number;
  len: number;
  lastOff: number;
  again: { last: number; span: number } | null; // a second pass over part of the same array
  defaultHi: number;
  maskHi: number;
  owner: number;
  profile: number;
  fill: InputWord;
  inputs: { at: number; count: number; word: InputWord }[]; // runs of input words over the fill
}

/**
 * Ranges start within WINDOW pages of the base (a boundary of some paging level). VMAs are laid out
 * from VMA_LEAD pages before the range start on, entries are placed from ENTRY_LEAD pages before it:
 * both mostly land where the walk goes.
 */
const WINDOW = 1024;
const VMA_LEAD = 64;
const ENTRY_LEAD = 600;
const MAX_LEN = 1100;
/** Bases: boundaries of every paging level (5-level ones only for 5-level tables). */
const BASES_4 = [3 * 2 ** 27, 2 ** 27 + 5 * PUD_PAGES, 2 ** 20 + 7 * PMD_PAGES, 2 ** 35 - PUD_PAGES];
const BASES_5 = [...BASES_4, 3 * 2 ** 36, 2 ** 44 - 2 ** 27];

const REQ = HMM_PFN_HI.VALID;
const REQW = (HMM_PFN_HI.VALID | HMM_PFN_HI.WRITE) >>> 0;
const RWONLY = HMM_PFN_HI.WRITE;
const STICKY = [HMM_PFN_HI.DMA_MAPPED, HMM_PFN_HI.P2PDMA, HMM_PFN_HI.P2PDMA_BUS, HMM_PFN_HI.INOUT_LATE];

const u32Arb = fc.integer({ min: 0, max: 0xffffffff });
/** true with probability p% (shrinks towards true). */
const likely = (p: number) => fc.integer({ min: 0, max: 99 }).map((v) => v < p);
/** true with probability p% (shrinks towards false). */
const rarely = (p: number) => fc.integer({ min: 0, max: 99 }).map((v) => v >= 100 - p);

const pfnSelArb: fc.Arbitrary<PfnSel> = fc.oneof(
  { weight: 4, arbitrary: fc.nat(2).map((i): PfnSel => ({ k: "frame", i })) },
  { weight: 2, arbitrary: fc.oneof(fc.constant(0), fc.nat(511)).map((i): PfnSel => ({ k: "thp", i })) },
  { weight: 1, arbitrary: fc.constant<PfnSel>({ k: "zero" }) },
  { weight: 1, arbitrary: fc.constant<PfnSel>({ k: "hugezero" }) },
  { weight: 3, arbitrary: fc.record({ j: fc.nat(1), i: fc.nat(DEV_PAGES - 1) }).map((r): PfnSel => ({ k: "dev", ...r })) },
  { weight: 2, arbitrary: fc.nat(1000).map((x): PfnSel => ({ k: "above", x })) },
  { weight: 1, arbitrary: fc.nat(2 ** 40 - 1).map((v): PfnSel => ({ k: "raw", v })) },
);

function entryArb(level: number, kinds: readonly Kind[], maxCount: number): fc.Arbitrary<EntrySpec> {
  return fc.record({
    level: fc.constant(level),
    at: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: -64, max: 256 }) },
      { weight: 1, arbitrary: fc.integer({ min: -ENTRY_LEAD, max: MAX_LEN + 99 }) }),
    count: maxCount <= 1 ? fc.constant(1) : maxCount <= 8 ? fc.integer({ min: 1, max: maxCount })
      : fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 64, max: maxCount })),
    kind: fc.constantFrom(...kinds),
    more: maxCount > 1 ? fc.array(fc.constantFrom(...kinds), { maxLength: 6 }) : fc.constant([]),
    pfn: pfnSelArb,
    write: fc.boolean(),
    oob: rarely(15),
    bits: u32Arb,
    bitsHi: u32Arb,
  });
}
const entriesArb = fc.array(
  fc.oneof(
    { weight: 12, arbitrary: entryArb(0, PTE_KINDS, 256) },
    { weight: 4, arbitrary: entryArb(1, PMD_KINDS, 3) },
    { weight: 2, arbitrary: entryArb(2, PUD_KINDS, 2) },
    { weight: 1, arbitrary: entryArb(3, UPPER_KINDS, 1) },
    { weight: 1, arbitrary: entryArb(4, UPPER_KINDS, 1) },
  ),
  { minLength: 1, maxLength: 32, size: "medium" },
);

const vmaFlagsArb = fc.record({
  read: likely(95), write: likely(65), io: rarely(4), pfnmap: rarely(4), mixed: rarely(15), hugetlb: rarely(25),
}).map((f) => ((f.read ? VM.READ : 0) | (f.write ? VM.WRITE : 0) | (f.io ? VM.IO : 0) | (f.pfnmap ? VM.PFNMAP : 0) |
  (f.mixed ? VM.MIXEDMAP : 0) | (f.hugetlb ? VM.HUGETLB : 0)) >>> 0);
const vmaArb: fc.Arbitrary<VmaSpec> = fc.record({
  gap: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 }) }),
  len: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 2 * MAX_LEN })),
  flags: vmaFlagsArb,
  huge: fc.constantFrom(PMD_SHIFT, PUD_SHIFT),
  align: fc.boolean(),
});

const reqHiArb = fc.constantFrom(0, REQ, REQW, RWONLY);
const inputHiArb = fc.oneof(
  { weight: 6, arbitrary: reqHiArb },
  { weight: 2, arbitrary: fc.tuple(reqHiArb, fc.constantFrom(...STICKY)).map(([a, b]) => (a | b) >>> 0) },
  { weight: 1, arbitrary: u32Arb },
);
const inputWordArb: fc.Arbitrary<InputWord> = fc.record({
  lo: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: u32Arb }),
  hi: inputHiArb,
});
const defaultHiArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constantFrom(REQ, REQW, RWONLY) },
  { weight: 1, arbitrary: fc.tuple(reqHiArb, u32Arb).map(([a, b]) => (a | (b & ~REQW)) >>> 0) },
);
const maskHiArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0xffffffff) },
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constantFrom(REQ, REQW) },
  { weight: 1, arbitrary: u32Arb },
);

const caseArb: fc.Arbitrary<Case> = fc.record({
  levels: fc.constantFrom(4, 5),
  base: fc.nat(BASES_5.length - 1),
  pgmaps: fc.oneof({ weight: 4, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.constantFrom(1, 0) }),
  vmas: fc.oneof({ weight: 1, arbitrary: fc.constant<VmaSpec[]>([]) }, { weight: 12, arbitrary: fc.array(vmaArb, { minLength: 1, maxLength: 4 }) }),
  entries: entriesArb,
  start: fc.integer({ min: -WINDOW, max: WINDOW - 1 }),
  len: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: MAX_LEN }) }, { weight: 6, arbitrary: fc.integer({ min: 1, max: 300 }) },
    { weight: 1, arbitrary: fc.integer({ min: -3, max: 0 }) }),
  lastOff: fc.oneof(fc.constant(0), fc.nat(MAX_LEN)),
  again: fc.option(fc.record({ last: fc.nat(MAX_LEN), span: fc.nat(MAX_LEN) }), { freq: 4 }),
  defaultHi: defaultHiArb,
  maskHi: maskHiArb,
  owner: fc.nat(3),
  profile: fc.constantFrom(0, PROFILE_LATE_LAYOUT),
  fill: fc.oneof({ weight: 6, arbitrary: fc.constant({ lo: 0, hi: 0 }) }, { weight: 3, arbitrary: inputWordArb }),
  inputs: fc.array(fc.record({
    at: fc.nat(MAX_LEN),
    count: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 256 })),
    word: inputWordArb,
  }), { maxLength: 8 }),
}).map((c) => ({ ...c, base: (c.levels === 5 ? BASES_5 : BASES_4)[c.base % (c.levels === 5 ? BASES_5 : BASES_4).length] }));

/**
 * Dense PTE cases: one stretch of consecutive PTEs, every page with its own entry kind and request,
 * inside one VMA. A walk stops at its first fault, so in the general cases a requested page is
 * nearly always a hole or an empty PTE; here every row of §3.5 meets every kind of request.
 */
const densePageArb = fc.record({
  kind: fc.constantFrom(...PTE_KINDS),
  pfn: pfnSelArb,
  write: fc.boolean(),
  bits: u32Arb,
  bitsHi: u32Arb,
  req: fc.oneof({ weight: 3, arbitrary: fc.constant<InputWord>({ lo: 0, hi: 0 }) }, { weight: 2, arbitrary: inputWordArb }),
});
const denseCaseArb: fc.Arbitrary<Case> = fc.record({
  levels: fc.constantFrom(4, 5),
  base: fc.nat(BASES_4.length - 1),
  start: fc.oneof(fc.integer({ min: -8, max: 8 }), fc.integer({ min: 0, max: 511 })), // offset from a PMD boundary
  pages: fc.array(densePageArb, { minLength: 1, maxLength: 48 }),
  skip: fc.nat(47), // lastOff
  vmaFlags: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(VM.READ | VM.WRITE, VM.READ) }, { weight: 1, arbitrary: vmaFlagsArb }),
  defaultHi: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: defaultHiArb }),
  maskHi: fc.oneof({ weight: 4, arbitrary: fc.constant(0xffffffff) }, { weight: 1, arbitrary: maskHiArb }),
  owner: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.nat(3) }),
  profile: fc.constantFrom(0, PROFILE_LATE_LAYOUT),
}).map((d): Case => ({
  levels: d.levels, base: BASES_4[d.base], pgmaps: 2,
  vmas: [{ gap: VMA_LEAD - 16, len: d.pages.length + 32, flags: d.vmaFlags, huge: PMD_SHIFT, align: false }],
  entries: d.pages.map((pg, i) => ({
    level: 0, at: i, count: 1, kind: pg.kind, more: [], pfn: pg.pfn, write: pg.write, oob: false, bits: pg.bits, bitsHi: pg.bitsHi,
  })),
  start: d.start, len: d.pages.length, lastOff: d.skip % 4 === 0 ? d.skip : 0, again: null,
  defaultHi: d.defaultHi, maskHi: d.maskHi, owner: d.owner, profile: d.profile,
  fill: { lo: 0, hi: 0 }, inputs: d.pages.map((pg, i) => ({ at: i, count: 1, word: pg.req })),
}));

// ---- applying a case to an engine -------------------------------------------------------------

function resolvePfn(sel: PfnSel, w: World): number {
  switch (sel.k) {
    case "frame": return w.frames[sel.i % w.frames.length];
    case "thp": return w.thp + sel.i;
    case "zero": return PHYS.ZERO_PFN;
    case "hugezero": return PHYS.HUGE_ZERO_PFN;
    case "dev": return w.devFirst.length ? w.devFirst[sel.j % w.devFirst.length] + sel.i : PHYS.DEVICE_PFN_BASE + sel.i;
    case "above": return w.highest + 1 + sel.x;
    case "raw": return sel.v;
  }
}

const TABLE_LO = Number(PTE.TABLE_FLAGS & 0xffffffffn);
const PFN_MASK_LO = Number(PTE.PFN_MASK & 0xffffffffn) >>> 0;
const PFN_MASK_HI = Number(PTE.PFN_MASK >> 32n) >>> 0;
/** Ways to make a table entry "bad": [bits removed, bits added] of the low half; the last adds NX. */
const BAD_VARIANTS: [number, number][] = [[PTE_LO.RW, 0], [PTE_LO.DIRTY, 0], [0, PTE_LO.PROTNONE], [0, PTE_LO.SPECIAL],
  [0, PTE_LO.UFFD_WP], [0, PTE_LO.SOFT_DIRTY]];

function withTablePfn(e: Entry, pfn: number): Entry {
  return {
    lo: ((e.lo & ~PFN_MASK_LO) | ((pfn % 2 ** 20) * 4096)) >>> 0,
    hi: ((e.hi & ~PFN_MASK_HI) | Math.floor(pfn / 2 ** 20)) >>> 0,
  };
}

/** The entry a spec describes (its i-th copy). */
function makeEntry(s: EntrySpec, i: number, w: World): Entry {
  const pfn = resolvePfn(s.pfn, w) + i;
  const wr = s.write;
  const kind = i === 0 || s.more.length === 0 ? s.kind : [s.kind, ...s.more][i % (1 + s.more.length)];
  let e: Entry;
  switch (kind) {
    case "none": e = NONE; break;
    case "page": e = mk.page(pfn, wr); break;
    case "special": e = mk.page(pfn, wr, PTE_LO.SPECIAL); break;
    case "zero": e = mk.zero(PHYS.ZERO_PFN); break;
    case "devmap": e = mk.page(pfn, wr, 0, PTE_HI.DEVMAP); break;
    case "protnone": e = mk.protnone(pfn, wr); break;
    case "swap": e = mk.swap(s.bits % SWP.MAX_SWAPFILES, pfn, wr); break;
    case "migR": e = mk.migration(pfn, false); break;
    case "migRX": e = mk.migration(pfn, false, true); break;
    case "migW": e = mk.migration(pfn, true); break;
    case "devR": e = mk.devicePrivate(pfn, false); break;
    case "devW": e = mk.devicePrivate(pfn, true); break;
    case "exclR": e = mk.deviceExclusive(pfn, false); break;
    case "exclW": e = mk.deviceExclusive(pfn, true); break;
    case "hwpoison": e = mk.hwpoison(pfn); break;
    case "marker": e = mk.marker(s.bits % 4); break;
    case "huge": e = mk.huge(pfn, wr); break;
    case "hugeDevmap": e = mk.huge(pfn, wr, 0, PTE_HI.DEVMAP); break;
    case "hugeProtnone": e = mk.protnone(pfn, wr, PTE_LO.PSE); break;
    case "hugeZero": e = mk.huge(PHYS.HUGE_ZERO_PFN, false); break;
    case "pseOnly": e = mkPfnEntry(pfn, PTE_LO.PSE | PTE_LO.USER | (wr ? PTE_LO.RW : 0)); break;
    case "devmapNP": e = mkPfnEntry(pfn, PTE_LO.USER | (s.bits & 1 ? PTE_LO.PSE : 0), PTE_HI.DEVMAP); break;
    case "bad": {
      const k = s.bits % (BAD_VARIANTS.length + 1);
      e = k < BAD_VARIANTS.length ? mkPfnEntry(pfn, (TABLE_LO & ~BAD_VARIANTS[k][0]) | BAD_VARIANTS[k][1])
        : mkPfnEntry(pfn, TABLE_LO, PTE_HI.NX);
      break;
    }
    case "garbage": e = { lo: s.bits >>> 0, hi: s.bitsHi >>> 0 }; break;
    case "alias": e = mkPfnEntry(pfn, TABLE_LO); break;
  }
  // A present entry that some walker path would follow as a table pointer (above the PTE level:
  // P without PSE; at P4D/PGD level hugetlb walks follow any present entry) must point at memory
  // that no walker writes: the shared zero block, or beyond memory (both walkers trap).
  const present = (e.lo & PTE_LO.PRESENT) !== 0;
  const followed = s.level >= 3 ? present : s.level >= 1 ? present && (e.lo & PTE_LO.PSE) === 0 : false;
  if (followed) e = withTablePfn(e, s.oob ? OOB_TABLE_PFN : w.zeroBlockPfn);
  return e;
}

/** The VMAs of a case as [startPage, endPage, flags, hugeShift]: sorted and non-overlapping. */
function caseVmas(c: Case): [number, number, number, number][] {
  let cursor = c.base + c.start - VMA_LEAD;
  const vmas: [number, number, number, number][] = [];
  for (const v of c.vmas) {
    let start = cursor + v.gap;
    if (v.align && (v.flags & VM.HUGETLB) !== 0) {
      // 2 MiB alignment (aligning 1 GiB VMAs to 1 GiB would move them far away from the range)
      const size = PMD_PAGES;
      const aligned = start - (start % size);
      const prevEnd = vmas.length ? vmas[vmas.length - 1][1] : -Infinity;
      if (aligned >= prevEnd) start = aligned;
    }
    const end = start + v.len;
    vmas.push([start, end, v.flags, v.huge]);
    cursor = end;
  }
  return vmas;
}
/** First page of an entry spec. */
const entryPage = (c: Case, s: EntrySpec): number => c.base + c.start + s.at;

function applyCase(c: Case, w: World): void {
  const { e, mm } = w;
  const vmas = caseVmas(c);
  if (vmas.length) {
    if (!e.raw.vmaReserve(mm, vmas.length)) throw new Error("vmaReserve failed");
    vmas.forEach(([s, en, f, h], i) => e.raw.vmaSet(mm, i, s, en, f, h));
    e.raw.vmaSetCount(mm, vmas.length);
  }
  for (const s of c.entries) {
    if (s.level > c.levels - 1) continue;
    let ptr = 0;
    for (let i = 0; i < s.count; i++) {
      const page = entryPage(c, s) + i * pagesPerEntry(s.level);
      if (s.level === 0 && ptr !== 0 && page % PMD_PAGES !== 0) {
        ptr += 8; // the next PTE of the same table (writing PTEs never changes the tables)
      } else {
        try {
          ptr = e.raw.entryPtr(mm, page, s.level, 1) >>> 0;
        } catch (err) {
          if (!(err instanceof WebAssembly.RuntimeError)) throw err;
          ptr = 0; // the path goes through a table pointer beyond memory
        }
      }
      if (ptr === 0) continue; // an upper entry is a leaf (or the path traps)
      const entry = makeEntry(s, i, w);
      const u32 = e.mem().u32;
      u32[ptr >>> 2] = entry.lo;
      u32[(ptr >>> 2) + 1] = entry.hi;
    }
  }
}

function caseInputs(c: Case, n: number): number[][] {
  const words = Array.from({ length: n }, () => [c.fill.lo, c.fill.hi]);
  for (const { at, count, word: iw } of c.inputs) {
    for (let i = at % n; i < Math.min(at % n + count, n); i++) words[i] = [iw.lo, iw.hi];
  }
  return words;
}

// ---- printing ---------------------------------------------------------------------------------

const off = (x: number): string => (x >= 0 ? `+${x}` : `${x}`);
function hiName(hi: number): string {
  const names: string[] = [];
  let rest = hi >>> 0;
  for (const [n, b] of [["REQ_FAULT", REQ], ["REQ_WRITE", RWONLY], ["DMA", HMM_PFN_HI.DMA_MAPPED],
    ["P2P", HMM_PFN_HI.P2PDMA], ["BUS", HMM_PFN_HI.P2PDMA_BUS]] as const) {
    if ((rest & b) !== 0) {
      names.push(n);
      rest = (rest & ~b) >>> 0;
    }
  }
  if (rest !== 0) names.push(hex(rest));
  return names.length ? names.join("|") : "0";
}
const inputName = (iw: InputWord): string => (iw.lo ? `{hi:${hiName(iw.hi)}, lo:${hex(iw.lo)}}` : hiName(iw.hi));
function vmFlagsName(f: number): string {
  const n = (["READ", "WRITE", "IO", "PFNMAP", "MIXEDMAP", "HUGETLB"] as const).filter((k) => (f & VM[k]) !== 0);
  return n.length ? n.join("|") : "NONE";
}
function pfnName(s: PfnSel): string {
  switch (s.k) {
    case "frame": return `frame${s.i}`;
    case "thp": return `thp+${s.i}`;
    case "zero": return "ZERO_PFN";
    case "hugezero": return "HUGE_ZERO_PFN";
    case "dev": return `dev${s.j}+${s.i}`;
    case "above": return `highest+${1 + s.x}`;
    case "raw": return hex(s.v, 1);
  }
}
function entryName(c: Case, s: EntrySpec): string {
  const kindUsesPfn = !["none", "zero", "hugeZero", "garbage", "marker"].includes(s.kind);
  let t = `${LEVEL_NAMES[s.level]}@${off(entryPage(c, s) - c.base)}${s.count > 1 ? ` x${s.count}` : ""} ` +
    (s.more.length && s.count > 1 ? `cycle(${[s.kind, ...s.more].join(",")})` : s.kind);
  if (["page", "special", "devmap", "protnone", "swap", "huge", "hugeDevmap", "hugeProtnone", "pseOnly"].includes(s.kind)) {
    t += s.write ? " rw" : " ro";
  }
  if (kindUsesPfn) t += ` pfn=${pfnName(s.pfn)}`;
  if (s.kind === "swap") t += ` type=${s.bits % SWP.MAX_SWAPFILES}`;
  if (s.kind === "marker") t += ` bits=${s.bits % 4}`;
  if (s.kind === "bad") t += ` variant=${s.bits % (BAD_VARIANTS.length + 1)}`;
  if (s.kind === "devmapNP") t += s.bits & 1 ? " pse" : " no-pse";
  if (s.kind === "garbage") t += ` value=${word([s.bits, s.bitsHi])}`;
  if (s.oob) t += " (table pointers: out of bounds)";
  return t;
}
function describeCase(c: Case): string {
  const lines = [
    `levels=${c.levels} base=${hex(c.base, 1)} pgmaps=${c.pgmaps} owner=${OWNER_NAMES[c.owner]} ` +
      `profile=${c.profile ? "LATE" : "SEED"} default=${hiName(c.defaultHi)} mask=${c.maskHi === 0xffffffff ? "ALL" : hiName(c.maskHi)}`,
  ];
  for (const [s, e, f, huge] of caseVmas(c)) {
    lines.push(`  vma [${off(s - c.base)}, ${off(e - c.base)}) ${vmFlagsName(f)}${f & VM.HUGETLB ? ` hugeShift=${huge}` : ""}`);
  }
  for (const s of c.entries) lines.push(`  ${entryName(c, s)}`);
  const [p1, p2] = casePasses(c);
  lines.push(`  range [${off(c.start)}, ${off(c.start + c.len)}) last=${off(p1.last - c.base)}` +
    (p2 ? `; again last=${off(p2.last - c.base)} end=${off(p2.end - c.base)}` : ""));
  const n = Math.max(c.len, 1);
  lines.push(`  inputs: fill=${inputName(c.fill)}` +
    c.inputs.map(({ at, count, word: iw }) => ` [${at % n}${count > 1 ? `..${Math.min(at % n + count, n) - 1}` : ""}]=${inputName(iw)}`).join(""));
  return lines.join("\n");
}
const printable = (c: Case): Case => Object.assign({ ...c }, { [fc.toStringMethod]: () => "\n" + describeCase(c) });

// ---- the property -------------------------------------------------------------------------------

function compareOutcomes(c: Case, pass: string, a: Outcome, b: Outcome, wa: number[][], wb: number[][]): void {
  const problems: string[] = [];
  for (const k of ["trap", "ret", "last", "action", "faultEnd", "need", "vmaIndex", "pagesWalked"] as const) {
    if (a[k] !== b[k]) problems.push(`${k}: wasm=${a[k]} reference=${b[k]}`);
  }
  let shown = 0;
  for (let i = 0; i < wa.length; i++) {
    if (wa[i][0] !== wb[i][0] || wa[i][1] !== wb[i][1]) {
      if (shown++ < 6) problems.push(`word[${i}] (page ${off(c.start + i)}): wasm=${word(wa[i])} reference=${word(wb[i])}`);
    }
  }
  if (shown > 6) problems.push(`... ${shown - 6} more differing words`);
  if (problems.length) {
    throw new Error(`${pass}: walkers disagree (ret wasm=${retName(a.ret)} reference=${retName(b.ret)})\n` +
      problems.join("\n") + "\n" + describeCase(c));
  }
}

/** The walk passes of a case: [last, end) page ranges within the array [start, start + max(len, 1)). */
function casePasses(c: Case): { name: string; last: number; end: number }[] {
  const startPage = c.base + c.start;
  const n = Math.max(c.len, 1);
  const passes = [{ name: "pass 1", last: startPage + (c.len > 0 ? c.lastOff % c.len : 0), end: startPage + c.len }];
  if (c.again) {
    const last = c.again.last % n;
    passes.push({ name: "pass 2", last: startPage + last, end: startPage + last + (c.again.span % (n - last + 1)) });
  }
  return passes;
}

function checkCase(c: Case, build: Build): void {
  const worlds = [buildWorld(build, c.levels, c.pgmaps), buildWorld(build, c.levels, c.pgmaps)];
  const n = Math.max(c.len, 1);
  const inputs = caseInputs(c, n);
  const ptrs = worlds.map((w) => {
    applyCase(c, w);
    return allocPfns(w, inputs);
  });
  if (ptrs[0] !== ptrs[1]) throw new Error("the two engines diverged while building the case");

  const startPage = c.base + c.start;
  const passes = casePasses(c);

  for (const p of passes) {
    const before = readWords(worlds[0], ptrs[0], n);
    const args = (w: World, pfns: number): WalkArgs => ({
      pfns, startPage, lastPage: p.last, endPage: p.end, defaultHi: c.defaultHi, maskHi: c.maskHi,
      ownerId: w.e.ownerId(OWNERS[c.owner]), profile: c.profile,
    });
    const oa = walkOnce(worlds[0], "wasm", args(worlds[0], ptrs[0]));
    const ob = walkOnce(worlds[1], "reference", args(worlds[1], ptrs[1]));
    const wa = readWords(worlds[0], ptrs[0], n);
    const wb = readWords(worlds[1], ptrs[1], n);
    compareOutcomes(c, p.name, oa, ob, wa, wb);
    if (STATS) {
      tally(`${p.name} ret ${oa.trap ? "trap" : retName(oa.ret)}${oa.ret === -ERRNO.EBUSY ? oa.action === CTX.ACTION_FAULT ? " fault" : " wait" : ""}`);
      tally("pages walked", Math.max(oa.pagesWalked, 0));
      for (let i = Math.max(p.last - startPage, 0); i < Math.min(p.end - startPage, n); i++) {
        if (wa[i][0] !== before[i][0] || wa[i][1] !== before[i][1]) {
          const cls = wordClass(wa[i]);
          if (cls !== "ERROR") tally(`word ${cls}`);
          else {
            const v = caseVmas(c).find(([s, e]) => startPage + i >= s && startPage + i < e);
            tally(`word ERROR ${!v ? "(no VMA)" : (v[2] & (VM.IO | VM.PFNMAP)) || !(v[2] & VM.READ) ? "(IO/PFNMAP/unreadable VMA)" : "(in a walked VMA)"}`);
          }
        }
      }
    }
    // walker-independent invariants: nothing written outside [last, end) of the array; at -EBUSY
    // every word from the new CTX_LAST on still holds its input (§4.1 rule 3); a walk that
    // succeeds or fails without a fault leaves CTX_LAST where it started
    const invariant = (ok: boolean, what: string) => {
      if (!ok) throw new Error(`${p.name} (${retName(oa.ret)}): ${what}\n${describeCase(c)}`);
    };
    invariant(sentinelsIntact(worlds[0], ptrs[0], n), "a sentinel word next to the array was overwritten");
    const same = (i: number) => wa[i][0] === before[i][0] && wa[i][1] === before[i][1];
    for (let i = 0; i < Math.min(p.last - startPage, n); i++) invariant(same(i), `word[${i}] below last was written`);
    if (!oa.trap && (oa.ret === -ERRNO.EBUSY || oa.ret === -ERRNO.EPERM)) {
      invariant(oa.last >= p.last && oa.last < p.end, `CTX_LAST ${off(oa.last - c.base)} outside the walked range`);
      for (let i = oa.last - startPage; i < p.end - startPage; i++) invariant(same(i), `word[${i}] at or after CTX_LAST was written`);
    } else if (!oa.trap) {
      invariant(oa.last === p.last, `CTX_LAST moved to ${off(oa.last - c.base)} without a fault`);
    }
  }
  const d = firstMemoryDifference(worlds[0].e, worlds[1].e);
  if (d >= 0) throw new Error(`linear memory differs after the walks, first at ${hex(d)}\n${describeCase(c)}`);
}

const FUZZ_RUNS = Number(process.env.HMMSIM_FUZZ_RUNS ?? "") || 0;
const NUM_RUNS = FUZZ_RUNS > 0 ? FUZZ_RUNS : 200;
const SEED = process.env.HMMSIM_FUZZ_SEED !== undefined ? Number(process.env.HMMSIM_FUZZ_SEED) : undefined;

/** HMMSIM_DIFF_STATS=1: print what the random cases exercised (return codes, output word classes). */
const STATS = process.env.HMMSIM_DIFF_STATS ? new Map<string, number>() : null;
function tally(key: string, n = 1): void {
  if (STATS) STATS.set(key, (STATS.get(key) ?? 0) + n);
}
function wordClass([lo, hi]: number[]): string {
  const f = hi >>> 29; // VALID, WRITE, ERROR
  if (f === 4) return "VALID";
  if (f === 6) return "VALID|WRITE";
  if (f === 1) return "ERROR";
  return lo === 0 && (hi & 0x1fffffff) === 0 ? "zero" : f === 0 ? "flagless (protnone/hugetlb/input)" : "other";
}

describe("differential: WASM hmmWalk vs reference walker", () => {
  for (const build of BUILDS) {
    it.runIf(PROPERTY_ENABLED)(`random address spaces agree (${build} build, ${NUM_RUNS} cases)`, () => {
      fc.assert(fc.property(caseArb.map(printable), (c) => checkCase(c, build)), {
        numRuns: NUM_RUNS,
        ...(SEED !== undefined ? { seed: SEED } : {}),
        endOnFailure: false,
      });
      if (STATS) {
        console.log(`differential statistics (${build}):\n` + [...STATS].sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `  ${k}: ${v}`).join("\n"));
        STATS.clear();
      }
    }, Math.max(60_000, NUM_RUNS * 50));

    it.runIf(PROPERTY_ENABLED)(`dense PTE tables agree (${build} build, ${NUM_RUNS} cases)`, () => {
      fc.assert(fc.property(denseCaseArb.map(printable), (c) => checkCase(c, build)), {
        numRuns: NUM_RUNS,
        ...(SEED !== undefined ? { seed: SEED } : {}),
        endOnFailure: false,
      });
    }, Math.max(60_000, NUM_RUNS * 50));
  }

  it("a trap (walking through a table pointer beyond memory) happens in both walkers", () => {
    // PMD entry pointing to a PTE table beyond linear memory
    for (const build of BUILDS) {
      const c: Case = {
        levels: 4, base: 3 * 2 ** 27, pgmaps: 0, vmas: [{ gap: VMA_LEAD, len: 64, flags: VM.READ | VM.WRITE, huge: 21, align: false }],
        entries: [{ level: 1, at: 0, count: 1, kind: "alias", more: [], pfn: { k: "zero" }, write: false, oob: true, bits: 0, bitsHi: 0 }],
        start: 0, len: 8, lastOff: 0, again: null, defaultHi: 0, maskHi: 0, owner: 0, profile: 0,
        fill: { lo: 0, hi: 0 }, inputs: [],
      };
      checkCase(c, build);
      const w = buildWorld(build, 4, 0);
      applyCase(c, w);
      const p = allocPfns(w, caseInputs(c, 8));
      expect(walkOnce(w, "wasm", { pfns: p, startPage: c.base, lastPage: c.base, endPage: c.base + 8, defaultHi: 0, maskHi: 0, ownerId: 0, profile: 0 }).trap).toBe(true);
    }
  });
});

// ================================================================================================
// Fixed cases: expected words from the decision table (hmm-semantics.md §3)
// ================================================================================================

/** Base of every fixed case: a PGD boundary (so also a P4D, PUD and PMD boundary). */
const B = 3 * 2 ** 27;
const V = HMM_PFN_VALID;
const W = HMM_PFN_WRITE;
const E = HMM_PFN_ERROR;
const DMA = HMM_PFN_DMA_MAPPED;
const ORD = (n: number, late = false): bigint => BigInt(n) << BigInt(late ? HMM_PFN_ORDER_SHIFT_LATE : HMM_PFN_ORDER_SHIFT_SEED);
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
fixed({ name: "V1 no VMA below the first one: ERROR, then the VMA (empty tables) 0", vmas: [[0, 64, RW]], range: [-4, 4],
  expect: () => ({ ret: 0, words: [E, E, E, E, 0n, 0n, 0n, 0n] }) });
fixed({ name: "V1 gap between VMAs and after the last", vmas: [[0, 4, RW], [8, 12, RW]], range: [2, 14],
  expect: () => ({ ret: 0, words: [0n, 0n, E, E, E, E, 0n, 0n, 0n, 0n, E, E] }) });
fixed({ name: "V1 + REQ_FAULT: -EFAULT, nothing written", vmas: [[0, 64, RW]], range: [-4, 4], defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EFAULT }) });
fixed({ name: "V1 written, then a fault requested inside the VMA: FAULT(start of VMA, range end)", vmas: [[0, 64, RW]],
  range: [-4, 4], maskHi: 0xffffffff, inputs: [0n, 0n, 0n, 0n, 0n, REQ_R, 0n, 0n],
  expect: () => ({ ret: -ERRNO.EBUSY, last: B, action: CTX.ACTION_FAULT, faultEnd: B + 4, need: NEED_R,
    words: [E, E, E, E, 0n, REQ_R, 0n, 0n] }) });
fixed({ name: "V2 VM_IO: ERROR", vmas: [[0, 8, VM.READ | VM.IO]], range: [0, 8], expect: () => ({ ret: 0, words: seq(8, () => E) }) });
fixed({ name: "V2 VM_PFNMAP + REQ_FAULT: -EFAULT", vmas: [[0, 8, RW | VM.PFNMAP]], range: [0, 8], defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EFAULT }) });
fixed({ name: "V2 one page requesting a read fault fails the VMA; the gap before it is written", vmas: [[0, 8, VM.READ | VM.IO]],
  range: [-2, 8], maskHi: 0xffffffff, inputs: [0n, 0n, 0n, 0n, 0n, 0n, 0n, REQ_R],
  expect: () => ({ ret: -ERRNO.EFAULT, words: [E, E, 0n, 0n, 0n, 0n, 0n, REQ_R, 0n, 0n] }) });
fixed({ name: "V3 write-only VMA: ERROR", vmas: [[0, 8, VM.WRITE]], range: [0, 8], expect: () => ({ ret: 0, words: seq(8, () => E) }) });
fixed({ name: "V3 PROT_NONE VMA + REQ_FAULT: -EFAULT", vmas: [[0, 8, 0]], range: [0, 8], defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EFAULT }) });
fixed({ name: "V4 VM_MIXEDMAP is walked normally", vmas: [[0, 8, RW | VM.MIXEDMAP]], range: [0, 4],
  entries: (w) => [[0, 1, mk.page(w.frames[0], true)]],
  expect: (w) => ({ ret: 0, words: [0n, BigInt(w.frames[0]) | V | W, 0n, 0n] }) });

// ---- U: upper levels --------------------------------------------------------------------------
fixed({ name: "U1 no tables at all: 0", vmas: [[0, 2048, RW]], range: [0, 8], expect: () => ({ ret: 0, words: seq(8, () => 0n) }) });
fixed({ name: "U1 + read request: FAULT(start, range end)", vmas: [[0, 2048, RW]], range: [0, 8], defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EBUSY, action: CTX.ACTION_FAULT, faultEnd: B + 8, need: NEED_R }) });
fixed({ name: "U1 + write request in a read-only VMA: -EPERM", vmas: [[0, 2048, RO]], range: [0, 8], defaultHi: REQ_W,
  expect: () => ({ ret: -ERRNO.EPERM }) });
fixed({ name: "U1 PUD none: the fault chunk ends at the PUD boundary", vmas: [[PUD_PAGES - 8, PUD_PAGES + 600, RW]],
  entries: (w) => [[0, PUD_PAGES + 512, mk.page(w.frames[0], true)]], range: [PUD_PAGES - 4, PUD_PAGES + 4], defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + PUD_PAGES - 4, action: CTX.ACTION_FAULT, faultEnd: B + PUD_PAGES, need: NEED_R }) });
fixed({ name: "U1 PGD none after a populated PGD slot: outputs before, FAULT(B, range end)", vmas: [[-8, 8, RW]],
  entries: (w) => [[0, -1, mk.page(w.frames[1], true)]], range: [-4, 4], maskHi: 0xffffffff,
  inputs: [0n, 0n, 0n, 0n, 0n, 0n, REQ_R, 0n],
  expect: (w) => ({ ret: -ERRNO.EBUSY, last: B, action: CTX.ACTION_FAULT, faultEnd: B + 4, need: NEED_R,
    words: [0n, 0n, 0n, BigInt(w.frames[1]) | V | W, 0n, 0n, REQ_R, 0n] }) });
const PUD_PFN = 5 * PUD_PAGES;
fixed({ name: "U3 devmap PUD leaf, writable: pfn+idx | VALID | WRITE | order 18", vmas: [[0, 2048, RW]],
  entries: () => [[2, 0, mk.huge(PUD_PFN, true, 0, PTE_HI.DEVMAP)]], range: [5, 9],
  expect: () => ({ ret: 0, words: seq(4, (i) => BigInt(PUD_PFN + 5 + i) | V | W | ORD(PUD_ORDER)) }) });
fixed({ name: "U3 read-only devmap PUD + read request: VALID | order 18", vmas: [[0, 2048, RW]],
  entries: () => [[2, 0, mk.huge(PUD_PFN, false, 0, PTE_HI.DEVMAP)]], range: [5, 9], defaultHi: REQ_R,
  expect: () => ({ ret: 0, words: seq(4, (i) => BigInt(PUD_PFN + 5 + i) | V | ORD(PUD_ORDER)) }) });
fixed({ name: "U3 read-only devmap PUD + write request: FAULT(a, e, W)", vmas: [[0, 2048, RW]],
  entries: () => [[2, 0, mk.huge(PUD_PFN, false, 0, PTE_HI.DEVMAP)]], range: [5, 9], defaultHi: REQ_W,
  expect: () => ({ ret: -ERRNO.EBUSY, action: CTX.ACTION_FAULT, faultEnd: B + 9, need: NEED_W }) });
fixed({ name: "U3 LATE layout: order at bit 53, sticky input bits kept, the rest of the input dropped", vmas: [[0, 2048, RW]],
  entries: () => [[2, 0, mk.huge(PUD_PFN, true, 0, PTE_HI.DEVMAP)]], range: [5, 9], profile: PROFILE_LATE_LAYOUT,
  inputs: [0n, DMA | HMM_PFN_P2PDMA | 0x1234n, REQ_R | 0xffffn, 0n],
  expect: () => ({ ret: 0, words: seq(4, (i) => BigInt(PUD_PFN + 5 + i) | V | W | ORD(PUD_ORDER, true) |
    (i === 1 ? DMA | HMM_PFN_P2PDMA : 0n)) }) });
fixed({ name: "U4 devmap PUD not present: a hole (0)", vmas: [[0, 2048, RW]],
  entries: () => [[2, 0, mkPfnEntry(PUD_PFN, PTE_LO.USER | PTE_LO.PSE, PTE_HI.DEVMAP)]], range: [5, 9],
  expect: () => ({ ret: 0, words: seq(4, () => 0n) }) });

// ---- M: PMD level -----------------------------------------------------------------------------
const withPmdTable = (w: World): [number, number, Entry][] => [[0, 600, mk.page(w.frames[0], true)]];
fixed({ name: "M1 PMD none: 0", vmas: [[0, 2048, RW]], entries: withPmdTable, range: [10, 20],
  expect: () => ({ ret: 0, words: seq(10, () => 0n) }) });
fixed({ name: "M1 PMD none + one read request: FAULT(start, PMD boundary)", vmas: [[0, 2048, RW]], entries: withPmdTable,
  range: [500, 530], maskHi: 0xffffffff, inputs: [0n, 0n, 0n, 0n, 0n, REQ_R],
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 500, action: CTX.ACTION_FAULT, faultEnd: B + 512, need: NEED_R }) });
fixed({ name: "M2 PMD migration entry, no request: 0", vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.migration(w.thp, true)]], range: [0, 8], expect: () => ({ ret: 0, words: seq(8, () => 0n) }) });
fixed({ name: "M2 PMD migration entry + write request in a read-only VMA: wait (no -EPERM)", vmas: [[0, 2048, RO]],
  entries: (w) => [[1, 0, mk.migration(w.thp, true)]], range: [3, 8], defaultHi: REQ_W,
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 3, action: CTX.ACTION_WAIT_MIGRATION }) });
fixed({ name: "M3 PMD swap entry: ERROR", vmas: [[0, 2048, RW]], entries: () => [[1, 0, mk.swap(1, 0x1234)]],
  range: [0, 4], expect: () => ({ ret: 0, words: seq(4, () => E) }) });
fixed({ name: "M3 PMD device-private entry (SEED) + read request: -EFAULT", vmas: [[0, 2048, RW]], owner: 1,
  entries: (w) => [[1, 0, mk.devicePrivate(w.devFirst[0], true)]], range: [0, 4], defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EFAULT }) });
fixed({ name: "M4 read-only THP: pfn+idx | VALID | order 9", vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.huge(w.thp, false)]], range: [3, 6],
  expect: (w) => ({ ret: 0, words: seq(3, (i) => BigInt(w.thp + 3 + i) | V | ORD(PMD_ORDER)) }) });
fixed({ name: "M4 read-only THP + write request: FAULT(a, e, W)", vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.huge(w.thp, false)]], range: [3, 6], defaultHi: REQ_W,
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 3, action: CTX.ACTION_FAULT, faultEnd: B + 6, need: NEED_W }) });
fixed({ name: "M4 writable THP + write request: VALID | WRITE | order 9", vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.huge(w.thp, true)]], range: [3, 6], defaultHi: REQ_W,
  expect: (w) => ({ ret: 0, words: seq(3, (i) => BigInt(w.thp + 3 + i) | V | W | ORD(PMD_ORDER)) }) });
fixed({ name: "M4 protnone PMD: raw pfn, no flags, no order (QUIRK)", vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.protnone(w.thp, true, PTE_LO.PSE)]], range: [3, 6],
  expect: (w) => ({ ret: 0, words: seq(3, (i) => BigInt(w.thp + 3 + i)) }) });
fixed({ name: "M4 protnone PMD + read request: FAULT(a, e, R)", vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.protnone(w.thp, true, PTE_LO.PSE)]], range: [3, 6], defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 3, action: CTX.ACTION_FAULT, faultEnd: B + 6, need: NEED_R }) });
fixed({ name: "M4 huge zero PMD: VALID | order 9, no WRITE", vmas: [[0, 2048, RW]],
  entries: () => [[1, 0, mk.huge(PHYS.HUGE_ZERO_PFN, false)]], range: [3, 6], defaultHi: REQ_R,
  expect: () => ({ ret: 0, words: seq(3, (i) => BigInt(PHYS.HUGE_ZERO_PFN + 3 + i) | V | ORD(PMD_ORDER)) }) });
/** A 512-aligned pfn above highest_memmap_pfn (no struct page). */
const alignedAbove = (w: World): number => Math.ceil((w.highest + 1) / PMD_PAGES) * PMD_PAGES;
fixed({ name: "M4 devmap PMD (SEED) without struct pages is reported", vmas: [[0, 2048, RW]],
  entries: (w) => [[1, 0, mk.huge(alignedAbove(w), true, 0, PTE_HI.DEVMAP)]], range: [3, 6],
  expect: (w) => ({ ret: 0, words: seq(3, (i) => BigInt(alignedAbove(w) + 3 + i) | V | W | ORD(PMD_ORDER)) }) });
const badPmd = (w: World): [number, number, Entry][] => [[1, 0, mkPfnEntry(w.zeroBlockPfn, TABLE_LO | PTE_LO.SPECIAL)]];
fixed({ name: "M5 bad PMD: ERROR", vmas: [[0, 2048, RW]], entries: badPmd, range: [0, 4],
  expect: () => ({ ret: 0, words: seq(4, () => E) }) });
fixed({ name: "M5 bad PMD + read request: -EFAULT", vmas: [[0, 2048, RW]], entries: badPmd, range: [0, 4], defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EFAULT }) });

// ---- P: PTE level. One entry at page 1 of [0, 4); requests only on page 1 -------------------------
function pteCase(name: string, entry: (w: World) => Entry, req: bigint, expect: Fixed["expect"], opts: Partial<Fixed> = {}): void {
  fixed({ name, vmas: [[0, 2048, RW]], entries: (w) => [[0, 1, entry(w)], [0, 0, NONE]], range: [0, 4],
    maskHi: 0xffffffff, inputs: [0n, req, 0n, 0n], expect, ...opts });
}
const faultAt1 = (need: number) => () => ({ ret: -ERRNO.EBUSY, last: B + 1, action: CTX.ACTION_FAULT, faultEnd: B + 4, need,
  words: [0n, need === NEED_W ? REQ_W : REQ_R, 0n, 0n] });
const out1 = (v: bigint) => ({ ret: 0, words: [0n, v, 0n, 0n] });

pteCase("P1 pte none: 0", () => NONE, 0n, () => out1(0n));
pteCase("P1 pte none + read request: FAULT(addr, chunk end, R)", () => NONE, REQ_R, faultAt1(NEED_R));
pteCase("P1 pte none + write request, read-only VMA: -EPERM", () => NONE, REQ_W,
  () => ({ ret: -ERRNO.EPERM, last: B + 1, words: [0n, REQ_W, 0n, 0n] }), { vmas: [[0, 2048, RO]] });
pteCase("P1 uffd-wp PTE marker is none (SEED): 0", () => mk.marker(SWP.MARKER_UFFD_WP), 0n, () => out1(0n));
pteCase("P1 swapin-error PTE marker + read request: FAULT", () => mk.marker(SWP.MARKER_SWAPIN_ERROR), REQ_R, faultAt1(NEED_R));
fixed({ name: "P1 over-fault: the fault runs to the PMD chunk end", vmas: [[0, 2048, RW]],
  entries: (w) => [[0, 0, mk.page(w.frames[0], true)]], range: [0, 600], maskHi: 0xffffffff, inputs: [0n, REQ_R],
  expect: (w) => ({ ret: -ERRNO.EBUSY, last: B + 1, action: CTX.ACTION_FAULT, faultEnd: B + 512, need: NEED_R,
    words: [BigInt(w.frames[0]) | V | W, REQ_R, ...seq(598, () => 0n)] }) });
pteCase("P2 device-private writable, owner matches: pfn | VALID | WRITE", (w) => mk.devicePrivate(w.devFirst[0] + 3, true), REQ_W,
  (w) => out1(BigInt(w.devFirst[0] + 3) | V | W), { owner: 1 });
pteCase("P2 device-private read-only, owner matches, write request: VALID only, no fault", (w) => mk.devicePrivate(w.devFirst[0], false),
  REQ_W, (w) => out1(BigInt(w.devFirst[0]) | V), { owner: 1 });
pteCase("P3 swap entry, no request: 0", () => mk.swap(3, 0x777), 0n, () => out1(0n));
pteCase("P3 device-exclusive entry, no request: 0", (w) => mk.deviceExclusive(w.frames[0], true), 0n, () => out1(0n));
pteCase("P3 device-private of another owner, no request: 0", (w) => mk.devicePrivate(w.devFirst[1], true), 0n, () => out1(0n), { owner: 1 });
pteCase("P4 swap entry + read request: FAULT", () => mk.swap(3, 0x777), REQ_R, faultAt1(NEED_R));
pteCase("P4 swap entry + write request, read-only VMA: -EPERM", () => mk.swap(3, 0x777), REQ_W,
  () => ({ ret: -ERRNO.EPERM, last: B + 1, words: [0n, REQ_W, 0n, 0n] }), { vmas: [[0, 2048, RO]] });
pteCase("P5 device-private of another owner + read request: FAULT", (w) => mk.devicePrivate(w.devFirst[1], true), REQ_R,
  faultAt1(NEED_R), { owner: 1 });
pteCase("P5 device-private, NULL range owner + write request: FAULT(W)", (w) => mk.devicePrivate(w.devFirst[0], true), REQ_W,
  faultAt1(NEED_W), { owner: 0 });
pteCase("P6 device-exclusive + read request: FAULT", (w) => mk.deviceExclusive(w.frames[0], false), REQ_R, faultAt1(NEED_R), { owner: 1 });
pteCase("P7 migration entry + write request, read-only VMA: wait (no -EPERM)", (w) => mk.migration(w.frames[0], true), REQ_W,
  () => ({ ret: -ERRNO.EBUSY, last: B + 1, action: CTX.ACTION_WAIT_MIGRATION, words: [0n, REQ_W, 0n, 0n] }),
  { vmas: [[0, 2048, RO]] });
pteCase("P8 hwpoison, no request: 0", (w) => mk.hwpoison(w.frames[0]), 0n, () => out1(0n));
pteCase("P8 hwpoison + read request: -EFAULT", (w) => mk.hwpoison(w.frames[0]), REQ_R,
  () => ({ ret: -ERRNO.EFAULT, words: [0n, REQ_R, 0n, 0n] }));
pteCase("P9 protnone PTE: raw pfn, no flags (QUIRK)", (w) => mk.protnone(w.frames[2], true), 0n, (w) => out1(BigInt(w.frames[2])));
pteCase("P9 protnone PTE + read request: FAULT", (w) => mk.protnone(w.frames[2], false), REQ_R, faultAt1(NEED_R));
pteCase("P10 writable page + write request: pfn | VALID | WRITE", (w) => mk.page(w.frames[1], true), REQ_W,
  (w) => out1(BigInt(w.frames[1]) | V | W));
pteCase("P11 read-only page + read request: pfn | VALID", (w) => mk.page(w.frames[1], false), REQ_R, (w) => out1(BigInt(w.frames[1]) | V));
pteCase("P11 read-only page + write request: FAULT(W)", (w) => mk.page(w.frames[1], false), REQ_W, faultAt1(NEED_W));
pteCase("P12 zero page: ZERO_PFN | VALID", () => mk.zero(PHYS.ZERO_PFN), REQ_R, () => out1(BigInt(PHYS.ZERO_PFN) | V));
pteCase("P12 zero page + write request: FAULT(W)", () => mk.zero(PHYS.ZERO_PFN), REQ_W, faultAt1(NEED_W));
pteCase("P12 zero page + write request, read-only VMA: -EPERM", () => mk.zero(PHYS.ZERO_PFN), REQ_W,
  () => ({ ret: -ERRNO.EPERM, last: B + 1, words: [0n, REQ_W, 0n, 0n] }), { vmas: [[0, 2048, RO]] });
pteCase("P13 devmap PTE without struct page (SEED): treated as normal", (w) => mk.page(w.highest + 7, false, 0, PTE_HI.DEVMAP),
  REQ_R, (w) => out1(BigInt(w.highest + 7) | V));
pteCase("P13 read-only devmap PTE + write request: FAULT(W)", (w) => mk.page(w.highest + 7, false, 0, PTE_HI.DEVMAP),
  REQ_W, faultAt1(NEED_W));
pteCase("P14 special PTE: ERROR", (w) => mk.page(w.frames[0], true, PTE_LO.SPECIAL), 0n, () => out1(E));
pteCase("P14 pfn above highest_memmap_pfn: ERROR", (w) => mk.page(w.highest + 1, true), 0n, () => out1(E));
pteCase("P14 read-only special PTE + read request: -EFAULT", (w) => mk.page(w.frames[0], false, PTE_LO.SPECIAL), REQ_R,
  () => ({ ret: -ERRNO.EFAULT, words: [0n, REQ_R, 0n, 0n] }));
pteCase("P14 read-only special PTE + write request: FAULT(W) first", (w) => mk.page(w.frames[0], false, PTE_LO.SPECIAL), REQ_W,
  faultAt1(NEED_W));
pteCase("P14 writable special PTE + write request: -EFAULT", (w) => mk.page(w.frames[0], true, PTE_LO.SPECIAL), REQ_W,
  () => ({ ret: -ERRNO.EFAULT, words: [0n, REQ_W, 0n, 0n] }));
pteCase("P LATE: sticky bits survive 0, ERROR and pfn outputs", (w) => mk.page(w.frames[0], true, PTE_LO.SPECIAL), 0n,
  () => ({ ret: 0, words: [DMA, E | DMA, HMM_PFN_P2PDMA, 0n] }),
  // page 1 asks REQ_WRITE without REQ_FAULT: ignored, so the special PTE gives ERROR, not -EFAULT
  { profile: PROFILE_LATE_LAYOUT, inputs: [DMA | 0xffn, DMA | HMM_PFN_WRITE, HMM_PFN_P2PDMA | 0x5n, 0xabcn] });

// ---- H: hugetlb -------------------------------------------------------------------------------
const HUGE2M = RW | VM.HUGETLB;
/** Writes entry `e` into the PMD slot of page 0 (creating the PUD and PMD tables). */
const hugePmd = (f: (w: World) => Entry) => (w: World): [number, number, Entry][] => [[1, 0, f(w)]];
fixed({ name: "H1 hugetlb, no PMD table: a hole (0, no order)", vmas: [[0, 1024, HUGE2M, PMD_SHIFT]], range: [3, 7],
  expect: () => ({ ret: 0, words: seq(4, () => 0n) }) });
fixed({ name: "H2 hugetlb PTE none: (0 + idx) | order, no VALID (QUIRK)", vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd(() => NONE), range: [3, 7], expect: () => ({ ret: 0, words: seq(4, (i) => BigInt(3 + i) | ORD(PMD_ORDER)) }) });
fixed({ name: "H2 hugetlb PTE none, read request on the first page: FAULT(a, e, R)", vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd(() => NONE), range: [3, 7], maskHi: 0xffffffff, inputs: [REQ_R],
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 3, action: CTX.ACTION_FAULT, faultEnd: B + 7, need: NEED_R, words: [REQ_R, 0n, 0n, 0n] }) });
fixed({ name: "H2 hugetlb PTE none, request on a later page only: ignored (first page decides, QUIRK)",
  vmas: [[0, 1024, HUGE2M, PMD_SHIFT]], entries: hugePmd(() => NONE), range: [3, 7], maskHi: 0xffffffff, inputs: [0n, REQ_W],
  expect: () => ({ ret: 0, words: seq(4, (i) => BigInt(3 + i) | ORD(PMD_ORDER)) }) });
fixed({ name: "H3 hugetlb writable: pfn+idx | VALID | WRITE | order 9", vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd((w) => mk.huge(w.thp, true)), range: [3, 7], defaultHi: REQ_W,
  expect: (w) => ({ ret: 0, words: seq(4, (i) => BigInt(w.thp + 3 + i) | V | W | ORD(PMD_ORDER)) }) });
fixed({ name: "H3 hugetlb 1 GiB writable: order 18", vmas: [[0, PUD_PAGES, HUGE2M, PUD_SHIFT]],
  entries: () => [[2, 0, mk.huge(PUD_PFN, true)]], range: [1000, 1003],
  expect: () => ({ ret: 0, words: seq(3, (i) => BigInt(PUD_PFN + 1000 + i) | V | W | ORD(PUD_ORDER)) }) });
fixed({ name: "H4 hugetlb read-only: VALID | order 9", vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd((w) => mk.huge(w.thp, false)), range: [3, 7], defaultHi: REQ_R,
  expect: (w) => ({ ret: 0, words: seq(4, (i) => BigInt(w.thp + 3 + i) | V | ORD(PMD_ORDER)) }) });
fixed({ name: "H4 hugetlb read-only + write request: FAULT(a, e, W)", vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd((w) => mk.huge(w.thp, false)), range: [3, 7], defaultHi: REQ_W,
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 3, action: CTX.ACTION_FAULT, faultEnd: B + 7, need: NEED_W }) });
fixed({ name: "H4 hugetlb read-only + write request, VMA without VM_WRITE: -EPERM", vmas: [[0, 1024, RO | VM.HUGETLB, PMD_SHIFT]],
  entries: hugePmd((w) => mk.huge(w.thp, false)), range: [3, 7], defaultHi: REQ_W,
  expect: () => ({ ret: -ERRNO.EPERM, last: B + 3 }) });
fixed({ name: "H5 hugetlb migration entry: (swap-derived garbage + idx) | order", vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd((w) => mk.migration(w.thp, true)), range: [3, 7],
  expect: (w) => ({ ret: 0, words: seq(4, (i) => (ptePfnOf(mk.migration(w.thp, true)) + BigInt(3 + i)) | ORD(PMD_ORDER)) }) });
fixed({ name: "H5 hugetlb hwpoison + read request: FAULT (hugetlb_fault decides)", vmas: [[0, 1024, HUGE2M, PMD_SHIFT]],
  entries: hugePmd((w) => mk.hwpoison(w.thp)), range: [3, 7], defaultHi: REQ_R,
  expect: () => ({ ret: -ERRNO.EBUSY, last: B + 3, action: CTX.ACTION_FAULT, faultEnd: B + 7, need: NEED_R }) });

// ---- other walk_page_range() rules ------------------------------------------------------------
fixed({ name: "start >= end: -EINVAL", vmas: [[0, 8, RW]], range: [4, 4], expect: () => ({ ret: -ERRNO.EINVAL }) });
fixed({ name: "5-level: a P4D hole, then a populated P4D", levels: 5, vmas: [[-4, 4, RW]],
  entries: (w) => [[0, 2, mk.page(w.frames[2], false)]], range: [-2, 4],
  expect: (w) => ({ ret: 0, words: [0n, 0n, 0n, 0n, BigInt(w.frames[2]) | V, 0n] }) });

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
  const pfns = allocPfns(w, inputs.map((v) => [Number(v & 0xffffffffn), Number(v >> 32n)]));
  const o = walkOnce(w, which, {
    pfns, startPage: B + s, lastPage: B + (f.last ?? s), endPage: B + en,
    defaultHi: hiOf(f.defaultHi ?? 0n), maskHi: f.maskHi ?? 0, ownerId: e.ownerId(OWNERS[f.owner ?? 0]), profile: f.profile ?? 0,
  });
  return { o, w, words: readWords(w, pfns, n).map(wordBig), inputs };
}

describe("fixed cases from the decision table (hmm-semantics.md §3)", () => {
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
          if (x.faultEnd !== undefined) expect(o.faultEnd - B, `${where}: CTX_FAULT_END (offset from B)`).toBe(x.faultEnd - B);
          if (x.need !== undefined) expect(o.need, `${where}: CTX_NEED`).toBe(x.need);
          const want = x.words ?? inputs;
          expect(words.map((v) => hex(v, 16)), `${where}: hmm_pfns`).toEqual(want.map((v) => hex(v, 16)));
        }
      }
    });
  }
});
