// Address spaces for the benchmarks. The walk workloads write their page tables directly (faulting
// 16 M pages through the host's fault model would take minutes): for each 2 MiB of address space
// entryPtr(mm, page, 0, alloc) creates the PTE table and the 512 entries are written through the
// engine's views, each with its own order-0 RAM frame (so its struct page exists). The mm-operation
// workloads populate through real write faults instead (hmmRangeFault with REQ_FAULT|REQ_WRITE), so
// mapcounts, AnonExclusive and anon_vma are what the operations expect.
import type { Engine } from "../../src/engine/engine.js";
import { FRAME, HMM_PFN_HI, PAGE_SIZE, PMD_ORDER, PMD_SIZE, PTRS_PER_TABLE } from "../../src/engine/layout.js";
import * as pte from "../../src/engine/pte.js";
import { Mm } from "../../src/api/mm.js";
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, hmmRangeFault, type WalkEngine } from "../../src/hmm/range-fault.js";
import { PfnArray } from "../../src/hmm/pfns.js";
import { type MmuIntervalNotifier, mmuIntervalSetSeq } from "../../src/mm/notifier.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../../src/mm/vma.js";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const PAGE = PAGE_SIZE;
export { PMD_SIZE };
const PTES = PTRS_PER_TABLE;
const TWO20 = 2 ** 20;
const ANON = FRAME.ANON | FRAME.ANON_EXCLUSIVE;
/** Low-half flag bits of a present, writable, dirty user PTE. */
const PAGE_FLAGS_LO = pte.mk.page(0, true).lo;

export interface Scene {
  eng: Engine;
  mm: Mm;
  start: number;
  bytes: number;
  pages: number;
  sub: MmuIntervalNotifier;
  populated: number;
}

/** A mirror's invalidate callback (dmirror): takes the new sequence, always succeeds. */
export const mirrorOps = {
  invalidate(sub: MmuIntervalNotifier, _r: unknown, curSeq: number): boolean {
    mmuIntervalSetSeq(sub, curSeq);
    return true;
  },
};

/** One anonymous private VMA of `bytes` with an interval notifier over it. */
export function newScene(eng: Engine, bytes: number, mmOpts: ConstructorParameters<typeof Mm>[1] = {}): Scene {
  const mm = new Mm(eng, mmOpts);
  const start = mm.mmap({ length: bytes, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  if (start % PMD_SIZE !== 0) throw new Error(`bench: mapping at ${start.toString(16)} is not 2 MiB aligned`);
  mm.vmas[0].anonVma = true;
  const sub = mm.intervalNotifierInsert(start, bytes, mirrorOps);
  return { eng, mm, start, bytes, pages: bytes / PAGE, sub, populated: 0 };
}

/**
 * Writes 512 present PTEs per PTE table over [addr, addr + tables * 2 MiB), each page with its own
 * order-0 frame ("own"), or the frames of `aliasBase` again ("alias", page tables only grow).
 * Returns the tables written (fewer when RAM or linear memory runs out, or memoryLimit is reached).
 */
export function writePteTables(
  s: Scene,
  addr: number,
  tables: number,
  frames: "own" | "alias" = "own",
  aliasBase = 0x400,
  memoryLimit = Infinity,
): number {
  const raw = s.eng.raw;
  const pfns = new Uint32Array(PTES);
  for (let t = 0; t < tables; t++) {
    if (s.eng.memoryBytes() >= memoryLimit) return t;
    const ptr = raw.entryPtr(s.mm.ptr, (addr + t * PMD_SIZE) / PAGE, 0, 1) >>> 0;
    if (ptr === 0) return t;
    for (let i = 0; i < PTES; i++) {
      if (frames === "alias") {
        pfns[i] = aliasBase + i;
        continue;
      }
      // allocate first (may grow memory), then take the view
      const pfn = raw.frameAlloc(0, ANON) >>> 0;
      if (pfn === 0) {
        for (let j = 0; j < i; j++) raw.frameFree(pfns[j], 0);
        return t;
      }
      pfns[i] = pfn;
    }
    const u32 = s.eng.mem().u32;
    for (let i = 0, k = ptr >>> 2; i < PTES; i++, k += 2) {
      u32[k] = (((pfns[i] % TWO20) << 12) | PAGE_FLAGS_LO) >>> 0;
      u32[k + 1] = Math.floor(pfns[i] / TWO20);
    }
    s.populated += PTES;
  }
  return tables;
}

/** Writes 2 MiB THP leaves (PMD entries), each with its own order-9 folio. */
export function writeThps(s: Scene, addr: number, count: number): number {
  const raw = s.eng.raw;
  for (let i = 0; i < count; i++) {
    const pfn = raw.frameAlloc(PMD_ORDER, ANON) >>> 0;
    if (pfn === 0) return i;
    const ptr = raw.entryPtr(s.mm.ptr, (addr + i * PMD_SIZE) / PAGE, 1, 1) >>> 0;
    if (ptr === 0) return i;
    s.eng.writeEntry(ptr, pte.mk.huge(pfn, true));
    s.populated += PTES;
  }
  return count;
}

/** One hmmRangeFault over [start, end) of the scene (the caller holds the mmap read lock). */
export function walkOnce(
  s: Scene,
  pfns: PfnArray,
  defaultFlags: bigint,
  walker: WalkEngine,
  start = s.start,
  end = s.start + s.bytes,
): void {
  const seq = s.mm.notifiers.readBegin(s.sub);
  const ret = hmmRangeFault(
    { notifier: s.sub, notifierSeq: seq, start, end, hmmPfns: pfns, defaultFlags },
    { engine: walker },
  );
  if (ret !== 0) throw new Error(`bench: hmmRangeFault returned ${ret}`);
}

/**
 * Populates the whole scene through write faults (hmmRangeFault with REQ_FAULT|REQ_WRITE, 1 GiB
 * at a time): every page gets an exclusive anonymous frame with mapcount 1, as a program's
 * first-touch writes would leave it.
 */
export function populateByFaults(s: Scene): void {
  const chunk = Math.min(s.bytes, GiB);
  const p = new PfnArray(s.eng, chunk / PAGE);
  s.mm.withReadLock(() => {
    for (let a = s.start; a < s.start + s.bytes; a += chunk)
      walkOnce(s, p, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE, "wasm", a, a + chunk);
  });
  p.free();
  s.populated = s.pages;
}

/** FNV-1a over the words of a PfnArray: the output digest that must not change. */
export function digest(p: PfnArray, words = p.length): string {
  const u32 = p.engine.mem().u32;
  let h = 0x811c9dc5;
  for (let k = p.ptr >>> 2, e = k + words * 2; k < e; k++) h = Math.imul(h ^ u32[k], 16777619);
  return (h >>> 0).toString(16).padStart(8, "0");
}

export function countValid(p: PfnArray, words = p.length): number {
  const u32 = p.engine.mem().u32;
  let n = 0;
  for (let k = (p.ptr >>> 2) + 1, e = k + words * 2; k < e; k += 2) if (u32[k] & HMM_PFN_HI.VALID) n++;
  return n;
}
