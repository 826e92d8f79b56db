// The lockstep pair of the long differential fuzz (fuzz/walk.ts, LockstepPair in
// differential-harness.ts) must give every case the engine state two fresh engines give it, for
// any entries the case writes. The hard cases are the ones that use the shared zero block as a
// table of several levels at once: a PTE written there is then read as a table pointer, so the
// case's own page tables can end up pointing at live blocks of the pair, and later entries are
// written through such pointers into blocks the pair keeps from case to case.
//
// Each case here is built in a fresh world first to show that it does what its comment says.
import { describe, expect, it } from "vitest";
import { MEM } from "../src/engine/layout.js";
import { mk } from "../src/engine/pte.js";
import {
  BASES_4,
  type Build,
  type Case,
  type EntrySpec,
  type Kind,
  LockstepPair,
  OOB_TABLE_PFN,
  type PfnSel,
  applyCase,
  buildWorld,
  checkCase,
} from "./differential-harness.js";
import { ENGINE_OPTS } from "./env.js";

const BUILD: Build = ENGINE_OPTS.build === "simd" ? "simd" : "release";
const BASE = BASES_4[0]; // a PGD boundary: the case's PGD slot is 3, slot 0 stays free

const spec = (level: number, at: number, kind: Kind, pfn: PfnSel): EntrySpec => ({
  level,
  at,
  count: 1,
  kind,
  more: [],
  pfn,
  write: true,
  oob: false,
  bits: 0,
  bitsHi: 0,
});
const caseOf = (entries: EntrySpec[]): Case => ({
  levels: 4,
  base: BASE,
  pgmaps: 2,
  vmas: [],
  entries,
  start: 0,
  len: 4,
  lastOff: 0,
  again: null,
  defaultHi: 0,
  maskHi: 0xffffffff,
  owner: 1,
  profile: 0,
  fill: { lo: 0, hi: 0 },
  inputs: [],
});

/**
 * A case that writes `value` (a PTE spec) at slot `slot` of the 4 KiB block at `target`: the PUD and
 * the PMD of BASE both point at the zero block (aliases are redirected there), so the zero block is
 * the PMD table and the PTE table of BASE; its PTE 1 points at `target`, and page BASE + 512 + slot
 * (PMD index 1 of the zero block, i.e. that PTE) finds `target` as its PTE table.
 */
function writeThrough(target: number, slot: number, value: EntrySpec): Case {
  return caseOf([
    spec(2, 0, "alias", { k: "frame", i: 0 }),
    spec(1, 0, "alias", { k: "frame", i: 0 }),
    spec(0, 1, "page", { k: "raw", v: target / 4096 }),
    { ...value, at: 512 + slot },
  ]);
}

/** The 4 KiB frame-metadata chunk holding the metadata of the world's frames. */
function metaChunk(pair: LockstepPair): number {
  const w = pair.worlds[0];
  const p = w.e.raw.metaPtr(w.frames[0]) >>> 0;
  return p - (p % MEM.BLOCK_SIZE);
}
const bytesAt = (pair: LockstepPair, k: number, at: number): Uint8Array =>
  pair.worlds[k].e.mem().u8.slice(at, at + MEM.BLOCK_SIZE);
const u64At = (u32: Uint32Array, ptr: number): [number, number] => [u32[ptr >>> 2], u32[(ptr >>> 2) + 1]];
/** The table an upper entry points to (its pfn bits; tables live below 4 GiB). */
const tableAt = (u32: Uint32Array, slot: number): number => (u32[slot >>> 2] & ~0xfff) >>> 0;
/** Pages mapped by one PGD / PUD entry of a 4-level table. */
const PGD_SPAN = 2 ** 27;
const PUD_SPAN = 2 ** 18;

