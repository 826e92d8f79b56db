// The public-API pieces a device model needs (issue 9's friction list): zero-page pfns, ENOENT,
// exclusive access returning its pages, number-only migrate_pfn helpers, private device mappings,
// vm_insert_page marking VM_MIXEDMAP, the migrate_to_ram hook and profile-aware decoders.
import { describe, expect, it } from "vitest";
import {
  Device,
  ENOENT,
  Engine,
  FRAME,
  HUGE_ZERO_PFN,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_SHIFT,
  MIGRATE_PFN_VALID,
  MIGRATE_PFN_WRITE,
  Mm,
  PROT_READ,
  PROT_WRITE,
  PfnArray,
  VM,
  ZERO_PFN,
  hmmPfnToMapOrder,
  hmmPfnToPfn,
  hmmRangeFault,
  insertPage,
  makeDeviceExclusiveRange,
  makeDeviceExclusiveRangePages,
  migratePfn,
  migratePfnFlags,
  migratePfnHasFlag,
  migratePfnToPfn,
  migratePfnWithFlag,
  migratePfnWithoutFlag,
} from "../../src/index.js";
import { PHYS } from "../../src/engine/layout.js";
import { ENGINE_OPTS } from "../env.js";

const PAGE = 4096;
const RW = PROT_READ | PROT_WRITE;

