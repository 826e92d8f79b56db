import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import {
  EINVAL,
  Engine,
  EngineError,
  ErrnoError,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  Mm,
  PROT_READ,
  PROT_WRITE,
  PfnArray,
  hmmRangeFault,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
} from "../src/index.js";
import { Mirror, HMM_DMIRROR_PROT_READ, HMM_DMIRROR_PROT_WRITE, HMM_DMIRROR_PROT_ZERO } from "../src/drivers/mirror.js";
import { runDefaultSimulation } from "../src/sim/default.js";
import { PHYS } from "../src/engine/layout.js";
import { ENGINE_OPTS } from "./env.js";

const MiB = 2 ** 20;
const anon = { prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS };

describe("engine memory", () => {
  it("grows linear memory by doubling and keeps results correct across growth", () => {
    const e = new Engine(ENGINE_OPTS);
    const before = e.memoryBytes();
    const mm = new Mm(e);
    // fill most of the initial heap so that the faults of the walk below must grow memory
    while (e.raw.heapBytes() + 16 * 4096 < e.memoryBytes()) e.raw.blockAlloc(4096);
    const full = e.memoryBytes();
    const a = mm.mmap({ length: 64 * MiB, ...anon });
    const sub = mm.intervalNotifierInsert(a, 64 * MiB, { invalidate: () => true });
    // 16384 pages faulted for write need 32 PTE tables plus frame metadata chunks
    const pfns = new PfnArray(e, 16384);
    const seq = mm.notifiers.readBegin(sub);
    const r = mm.withReadLock(() =>
      hmmRangeFault({
        notifier: sub,
        notifierSeq: seq,
        start: a,
        end: a + 64 * MiB,
        hmmPfns: pfns,
        defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
      }),
    );
    expect(r).toBe(0);
    expect(full).toBe(before);
    expect(e.memoryBytes()).toBeGreaterThanOrEqual(2 * full);
    // every page is VALID|WRITE with a distinct pfn: the host views were refreshed after growth
    const seen = new Set<number>();
    for (let i = 0; i < 16384; i++) {
      expect(pfns.isValid(i) && pfns.isWrite(i)).toBe(true);
      seen.add(pfns.pfn(i));
    }
    expect(seen.size).toBe(16384);
  });

  it("frees frames and page tables on munmap and exit (no leak, no double free)", () => {
    const e = new Engine(ENGINE_OPTS);
    const base = e.framesInUse();
    const mm = new Mm(e);
    const a = mm.mmap({ length: 4 * MiB, ...anon });
    for (let off = 0; off < 4 * MiB; off += 4096) mm.touch(a + off, true);
    expect(e.framesInUse() - base).toBe(1024);
    const tablesMapped = mm.pageTables;
    mm.munmap(a, 2 * MiB);
    expect(e.framesInUse() - base).toBe(512);
    expect(mm.pageTables).toBeLessThan(tablesMapped);
    const blocks = e.blocksInUse();
    mm.exit();
    expect(e.framesInUse()).toBe(base);
    expect(e.blocksInUse()).toBeLessThan(blocks);
  });

  it("out of RAM makes the write fault fail with -EFAULT and leaves state intact", () => {
    const e = new Engine({ ...ENGINE_OPTS, ramFrames: 512 + 16 });
    const mm = new Mm(e);
    const a = mm.mmap({ length: 4 * MiB, ...anon });
    const sub = mm.intervalNotifierInsert(a, 4 * MiB, { invalidate: () => true });
    const pfns = new BigUint64Array(1024);
    const seq = mm.notifiers.readBegin(sub);
    const r = mm.withReadLock(() =>
      hmmRangeFault({
        notifier: sub,
        notifierSeq: seq,
        start: a,
        end: a + 4 * MiB,
        hmmPfns: pfns,
        defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
      }),
    );
    expect(r).toBe(-14);
    // the pages that were allocated before RAM ran out are still mapped and readable
    expect(mm.cpuReadU32(a)).toBe(0);
  });

  it("rejects bad input with typed errors", () => {
    const e = new Engine(ENGINE_OPTS);
    const mm = new Mm(e);
    expect(() => new Mm(e, { levels: 3 as 4 })).toThrow(RangeError);
    expect(() => new Engine({ ...ENGINE_OPTS, ramFrames: -1 })).toThrow(RangeError);
    expect(() => mm.mmap({ length: 0, ...anon })).toThrow(ErrnoError);
    expect(() => mm.munmap(123, 4096)).toThrow(/not page aligned/);
    const a = mm.mmap({ length: MiB, ...anon });
    const sub = mm.intervalNotifierInsert(a, MiB, { invalidate: () => true });
    const seq = mm.notifiers.readBegin(sub);
    const run = (start: number, end: number) =>
      mm.withReadLock(() =>
        hmmRangeFault({
          notifier: sub,
          notifierSeq: seq,
          start,
          end,
          hmmPfns: new BigUint64Array(256),
        }),
      );
    expect(run(a + 8, a + 4096)).toBe(EINVAL);
    expect(run(a + 4096, a + 4096)).toBe(EINVAL);
    expect(() => run(a, a + 2 * MiB)).toThrow(RangeError);
    expect(() => new PfnArray(e, 0)).toThrow(RangeError);
    const p = new PfnArray(e, 4);
    expect(() => p.get(4)).toThrow(RangeError);
    p.free();
    expect(() => p.get(0)).toThrow(/after free/);
  });

  it("turns a WebAssembly trap into an explained EngineError", () => {
    const e = new Engine(ENGINE_OPTS);
    const mm = new Mm(e);
    const a = mm.mmap({ length: MiB, ...anon });
    const sub = mm.intervalNotifierInsert(a, MiB, { invalidate: () => true });
    // sabotage: a pfn buffer pointer beyond linear memory makes the walker trap
    const bad = new PfnArray(e, 256);
    Object.defineProperty(bad, "ptr", { value: 0xfffff000 });
    const seq = mm.notifiers.readBegin(sub);
    expect(() =>
      mm.withReadLock(() => hmmRangeFault({ notifier: sub, notifierSeq: seq, start: a, end: a + MiB, hmmPfns: bad })),
    ).toThrow(EngineError);
  });
});

