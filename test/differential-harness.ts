// The harness of the differential test of the two walkers of one hmm_range_fault() walk pass:
// assembly/walk.ts `hmmWalk` (WebAssembly) and src/hmm/reference-walk.ts (the TypeScript oracle).
// Shared by test/differential.test.ts (short runs in CI, two fresh engines per case) and
// fuzz/walk.ts (long runs: one pair of engines reused for many cases, see LockstepPair).
//
// It holds the random case generators (caseArb, denseCaseArb), the code that builds a case in an
// engine, the comparison of the two walkers' outcomes and the walker-independent invariants.
// It must not import vitest (fuzz/walk.ts runs outside of it).
import * as fc from "fast-check";
import { Engine } from "../src/engine/engine.js";
import {
  CTX,
  ERRNO,
  HMM_PFN_HI,
  MEM,
  PROFILE_LATE_LAYOUT,
  PAGE_SHIFT,
  PHYS,
  PMD_ORDER,
  PMD_SHIFT,
  PTE,
  PTE_HI,
  PTE_LO,
  PUD_SHIFT,
  SWP,
  VM,
} from "../src/engine/layout.js";
import { type Entry, NONE, mk, mkPfnEntry } from "../src/engine/pte.js";
import { type HmmWalkFn, ReferenceTrap, createReferenceWalker } from "../src/hmm/reference-walk.js";

// ================================================================================================
// Shared harness
// ================================================================================================

export type Build = "release" | "debug" | "simd";
export type WalkerName = "wasm" | "reference";

export const PMD_PAGES = 2 ** (PMD_SHIFT - PAGE_SHIFT);
export const PUD_PAGES = 2 ** (PUD_SHIFT - PAGE_SHIFT);
export const LEVEL_NAMES = ["PTE", "PMD", "PUD", "P4D", "PGD5"];
/** Pages mapped by one entry at `level` (0 = PTE). */
export const pagesPerEntry = (level: number): number => 2 ** ((PMD_SHIFT - PAGE_SHIFT) * level);
/** Device pfns per registered pgmap. */
export const DEV_PAGES = 16;
/** A table pointer beyond linear memory: walking through it traps in both walkers. */
export const OOB_TABLE_PFN = 0xffff0;

/** Range owners: index 0 is NULL; A and B own pgmaps 0 and 1 (when registered), C owns none. */
export const OWNERS: readonly (object | null)[] = [null, { owner: "A" }, { owner: "B" }, { owner: "C" }];
export const OWNER_NAMES = ["NULL", "A", "B", "C"];

/** One engine with an address space and the frames the cases point at. */
export interface World {
  e: Engine;
  mm: number;
  levels: number;
  frames: number[]; // three order-0 RAM frames
  thp: number; // an order-9 RAM folio (512-aligned)
  devFirst: number[]; // first device pfn of each registered pgmap
  zeroBlockPfn: number; // a zeroed 4 KiB block of linear memory, used as a shared "table"
  highest: number; // highest_memmap_pfn once everything is allocated
  /**
   * Set by a LockstepPair: applyCase looks entries up through it (it records the page tables the
   * lookups allocate) and tells it every slot it writes. The fresh engines of a vitest case need none.
   */
  ledger?: TableLedger;
}

/** What a LockstepPair learns about a case while applyCase builds it (see LockstepPair). */
export interface TableLedger {
  /** entryPtr(mm, page, level, alloc = 1) of the world's engine. */
  entryPtr(page: number, level: number): number;
  /** applyCase is about to write the entry at `ptr`. */
  beforeWrite(ptr: number): void;
}

