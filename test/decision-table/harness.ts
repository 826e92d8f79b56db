// The decision-table harness (docs/semantics.md §3): the case format, the helpers the cases use,
// and the runner that executes each case on 4- and 5-level address spaces (and above 2^53), in both
// profiles, with and without the v6.16 sticky bits (DMA_MAPPED | P2PDMA | P2PDMA_BUS) in the input
// words. Expected words are computed from docs/semantics.md §3: pfns come from the CPU page table (or
// from the situation built), flags and orders from §1.2 / §3. One test file per section holds its rows.
import { describe, expect, it } from "vitest";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, type Profile } from "../../src/index.js";
import { PHYS } from "../../src/engine/layout.js";
import * as pte from "../../src/engine/pte.js";
import {
  PAGE,
  REQ_FAULT,
  REQ_WRITE,
  STICKY,
  V,
  baseOf,
  cpuPfn,
  driverFault,
  highBaseOf5,
  hexWords,
  makeSim,
  runRange,
  type Event,
  type RunResult,
  type Sim,
} from "../helpers.js";

export const RW = PROT_READ | PROT_WRITE;
export const R = REQ_FAULT;
export const WR = REQ_FAULT | REQ_WRITE;
export const ZERO = BigInt(PHYS.ZERO_PFN);
export const HZERO = BigInt(PHYS.HUGE_ZERO_PFN);
export const Z = ZERO | V;
export const b = (n: number): bigint => BigInt(n);
export const PFN_MASK = 0x000ffffffffff000n;

export interface Ctx extends Sim {
  base: number;
  /** extra state a scenario keeps for its expectations */
  s: Record<string, unknown>;
}

export interface Expect {
  ret: number;
  /** one per page: the output word before sticky bits, or null = "still holds the input" */
  words: (bigint | null)[];
  /** lastHmmStats.faultedPages of the call (summed over attempts in driver mode) */
  faulted?: number;
  migrationWaits?: number;
  /** notifier events raised during the hmmRangeFault call(s); default: none */
  events?: Partial<Event>[];
  skipEvents?: boolean;
  /** frames allocated by the call(s) */
  frames?: number;
  extra?: () => void;
}

export interface Scenario {
  start: number;
  end: number;
  /** per-page requests (sticky bits are added by the runner) */
  req?: bigint[];
  defaultFlags?: bigint;
  pfnFlagsMask?: bigint;
  owner?: unknown;
  /** run the full driver protocol (§4.3) instead of a single call */
  driver?: boolean;
  expect(ctx: Ctx, r: RunResult): Expect;
}

export interface Case {
  row: string;
  name: string;
  profiles?: Profile[];
  setup(ctx: Ctx): Scenario;
}

export function anon(t: Ctx, addr: number, pages: number, prot = RW, flags = 0, vmFlags = 0): number {
  return t.mm.mmap({
    addr,
    length: pages * PAGE,
    prot,
    flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | flags,
    vmFlags,
  });
}
export function pages(n: number, f: (i: number) => bigint | null): (bigint | null)[] {
  return Array.from({ length: n }, (_, i) => f(i));
}
/** the requests: `n` pages of `def`, with overrides by index */
export function reqs(n: number, over: Record<number, bigint> = {}, def = 0n): bigint[] {
  return Array.from({ length: n }, (_, i) => over[i] ?? def);
}
/** pte_pfn() of a non-present entry (x86: the entry is inverted first, protnone_mask). */
export function garbagePfn(e: pte.Entry): bigint {
  return (~pte.toBigInt(e) & PFN_MASK) >> 12n;
}
export function cpu(t: Ctx, addr: number): bigint {
  return b(cpuPfn(t, addr));
}
export function isUnmapped(t: Ctx, addr: number): boolean {
  const l = t.mm.leafOf(addr);
  return l.level < 0 || pte.isNone(l.entry);
}
export const ev = (event: number, start: number, end: number, owner: unknown = null): Partial<Event> => ({
  event,
  start,
  end,
  owner,
});

export const thp = (t: Ctx): void => {
  t.mm.thp = "always";
};

// A devmap PUD / PMD leaf (SEED DAX): a present PSE entry with _PAGE_DEVMAP.
export const DAX_PUD_PFN = 0x4000000; // 2^26: aligned to 2^18 pages
export const DAX_PMD_PFN = 0x3000000;

// "5hi": a 5-level address space with the scenario placed above 2^53 (top half of the 57-bit space)
export type Levels = 4 | 5 | "5hi";
export type Combo = [levels: Levels, profile: Profile, sticky: boolean];
export const COMBOS: Combo[] = [];
for (const levels of [4, 5] as const)
  for (const profile of ["v6.1", "v6.16"] as const)
    for (const sticky of [false, true]) COMBOS.push([levels, profile, sticky]);
COMBOS.push(["5hi", "v6.1", false], ["5hi", "v6.16", true]);

export function runCase(c: Case, [levels, profile, sticky]: Combo): void {
  const sim = makeSim({ levels: levels === "5hi" ? 5 : levels, profile });
  const t: Ctx = { ...sim, base: levels === "5hi" ? highBaseOf5() : baseOf(levels), s: {} };
  const sc = c.setup(t);
  t.events.length = 0;
  const framesBefore = t.engine.framesInUse();
  const n = (sc.end - sc.start) / PAGE;
  const stickyBits = sticky ? STICKY : 0n;
  const opts = {
    start: sc.start,
    end: sc.end,
    req: (i: number) => (sc.req?.[i] ?? 0n) | stickyBits,
    defaultFlags: sc.defaultFlags,
    pfnFlagsMask: sc.pfnFlagsMask,
    owner: sc.owner,
  };
  const r = sc.driver ? driverFault(t, opts) : runRange(t, opts);
  const x = sc.expect(t, r);
  expect(x.words.length).toBe(n);
  const want = x.words.map((w, i) => (w === null ? r.input[i] : profile === "v6.16" ? (r.input[i] & STICKY) | w : w));
  expect({ ret: r.ret, out: hexWords(r.out) }).toEqual({ ret: x.ret, out: hexWords(want) });
  const faulted = "faultedPages" in r ? (r as { faultedPages: number }).faultedPages : r.stats.faultedPages;
  if (x.faulted !== undefined) expect(faulted).toBe(x.faulted);
  if (x.migrationWaits !== undefined) expect(r.stats.migrationWaits).toBe(x.migrationWaits);
  if (x.frames !== undefined) expect(t.engine.framesInUse() - framesBefore).toBe(x.frames);
  const got = t.events.map((e) => ({ event: e.event, start: e.start, end: e.end, owner: e.owner }));
  if (!x.skipEvents) expect(got).toEqual((x.events ?? []).map((e) => ({ owner: null, ...e })));
  x.extra?.();
}

/** Registers one describe block per row of `cases`, each case once per combination. */
export function registerRows(cases: Case[]): void {
  const rows = [...new Set(cases.map((c) => c.row))];
  for (const row of rows) {
    describe(`decision table ${row}`, () => {
      for (const c of cases.filter((k) => k.row === row)) {
        const combos = COMBOS.filter(([, p]) => !c.profiles || c.profiles.includes(p));
        it.each(combos)(`${c.name} [%s-level %s sticky=%s]`, (levels, profile, sticky) =>
          runCase(c, [levels, profile, sticky]),
        );
      }
    });
  }
}
