// Decision-table rows M3L (hmm_vma_handle_absent_pmd, v6.19 device-private THP), next to the
// seed's M3 for the same entries: a PMD-level device-private entry of the range's owner, of
// another owner, and another absent PMD, with and without requests, in both walkers.
import { describe, expect, it } from "vitest";
import { Device, HMM_PFN_ERROR, MMU_NOTIFY_CLEAR, PROFILES, profileInfo, type Profile } from "../src/index.js";
import * as pte from "../src/engine/pte.js";
import { E, PAGE, PMD_SIZE, R, RW, V, W, WR, anon, baseOf, driverFault, makeSim, runRange, type Sim } from "./helpers.js";

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
    expect(t.events.some((e) => e.event === MMU_NOTIFY_CLEAR && e.start === base && e.end === base + PMD_SIZE)).toBe(true);
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

describe.each(PROFILES.filter((p) => !profileInfo(p).deviceThp))("M3 (%s): the same entries before device THP", (profile) => {
  it("a device-private PMD is just an absent PMD: ERROR even for its owner, -EFAULT with a request", () => {
    const t = makeSim({ profile });
    const { base, dev } = devicePmd(t, true);
    expect(runRange(t, { start: base, end: base + 2 * PAGE, owner: dev.owner }).out).toEqual([HMM_PFN_ERROR, HMM_PFN_ERROR]);
    expect(runRange(t, { start: base, end: base + PAGE, owner: dev.owner, req: [R] }).ret).toBe(-14);
  });
});