export function buildWorld(build: Build, levels: number, pgmaps: number): World {
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
export const SENTINEL_LO = 0x5e5e5e5e;
export const SENTINEL_HI = 0xa5a5a5a5;
export function allocPfns(w: World, words: number[][]): number {
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
export function readWords(w: World, pfns: number, n: number): number[][] {
  const u32 = w.e.mem().u32;
  const out: number[][] = [];
  for (let i = 0; i < n; i++) out.push([u32[(pfns >>> 2) + 2 * i], u32[(pfns >>> 2) + 2 * i + 1]]);
  return out;
}
export function sentinelsIntact(w: World, pfns: number, n: number): boolean {
  const u32 = w.e.mem().u32;
  const ok = (ptr: number) => u32[ptr >>> 2] === SENTINEL_LO && u32[(ptr >>> 2) + 1] === SENTINEL_HI;
  return ok(pfns - 8) && ok(pfns + n * 8);
}

export interface WalkArgs {
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
export interface Outcome {
  trap: boolean;
  ret: number;
  last: number;
  action: number;
  faultEnd: number;
  need: number;
  vmaIndex: number;
  pagesWalked: number;
}

export const referenceWalkers = new WeakMap<Engine, HmmWalkFn>();
export function walkerOf(w: World, which: WalkerName): HmmWalkFn {
  if (which === "wasm") return w.e.raw.hmmWalk;
  let f = referenceWalkers.get(w.e);
  if (!f) {
    f = createReferenceWalker(w.e);
    referenceWalkers.set(w.e, f);
  }
  return f;
}

export function walkOnce(w: World, which: WalkerName, a: WalkArgs): Outcome {
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
    trap,
    ret,
    last: m.f64[(ctx + CTX.LAST) >>> 3],
    action: m.i32[(ctx + CTX.ACTION) >>> 2],
    faultEnd: m.f64[(ctx + CTX.FAULT_END) >>> 3],
    need: m.i32[(ctx + CTX.NEED) >>> 2],
    vmaIndex: m.i32[(ctx + CTX.VMA_INDEX) >>> 2],
    pagesWalked: m.i32[(ctx + CTX.PAGES_WALKED) >>> 2],
  };
}

export const hex = (v: number | bigint, digits = 8): string => "0x" + v.toString(16).padStart(digits, "0");
export const word = ([lo, hi]: number[]): string =>
  "0x" + hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
export const wordBig = ([lo, hi]: number[]): bigint => (BigInt(hi) << 32n) | BigInt(lo);
export const ERRNAME = new Map<number, string>(Object.entries(ERRNO).map(([k, v]) => [-v, `-${k}`]));
export const retName = (r: number): string => ERRNAME.get(r) ?? String(r);

/**
 * Address of the first byte where the linear memories of two engines differ, or -1. Compared: the
 * static data and header (walk context, pgmap table) below META_DIR_BASE, and the heap up to its
 * top (page tables, mm, VMA table, hmm_pfns arrays, frame metadata chunks). The frame metadata
 * directory and the never-used memory above the heap are skipped: no walk writes there, and
 * touching megabytes of fresh memory per case costs more than the walks.
 */
export function firstMemoryDifference(a: Engine, b: Engine): number {
  if (a.raw.memory.buffer.byteLength !== b.raw.memory.buffer.byteLength || a.raw.heapBytes() !== b.raw.heapBytes())
    return 0;
  for (const [from, to] of [
    [0, MEM.META_DIR_BASE],
    [MEM.HEAP_BASE, a.raw.heapBytes()],
  ]) {
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
export type PfnSel =
  | { k: "frame"; i: number } // a real RAM frame (vm_normal_page() finds it)
  | { k: "thp"; i: number } // a page of the order-9 folio
  | { k: "zero" } // the zero page
  | { k: "hugezero" } // the huge zero folio
  | { k: "dev"; j: number; i: number } // a device-private pfn of pgmap j
  | { k: "above"; x: number } // above highest_memmap_pfn: no struct page
  | { k: "raw"; v: number }; // anything

export const PTE_KINDS = [
  "none",
  "page",
  "page",
  "page",
  "special",
  "zero",
  "devmap",
  "protnone",
  "swap",
  "migR",
  "migRX",
  "migW",
  "devR",
  "devR",
  "devW",
  "devW",
  "exclR",
  "exclW",
  "hwpoison",
  "marker",
  "garbage",
] as const;
export const PMD_KINDS = [
  "none",
  "none",
  "huge",
  "huge",
  "huge",
  "hugeDevmap",
  "hugeProtnone",
  "hugeZero",
  "pseOnly",
  "migR",
  "migW",
  "devR",
  "devW",
  "swap",
  "hwpoison",
  "bad",
  "garbage",
  "alias",
  "page",
] as const;
export const PUD_KINDS = [
  "none",
  "none",
  "huge",
  "huge",
  "hugeDevmap",
  "hugeDevmap",
  "hugeProtnone",
  "devmapNP",
  "migR",
  "hwpoison",
  "swap",
  "garbage",
  "alias",
  "bad",
] as const;
export const UPPER_KINDS = ["none", "bad", "garbage", "alias"] as const;
export type Kind = (typeof PTE_KINDS)[number] | (typeof PMD_KINDS)[number] | (typeof PUD_KINDS)[number];

export interface EntrySpec {
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
export interface VmaSpec {
  gap: number;
  len: number;
  flags: number;
  huge: number; // hugetlb page shift
  align: boolean;
}
export interface InputWord {
  lo: number;
  hi: number;
}
export interface Case {
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
export const WINDOW = 1024;
export const VMA_LEAD = 64;
export const ENTRY_LEAD = 600;
export const MAX_LEN = 1100;
/** Bases: boundaries of every paging level (5-level ones only for 5-level tables). */
export const BASES_4 = [3 * 2 ** 27, 2 ** 27 + 5 * PUD_PAGES, 2 ** 20 + 7 * PMD_PAGES, 2 ** 35 - PUD_PAGES];
export const BASES_5 = [...BASES_4, 3 * 2 ** 36, 2 ** 44 - 2 ** 27];

export const REQ = HMM_PFN_HI.VALID;
export const REQW = (HMM_PFN_HI.VALID | HMM_PFN_HI.WRITE) >>> 0;
export const RWONLY = HMM_PFN_HI.WRITE;
export const STICKY = [HMM_PFN_HI.DMA_MAPPED, HMM_PFN_HI.P2PDMA, HMM_PFN_HI.P2PDMA_BUS, HMM_PFN_HI.INOUT_LATE];

export const u32Arb = fc.integer({ min: 0, max: 0xffffffff });
/** true with probability p% (shrinks towards true). */
export const likely = (p: number) => fc.integer({ min: 0, max: 99 }).map((v) => v < p);
/** true with probability p% (shrinks towards false). */
export const rarely = (p: number) => fc.integer({ min: 0, max: 99 }).map((v) => v >= 100 - p);

export const pfnSelArb: fc.Arbitrary<PfnSel> = fc.oneof(
  { weight: 4, arbitrary: fc.nat(2).map((i): PfnSel => ({ k: "frame", i })) },
  { weight: 2, arbitrary: fc.oneof(fc.constant(0), fc.nat(511)).map((i): PfnSel => ({ k: "thp", i })) },
  { weight: 1, arbitrary: fc.constant<PfnSel>({ k: "zero" }) },
  { weight: 1, arbitrary: fc.constant<PfnSel>({ k: "hugezero" }) },
  {
    weight: 3,
    arbitrary: fc.record({ j: fc.nat(1), i: fc.nat(DEV_PAGES - 1) }).map((r): PfnSel => ({ k: "dev", ...r })),
  },
  { weight: 2, arbitrary: fc.nat(1000).map((x): PfnSel => ({ k: "above", x })) },
  { weight: 1, arbitrary: fc.nat(2 ** 40 - 1).map((v): PfnSel => ({ k: "raw", v })) },
);

export function entryArb(level: number, kinds: readonly Kind[], maxCount: number): fc.Arbitrary<EntrySpec> {
  return fc.record({
    level: fc.constant(level),
    at: fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: -64, max: 256 }) },
      { weight: 1, arbitrary: fc.integer({ min: -ENTRY_LEAD, max: MAX_LEN + 99 }) },
    ),
    count:
      maxCount <= 1
        ? fc.constant(1)
        : maxCount <= 8
          ? fc.integer({ min: 1, max: maxCount })
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
export const entriesArb = fc.array(
  fc.oneof(
    { weight: 12, arbitrary: entryArb(0, PTE_KINDS, 256) },
    { weight: 4, arbitrary: entryArb(1, PMD_KINDS, 3) },
    { weight: 2, arbitrary: entryArb(2, PUD_KINDS, 2) },
    { weight: 1, arbitrary: entryArb(3, UPPER_KINDS, 1) },
    { weight: 1, arbitrary: entryArb(4, UPPER_KINDS, 1) },
  ),
  { minLength: 1, maxLength: 32, size: "medium" },
);

export const vmaFlagsArb = fc
  .record({
    read: likely(95),
    write: likely(65),
    io: rarely(4),
    pfnmap: rarely(4),
    mixed: rarely(15),
    hugetlb: rarely(25),
  })
  .map(
    (f) =>
      ((f.read ? VM.READ : 0) |
        (f.write ? VM.WRITE : 0) |
        (f.io ? VM.IO : 0) |
        (f.pfnmap ? VM.PFNMAP : 0) |
        (f.mixed ? VM.MIXEDMAP : 0) |
        (f.hugetlb ? VM.HUGETLB : 0)) >>>
      0,
  );
export const vmaArb: fc.Arbitrary<VmaSpec> = fc.record({
  gap: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 }) }),
  len: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 2 * MAX_LEN })),
  flags: vmaFlagsArb,
  huge: fc.constantFrom(PMD_SHIFT, PUD_SHIFT),
  align: fc.boolean(),
});

