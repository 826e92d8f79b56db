import { describe, expect, it } from "vitest";
import {
  Device,
  Engine,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MMU_NOTIFY_CLEAR,
  Mm,
  PROT_READ,
  PROT_WRITE,
  fork,
  hmmRangeFault,
  migrateDeviceRange,
} from "../src/index.js";
import { ENGINE_OPTS } from "./env.js";

const PAGE = 4096;
const base = 0x7f00_0000_0000;

function recorder(mm: Mm) {
  const events: [number, number, number, unknown][] = [];
  const sub = mm.intervalNotifierInsert(base, 16 * PAGE, {
    invalidate(s, r, seq) {
      events.push([r.event, r.start, r.end, r.owner]);
      mm.notifiers.setSeq(s, seq);
      return true;
    },
  });
  const snap = (owner?: unknown) => {
    const pfns = new BigUint64Array(4);
    const seq = mm.notifiers.readBegin(sub);
    expect(
      mm.withReadLock(() =>
        hmmRangeFault({
          notifier: sub,
          notifierSeq: seq,
          start: base,
          end: base + 4 * PAGE,
          hmmPfns: pfns,
          devPrivateOwner: owner,
        }),
      ),
    ).toBe(0);
    return [...pfns];
  };
  return { events, snap };
}

describe("migrate_device_range (device eviction, docs/semantics.md §7)", () => {
  it("evicts device pages from every Mm mapping them with CLEAR per page, data intact, nothing leaked", () => {
    const engine = new Engine(ENGINE_OPTS);
    const baseline = engine.framesInUse();
    const dev = new Device(engine, { pages: 8 });
    const parent = new Mm(engine);
    parent.mmap({
      addr: base,
      length: 16 * PAGE,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
    });
    for (let i = 0; i < 4; i++) parent.cpuWriteU32(base + i * PAGE, 100 + i);
    expect(dev.migrateToDevice(parent, base, base + 4 * PAGE)).toBe(4);
    expect(dev.freePages).toBe(4);
    const child = fork(parent);
    const p = recorder(parent);
    const c = recorder(child);
    // the owner sees its device pages, read-only in both after fork
    for (const w of p.snap(dev.owner)) expect(w & (HMM_PFN_VALID | HMM_PFN_WRITE)).toBe(HMM_PFN_VALID);

    expect(migrateDeviceRange(engine, dev.firstPfn, dev.npages)).toBe(4);
    const clears = (i: number): [number, number, number, unknown] => [
      MMU_NOTIFY_CLEAR,
      base + i * PAGE,
      base + (i + 1) * PAGE,
      null,
    ];
    expect(p.events).toEqual([0, 1, 2, 3].map(clears));
    expect(c.events).toEqual([0, 1, 2, 3].map(clears));
    expect(dev.freePages).toBe(8);
    // parent and child now share read-only system pages with the data
    const pw = p.snap(dev.owner);
    const cw = c.snap();
    expect(pw).toEqual(cw);
    for (const w of pw) {
      expect(w & (HMM_PFN_VALID | HMM_PFN_WRITE)).toBe(HMM_PFN_VALID);
      expect(engine.pgmapOwnerId(Number(w & 0xffffffffn))).toBe(0);
    }
    for (let i = 0; i < 4; i++) {
      expect(parent.cpuReadU32(base + i * PAGE)).toBe(100 + i);
      expect(child.cpuReadU32(base + i * PAGE)).toBe(100 + i);
    }
    // a second eviction finds nothing mapped
    expect(dev.evictAll()).toBe(0);
    child.exit();
    parent.exit();
    expect(engine.framesInUse()).toBe(baseline);
  });
});