describe("LockstepPair", () => {
  it("frees only the tables the case allocated, not a live block its root points at", () => {
    const pair = new LockstepPair(BUILD, 2);
    const chunk = metaChunk(pair);
    // the root of the case's mm: the pair's mm takes the blocks buildWorld's mm had
    const fresh = buildWorld(BUILD, 4, 2);
    const root = fresh.e.raw.mmRoot(fresh.mm) >>> 0;
    const c = writeThrough(root, 0, spec(0, 0, "page", { k: "raw", v: chunk / 4096 }));
    applyCase(c, fresh);
    const planted = mk.page(chunk / 4096, true);
    expect(u64At(fresh.e.mem().u32, root)).toEqual([planted.lo, planted.hi]); // PGD slot 0 -> the chunk

    const blocks = pair.worlds.map((w) => w.e.raw.blocksUsed());
    const before = [0, 1].map((k) => bytesAt(pair, k, chunk));
    pair.run(c);
    for (const k of [0, 1]) {
      expect(bytesAt(pair, k, chunk)).toEqual(before[k]); // the frames' refcounts are still there
      expect(pair.worlds[k].e.raw.blocksUsed()).toBe(blocks[k]); // nothing leaked, nothing freed twice
    }
    expect(pair.retired).toBe(false);
    // the next case allocates tables: none of them may be the metadata chunk
    const next = caseOf([spec(0, 0, "page", { k: "frame", i: 1 }), spec(1, 600, "huge", { k: "thp", i: 0 })]);
    expect(pair.run(next).passes).toEqual(checkCase(next, BUILD).passes);
    expect(bytesAt(pair, 0, chunk)).toEqual(before[0]);
  });

  it("writes back what a case wrote into a live block through a PTE read as a table pointer", () => {
    const pair = new LockstepPair(BUILD, 2);
    const chunk = metaChunk(pair);
    const c = writeThrough(chunk, 5, spec(0, 0, "page", { k: "frame", i: 2 }));
    const fresh = buildWorld(BUILD, 4, 2);
    const freshChunk =
      (fresh.e.raw.metaPtr(fresh.frames[0]) >>> 0) - ((fresh.e.raw.metaPtr(fresh.frames[0]) >>> 0) % MEM.BLOCK_SIZE);
    applyCase(c, fresh);
    const written = mk.page(fresh.frames[2], true);
    expect(u64At(fresh.e.mem().u32, freshChunk + 5 * 8)).toEqual([written.lo, written.hi]);

    const before = bytesAt(pair, 0, chunk);
    pair.run(c);
    expect(bytesAt(pair, 0, chunk)).toEqual(before);
    expect(bytesAt(pair, 1, chunk)).toEqual(before);
    expect(pair.lastCaseForeign).toBe(true);
    expect(pair.retired).toBe(false);
    const next = caseOf([spec(0, 2, "page", { k: "frame", i: 0 })]);
    expect(pair.run(next).passes).toEqual(checkCase(next, BUILD).passes);
    expect(pair.lastCaseForeign).toBe(false);
  });

  it("retires itself after a write into the first word of a heap block (a free block's link)", () => {
    const pair = new LockstepPair(BUILD, 2);
    const chunk = metaChunk(pair);
    pair.run(writeThrough(chunk, 0, spec(0, 0, "page", { k: "frame", i: 2 })));
    expect(pair.retired).toBe(true);
    expect(() => pair.run(caseOf([]))).toThrow(/retired; replace it/);
  });

  it("ignores a slot beyond linear memory (the store writes nothing)", () => {
    const pair = new LockstepPair(BUILD, 2);
    // a PMD whose table pointer lies beyond memory: the PTE slots below it are beyond memory too
    const c = caseOf([
      { ...spec(1, 0, "alias", { k: "frame", i: 0 }), oob: true },
      spec(0, 3, "page", { k: "frame", i: 0 }),
    ]);
    const blocks = pair.worlds[0].e.raw.blocksUsed();
    pair.run(c);
    expect(pair.lastCaseForeign).toBe(false);
    expect(pair.retired).toBe(false);
    expect(pair.worlds[0].e.raw.blocksUsed()).toBe(blocks);
  });

  it("abandons a case at a write into a free block's link, before the case allocates from that free list", () => {
    const pair = new LockstepPair(BUILD, 2);
    // a first case whose PUD, PMD and PTE tables go back to the free list afterwards: where they are
    // is where they are in a fresh world (the pair's mm takes the blocks buildWorld's mm had)
    const first = caseOf([spec(0, 0, "page", { k: "frame", i: 0 })]);
    const fresh = buildWorld(BUILD, 4, 2);
    applyCase(first, fresh);
    const root = fresh.e.raw.mmRoot(fresh.mm) >>> 0;
    const u32 = fresh.e.mem().u32;
    const pud = tableAt(u32, root + 3 * 8);
    const pmd = tableAt(u32, pud);
    const pte = tableAt(u32, pmd);
    const freed = [pud, pmd, pte];
    expect(new Set(freed).size).toBe(3);
    pair.run(first);
    expect(pair.retired).toBe(false);

    // then a case that writes an entry into the first word (the free-list link) of each of them
    // (the zero block is the PMD and the PTE table of BASE; its PTE k points at freed block k, which
    // is the PTE table of page BASE + 512 * k) and then needs three new tables (a new PGD slot)
    const garbage = { k: "raw", v: OOB_TABLE_PFN } as const;
    const c = caseOf([
      spec(2, 0, "alias", { k: "frame", i: 0 }),
      spec(1, 0, "alias", { k: "frame", i: 0 }),
      ...freed.map((b, k) => spec(0, 1 + k, "page", { k: "raw", v: b / 4096 })),
      ...freed.map((_, k) => spec(0, 512 * (1 + k), "page", garbage)),
      spec(0, PGD_SPAN, "page", { k: "frame", i: 1 }),
    ]);
    // the old pair built the case on: the allocator popped a link that pointed beyond memory and
    // trapped (a RuntimeError out of run(), "memory access out of bounds" in blockAlloc)
    const result = pair.run(c);
    expect(pair.retired).toBe(true);
    expect(pair.lastCaseForeign).toBe(true);
    expect(pair.retiredBecause).toBe(
      `a write at 0x${pud.toString(16).padStart(8, "0")}, in a heap block the allocator may hand out or read during the case`,
    );
    // the case was checked all the same, in two fresh engines
    expect(result.passes).toEqual(checkCase(c, BUILD).passes);
    expect(() => pair.run(caseOf([]))).toThrow(/retired; replace it/);
  });

  it("abandons a case at a write into a table the allocator has not handed out yet", () => {
    // in a fresh world (and in a fresh pair: the same blocks) the case's first new table P is cut
    // from the table slab; T, the next one, and X, two further on, are not handed out yet
    const prefix = caseOf([spec(2, 0, "alias", { k: "frame", i: 0 })]);
    const probe = buildWorld(BUILD, 4, 2);
    const root = probe.e.raw.mmRoot(probe.mm) >>> 0;
    applyCase(prefix, probe);
    const p = tableAt(probe.e.mem().u32, root + 3 * 8);
    const t = p + MEM.BLOCK_SIZE;
    const x = p + 3 * MEM.BLOCK_SIZE;
    const slot = 5;
    // the case plants a table entry (-> X) in slot 5 of T, then looks up a page of a new PGD slot
    // whose PUD index is 5: the allocator hands T out as that PUD table without clearing it, and the
    // lookup follows the planted entry to X and allocates only the PTE table below X
    const c = caseOf([
      ...prefix.entries,
      spec(1, 0, "alias", { k: "frame", i: 0 }),
      spec(0, 1, "page", { k: "raw", v: t / 4096 }),
      spec(0, 512 + slot, "page", { k: "raw", v: x / 4096 }),
      spec(0, PGD_SPAN + slot * PUD_SPAN, "page", { k: "frame", i: 1 }),
    ]);
    const fresh = buildWorld(BUILD, 4, 2);
    applyCase(c, fresh);
    const u32 = fresh.e.mem().u32;
    expect(tableAt(u32, root + 4 * 8)).toBe(t); // T is the new PUD table
    expect(tableAt(u32, t + slot * 8)).toBe(x); // with the planted entry in it

    // the old pair recorded X (never allocated) and the PTE table as the lookup's new tables, freed
    // them and leaked T: "N + 1 blocks in use after freeing a case, N before it"
    const pair = new LockstepPair(BUILD, 2);
    const result = pair.run(c);
    expect(pair.retired).toBe(true);
    expect(pair.retiredBecause).toBe(
      `a write at 0x${(t + slot * 8).toString(16).padStart(8, "0")}, in a heap block the allocator may hand out or read during the case`,
    );
    expect(result.passes).toEqual(checkCase(c, BUILD).passes);
  });
});
