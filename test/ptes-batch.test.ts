// The engine's batched PTE loops (zapPtes, protectPtes, copyPtes: munmap/exit/MADV_DONTNEED,
// mprotect, fork; faultAnonRange: hmm_range_fault's anonymous faults) must leave exactly the state
// the host's entry-by-entry code leaves. Each scenario
// runs twice, in an engine whose batches are on and in one whose batches hand every entry back to
// the host at once, and the two must end with identical linear memory (page tables, frame metadata,
// free lists), identical frame and block counts, contents and notifier events.
import { describe, expect, it } from "vitest";
import { Engine } from "../src/engine/engine.js";
import type { RawExports } from "../src/engine/wasm.js";
import { Mm } from "../src/api/mm.js";
import { fork } from "../src/ops/fork.js";
import { MADV_DONTNEED, madvise } from "../src/ops/madvise.js";
import { reclaimPages } from "../src/ops/reclaim.js";
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, hmmRangeFault } from "../src/hmm/range-fault.js";
import type { MmuIntervalNotifier } from "../src/mm/notifier.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_NONE, PROT_READ, PROT_WRITE } from "../src/mm/vma.js";
import { ENGINE_OPTS } from "./env.js";
import { Rng } from "../src/sim/sched/rng.js";

const PAGE = 4096;
const MiB = 2 ** 20;

/** An engine whose batched PTE loops leave every entry to the host. */
function unbatched(e: Engine): Engine {
  const raw: RawExports = {
    ...e.raw,
    zapPtes: (_m, p) => p,
    protectPtes: (_m, p) => p,
    copyPtes: (_s, _d, p) => p,
    faultAnonRange: (_m, p) => p,
    faultAnonFaulted: () => 0,
  };
  (e as { raw: RawExports }).raw = raw;
  return e;
}

/** A random life of a few address spaces: faults, writes, THPs, swap, mprotect, fork, unmap, exit. */
function scenario(eng: Engine, seed: number): string[] {
  // the project's seeded generator (pure-rand), as the simulation layer draws from it
  const g = Rng.seeded(seed);
  const r = (): number => g.float();
  const events: string[] = [];
  const mms: Mm[] = [];
  const spaces: { mm: Mm; start: number; len: number; sub?: MmuIntervalNotifier }[] = [];
  const newMm = (mm: Mm): Mm => {
    mms.push(mm);
    return mm;
  };
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const mm0 = newMm(new Mm(eng, { thp: r() < 0.5 ? "always" : "madvise" }));
  for (let i = 0; i < 3; i++) {
    const len = (1 + Math.floor(r() * 6)) * 2 * MiB;
    const shared = r() < 0.2;
    const start = mm0.mmap({
      length: len,
      prot: PROT_READ | PROT_WRITE,
      flags: (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS,
    });
    const sub = mm0.intervalNotifierInsert(start, len, {
      invalidate: (_s, range) => {
        events.push(`${String(range.event)} ${range.start} ${range.end}`);
        return true;
      },
    });
    spaces.push({ mm: mm0, start, len, sub });
  }
  for (let step = 0; step < 36; step++) {
    const sp = pick(spaces);
    const { mm } = sp;
    if (mm.exited) continue;
    const a = sp.start + Math.floor(r() * (sp.len / PAGE)) * PAGE;
    const n = Math.min(1 + Math.floor(r() * 700), (sp.start + sp.len - a) / PAGE);
    const k = r();
    try {
      if (k < 0.13 && sp.sub) {
        // hmm_range_fault() write faults: the engine's faultAnonRange() or handle_mm_fault() per page
        const sub = sp.sub;
        const out = new BigUint64Array(n);
        const ret = mm.withReadLock(() =>
          hmmRangeFault({
            notifier: sub,
            notifierSeq: mm.notifiers.readBegin(sub),
            start: a,
            end: a + n * PAGE,
            hmmPfns: out,
            defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
          }),
        );
        events.push(`fault ${ret} ${out.join(",")}`);
      } else if (k < 0.25) mm.populate(a, n * PAGE, r() < 0.7);
      else if (k < 0.3) mm.cpuWrite(a, new Uint8Array([1 + step, 2, 3]));
      else if (k < 0.52) {
        // mprotect what is mapped around a: from a to the end of its VMA
        const v = mm.vmaLookup(a);
        if (v) mm.mprotect(a, Math.min(n * PAGE, v.end - a), pick([PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE]));
      } else if (k < 0.6) reclaimPages(mm, a, n * PAGE);
      else if (k < 0.66) madvise(mm, a, n * PAGE, MADV_DONTNEED);
      else if (k < 0.76) {
        const child = newMm(fork(mm));
        spaces.push({ mm: child, start: sp.start, len: sp.len });
      } else if (k < 0.84) mm.munmap(a, n * PAGE);
      else if (k < 0.87 && mms.length > 1) mm.exit();
      else mm.populate(a, n * PAGE, true);
      events.push(`ok ${step}`);
    } catch (err) {
      events.push(`${step} ${(err as Error).name}: ${(err as Error).message}`);
    }
  }
  events.push(snapshot(eng));
  for (const mm of mms) if (!mm.exited) mm.exit();
  return events;
}

/** A digest of the whole heap, frame and block counts: the state before the final exits. */
function snapshot(e: Engine): string {
  const u32 = new Uint32Array(e.raw.memory.buffer, 0, e.raw.heapBytes() / 4);
  let h = 0x811c9dc5;
  for (let i = 0; i < u32.length; i++) h = Math.imul(h ^ u32[i], 16777619);
  return `heap ${e.raw.heapBytes()} digest ${h >>> 0} frames ${e.framesInUse()} blocks ${e.blocksInUse()} contents ${e.materialisedFrames()}`;
}

function state(e: Engine): { mem: Buffer; frames: number; blocks: number; contents: number } {
  const top = e.raw.heapBytes();
  return {
    mem: Buffer.from(new Uint8Array(e.raw.memory.buffer, 0, top)),
    frames: e.framesInUse(),
    blocks: e.blocksInUse(),
    contents: e.materialisedFrames(),
  };
}

describe("batched PTE loops (zap, mprotect, fork) leave the host's state", () => {
  for (let seed = 1; seed <= 16; seed++) {
    it(`scenario ${seed}`, () => {
      const a = new Engine(ENGINE_OPTS);
      const b = unbatched(new Engine(ENGINE_OPTS));
      const ea = scenario(a, seed);
      const eb = scenario(b, seed);
      expect(ea).toEqual(eb);
      const sa = state(a);
      const sb = state(b);
      expect(sa.frames).toBe(sb.frames);
      expect(sa.blocks).toBe(sb.blocks);
      expect(sa.contents).toBe(sb.contents);
      expect(sa.mem.length).toBe(sb.mem.length);
      expect(sa.mem.equals(sb.mem)).toBe(true);
    });
  }
});
