// Shared helpers for the decision-table, retry and fault-model tests: a simulated machine with one
// recording interval notifier over the whole address space, a one-shot range runner and the
// driver-side retry protocol of docs/semantics.md §4.3.
import {
  Engine,
  Mm,
  hmmRangeFault,
  lastHmmStats,
  PfnArray,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  HMM_PFN_ERROR,
  HMM_PFN_DMA_MAPPED,
  HMM_PFN_P2PDMA,
  HMM_PFN_P2PDMA_BUS,
  EBUSY,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  type MmuIntervalNotifier,
  type MmuNotifierRange,
  type Profile,
  type HmmRangeFaultStats,
} from "../src/index.js";
import { PHYS } from "../src/engine/layout.js";
import * as pte from "../src/engine/pte.js";
import { ENGINE_OPTS } from "./env.js";

export const PAGE = 4096;
export const PMD_SIZE = 2 ** 21;
export const PUD_SIZE = 2 ** 30;
export const V = HMM_PFN_VALID;
export const W = HMM_PFN_WRITE;
export const E = HMM_PFN_ERROR;
export const REQ_FAULT = HMM_PFN_VALID;
export const REQ_WRITE = HMM_PFN_WRITE;
/** The three v6.16 sticky in/out bits (DMA_MAPPED | P2PDMA | P2PDMA_BUS), bits 60..58. */
export const RW = PROT_READ | PROT_WRITE;
export const R = REQ_FAULT;
export const WR = REQ_FAULT | REQ_WRITE;
export const Z = BigInt(PHYS.ZERO_PFN) | V;
export const b = (n: number): bigint => BigInt(n);

/** A fixed anonymous mapping (private unless flags says MAP_SHARED). */
export function anon(t: Sim, addr: number, pages: number, prot = RW, flags = MAP_PRIVATE, vmFlags = 0): number {
  return t.mm.mmap({ addr, length: pages * PAGE, prot, flags: flags | MAP_ANONYMOUS | MAP_FIXED, vmFlags });
}

export const STICKY = HMM_PFN_DMA_MAPPED | HMM_PFN_P2PDMA | HMM_PFN_P2PDMA_BUS;

/** ord(n) of a profile: n << HMM_PFN_ORDER_SHIFT (56 in v6.1, 53 in v6.16). */
export function ord(n: number, profile: Profile): bigint {
  return BigInt(n) << (profile === "v6.16" ? 53n : 56n);
}

export interface Event {
  event: number;
  start: number;
  end: number;
  owner: unknown;
  blockable: boolean;
}

export interface Sim {
  engine: Engine;
  mm: Mm;
  sub: MmuIntervalNotifier;
  events: Event[];
  profile: Profile;
  levels: 4 | 5;
}

/** An engine, an mm and a recording interval notifier over [0, 2^57) that always calls setSeq. */
export function makeSim(opts: { profile?: Profile; levels?: 4 | 5; engine?: Engine; ramFrames?: number } = {}): Sim {
  const engine =
    opts.engine ??
    new Engine(opts.ramFrames !== undefined ? { ...ENGINE_OPTS, ramFrames: opts.ramFrames } : ENGINE_OPTS);
  const profile = opts.profile ?? "v6.1";
  const levels = opts.levels ?? 4;
  const mm = new Mm(engine, { profile, levels });
  const events: Event[] = [];
  const sub = mm.intervalNotifierInsert(0, 2 ** 57, {
    invalidate(s, r: MmuNotifierRange, curSeq) {
      events.push({ event: r.event, start: r.start, end: r.end, owner: r.owner, blockable: r.blockable });
      mm.notifiers.setSeq(s, curSeq);
      return true;
    },
  });
  return { engine, mm, sub, events, profile, levels };
}

/**
 * A 1 GiB-aligned base address in a region no other mapping touches: above 2^47 on 5-level
 * address spaces (so that the PGD (bit 48) and P4D levels are both real), below it on 4-level.
 */
export function baseOf(levels: 4 | 5, slot = 0): number {
  return levels === 5 ? 2 ** 52 + 3 * 2 ** 48 + 5 * 2 ** 39 + slot * 2 ** 39 : 2 ** 45 + 3 * 2 ** 39 + slot * 2 ** 39;
}
/** A 5-level base above 2^53 (page-aligned addresses there are exact but not "safe" integers). */
export function highBaseOf5(slot = 0): number {
  return 2 ** 55 + 7 * 2 ** 48 + 5 * 2 ** 39 + slot * 2 ** 39;
}