export const reqHiArb = fc.constantFrom(0, REQ, REQW, RWONLY);
export const inputHiArb = fc.oneof(
  { weight: 6, arbitrary: reqHiArb },
  { weight: 2, arbitrary: fc.tuple(reqHiArb, fc.constantFrom(...STICKY)).map(([a, b]) => (a | b) >>> 0) },
  { weight: 1, arbitrary: u32Arb },
);
export const inputWordArb: fc.Arbitrary<InputWord> = fc.record({
  lo: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: u32Arb }),
  hi: inputHiArb,
});
export const defaultHiArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constantFrom(REQ, REQW, RWONLY) },
  { weight: 1, arbitrary: fc.tuple(reqHiArb, u32Arb).map(([a, b]) => (a | (b & ~REQW)) >>> 0) },
);
export const maskHiArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0xffffffff) },
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constantFrom(REQ, REQW) },
  { weight: 1, arbitrary: u32Arb },
);

export const caseArb: fc.Arbitrary<Case> = fc
  .record({
    levels: fc.constantFrom(4, 5),
    base: fc.nat(BASES_5.length - 1),
    pgmaps: fc.oneof({ weight: 4, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.constantFrom(1, 0) }),
    vmas: fc.oneof(
      { weight: 1, arbitrary: fc.constant<VmaSpec[]>([]) },
      { weight: 12, arbitrary: fc.array(vmaArb, { minLength: 1, maxLength: 4 }) },
    ),
    entries: entriesArb,
    start: fc.integer({ min: -WINDOW, max: WINDOW - 1 }),
    len: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: MAX_LEN }) },
      { weight: 6, arbitrary: fc.integer({ min: 1, max: 300 }) },
      { weight: 1, arbitrary: fc.integer({ min: -3, max: 0 }) },
    ),
    lastOff: fc.oneof(fc.constant(0), fc.nat(MAX_LEN)),
    again: fc.option(fc.record({ last: fc.nat(MAX_LEN), span: fc.nat(MAX_LEN) }), { freq: 4 }),
    defaultHi: defaultHiArb,
    maskHi: maskHiArb,
    owner: fc.nat(3),
    profile: fc.constantFrom(0, PROFILE_LATE_LAYOUT),
    fill: fc.oneof({ weight: 6, arbitrary: fc.constant({ lo: 0, hi: 0 }) }, { weight: 3, arbitrary: inputWordArb }),
    inputs: fc.array(
      fc.record({
        at: fc.nat(MAX_LEN),
        count: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 256 })),
        word: inputWordArb,
      }),
      { maxLength: 8 },
    ),
  })
  .map((c) => ({
    ...c,
    base: (c.levels === 5 ? BASES_5 : BASES_4)[c.base % (c.levels === 5 ? BASES_5 : BASES_4).length],
  }));

/**
 * Dense PTE cases: one stretch of consecutive PTEs, every page with its own entry kind and request,
 * inside one VMA. A walk stops at its first fault, so in the general cases a requested page is
 * nearly always a hole or an empty PTE; here every row of §3.5 meets every kind of request.
 */
export const densePageArb = fc.record({
  kind: fc.constantFrom(...PTE_KINDS),
  pfn: pfnSelArb,
  write: fc.boolean(),
  bits: u32Arb,
  bitsHi: u32Arb,
  req: fc.oneof(
    { weight: 3, arbitrary: fc.constant<InputWord>({ lo: 0, hi: 0 }) },
    { weight: 2, arbitrary: inputWordArb },
  ),
});
export const denseCaseArb: fc.Arbitrary<Case> = fc
  .record({
    levels: fc.constantFrom(4, 5),
    base: fc.nat(BASES_4.length - 1),
    start: fc.oneof(fc.integer({ min: -8, max: 8 }), fc.integer({ min: 0, max: 511 })), // offset from a PMD boundary
    pages: fc.array(densePageArb, { minLength: 1, maxLength: 48 }),
    skip: fc.nat(47), // lastOff
    vmaFlags: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(VM.READ | VM.WRITE, VM.READ) },
      { weight: 1, arbitrary: vmaFlagsArb },
    ),
    defaultHi: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: defaultHiArb }),
    maskHi: fc.oneof({ weight: 4, arbitrary: fc.constant(0xffffffff) }, { weight: 1, arbitrary: maskHiArb }),
    owner: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.nat(3) }),
    profile: fc.constantFrom(0, PROFILE_LATE_LAYOUT),
  })
  .map(
    (d): Case => ({
      levels: d.levels,
      base: BASES_4[d.base],
      pgmaps: 2,
      vmas: [{ gap: VMA_LEAD - 16, len: d.pages.length + 32, flags: d.vmaFlags, huge: PMD_SHIFT, align: false }],
      entries: d.pages.map((pg, i) => ({
        level: 0,
        at: i,
        count: 1,
        kind: pg.kind,
        more: [],
        pfn: pg.pfn,
        write: pg.write,
        oob: false,
        bits: pg.bits,
        bitsHi: pg.bitsHi,
      })),
      start: d.start,
      len: d.pages.length,
      lastOff: d.skip % 4 === 0 ? d.skip : 0,
      again: null,
      defaultHi: d.defaultHi,
      maskHi: d.maskHi,
      owner: d.owner,
      profile: d.profile,
      fill: { lo: 0, hi: 0 },
      inputs: d.pages.map((pg, i) => ({ at: i, count: 1, word: pg.req })),
    }),
  );