describe("exported constants", () => {
  it("ZERO_PFN / HUGE_ZERO_PFN are the frames a read fault maps, ENOENT is -2", () => {
    expect(ZERO_PFN).toBe(PHYS.ZERO_PFN);
    expect(HUGE_ZERO_PFN).toBe(PHYS.HUGE_ZERO_PFN);
    expect(ENOENT).toBe(-2);
    const mm = new Mm(new Engine(ENGINE_OPTS));
    const a = mm.mmap({ length: PAGE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    mm.cpuRead(a, 1);
    expect(mm.translate(a, false)?.pfn).toBe(ZERO_PFN);
  });
});

describe("makeDeviceExclusiveRangePages", () => {
  it("returns the pfn of every page made exclusive; the count-only form is unchanged", () => {
    const mm = new Mm(new Engine(ENGINE_OPTS));
    const a = mm.mmap({ length: 3 * PAGE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    for (let i = 0; i < 3; i++) mm.cpuWriteU32(a + i * PAGE, i + 1);
    const pfns = [0, 1, 2].map((i) => mm.translate(a + i * PAGE, false)!.pfn);
    const r = makeDeviceExclusiveRangePages(mm, a, a + 2 * PAGE, "dev");
    expect(r).toEqual({ ret: 2, pages: pfns.slice(0, 2) });
    expect(makeDeviceExclusiveRange(mm, a + 2 * PAGE, a + 3 * PAGE, "dev")).toBe(1);
    // no writable VMA at the first page: -EFAULT, no pages
    const ro = mm.mmap({ length: PAGE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    expect(makeDeviceExclusiveRangePages(mm, ro, ro + PAGE, "dev")).toEqual({ ret: -14, pages: [] });
  });
});

describe("migrate_pfn number helpers", () => {
  it("encode, decode and change flags above 32 bits without bitwise operators", () => {
    const pfn = 0x1234_5678_9; // > 2^32 once shifted
    const m = migratePfn(pfn);
    expect(m).toBe(pfn * 2 ** MIGRATE_PFN_SHIFT + MIGRATE_PFN_VALID);
    expect(m).toBeGreaterThan(2 ** 32);
    const mw = migratePfnWithFlag(migratePfnWithFlag(m, MIGRATE_PFN_MIGRATE), MIGRATE_PFN_WRITE);
    expect(migratePfnFlags(mw)).toBe(MIGRATE_PFN_VALID | MIGRATE_PFN_MIGRATE | MIGRATE_PFN_WRITE);
    expect(migratePfnWithFlag(mw, MIGRATE_PFN_WRITE)).toBe(mw);
    expect(migratePfnHasFlag(mw, MIGRATE_PFN_WRITE)).toBe(true);
    const m2 = migratePfnWithoutFlag(mw, MIGRATE_PFN_WRITE);
    expect(migratePfnHasFlag(m2, MIGRATE_PFN_WRITE)).toBe(false);
    expect(migratePfnToPfn(m2)).toBe(pfn);
    expect(migratePfnToPfn(MIGRATE_PFN_MIGRATE)).toBe(0);
  });
});

describe("device mappings", () => {
  it("Device.mmap maps private when asked; vm_insert_page sets VM_MIXEDMAP and maps read-only", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const dev = new Device(engine);
    const a = dev.mmap(mm, PAGE, RW, "mixedmap", MAP_PRIVATE);
    expect(mm.vmaLookup(a)!.flags & VM.SHARED).toBe(0);
    expect(() => dev.mmap(mm, PAGE, RW, "mixedmap", MAP_SHARED | MAP_PRIVATE)).toThrow(/MAP_SHARED or MAP_PRIVATE/);
    // a plain VMA (no VM_MIXEDMAP yet) becomes VM_MIXEDMAP on the first insert
    const p = dev.mmap(mm, PAGE, RW, "io");
    const pfn = engine.allocFrames(0, 0);
    expect(() => insertPage(mm, p, pfn)).toThrow(/VM_PFNMAP/);
    const anon = mm.mmap({ length: PAGE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    insertPage(mm, anon, pfn);
    expect(mm.vmaLookup(anon)!.flags & VM.MIXEDMAP).toBe(VM.MIXEDMAP);
    expect(mm.translate(anon, false)?.pfn).toBe(pfn);
    expect(mm.translate(anon, true)).toBeNull();
  });
});

describe("migrate_to_ram hook", () => {
  it("onMigrateToRam sees the migrating page before migrate_vma_pages; allocSystemPage is anon exclusive", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const seen: number[] = [];
    const dev = new Device(engine, {
      onMigrateToRam: (m) => {
        for (let i = 0; i < m.npages; i++)
          if (migratePfnHasFlag(m.src[i], MIGRATE_PFN_MIGRATE)) seen.push(m.start + i * PAGE);
      },
    });
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    mm.cpuWriteU32(a + PAGE, 77);
    mm.cpuWriteU32(a, 66);
    expect(dev.migrateToDevice(mm, a, a + 2 * PAGE)).toBe(2);
    expect(mm.cpuReadU32(a + PAGE)).toBe(77);
    expect(seen).toEqual([a + PAGE]);
    const s = dev.allocSystemPage();
    expect(engine.frameFlags(s) & (FRAME.ANON | FRAME.ANON_EXCLUSIVE)).toBe(FRAME.ANON | FRAME.ANON_EXCLUSIVE);
    expect(engine.refcount(s)).toBe(1);
  });
});

describe("profile-aware decoders", () => {
  it("PfnArray decodes with the profile of the Mm that filled it; hmmPfnToMapOrder takes an Mm", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine, { profile: "v6.16", thp: "always" });
    const a = mm.mmap({ length: 4 << 20, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    const base = Math.ceil(a / (2 << 20)) * (2 << 20);
    mm.cpuWriteU32(base, 1);
    const sub = mm.intervalNotifierInsert(0, 2 ** 47, { invalidate: () => true });
    const pfns = new PfnArray(engine, 2);
    expect(pfns.profile).toBe("v6.1");
    const seq = mm.notifiers.readBegin(sub);
    expect(
      mm.withReadLock(() =>
        hmmRangeFault({ notifier: sub, notifierSeq: seq, start: base, end: base + 2 * PAGE, hmmPfns: pfns }),
      ),
    ).toBe(0);
    expect(pfns.profile).toBe("v6.16");
    expect(pfns.order(1)).toBe(9);
    const head = mm.translate(base, false)!.pfn;
    expect(pfns.pfn(1)).toBe(head + 1);
    expect(hmmPfnToMapOrder(pfns.get(1), mm)).toBe(9);
    expect(hmmPfnToPfn(pfns.get(0), mm)).toBe(head);
    // the seed layout reads the same word wrongly: the reason the profile is required
    expect(hmmPfnToMapOrder(pfns.get(1), "v6.1")).not.toBe(9);
    expect(new PfnArray(mm, 1).profile).toBe("v6.16");
    pfns.free();
  });
});
