// Decision-table rows that change in the "v6.19" profile, next to what the earlier profiles do
// with the same entries, in both walkers: M3L (hmm_vma_handle_absent_pmd, device-private THP),
// U3 for every leaf PUD (not only devmap ones), and P13 without the devmap exemption.
import { describe, expect, it } from "vitest";
import { Device, HMM_PFN_ERROR, MMU_NOTIFY_CLEAR, PROFILES, profileInfo, type Profile } from "../src/index.js";
import { PTE_HI, PTE_LO, PUD_SHIFT } from "../src/engine/layout.js";
import * as pte from "../src/engine/pte.js";
import {
  E,
  PAGE,
  PMD_SIZE,
  R,
  RW,
  V,
  W,
  WR,
  anon,
  baseOf,
  driverFault,
  makeSim,
  runRange,
  type Sim,
} from "./helpers.js";

const ordOf = (n: number, profile: Profile): bigint => BigInt(n) << BigInt(profileInfo(profile).orderShift);
const b = (n: number): bigint => BigInt(n);

/** An anonymous 2 MiB VMA whose PMD is a device-private entry for a fresh 512-page device folio. */
function devicePmd(t: Sim, write: boolean): { base: number; head: number; dev: Device } {
  const base = baseOf(4);
  anon(t, base, 512, RW);
  t.mm.vmaLookup(base)!.anonVma = true;
  const dev = new Device(t.engine, { pages: 1024 });
  const head = dev.allocFolio(9);
  for (let i = 0; i < 512; i++) t.engine.setMapcount(head + i, 1);
  t.engine.writeEntry(t.mm.entryPtr(base, 1, true), pte.mk.devicePrivate(head, write));
  return { base, head, dev };
}

describe("M3L (v6.19): PMD-level device-private entries", () => {
  const profile: Profile = "v6.19";

  it("M3L(a) own device, no request: (pfn + i) | VALID | WRITE | ord(9) for every page of the chunk", () => {
    const t = makeSim({ profile });
    const { base, head, dev } = devicePmd(t, true);
    const r = runRange(t, { start: base + 100 * PAGE, end: base + 104 * PAGE, owner: dev.owner });
    expect(r.ret).toBe(0);
    expect(r.out).toEqual([0, 1, 2, 3].map((i) => b(head + 100 + i) | V | W | ordOf(9, profile)));
    expect(r.stats.faultedPages).toBe(0);
  });

  it("M3L(a) own device, read-only entry, write request: reported read-only, never faulted", () => {
    const t = makeSim({ profile });
    const { base, head, dev } = devicePmd(t, false);
    const r = runRange(t, { start: base, end: base + 2 * PAGE, owner: dev.owner, req: [WR, WR] });
    expect(r.ret).toBe(0);
    expect(r.out).toEqual([b(head) | V | ordOf(9, profile), b(head + 1) | V | ordOf(9, profile)]);
    expect(r.stats.faultedPages).toBe(0);
    expect(t.events).toEqual([]);
  });

  it("M3L(b) another owner, no request: ERROR (where a PTE-level entry gives 0)", () => {
    const t = makeSim({ profile });
    const { base } = devicePmd(t, true);
    const r = runRange(t, { start: base, end: base + 3 * PAGE, owner: "someone else" });
    expect(r.ret).toBe(0);
    expect(r.out).toEqual([E, E, E]);
  });

  it("M3L(b) another owner, read request: FAULT -> migrate_to_ram, then the system pages", () => {
    const t = makeSim({ profile });
    const { base, dev } = devicePmd(t, true);
    t.engine.clearFrame(dev.firstPfn);
    // the split's CLEAR moves the sequence: the first call is -EBUSY, the driver retries
    const r = driverFault(t, { start: base, end: base + 2 * PAGE, req: [R, R] });
    expect(r.rets[0]).toBe(-16);
    expect(r.ret).toBe(0);
    expect(dev.migrateToRamCalls).toBeGreaterThan(0);
    for (const w of r.out) expect(w & (V | E)).toBe(V);
    // the default migrate_to_ram moves one page: the PMD was split first (CLEAR over 2 MiB)
    expect(t.events.some((e) => e.event === MMU_NOTIFY_CLEAR && e.start === base && e.end === base + PMD_SIZE)).toBe(
      true,
    );
  });

  it("M3L(c) any other absent PMD: ERROR without a request, -EFAULT with one", () => {
    const t = makeSim({ profile });
    const base = baseOf(4);
    anon(t, base, 512, RW);
    t.engine.writeEntry(t.mm.entryPtr(base, 1, true), pte.mk.hwpoison(0x1234));
    expect(runRange(t, { start: base, end: base + 2 * PAGE }).out).toEqual([E, E]);
    expect(runRange(t, { start: base, end: base + 2 * PAGE, req: [R, 0n] }).ret).toBe(-14);
  });
});

