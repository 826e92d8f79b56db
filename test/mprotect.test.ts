import { describe, expect, it } from "vitest";
import {
  Engine,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MMU_NOTIFY_PROTECTION_VMA,
  Mm,
  PROT_READ,
  PROT_WRITE,
  hmmRangeFault,
  type MmuNotifierRange,
  type Profile,
} from "../src/index.js";
import { ENGINE_OPTS } from "./env.js";

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const PAGE = 4096;
// 512 GiB aligned, so the whole mapping sits in one P4D-level chunk
const base = 254 * 2 ** 39;

function setup(profile: Profile) {
  const mm = new Mm(new Engine(ENGINE_OPTS), { profile });
  mm.mmap({
    addr: base,
    length: 3 * GiB,
    prot: PROT_READ | PROT_WRITE,
    flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
  });
  const events: Pick<MmuNotifierRange, "event" | "start" | "end" | "owner" | "blockable">[] = [];
  const sub = mm.intervalNotifierInsert(base, 3 * GiB, {
    invalidate(s, r, seq) {
      events.push({ event: r.event, start: r.start, end: r.end, owner: r.owner, blockable: r.blockable });
      mm.notifiers.setSeq(s, seq);
      return true;
    },
  });
  return { mm, events, sub };
}

function word(mm: Mm, sub: ReturnType<typeof setup>["sub"], addr: number): bigint {
  const pfns = new BigUint64Array(1);
  const seq = mm.notifiers.readBegin(sub);
  expect(
    mm.withReadLock(() =>
      hmmRangeFault({ notifier: sub, notifierSeq: seq, start: addr, end: addr + PAGE, hmmPfns: pfns }),
    ),
  ).toBe(0);
  return pfns[0];
}

describe("mprotect PROTECTION_VMA ranges (docs/semantics.md §7)", () => {
  const a1 = base + GiB + 3 * MiB + 5 * PAGE;
  const a2 = base + 2 * GiB + 10 * MiB;

  it("v6.1: one event per PUD chunk, from its first populated PMD to the chunk end", () => {
    const { mm, events, sub } = setup("v6.1");
    mm.touch(a1, true);
    mm.touch(a2, true);
    expect(word(mm, sub, a1) & (HMM_PFN_VALID | HMM_PFN_WRITE)).toBe(HMM_PFN_VALID | HMM_PFN_WRITE);
    mm.mprotect(base, 3 * GiB, PROT_READ);
    expect(events).toEqual([
      {
        event: MMU_NOTIFY_PROTECTION_VMA,
        start: base + GiB + 2 * MiB,
        end: base + 2 * GiB,
        owner: null,
        blockable: true,
      },
      {
        event: MMU_NOTIFY_PROTECTION_VMA,
        start: base + 2 * GiB + 10 * MiB,
        end: base + 3 * GiB,
        owner: null,
        blockable: true,
      },
    ]);
    expect(word(mm, sub, a1) & (HMM_PFN_VALID | HMM_PFN_WRITE)).toBe(HMM_PFN_VALID);
    expect(word(mm, sub, a2) & (HMM_PFN_VALID | HMM_PFN_WRITE)).toBe(HMM_PFN_VALID);
  });

  it("v6.16: one event per P4D chunk, from its first populated PUD", () => {
    const { mm, events } = setup("v6.16");
    mm.touch(a1, true);
    mm.touch(a2, true);
    mm.mprotect(base, 3 * GiB, PROT_READ);
    expect(events).toEqual([
      { event: MMU_NOTIFY_PROTECTION_VMA, start: base + GiB, end: base + 3 * GiB, owner: null, blockable: true },
    ]);
  });

  it.each(["v6.1", "v6.16"] as Profile[])("%s: no event when no page table is populated in the range", (profile) => {
    const { mm, events } = setup(profile);
    mm.mprotect(base, 3 * GiB, PROT_READ);
    mm.mprotect(base, GiB, PROT_READ | PROT_WRITE);
    expect(events).toEqual([]);
  });
});
