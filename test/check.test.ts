// The invariant checker (src/sim/check) and the state digests: clean scenarios report nothing,
// each kind of corruption is reported by name, and digests are stable and sensitive.
import { describe, expect, it } from "vitest";
import { Engine } from "../src/engine/engine.js";
import { Mm } from "../src/api/mm.js";
import { Mirror } from "../src/drivers/mirror.js";
import { Device } from "../src/drivers/device.js";
import { fork } from "../src/ops/fork.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from "../src/mm/vma.js";
import { HMM_PFN_WRITE } from "../src/engine/layout.js";
import { checkInvariants, checkTeardown } from "../src/sim/check/index.js";
import * as pte from "../src/engine/pte.js";
import { ENGINE_OPTS } from "./env.js";

const PAGE = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function scene(): { engine: Engine; mm: Mm; mirror: Mirror; addr: number } {
  const engine = new Engine(ENGINE_OPTS);
  const mm = new Mm(engine);
  const addr = mm.mmap({ length: 16 * PAGE, prot: RW, flags: ANON });
  for (let i = 0; i < 8; i++) mm.cpuWriteU32(addr + i * PAGE, i + 1);
  const mirror = new Mirror(mm);
  expect(mirror.fault(addr, addr + 8 * PAGE, true)).toBe(0);
  return { engine, mm, mirror, addr };
}

describe("checkInvariants", () => {
  it("reports nothing for a consistent machine: faults, mirror, fork, COW, migration, munmap, exit", () => {
    const { engine, mm, mirror, addr } = scene();
    const dev = new Device(engine, { pages: 64 });
    const mirrors = [mirror];
    expect(checkInvariants(engine, { mirrors })).toEqual([]);
    const child = fork(mm);
    expect(checkInvariants(engine, { mirrors })).toEqual([]);
    child.cpuWriteU32(addr, 99);
    mm.cpuWriteU32(addr + PAGE, 98);
    expect(checkInvariants(engine, { mirrors })).toEqual([]);
    expect(dev.migrateToDevice(mm, addr + 4 * PAGE, addr + 8 * PAGE)).toBe(4);
    expect(checkInvariants(engine, { mirrors })).toEqual([]);
    expect(mm.cpuReadU32(addr + 5 * PAGE)).toBe(6);
    expect(checkInvariants(engine, { mirrors })).toEqual([]);
    mm.munmap(addr + 2 * PAGE, 2 * PAGE);
    expect(checkInvariants(engine, { mirrors })).toEqual([]);
    child.exit();
    mm.exit();
    expect(checkInvariants(engine, { mirrors })).toEqual([]);
    expect(checkTeardown(engine)).toEqual([]);
  });

  it("reports a mirror entry writable where the CPU entry is read-only (mirror-permission)", () => {
    const { engine, mm, mirror, addr } = scene();
    // make the CPU entry read-only behind the notifier's back
    const leaf = mm.leafOf(addr);
    engine.writeEntry(leaf.ptr, { lo: (leaf.entry.lo & ~2) >>> 0, hi: leaf.entry.hi });
    const vs = checkInvariants(engine, { mirrors: [mirror] });
    expect(vs.map((v) => v.kind)).toEqual(["mirror-permission"]);
    expect(vs[0].addr).toBe(addr);
    expect(mirror.verify()).toEqual({ ok: false, mismatches: 1 });
  });

  it("reports a stale mirror entry over an unmapped page (mirror-stale)", () => {
    const { engine, mm, mirror, addr } = scene();
    const leaf = mm.leafOf(addr + PAGE);
    engine.writeEntry(leaf.ptr, pte.NONE);
    const kinds = checkInvariants(engine, { mirrors: [mirror] }).map((v) => v.kind);
    expect(kinds).toContain("mirror-stale");
    expect(kinds).toContain("leak");
  });

  it("reports wrong refcounts and mapcounts (refcount, mapcount)", () => {
    const { engine, mm, addr } = scene();
    const pfn = pte.pfnOf(mm.leafOf(addr).entry);
    engine.setRefcount(pfn, 2);
    engine.setMapcount(pfn + 0, 3);
    const kinds = checkInvariants(engine)
      .map((v) => v.kind)
      .sort();
    expect(kinds).toEqual(["mapcount", "refcount"]);
  });

  it("reports an engine VMA table out of step with the VMA list (vma-table)", () => {
    const { engine, mm } = scene();
    mm.vmas[0].end += PAGE;
    const kinds = checkInvariants(engine).map((v) => v.kind);
    expect(kinds).toContain("vma-table");
  });

  it("reports an entry outside every VMA and a held lock", () => {
    const { engine, mm, addr } = scene();
    mm.vmas[0].start = addr + PAGE;
    mm.syncVmas();
    mm.mmapReadLock();
    const kinds = checkInvariants(engine).map((v) => v.kind);
    expect(kinds).toEqual(["lock-held", "entry-outside-vma"]);
    mm.mmapReadUnlock();
  });

  it("teardown: a live mm and its frames are reported", () => {
    const { engine } = scene();
    const kinds = checkTeardown(engine).map((v) => v.kind);
    expect(kinds).toEqual(["teardown-mm", "teardown-frames"]);
  });
});

describe("stateDigest", () => {
  function build(): { engine: Engine; mm: Mm; a: number } {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: 8 * PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(a, 7);
    mm.mmap({ length: 4 * PAGE, prot: PROT_READ, flags: MAP_SHARED | MAP_ANONYMOUS });
    return { engine, mm, a };
  }

  it("is equal for equal histories on two engines and a 16-hex-digit string", () => {
    const x = build();
    const y = build();
    expect(x.engine.stateDigest()).toMatch(/^[0-9a-f]{16}$/);
    expect(x.engine.stateDigest()).toBe(y.engine.stateDigest());
    expect(x.mm.stateDigest()).toBe(y.mm.stateDigest());
  });

  it("changes with data, entries, VMAs and notifier membership", () => {
    const { engine, mm, a } = build();
    const seen = new Set([engine.stateDigest()]);
    mm.cpuWriteU32(a, 8);
    seen.add(engine.stateDigest());
    mm.touch(a + PAGE, false);
    seen.add(engine.stateDigest());
    mm.mprotect(a, PAGE, PROT_READ);
    seen.add(engine.stateDigest());
    const m = new Mirror(mm);
    seen.add(engine.stateDigest());
    seen.add(mm.stateDigest());
    m.release();
    expect(seen.size).toBe(6);
  });

  it("is unchanged by reads that change nothing", () => {
    const { engine, mm, a } = build();
    const d = engine.stateDigest();
    const md = mm.stateDigest();
    expect(mm.cpuReadU32(a)).toBe(7);
    expect(engine.stateDigest()).toBe(d);
    expect(mm.stateDigest()).toBe(md);
    expect(HMM_PFN_WRITE).toBeGreaterThan(0n);
  });
});