// ---- applying a case to an engine -------------------------------------------------------------

export function resolvePfn(sel: PfnSel, w: World): number {
  switch (sel.k) {
    case "frame":
      return w.frames[sel.i % w.frames.length];
    case "thp":
      return w.thp + sel.i;
    case "zero":
      return PHYS.ZERO_PFN;
    case "hugezero":
      return PHYS.HUGE_ZERO_PFN;
    case "dev":
      return w.devFirst.length ? w.devFirst[sel.j % w.devFirst.length] + sel.i : PHYS.DEVICE_PFN_BASE + sel.i;
    case "above":
      return w.highest + 1 + sel.x;
    case "raw":
      return sel.v;
  }
}

export const TABLE_LO = Number(PTE.TABLE_FLAGS & 0xffffffffn);
export const PFN_MASK_LO = Number(PTE.PFN_MASK & 0xffffffffn) >>> 0;
export const PFN_MASK_HI = Number(PTE.PFN_MASK >> 32n) >>> 0;
/** Ways to make a table entry "bad": [bits removed, bits added] of the low half; the last adds NX. */
export const BAD_VARIANTS: [number, number][] = [
  [PTE_LO.RW, 0],
  [PTE_LO.DIRTY, 0],
  [0, PTE_LO.PROTNONE],
  [0, PTE_LO.SPECIAL],
  [0, PTE_LO.UFFD_WP],
  [0, PTE_LO.SOFT_DIRTY],
];

export function withTablePfn(e: Entry, pfn: number): Entry {
  return {
    lo: ((e.lo & ~PFN_MASK_LO) | ((pfn % 2 ** 20) * 4096)) >>> 0,
    hi: ((e.hi & ~PFN_MASK_HI) | Math.floor(pfn / 2 ** 20)) >>> 0,
  };
}