describe("Mirror (dmirror-like driver)", () => {
  it("snapshots zero page, read and write mappings with dmirror's protection bytes", () => {
    const e = new Engine(ENGINE_OPTS);
    const mm = new Mm(e);
    const a = mm.mmap({ length: 4 * 4096, ...anon });
    const m = new Mirror(mm);
    mm.touch(a, false); // zero page
    mm.touch(a + 4096, true); // private writable page
    const snap = m.snapshot(a, a + 4 * 4096) as Uint8Array;
    expect([...snap]).toEqual([HMM_DMIRROR_PROT_ZERO | HMM_DMIRROR_PROT_READ, HMM_DMIRROR_PROT_WRITE, 0, 0]);
    expect(m.fault(a, a + 4 * 4096, true)).toBe(0);
    expect(m.entries.size).toBe(4);
    expect(m.verify().ok).toBe(true);
    // a CPU munmap tears the device entries down through the notifier
    mm.munmap(a, 2 * 4096);
    expect(m.entries.size).toBe(2);
    expect(m.log.at(-1)).toMatchObject({ event: 0, start: a, end: a + 2 * 4096 });
    expect(PHYS.ZERO_PFN).toBeGreaterThan(0);
  });
});

describe("default simulation and CLI", () => {
  it("runs deterministically and keeps mirror and data coherent", () => {
    const r1 = runDefaultSimulation({ pages: 512, rounds: 48, seed: 7 });
    const r2 = runDefaultSimulation({ pages: 512, rounds: 48, seed: 7 });
    expect(r1).toEqual(r2);
    expect(r1.ok).toBe(true);
    expect(r1.mirrorMismatches).toBe(0);
    expect(r1.dataMismatches).toBe(0);
    expect(r1.finalSeq % 2).toBe(0);
  });

  it("hmmsim run prints the report and exits 0; bad options exit 2", () => {
    const cli = ["--import", "tsx", "src/cli/main.ts"];
    const out = execFileSync(process.execPath, [...cli, "run", "--pages", "256", "--rounds", "20"], {
      encoding: "utf8",
    });
    expect(out).toMatch(/^hmmsim default simulation: 256 pages/m);
    expect(out.trim().split("\n").at(-1)).toBe("simulation OK");
    const bad = spawnSync(process.execPath, [...cli, "run", "--levels", "3"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--levels must be 4 or 5/);
  });
});