describe.each(PROFILES.filter((p) => !profileInfo(p).deviceThp))(
  "M3 (%s): the same entries before device THP",
  (profile) => {
    it("a device-private PMD is just an absent PMD: ERROR even for its owner, -EFAULT with a request", () => {
      const t = makeSim({ profile });
      const { base, dev } = devicePmd(t, true);
      expect(runRange(t, { start: base, end: base + 2 * PAGE, owner: dev.owner }).out).toEqual([
        HMM_PFN_ERROR,
        HMM_PFN_ERROR,
      ]);
      expect(runRange(t, { start: base, end: base + PAGE, owner: dev.owner, req: [R] }).ret).toBe(-14);
    });
  },
);

describe.each(PROFILES)("U3 / U5 (%s): a present leaf PUD that is not devmap", (profile) => {
  const late = profileInfo(profile).deviceThp;
  it(late ? "v6.19 U3: reported with order 18, no split" : "U5: split (CLEAR 1 GiB), then a hole", () => {
    const t = makeSim({ profile });
    const base = baseOf(4);
    const PUD = 2 ** PUD_SHIFT;
    anon(t, base, PUD / PAGE, RW);
    const pfn = 0x4000000;
    t.engine.writeEntry(t.mm.entryPtr(base, 2, true), pte.mk.huge(pfn, true));
    const r = driverFault(t, { start: base + 3 * PAGE, end: base + 5 * PAGE });
    expect(r.ret).toBe(0);
    if (late) {
      expect(r.out).toEqual([b(pfn + 3) | V | W | ordOf(18, profile), b(pfn + 4) | V | W | ordOf(18, profile)]);
      expect(t.events).toEqual([]);
    } else {
      expect(r.out).toEqual([0n, 0n]);
      expect(t.events.map((e) => [e.event, e.start, e.end])).toEqual([[MMU_NOTIFY_CLEAR, base, base + PUD]]);
    }
  });
  it(
    late
      ? "v6.19 U4: a non-present leaf PUD is a hole without a split"
      : "a non-present non-devmap leaf PUD: split, then a hole",
    () => {
      const t = makeSim({ profile });
      const base = baseOf(4);
      anon(t, base, 2 ** PUD_SHIFT / PAGE, RW);
      t.engine.writeEntry(t.mm.entryPtr(base, 2, true), pte.mkPfnEntry(0x4000000, PTE_LO.PSE | PTE_LO.USER));
      const r = driverFault(t, { start: base, end: base + 2 * PAGE });
      expect(r.out).toEqual([0n, 0n]);
      expect(t.events.length).toBe(late ? 0 : 1);
    },
  );
});

describe.each(PROFILES)("P13 (%s): a devmap PTE without a struct page", (profile) => {
  const late = profileInfo(profile).deviceThp;
  it(late ? "v6.19: no devmap exemption, ERROR" : "devmap exemption: pfn | cpu flags", () => {
    const t = makeSim({ profile });
    const base = baseOf(4);
    anon(t, base, 1, RW);
    t.engine.writeEntry(t.mm.entryPtr(base, 0, true), pte.mk.page(0x3100000, true, PTE_LO.SPECIAL, PTE_HI.DEVMAP));
    const r = runRange(t, { start: base, end: base + PAGE });
    expect(r.ret).toBe(0);
    expect(r.out).toEqual([late ? E : b(0x3100000) | V | W]);
  });
});