/** The entry a spec describes (its i-th copy). */
export function makeEntry(s: EntrySpec, i: number, w: World): Entry {
  const pfn = resolvePfn(s.pfn, w) + i;
  const wr = s.write;
  const kind = i === 0 || s.more.length === 0 ? s.kind : [s.kind, ...s.more][i % (1 + s.more.length)];
  let e: Entry;
  switch (kind) {
    case "none":
      e = NONE;
      break;
    case "page":
      e = mk.page(pfn, wr);
      break;
    case "special":
      e = mk.page(pfn, wr, PTE_LO.SPECIAL);
      break;
    case "zero":
      e = mk.zero(PHYS.ZERO_PFN);
      break;
    case "devmap":
      e = mk.page(pfn, wr, 0, PTE_HI.DEVMAP);
      break;
    case "protnone":
      e = mk.protnone(pfn, wr);
      break;
    case "swap":
      e = mk.swap(s.bits % SWP.MAX_SWAPFILES, pfn, wr);
      break;
    case "migR":
      e = mk.migration(pfn, false);
      break;
    case "migRX":
      e = mk.migration(pfn, false, true);
      break;
    case "migW":
      e = mk.migration(pfn, true);
      break;
    case "devR":
      e = mk.devicePrivate(pfn, false);
      break;
    case "devW":
      e = mk.devicePrivate(pfn, true);
      break;
    case "exclR":
      e = mk.deviceExclusive(pfn, false);
      break;
    case "exclW":
      e = mk.deviceExclusive(pfn, true);
      break;
    case "hwpoison":
      e = mk.hwpoison(pfn);
      break;
    case "marker":
      e = mk.marker(s.bits % 4);
      break;
    case "huge":
      e = mk.huge(pfn, wr);
      break;
    case "hugeDevmap":
      e = mk.huge(pfn, wr, 0, PTE_HI.DEVMAP);
      break;
    case "hugeProtnone":
      e = mk.protnone(pfn, wr, PTE_LO.PSE);
      break;
    case "hugeZero":
      e = mk.huge(PHYS.HUGE_ZERO_PFN, false);
      break;
    case "pseOnly":
      e = mkPfnEntry(pfn, PTE_LO.PSE | PTE_LO.USER | (wr ? PTE_LO.RW : 0));
      break;
    case "devmapNP":
      e = mkPfnEntry(pfn, PTE_LO.USER | (s.bits & 1 ? PTE_LO.PSE : 0), PTE_HI.DEVMAP);
      break;
    case "bad": {
      const k = s.bits % (BAD_VARIANTS.length + 1);
      e =
        k < BAD_VARIANTS.length
          ? mkPfnEntry(pfn, (TABLE_LO & ~BAD_VARIANTS[k][0]) | BAD_VARIANTS[k][1])
          : mkPfnEntry(pfn, TABLE_LO, PTE_HI.NX);
      break;
    }
    case "garbage":
      e = { lo: s.bits >>> 0, hi: s.bitsHi >>> 0 };
      break;
    case "alias":
      e = mkPfnEntry(pfn, TABLE_LO);
      break;
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
export function caseVmas(c: Case): [number, number, number, number][] {
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
export const entryPage = (c: Case, s: EntrySpec): number => c.base + c.start + s.at;

export function applyCase(c: Case, w: World): void {
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
      if (s.level === 0 && i > 0 && page % PMD_PAGES !== 0) {
        // the next PTE of the same table (writing PTEs never changes the tables); when the last
        // lookup found no PTE table (a leaf above, or a trap), another lookup in the same PMD would
        // find none either (and trapping is slow)
        if (ptr === 0) continue;
        ptr += 8;
      } else {
        try {
          ptr = (w.ledger ? w.ledger.entryPtr(page, s.level) : e.raw.entryPtr(mm, page, s.level, 1)) >>> 0;
        } catch (err) {
          if (!(err instanceof WebAssembly.RuntimeError)) throw err;
          ptr = 0; // the path goes through a table pointer beyond memory
        }
      }
      if (ptr === 0) continue; // an upper entry is a leaf (or the path traps)
      w.ledger?.beforeWrite(ptr);
      const entry = makeEntry(s, i, w);
      const u32 = e.mem().u32;
      u32[ptr >>> 2] = entry.lo;
      u32[(ptr >>> 2) + 1] = entry.hi;
    }
  }
}

export function caseInputs(c: Case, n: number): number[][] {
  const words = Array.from({ length: n }, () => [c.fill.lo, c.fill.hi]);
  for (const { at, count, word: iw } of c.inputs) {
    for (let i = at % n; i < Math.min((at % n) + count, n); i++) words[i] = [iw.lo, iw.hi];
  }
  return words;
}

// ---- printing ---------------------------------------------------------------------------------

export const off = (x: number): string => (x >= 0 ? `+${x}` : `${x}`);
export function hiName(hi: number): string {
  const names: string[] = [];
  let rest = hi >>> 0;
  for (const [n, b] of [
    ["REQ_FAULT", REQ],
    ["REQ_WRITE", RWONLY],
    ["DMA", HMM_PFN_HI.DMA_MAPPED],
    ["P2P", HMM_PFN_HI.P2PDMA],
    ["BUS", HMM_PFN_HI.P2PDMA_BUS],
  ] as const) {
    if ((rest & b) !== 0) {
      names.push(n);
      rest = (rest & ~b) >>> 0;
    }
  }
  if (rest !== 0) names.push(hex(rest));
  return names.length ? names.join("|") : "0";
}
export const inputName = (iw: InputWord): string => (iw.lo ? `{hi:${hiName(iw.hi)}, lo:${hex(iw.lo)}}` : hiName(iw.hi));
export function vmFlagsName(f: number): string {
  const n = (["READ", "WRITE", "IO", "PFNMAP", "MIXEDMAP", "HUGETLB"] as const).filter((k) => (f & VM[k]) !== 0);
  return n.length ? n.join("|") : "NONE";
}
export function pfnName(s: PfnSel): string {
  switch (s.k) {
    case "frame":
      return `frame${s.i}`;
    case "thp":
      return `thp+${s.i}`;
    case "zero":
      return "ZERO_PFN";
    case "hugezero":
      return "HUGE_ZERO_PFN";
    case "dev":
      return `dev${s.j}+${s.i}`;
    case "above":
      return `highest+${1 + s.x}`;
    case "raw":
      return hex(s.v, 1);
  }
}
export function entryName(c: Case, s: EntrySpec): string {
  const kindUsesPfn = !["none", "zero", "hugeZero", "garbage", "marker"].includes(s.kind);
  let t =
    `${LEVEL_NAMES[s.level]}@${off(entryPage(c, s) - c.base)}${s.count > 1 ? ` x${s.count}` : ""} ` +
    (s.more.length && s.count > 1 ? `cycle(${[s.kind, ...s.more].join(",")})` : s.kind);
  if (
    ["page", "special", "devmap", "protnone", "swap", "huge", "hugeDevmap", "hugeProtnone", "pseOnly"].includes(s.kind)
  ) {
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
export function describeCase(c: Case): string {
  const lines = [
    `levels=${c.levels} base=${hex(c.base, 1)} pgmaps=${c.pgmaps} owner=${OWNER_NAMES[c.owner]} ` +
      `profile=${c.profile ? "LATE" : "SEED"} default=${hiName(c.defaultHi)} mask=${c.maskHi === 0xffffffff ? "ALL" : hiName(c.maskHi)}`,
  ];
  for (const [s, e, f, huge] of caseVmas(c)) {
    lines.push(
      `  vma [${off(s - c.base)}, ${off(e - c.base)}) ${vmFlagsName(f)}${f & VM.HUGETLB ? ` hugeShift=${huge}` : ""}`,
    );
  }
  for (const s of c.entries) lines.push(`  ${entryName(c, s)}`);
  const [p1, p2] = casePasses(c);
  lines.push(
    `  range [${off(c.start)}, ${off(c.start + c.len)}) last=${off(p1.last - c.base)}` +
      (p2 ? `; again last=${off(p2.last - c.base)} end=${off(p2.end - c.base)}` : ""),
  );
  const n = Math.max(c.len, 1);
  lines.push(
    `  inputs: fill=${inputName(c.fill)}` +
      c.inputs
        .map(
          ({ at, count, word: iw }) =>
            ` [${at % n}${count > 1 ? `..${Math.min((at % n) + count, n) - 1}` : ""}]=${inputName(iw)}`,
        )
        .join(""),
  );
  return lines.join("\n");
}
export const printable = (c: Case): Case =>
  Object.assign({ ...c }, { [fc.toStringMethod]: () => "\n" + describeCase(c) });

// ---- the property -------------------------------------------------------------------------------

export function compareOutcomes(c: Case, pass: string, a: Outcome, b: Outcome, wa: number[][], wb: number[][]): void {
  const problems: string[] = [];
  for (const k of ["trap", "ret", "last", "action", "faultEnd", "need", "vmaIndex", "pagesWalked"] as const) {
    if (a[k] !== b[k]) problems.push(`${k}: wasm=${a[k]} reference=${b[k]}`);
  }
  let shown = 0;
  for (let i = 0; i < wa.length; i++) {
    if (wa[i][0] !== wb[i][0] || wa[i][1] !== wb[i][1]) {
      if (shown++ < 6)
        problems.push(`word[${i}] (page ${off(c.start + i)}): wasm=${word(wa[i])} reference=${word(wb[i])}`);
    }
  }
  if (shown > 6) problems.push(`... ${shown - 6} more differing words`);
  if (problems.length) {
    throw new Error(
      `${pass}: walkers disagree (ret wasm=${retName(a.ret)} reference=${retName(b.ret)})\n` +
        problems.join("\n") +
        "\n" +
        describeCase(c),
    );
  }
}

/** The walk passes of a case: [last, end) page ranges within the array [start, start + max(len, 1)). */
export function casePasses(c: Case): { name: string; last: number; end: number }[] {
  const startPage = c.base + c.start;
  const n = Math.max(c.len, 1);
  const passes = [{ name: "pass 1", last: startPage + (c.len > 0 ? c.lastOff % c.len : 0), end: startPage + c.len }];
  if (c.again) {
    const last = c.again.last % n;
    passes.push({ name: "pass 2", last: startPage + last, end: startPage + last + (c.again.span % (n - last + 1)) });
  }
  return passes;
}

/** Runs a case in two fresh engines (what the vitest properties do); returns what the walks did. */
export function checkCase(c: Case, build: Build): CaseResult {
  return checkCaseIn(c, [buildWorld(build, c.levels, c.pgmaps), buildWorld(build, c.levels, c.pgmaps)]);
}

/** What the walk passes of a case did (the walkers agreed): outcome and hmm_pfns words per pass. */
export interface CaseResult {
  pfns: number; // pointer of the hmm_pfns array (the same in both engines)
  passes: { outcome: Outcome; words: number[][] }[];
}

/**
 * Builds case `c` in worlds[0] and worlds[1], which must be in the same state, runs its walk passes
 * with the WASM walker in worlds[0] and the reference walker in worlds[1], compares the outcomes,
 * checks the invariants and compares linear memory. Returns the pointer of the hmm_pfns array (the
 * same in both). Throws on any difference; then the two worlds are no longer in lockstep.
 */
export function checkCaseIn(c: Case, worlds: readonly World[]): CaseResult {
  const n = Math.max(c.len, 1);
  const inputs = caseInputs(c, n);
  const ptrs = worlds.map((w) => {
    applyCase(c, w);
    return allocPfns(w, inputs);
  });
  if (ptrs[0] !== ptrs[1]) throw new Error("the two engines diverged while building the case");

  const startPage = c.base + c.start;
  const passes = casePasses(c);
  const results: CaseResult["passes"] = [];

  for (const p of passes) {
    const before = readWords(worlds[0], ptrs[0], n);
    const args = (w: World, pfns: number): WalkArgs => ({
      pfns,
      startPage,
      lastPage: p.last,
      endPage: p.end,
      defaultHi: c.defaultHi,
      maskHi: c.maskHi,
      ownerId: w.e.ownerId(OWNERS[c.owner]),
      profile: c.profile,
    });
    const oa = walkOnce(worlds[0], "wasm", args(worlds[0], ptrs[0]));
    const ob = walkOnce(worlds[1], "reference", args(worlds[1], ptrs[1]));
    const wa = readWords(worlds[0], ptrs[0], n);
    const wb = readWords(worlds[1], ptrs[1], n);
    compareOutcomes(c, p.name, oa, ob, wa, wb);
    results.push({ outcome: oa, words: wa });
    if (STATS) {
      tally(
        `${p.name} ret ${oa.trap ? "trap" : retName(oa.ret)}${oa.ret === -ERRNO.EBUSY ? (oa.action === CTX.ACTION_FAULT ? " fault" : " wait") : ""}`,
      );
      tally("pages walked", Math.max(oa.pagesWalked, 0));
      for (let i = Math.max(p.last - startPage, 0); i < Math.min(p.end - startPage, n); i++) {
        if (wa[i][0] !== before[i][0] || wa[i][1] !== before[i][1]) {
          const cls = wordClass(wa[i]);
          if (cls !== "ERROR") tally(`word ${cls}`);
          else {
            const v = caseVmas(c).find(([s, e]) => startPage + i >= s && startPage + i < e);
            tally(
              `word ERROR ${!v ? "(no VMA)" : v[2] & (VM.IO | VM.PFNMAP) || !(v[2] & VM.READ) ? "(IO/PFNMAP/unreadable VMA)" : "(in a walked VMA)"}`,
            );
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
      for (let i = oa.last - startPage; i < p.end - startPage; i++)
        invariant(same(i), `word[${i}] at or after CTX_LAST was written`);
    } else if (!oa.trap) {
      invariant(oa.last === p.last, `CTX_LAST moved to ${off(oa.last - c.base)} without a fault`);
    }
  }
  const d = firstMemoryDifference(worlds[0].e, worlds[1].e);
  if (d >= 0) throw new Error(`linear memory differs after the walks, first at ${hex(d)}\n${describeCase(c)}`);
  return { pfns: ptrs[0], passes: results };
}

/** HMMSIM_DIFF_STATS=1: print what the random cases exercised (return codes, output word classes). */
export const STATS = process.env.HMMSIM_DIFF_STATS ? new Map<string, number>() : null;
export function tally(key: string, n = 1): void {
  if (STATS) STATS.set(key, (STATS.get(key) ?? 0) + n);
}
export function wordClass([lo, hi]: number[]): string {
  const f = hi >>> 29; // VALID, WRITE, ERROR
  if (f === 4) return "VALID";
  if (f === 6) return "VALID|WRITE";
  if (f === 1) return "ERROR";
  return lo === 0 && (hi & 0x1fffffff) === 0 ? "zero" : f === 0 ? "flagless (protnone/hugetlb/input)" : "other";
}

// ================================================================================================
// Long runs: one pair of engines for many cases
// ================================================================================================

const TABLE_BYTES = MEM.BLOCK_SIZE;
const blockOf = (ptr: number): number => (ptr - (ptr % TABLE_BYTES)) >>> 0;

/**
 * The heap blocks a LockstepPair keeps from case to case: the frame-metadata chunks (found through
 * the frame-metadata directory below the heap) and the zero block. Nothing else of the heap is live
 * between cases (every case frees its mm, tables and hmm_pfns array), which the count checks: when
 * the engine starts keeping another block, this says so instead of letting the pair misjudge writes.
 */
function persistentBlocks(w: World): Set<number> {
  const u32 = w.e.mem().u32;
  const blocks = new Set<number>([w.zeroBlockPfn * MEM.BLOCK_SIZE]);
  for (let i = MEM.META_DIR_BASE >>> 2; i < MEM.HEAP_BASE >>> 2; i++) if (u32[i] !== 0) blocks.add(u32[i]);
  if (blocks.size !== w.e.raw.blocksUsed()) {
    throw new Error(
      `LockstepPair: ${w.e.raw.blocksUsed()} heap blocks in use between cases, but only ${blocks.size} ` +
        "are frame-metadata chunks or the zero block",
    );
  }
  return blocks;
}

/**
 * Thrown by a CaseLedger at the first write of a case that the pair could not undo: the pair stops
 * building the case there, before its allocator hands out anything more.
 */
class PairAbandoned extends Error {}

/**
 * The page tables the mm of one case allocated, recorded as the engine allocates them (entryPtr()
 * counts each table it adds in the mm's MM_TABLES), and an undo log of every write the case made
 * anywhere else.
 *
 * A LockstepPair frees exactly these tables after the case; it never follows the entries of the
 * case's tables to find them (what mmDestroy()'s freeTree() does). A case writes arbitrary PTE
 * values, and through the shared zero block (a table of several levels at once) such a PTE is read
 * as a table pointer: an entry of the case's tables can then point at any block of linear memory,
 * a live one included (another table, a frame-metadata chunk, a free-list block), and nothing in
 * memory tells a table from any other heap block (the table arena is cut from the same heap).
 * Following the entries freed live blocks: the engines' allocators then handed out blocks twice and
 * the pair fell out of step ("heaps diverged", "linear memory differs", traps in blockAlloc).
 *
 * Writes through such a pointer land outside the mm's root, its recorded tables and the zero block
 * (`foreign`, about one case in two hundred): the old values are logged and written back after the
 * case. That restores the pair only where the engine's allocator never looks during the case: the
 * walk context, the pgmap table and the frame-metadata directory below the heap, and the blocks the
 * pair keeps between cases (`persistent`) past their first word. Anywhere else the write is
 * `unrestorable`, and the ledger abandons the case at once (PairAbandoned): the static data below
 * the walk context holds the allocators' free-list heads; the mm struct holds the root and the
 * table count entryPtr() reads; any other heap block is the case's own mm or VMA table, a block on
 * a free list (whose first word links the list; blockAlloc() pops it), or memory the allocator has
 * not handed out yet (the table slab's tail, memory above the heap top), which it hands out as a
 * table without clearing it, so that the new table is not empty and the path from the root no longer
 * shows which tables a lookup added. A case that went on after such a write trapped in blockAlloc
 * (seed 20261202, case 22949), or leaked a table and freed a block it had not allocated. Writes
 * beyond linear memory write nothing.
 */
class CaseLedger implements TableLedger {
  readonly tables = new Set<number>();
  /** [ptr, lo, hi] before each foreign write, in write order. */
  readonly undo: [number, number, number][] = [];
  constructor(
    private readonly w: World,
    private readonly root: number,
    private readonly persistent: ReadonlySet<number>,
  ) {}

  get foreign(): boolean {
    return this.undo.length > 0;
  }

  private own(ptr: number): boolean {
    const b = blockOf(ptr);
    return b === this.root || b === this.w.zeroBlockPfn * MEM.BLOCK_SIZE || this.tables.has(b);
  }

  /** Stops the case: the pair cannot be brought back to where it was before it. */
  private abandon(why: string): never {
    throw new PairAbandoned(why);
  }

  /** Logs the value at `ptr` before a write outside the case's own tables; abandons the case where undo is unsafe. */
  private foreignWrite(ptr: number, lo: number, hi: number): void {
    if (ptr < MEM.WALK_CTX) this.abandon(`a write into the static data at ${hex(ptr)}`);
    if (ptr >= MEM.HEAP_BASE) {
      if (!this.persistent.has(blockOf(ptr)))
        this.abandon(`a write at ${hex(ptr)}, in a heap block the allocator may hand out or read during the case`);
      // conservative: a persistent block is live, but the first word of a block is a free block's link
      if (ptr % TABLE_BYTES < 8) this.abandon(`a write into the first word of the heap block at ${hex(ptr)}`);
    }
    this.undo.push([ptr, lo, hi]);
  }

  entryPtr(page: number, level: number): number {
    const { raw } = this.w.e;
    const mm = this.w.mm;
    const before = raw.mmTables(mm);
    let ptr: number;
    try {
      ptr = raw.entryPtr(mm, page, level, 1) >>> 0;
    } catch (err) {
      // a trap reading a table pointer beyond memory comes before any allocation on the path
      if (raw.mmTables(mm) !== before) this.abandon("a lookup trapped after allocating a table");
      throw err;
    }
    const added = raw.mmTables(mm) - before;
    if (added === 0) return ptr;
    // the tables on the path from the root, as entryPtr() followed them; once it allocated one, every
    // table below it on the path is new too (a new table is empty: see the class comment), so the
    // last `added` tables are this lookup's
    const u32 = this.w.e.mem().u32;
    const path: { slot: number; table: number }[] = [];
    let t = this.root;
    for (let lv = this.w.levels - 1; lv > level; lv--) {
      const slot = t + (Math.floor(page / 2 ** (9 * lv)) % 512) * 8;
      t = (u32[slot >>> 2] & PFN_MASK_LO) >>> 0; // tableOf(): usize is 32 bits
      path.push({ slot, table: t });
    }
    // out of memory half-way, or a path the ledger cannot retrace
    if (ptr === 0 || added > path.length || blockOf(ptr) !== t)
      this.abandon("a lookup whose new tables the ledger cannot retrace");
    const first = path.length - added;
    for (let i = first; i < path.length; i++) {
      const n = path[i].table;
      if (this.own(n) || this.persistent.has(n)) this.abandon(`a lookup whose new table ${hex(n)} was live already`);
    }
    // the first new table hangs off an entry that was empty (entryPtr() allocates only there)
    if (!this.own(path[first].slot)) this.foreignWrite(path[first].slot, 0, 0);
    for (let i = first; i < path.length; i++) this.tables.add(path[i].table);
    return ptr;
  }

  beforeWrite(ptr: number): void {
    const u32 = this.w.e.mem().u32;
    // a slot beyond linear memory (entryPtr() returns the slot of a table pointer beyond memory
    // without reading it): the typed-array store writes nothing
    if (this.own(ptr) || ptr + 8 > u32.length * 4) return;
    this.foreignWrite(ptr, u32[ptr >>> 2], u32[(ptr >>> 2) + 1]);
  }

  /** Writes the logged values back, the last write first. */
  restore(): void {
    const u32 = this.w.e.mem().u32;
    for (let i = this.undo.length - 1; i >= 0; i--) {
      const [ptr, lo, hi] = this.undo[i];
      u32[ptr >>> 2] = lo;
      u32[(ptr >>> 2) + 1] = hi;
    }
  }
}

/**
 * Two engines of one build in lockstep, reused for many cases: worlds[0] runs the WASM walker,
 * worlds[1] the reference walker, and both receive the same operations, so they stay identical as
 * long as the walkers agree (checkCaseIn compares all of linear memory after every case).
 *
 * Per case: a fresh mm (mmCreate with the case's paging levels) and hmm_pfns array, both freed
 * afterwards, and the walk context restored to its state in a fresh engine. The frames, the pgmaps
 * (the case's `pgmaps` count of them: a pair serves one count) and the zero block are set up once,
 * exactly as buildWorld does, so every pfn a case resolves is the one it resolves in two fresh
 * engines. The tables the case's lookups allocated are recorded (CaseLedger) and freed by address
 * afterwards: the root's entries are cleared first, so mmDestroy() frees the root, the VMA table
 * and the mm without following any entry; what the case wrote outside its own tables is written
 * back. Every case must leave blocksUsed() where the pair started.
 *
 * A case that writes where its writes cannot be undone (see CaseLedger) is abandoned in the pair at
 * that write and checked in two fresh engines instead (checkCase, whose result run() returns); the
 * pair is then `retired` (`retiredBecause` says why) and must be replaced. After a case throws, the
 * pair is no longer in lockstep (`broken`) and must be replaced too.
 */
export class LockstepPair {
  readonly worlds: readonly [World, World];
  private readonly ctx: Uint8Array;
  private readonly heapAtStart: number;
  private readonly blocksAtStart: number;
  /** Per world: the heap blocks live between cases (persistentBlocks). */
  private readonly persistent: readonly Set<number>[];
  cases = 0;
  broken = false;
  retired = false;
  /** Why the pair was retired: the write at which it abandoned its last case. */
  retiredBecause: string | null = null;
  /** The last case wrote outside its own tables (through an entry read as a table pointer). */
  lastCaseForeign = false;

  constructor(
    readonly build: Build,
    readonly pgmaps: number,
  ) {
    const make = (): World => {
      const w = buildWorld(build, 4, pgmaps);
      w.e.raw.mmDestroy(w.mm);
      w.mm = 0;
      return w;
    };
    this.worlds = [make(), make()];
    const m = this.worlds[0].e.mem();
    this.ctx = m.u8.slice(MEM.WALK_CTX, MEM.WALK_CTX + 256);
    this.heapAtStart = this.worlds[0].e.raw.heapBytes();
    this.blocksAtStart = this.worlds[0].e.raw.blocksUsed();
    this.persistent = this.worlds.map(persistentBlocks);
  }

  /** Checks one case (see checkCaseIn); throws on a disagreement or a broken invariant. */
  run(c: Case): CaseResult {
    if (this.broken || this.retired)
      throw new Error(`LockstepPair: the pair is ${this.broken ? "out of lockstep" : "retired"}; replace it`);
    this.broken = true;
    const ledgers = this.worlds.map((w, k) => {
      w.mm = w.e.raw.mmCreate(c.levels) >>> 0;
      if (w.mm === 0) throw new Error("LockstepPair: mmCreate failed");
      w.levels = c.levels;
      w.e.mem().u8.set(this.ctx, MEM.WALK_CTX);
      const ledger = new CaseLedger(w, w.e.raw.mmRoot(w.mm) >>> 0, this.persistent[k]);
      w.ledger = ledger;
      return ledger;
    });
    let result: CaseResult;
    try {
      result = checkCaseIn(c, this.worlds);
    } catch (err) {
      if (!(err instanceof PairAbandoned)) throw err;
      for (const w of this.worlds) w.ledger = undefined;
      this.broken = false;
      this.retired = true;
      this.retiredBecause = err.message;
      this.lastCaseForeign = true;
      this.cases++;
      return checkCase(c, this.build);
    }
    for (const w of this.worlds) w.ledger = undefined;
    const [la, lb] = ledgers;
    if (la.undo.length !== lb.undo.length || la.tables.size !== lb.tables.size) {
      throw new Error("LockstepPair: the engines allocated different page tables for the case");
    }
    this.lastCaseForeign = la.foreign;
    const bytes = (Math.max(c.len, 1) + 2) * 8;
    for (const [k, w] of this.worlds.entries()) {
      const { raw } = w.e;
      const root = raw.mmRoot(w.mm) >>> 0;
      const zb = w.zeroBlockPfn * MEM.BLOCK_SIZE;
      ledgers[k].restore();
      const u8 = w.e.mem().u8;
      u8.fill(0, root, root + TABLE_BYTES);
      // a fresh engine's zero block is zero for every case
      u8.fill(0, zb, zb + MEM.BLOCK_SIZE);
      for (const t of ledgers[k].tables) raw.blockFree(t, TABLE_BYTES);
      raw.mmDestroy(w.mm);
      raw.blockFree(result.pfns - 8, bytes);
      w.mm = 0;
    }
    const [a, b] = this.worlds.map((w) => w.e.raw);
    if (a.heapBytes() !== b.heapBytes() || a.blocksUsed() !== b.blocksUsed()) {
      throw new Error("LockstepPair: the engines' heaps diverged while freeing a case");
    }
    if (a.blocksUsed() !== this.blocksAtStart) {
      throw new Error(
        `LockstepPair: ${a.blocksUsed()} blocks in use after freeing a case, ${this.blocksAtStart} before it`,
      );
    }
    this.broken = false;
    this.cases++;
    return result;
  }

  /** Bytes the heap has grown by since the pair was built (free-list slack). */
  heapGrowth(): number {
    return this.worlds[0].e.raw.heapBytes() - this.heapAtStart;
  }
}