export interface RunOpts {
  start: number;
  end: number;
  /** Input words: one per page, or a function of the page index (default 0n). */
  req?: bigint[] | ((i: number) => bigint);
  defaultFlags?: bigint;
  pfnFlagsMask?: bigint;
  owner?: unknown;
  /** Use a PfnArray in engine memory instead of a BigUint64Array. */
  pfnArray?: boolean;
  seq?: number;
}

export interface RunResult {
  ret: number;
  out: bigint[];
  input: bigint[];
  stats: HmmRangeFaultStats;
  seq: number;
}

export function inputsOf(o: RunOpts): bigint[] {
  const n = (o.end - o.start) / PAGE;
  const r = o.req;
  return Array.from({ length: n }, (_, i) => (typeof r === "function" ? r(i) : r ? (r[i] ?? 0n) : 0n));
}

/** One hmmRangeFault call under the mmap read lock, with a fresh readBegin sequence. */
export function runRange(t: Sim, o: RunOpts): RunResult {
  const input = inputsOf(o);
  const n = input.length;
  const seq = o.seq ?? t.mm.notifiers.readBegin(t.sub);
  let arr: BigUint64Array | PfnArray;
  if (o.pfnArray) {
    const pa = new PfnArray(t.engine, n);
    input.forEach((v, i) => pa.set(i, v));
    arr = pa;
  } else {
    arr = BigUint64Array.from(input);
  }
  t.mm.mmapReadLock();
  let ret: number;
  try {
    ret = hmmRangeFault({
      notifier: t.sub,
      notifierSeq: seq,
      start: o.start,
      end: o.end,
      hmmPfns: arr,
      defaultFlags: o.defaultFlags,
      pfnFlagsMask: o.pfnFlagsMask ?? (o.req ? REQ_FAULT | REQ_WRITE : 0n),
      devPrivateOwner: o.owner,
    });
  } finally {
    t.mm.mmapReadUnlock();
  }
  const out = arr instanceof PfnArray ? Array.from(arr.toBigUint64Array()) : Array.from(arr);
  if (arr instanceof PfnArray) arr.free();
  return { ret, out, input, stats: { ...lastHmmStats }, seq };
}

export interface DriverResult extends RunResult {
  /** hmmRangeFault calls made (1 when the first call succeeded). */
  attempts: number;
  /** Return codes of every call, in order. */
  rets: number[];
  faultedPages: number;
}

/**
 * The driver protocol of docs/semantics.md §4.3: readBegin, mmap read lock, hmmRangeFault, unlock, then
 * (under the "driver lock") readRetry; inputs are re-initialised before every attempt (§4.1 rule 6).
 */
export function driverFault(t: Sim, o: RunOpts, maxAttempts = 10): DriverResult {
  const rets: number[] = [];
  let faulted = 0;
  for (let attempts = 1; attempts <= maxAttempts; attempts++) {
    const r = runRange(t, { ...o, seq: undefined });
    rets.push(r.ret);
    faulted += r.stats.faultedPages;
    if (r.ret === EBUSY) continue;
    if (r.ret !== 0) return { ...r, attempts, rets, faultedPages: faulted };
    // take_lock(driver->update); the recording notifier runs synchronously, so nothing can race here
    if (t.mm.notifiers.readRetry(t.sub, r.seq)) continue;
    return { ...r, attempts, rets, faultedPages: faulted };
  }
  throw new Error(`driverFault did not converge in ${maxAttempts} attempts: ${rets.join(",")}`);
}

/** The pfn the CPU page table maps at addr (via the host's translate, not the HMM walker). */
export function cpuPfn(t: Sim, addr: number): number {
  const leaf = t.mm.leafOf(addr);
  if (leaf.level < 0) throw new Error(`nothing maps ${addr.toString(16)}`);
  const span = 2 ** (12 + 9 * leaf.level);
  return pte.pfnOf(leaf.entry) + Math.floor((addr % span) / PAGE);
}

/** The raw entry at addr and level (0 PTE, 1 PMD, 2 PUD), without allocating tables. */
export function entryAt(t: Sim, addr: number, level: number): pte.Entry {
  const p = t.mm.entryPtr(addr, level, false);
  if (p === 0) throw new Error(`no level-${level} slot for ${addr.toString(16)}`);
  return t.engine.readEntry(p);
}

/** Writes an entry directly at addr / level, allocating the tables above it. */
export function writeEntryAt(t: Sim, addr: number, level: number, e: pte.Entry): void {
  const p = t.mm.entryPtr(addr, level, true);
  t.engine.writeEntry(p, e);
}

export function big(n: number): bigint {
  return BigInt(n);
}

export function hexWords(ws: bigint[]): string[] {
  return ws.map((w) => "0x" + w.toString(16).padStart(16, "0"));
}
