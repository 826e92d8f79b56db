// Shared helpers of the test/ops-*.test.ts files: a recording subscriber and hmmRangeFault snapshots.
import { Engine } from "../src/engine/engine.js";
import {
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmRangeFault,
} from "../src/hmm/range-fault.js";
import { Mm, type MmOptions } from "../src/api/mm.js";
import { MMU_NOTIFY_EVENT_NAMES, type MmuIntervalNotifier } from "../src/mm/notifier.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../src/mm/vma.js";
import { ENGINE_OPTS } from "./env.js";

// the suite runs per build and walker (test/env.ts): snap() walks with the walker the engine was
// created with (ENGINE_OPTS), so the reference project runs these tests on the reference walker

export const PAGE = 4096;
export const PMD = 2 * 1024 * 1024;
export const V = HMM_PFN_VALID;
export const W = HMM_PFN_WRITE;
export const RW = PROT_READ | PROT_WRITE;
export const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
export const ORD9 = 9n << 56n;

export interface Ev {
  event: string;
  start: number;
  end: number;
  owner: unknown;
  blockable: boolean;
}

export interface Recorder {
  sub: MmuIntervalNotifier;
  events: Ev[];
  /** Returns and clears the recorded events. */
  take(): Ev[];
  /** Makes the callback answer false for non-blockable ranges while set. */
  refuse: boolean;
}

/** A subscription over the whole 47-bit address space that records every callback. */
export function record(mm: Mm): Recorder {
  const rec: Recorder = {
    sub: undefined as unknown as MmuIntervalNotifier,
    events: [],
    take: () => rec.events.splice(0),
    refuse: false,
  };
  rec.sub = mm.intervalNotifierInsert(0, 2 ** 47, {
    invalidate(s, r, cur) {
      rec.events.push({
        event: MMU_NOTIFY_EVENT_NAMES[r.event],
        start: r.start,
        end: r.end,
        owner: r.owner,
        blockable: r.blockable,
      });
      if (rec.refuse && !r.blockable) return false;
      mm.notifiers.setSeq(s, cur);
      return true;
    },
  });
  return rec;
}

export const ev = (event: string, start: number, end: number, blockable = true, owner: unknown = null): Ev => ({
  event: `MMU_NOTIFY_${event}`,
  start,
  end,
  owner,
  blockable,
});

export function setup(opts: MmOptions = {}): { engine: Engine; mm: Mm; rec: Recorder; base: number } {
  const engine = new Engine(ENGINE_OPTS);
  const base = engine.framesInUse();
  const mm = new Mm(engine, opts);
  const rec = record(mm);
  return { engine, mm, rec, base };
}

/** hmmRangeFault over npages at start (a snapshot when no fault is requested); returns ret and words. */
export function snap(
  mm: Mm,
  sub: MmuIntervalNotifier,
  start: number,
  npages: number,
  o: { fault?: boolean; write?: boolean; owner?: unknown } = {},
): { ret: number; words: bigint[] } {
  const pfns = new BigUint64Array(npages);
  const seq = mm.notifiers.readBegin(sub);
  const defaultFlags = o.fault || o.write ? HMM_PFN_REQ_FAULT | (o.write ? HMM_PFN_REQ_WRITE : 0n) : 0n;
  const ret = mm.withReadLock(() =>
    hmmRangeFault({
      notifier: sub,
      notifierSeq: seq,
      start,
      end: start + npages * PAGE,
      hmmPfns: pfns,
      defaultFlags,
      devPrivateOwner: o.owner,
    }),
  );
  return { ret, words: [...pfns] };
}

/** The pfn field of a v6.1 output word. */
export const pfnOf = (w: bigint): number => Number(w & ((1n << 56n) - 1n));
export const word = (pfn: number, flags: bigint): bigint => BigInt(pfn) | flags;

/** Writes a distinct u32 into each page of [addr, addr + n pages). */
export function fill(mm: Mm, addr: number, n: number, seed = 1): void {
  for (let i = 0; i < n; i++) mm.cpuWriteU32(addr + i * PAGE, seed * 1000 + i);
}
