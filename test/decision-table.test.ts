// Spec §3 decision table: one scenario per row (and per quirk), each run on 4- and 5-level address
// spaces, in both profiles, with and without the v6.16 sticky bits (DMA_MAPPED | P2PDMA |
// P2PDMA_BUS) in the input words. Expected words are computed from docs/semantics.md §3: pfns come from the
// CPU page table (or from the situation built), flags and orders from §1.2/§3.
import { describe, expect, it } from "vitest";
import {
  Device, EBUSY, EFAULT, EPERM, MAP_ANONYMOUS, MAP_FIXED, MAP_HUGETLB, MAP_HUGE_1GB, MAP_PRIVATE, MAP_SHARED,
  PROT_NONE, PROT_READ, PROT_WRITE, SimFile, VM, insertPage, insertPfn, makeDeviceExclusiveRange,
  MMU_NOTIFY_CLEAR, MMU_NOTIFY_EXCLUSIVE, MMU_NOTIFY_MIGRATE, type Profile,
} from "../src/index.js";
import { PHYS, PTE_HI, PTE_LO, SWP } from "../src/engine/layout.js";
import * as pte from "../src/engine/pte.js";
import {
  E, PAGE, PMD_SIZE, PUD_SIZE, REQ_FAULT, REQ_WRITE, STICKY, V, W, baseOf, cpuPfn, driverFault, entryAt, highBaseOf5,
  hexWords, makeSim, ord, runRange, writeEntryAt, type Event, type RunResult, type Sim,
} from "./helpers.js";

const RW = PROT_READ | PROT_WRITE;
const R = REQ_FAULT;
const WR = REQ_FAULT | REQ_WRITE;
const ZERO = BigInt(PHYS.ZERO_PFN);
const HZERO = BigInt(PHYS.HUGE_ZERO_PFN);
const Z = ZERO | V;
const b = (n: number): bigint => BigInt(n);
const PFN_MASK = 0x000ffffffffff000n;

interface Ctx extends Sim {
  base: number;
  /** extra state a scenario keeps for its expectations */
  s: Record<string, unknown>;
}

interface Expect {
  ret: number;
  /** one per page: the output word before sticky bits, or null = "still holds the input" */
  words: (bigint | null)[];
  /** lastHmmStats.faultedPages of the call (summed over attempts in driver mode) */
  faulted?: number;
  migrationWaits?: number;
  /** notifier events raised during the hmmRangeFault call(s); default: none */
  events?: Partial<Event>[];
  skipEvents?: boolean;
  /** frames allocated by the call(s) */
  frames?: number;
  extra?: () => void;
}

interface Scenario {
  start: number;
  end: number;
  /** per-page requests (sticky bits are added by the runner) */
  req?: bigint[];
  defaultFlags?: bigint;
  pfnFlagsMask?: bigint;
  owner?: unknown;
  /** run the full driver protocol (§4.3) instead of a single call */
  driver?: boolean;
  expect(ctx: Ctx, r: RunResult): Expect;
}

interface Case {
  row: string;
  name: string;
  profiles?: Profile[];
  setup(ctx: Ctx): Scenario;
}

function anon(t: Ctx, addr: number, pages: number, prot = RW, flags = 0, vmFlags = 0): number {
  return t.mm.mmap({ addr, length: pages * PAGE, prot, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | flags, vmFlags });
}
function pages(n: number, f: (i: number) => bigint | null): (bigint | null)[] {
  return Array.from({ length: n }, (_, i) => f(i));
}
/** the requests: `n` pages of `def`, with overrides by index */
function reqs(n: number, over: Record<number, bigint> = {}, def = 0n): bigint[] {
  return Array.from({ length: n }, (_, i) => over[i] ?? def);
}
/** pte_pfn() of a non-present entry (x86: the entry is inverted first, protnone_mask). */
function garbagePfn(e: pte.Entry): bigint {
  return (~pte.toBigInt(e) & PFN_MASK) >> 12n;
}
function cpu(t: Ctx, addr: number): bigint {
  return b(cpuPfn(t, addr));
}
function isUnmapped(t: Ctx, addr: number): boolean {
  const l = t.mm.leafOf(addr);
  return l.level < 0 || pte.isNone(l.entry);
}
const ev = (event: number, start: number, end: number, owner: unknown = null): Partial<Event> => ({ event, start, end, owner });

const thp = (t: Ctx): void => {
  t.mm.thp = "always";
};

// A devmap PUD / PMD leaf (SEED DAX): a present PSE entry with _PAGE_DEVMAP.
const DAX_PUD_PFN = 0x4000000; // 2^26: aligned to 2^18 pages
const DAX_PMD_PFN = 0x3000000;

const cases: Case[] = [
  // ---- §3.2 range / VMA level -------------------------------------------------------------
  {
    row: "V1", name: "gap below a VMA, no request: FILL(ERROR)",
    setup: (t) => {
      anon(t, t.base + 16 * PAGE, 16);
      return { start: t.base, end: t.base + 8 * PAGE, expect: () => ({ ret: 0, words: pages(8, () => E) }) };
    },
  },
  {
    row: "V1", name: "gap between VMAs and after the last one: 0 inside VMAs, ERROR in gaps",
    setup: (t) => {
      anon(t, t.base, 4);
      anon(t, t.base + 8 * PAGE, 4);
      return {
        start: t.base, end: t.base + 16 * PAGE,
        expect: () => ({ ret: 0, words: pages(16, (i) => (i < 4 || (i >= 8 && i < 12) ? 0n : E)) }),
      };
    },
  },
  {
    row: "V1", name: "read request in a gap: -EFAULT, gap not written, nothing faulted",
    setup: (t) => {
      anon(t, t.base, 4);
      anon(t, t.base + 8 * PAGE, 4);
      return {
        start: t.base, end: t.base + 12 * PAGE, req: reqs(12, { 6: R }),
        expect: () => ({ ret: EFAULT, words: pages(12, (i) => (i < 4 ? 0n : null)), faulted: 0 }),
      };
    },
  },
  {
    row: "V1", name: "REQ_WRITE without REQ_FAULT is ignored (no -EFAULT)",
    setup: (t) => {
      anon(t, t.base + 4 * PAGE, 4);
      return {
        start: t.base, end: t.base + 4 * PAGE, req: reqs(4, {}, REQ_WRITE),
        expect: () => ({ ret: 0, words: pages(4, () => E), faulted: 0 }),
      };
    },
  },
  {
    row: "V2", name: "VM_IO|VM_PFNMAP device mapping (populated): ERROR, -EFAULT on request",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 4 * PAGE, RW, "io");
      insertPfn(t.mm, a, 0x7000, true);
      return { start: a, end: a + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => E) }) };
    },
  },
  {
    row: "V2", name: "VM_PFNMAP: any read request (one page) is -EFAULT before anything is written",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 4 * PAGE, RW, "pfnmap");
      insertPfn(t.mm, a, 0x7000, true);
      return { start: a, end: a + 4 * PAGE, req: reqs(4, { 3: R }), expect: () => ({ ret: EFAULT, words: pages(4, () => null), faulted: 0 }) };
    },
  },
  {
    row: "V2", name: "PFNMAP VMA between two anonymous VMAs: skipped with ERROR, walk continues",
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 4);
      t.mm.mmap({ addr: t.base + 4 * PAGE, length: 4 * PAGE, prot: RW, flags: MAP_SHARED | MAP_FIXED, device: dev, vmFlags: VM.PFNMAP | VM.DONTEXPAND });
      anon(t, t.base + 8 * PAGE, 4);
      t.mm.touch(t.base + 8 * PAGE, false);
      return {
        start: t.base, end: t.base + 12 * PAGE, req: reqs(12, { 0: R }),
        // page 0's read request faults the first VMA (zero pages); the PFNMAP part has no request
        expect: () => ({ ret: 0, words: pages(12, (i) => (i < 4 ? Z : i < 8 ? E : i === 8 ? Z : 0n)), faulted: 4 }),
      };
    },
  },
  {
    row: "V3", name: "PROT_NONE VMA with populated pages: ERROR without looking at the PTEs",
    setup: (t) => {
      anon(t, t.base, 4);
      t.mm.touch(t.base, true);
      t.mm.mprotect(t.base, 4 * PAGE, PROT_NONE);
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => E) }) };
    },
  },
  {
    row: "V3", name: "PROT_NONE VMA, read request: -EFAULT",
    setup: (t) => {
      anon(t, t.base, 4, PROT_NONE);
      return { start: t.base, end: t.base + 4 * PAGE, req: reqs(4, { 1: R }), expect: () => ({ ret: EFAULT, words: pages(4, () => null), faulted: 0 }) };
    },
  },
  {
    row: "V3", name: "write-only VMA: ERROR; write request is -EFAULT (not -EPERM)",
    setup: (t) => {
      anon(t, t.base, 4, PROT_WRITE);
      return { start: t.base, end: t.base + 4 * PAGE, req: reqs(4, {}, WR), expect: () => ({ ret: EFAULT, words: pages(4, () => null), faulted: 0 }) };
    },
  },
  {
    row: "V3", name: "write-only VMA, no request: ERROR",
    setup: (t) => {
      anon(t, t.base, 4, PROT_WRITE);
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => E) }) };
    },
  },
  {
    row: "V4", name: "VM_MIXEDMAP is walked: vm_insert_page -> VALID, insert_pfn -> ERROR (P14), none -> 0",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 4 * PAGE, RW, "mixedmap");
      const pfn = t.engine.allocFrames(0, 0);
      insertPage(t.mm, a, pfn);
      insertPfn(t.mm, a + PAGE, 0x7000, false);
      return { start: a, end: a + 4 * PAGE, expect: () => ({ ret: 0, words: [b(pfn) | V, E, 0n, 0n] }) };
    },
  },

  // ---- §3.3 upper levels --------------------------------------------------------------------
  {
    row: "U1", name: "untouched region (top-level entry none), no request: FILL(0)",
    setup: (t) => {
      anon(t, t.base, 16);
      return { start: t.base, end: t.base + 16 * PAGE, expect: () => ({ ret: 0, words: pages(16, () => 0n), faulted: 0 }) };
    },
  },
  {
    row: "U1", name: "read request on page 0 only: over-faults the whole hole chunk (VMA end), zero pages",
    setup: (t) => {
      anon(t, t.base, 16);
      return {
        start: t.base, end: t.base + 16 * PAGE, req: reqs(16, { 0: R }),
        expect: () => ({ ret: 0, words: pages(16, () => Z), faulted: 16, frames: 0 }),
      };
    },
  },
  {
    row: "U1", name: "write request on page 0 only: 16 new writable pages, no notifier",
    setup: (t) => {
      anon(t, t.base, 16);
      return {
        start: t.base, end: t.base + 16 * PAGE, req: reqs(16, { 0: WR }),
        expect: (c) => ({ ret: 0, words: pages(16, (i) => cpu(c, c.base + i * PAGE) | V | W), faulted: 16, frames: 16 }),
      };
    },
  },
  {
    row: "U1", name: "hole chunk ends at the range end: pages beyond stay unmapped",
    setup: (t) => {
      anon(t, t.base, 16);
      return {
        start: t.base, end: t.base + 4 * PAGE, req: reqs(4, { 0: R }),
        expect: (c) => ({
          ret: 0, words: pages(4, () => Z), faulted: 4,
          extra: () => expect(isUnmapped(c, c.base + 4 * PAGE)).toBe(true),
        }),
      };
    },
  },
  {
    row: "U1", name: "hole chunk ends at the PUD boundary (next PUD populated)",
    setup: (t) => {
      const a = anon(t, t.base + PUD_SIZE - 8 * PAGE, 16);
      t.mm.touch(t.base + PUD_SIZE, false);
      return {
        start: a, end: a + 16 * PAGE, req: reqs(16, { 0: R }),
        expect: () => ({ ret: 0, words: pages(16, (i) => (i <= 8 ? Z : 0n)), faulted: 8 }),
      };
    },
  },
  {
    row: "U1", name: "hole chunk ends at the P4D (5-level) / PGD (4-level) boundary, 2^39",
    setup: (t) => {
      const a = anon(t, t.base + 2 ** 39 - 4 * PAGE, 8);
      t.mm.touch(t.base + 2 ** 39, false);
      return {
        start: a, end: a + 8 * PAGE, req: reqs(8, { 0: R }),
        expect: () => ({ ret: 0, words: pages(8, (i) => (i <= 4 ? Z : 0n)), faulted: 4 }),
      };
    },
  },
  {
    row: "U1", name: "write request on a read-only VMA: -EPERM before any fault",
    setup: (t) => {
      anon(t, t.base, 8, PROT_READ);
      return {
        start: t.base, end: t.base + 8 * PAGE, req: reqs(8, { 5: WR }),
        expect: () => ({ ret: EPERM, words: pages(8, () => null), faulted: 0, frames: 0 }),
      };
    },
  },
  {
    row: "U3", name: "present writable devmap PUD leaf: (pfn + idx + i) | VALID | WRITE | ord(18)",
    setup: (t) => {
      anon(t, t.base, PUD_SIZE / PAGE);
      writeEntryAt(t, t.base, 2, pte.mk.huge(DAX_PUD_PFN, true, 0, PTE_HI.DEVMAP));
      return {
        start: t.base + 5 * PAGE, end: t.base + 9 * PAGE, req: reqs(4, { 0: WR }),
        expect: (c) => ({ ret: 0, words: pages(4, (i) => b(DAX_PUD_PFN + 5 + i) | V | W | ord(18, c.profile)), faulted: 0 }),
      };
    },
  },
  {
    row: "U3", name: "read-only devmap PUD leaf mid-PUD (idx 0x12345): VALID | ord(18), read request does not fault",
    setup: (t) => {
      anon(t, t.base, PUD_SIZE / PAGE);
      writeEntryAt(t, t.base, 2, pte.mk.huge(DAX_PUD_PFN, false, 0, PTE_HI.DEVMAP));
      const s = t.base + 0x12345 * PAGE;
      return {
        start: s, end: s + 3 * PAGE, req: reqs(3, {}, R),
        expect: (c) => ({ ret: 0, words: pages(3, (i) => b(DAX_PUD_PFN + 0x12345 + i) | V | ord(18, c.profile)), faulted: 0 }),
      };
    },
  },
  {
    row: "U3", name: "write request on a read-only devmap PUD: FAULT(W) -> wp_huge_pud split (CLEAR 1 GiB)",
    profiles: ["v6.1"],
    setup: (t) => {
      anon(t, t.base, PUD_SIZE / PAGE);
      writeEntryAt(t, t.base, 2, pte.mk.huge(DAX_PUD_PFN, false, 0, PTE_HI.DEVMAP));
      return {
        start: t.base, end: t.base + 2 * PAGE, req: reqs(2, { 0: WR }),
        expect: (c) => ({
          ret: EBUSY, words: pages(2, () => null), faulted: 2,
          events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PUD_SIZE)],
        }),
      };
    },
  },
  {
    row: "U4", name: "non-present devmap PUD leaf: treated as a hole (FILL(0))",
    setup: (t) => {
      anon(t, t.base, PUD_SIZE / PAGE);
      writeEntryAt(t, t.base, 2, pte.mkPfnEntry(DAX_PUD_PFN, PTE_LO.PSE | PTE_LO.USER, PTE_HI.DEVMAP));
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => 0n), faulted: 0 }) };
    },
  },
  {
    row: "U4", name: "non-present devmap PUD leaf with a read request: FAULT over the chunk (not an immediate -EFAULT)",
    setup: (t) => {
      anon(t, t.base, PUD_SIZE / PAGE);
      writeEntryAt(t, t.base, 2, pte.mkPfnEntry(DAX_PUD_PFN, PTE_LO.PSE | PTE_LO.USER, PTE_HI.DEVMAP));
      // the fault handler cannot do anything useful with this entry: the simulator reports
      // VM_FAULT_OOM (pmd_alloc on a non-table PUD), hence -EFAULT after one handle_mm_fault
      return { start: t.base, end: t.base + 4 * PAGE, req: reqs(4, { 2: R }), expect: () => ({ ret: EFAULT, words: pages(4, () => null), faulted: 1 }) };
    },
  },
  {
    row: "U5", name: "SEED: present non-devmap PUD leaf is split (ACTION_SUBTREE) and walked as a hole",
    profiles: ["v6.1"],
    setup: (t) => {
      anon(t, t.base, PUD_SIZE / PAGE);
      writeEntryAt(t, t.base, 2, pte.mk.huge(DAX_PUD_PFN, true));
      return {
        start: t.base, end: t.base + 4 * PAGE,
        expect: (c) => ({
          // split_huge_pud() raises CLEAR [haddr, +1 GiB) inside the walk; the walk then goes on
          // (no sequence check in between), so the call still returns 0
          ret: 0, words: pages(4, () => 0n), faulted: 0,
          events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PUD_SIZE)],
          extra: () => expect(pte.isNone(entryAt(c, c.base, 2))).toBe(true),
        }),
      };
    },
  },

  // ---- §3.4 PMD level -------------------------------------------------------------------------
  {
    row: "M1", name: "pmd_none (PUD table present), no request: FILL(0)",
    setup: (t) => {
      anon(t, t.base, 1024);
      t.mm.touch(t.base, false);
      return { start: t.base + PMD_SIZE, end: t.base + PMD_SIZE + 8 * PAGE, expect: () => ({ ret: 0, words: pages(8, () => 0n) }) };
    },
  },
  {
    row: "M1", name: "pmd_none, read request on page 4: FAULT from the chunk start to the PMD end (512 pages)",
    setup: (t) => {
      anon(t, t.base, 1024);
      t.mm.touch(t.base, false);
      return {
        start: t.base + PMD_SIZE, end: t.base + 2 * PMD_SIZE, req: reqs(512, { 4: R }),
        expect: () => ({ ret: 0, words: pages(512, () => Z), faulted: 512, frames: 0 }),
      };
    },
  },
  {
    row: "M1", name: "pmd_none, union of R and W requests: FAULT(W) over the whole chunk",
    setup: (t) => {
      anon(t, t.base, 1024);
      t.mm.touch(t.base, false);
      const s = t.base + PMD_SIZE;
      return {
        start: s, end: s + 16 * PAGE, req: reqs(16, { 0: R, 3: WR }),
        expect: (c) => ({ ret: 0, words: pages(16, (i) => cpu(c, s + i * PAGE) | V | W), faulted: 16, frames: 16 }),
      };
    },
  },
  {
    row: "M1", name: "pmd_none, write request on a read-only VMA: -EPERM",
    setup: (t) => {
      anon(t, t.base, 1024, PROT_READ);
      t.mm.touch(t.base, false);
      const s = t.base + PMD_SIZE;
      return { start: s, end: s + 8 * PAGE, req: reqs(8, { 7: WR }), expect: () => ({ ret: EPERM, words: pages(8, () => null), faulted: 0 }) };
    },
  },
  {
    row: "M2", name: "PMD migration entry, no request: FILL(0), no wait",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      const e = entryAt(t, t.base, 1);
      const pfn = pte.pfnOf(e);
      writeEntryAt(t, t.base, 1, pte.mk.migration(pfn, true));
      t.engine.pendingMigrations.set(pfn, { finish: () => { throw new Error("must not wait"); } });
      return { start: t.base, end: t.base + 8 * PAGE, expect: () => ({ ret: 0, words: pages(8, () => 0n), migrationWaits: 0 }) };
    },
  },
  {
    row: "M2", name: "PMD migration entry, read request: WAIT_MIG then re-walk reports the THP",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      const e = entryAt(t, t.base, 1);
      const pfn = pte.pfnOf(e);
      t.s.pfn = pfn;
      writeEntryAt(t, t.base, 1, pte.mk.migration(pfn, true));
      t.engine.pendingMigrations.set(pfn, {
        finish: () => {
          writeEntryAt(t, t.base, 1, e);
          t.engine.pendingMigrations.delete(pfn);
        },
      });
      return {
        start: t.base, end: t.base + 8 * PAGE, req: reqs(8, { 3: R }),
        expect: (c) => ({
          ret: 0, words: pages(8, (i) => b(pfn + i) | V | W | ord(9, c.profile)), faulted: 0, migrationWaits: 1,
        }),
      };
    },
  },
  {
    row: "M2", name: "PMD migration entry, write request on a read-only VMA: waits first (no VM_WRITE check), then -EPERM",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      t.mm.mprotect(t.base, PMD_SIZE, PROT_READ);
      const e = entryAt(t, t.base, 1);
      const pfn = pte.pfnOf(e);
      writeEntryAt(t, t.base, 1, pte.mk.migration(pfn, false));
      t.engine.pendingMigrations.set(pfn, { finish: () => { writeEntryAt(t, t.base, 1, e); t.engine.pendingMigrations.delete(pfn); } });
      return {
        start: t.base, end: t.base + 8 * PAGE, req: reqs(8, {}, WR),
        expect: () => ({ ret: EPERM, words: pages(8, () => null), faulted: 0, migrationWaits: 1 }),
      };
    },
  },
  {
    row: "M3", name: "non-present PMD (hwpoison): FILL(ERROR); request: -EFAULT",
    setup: (t) => {
      anon(t, t.base, 512);
      writeEntryAt(t, t.base, 1, pte.mk.hwpoison(0x5000));
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => E) }) };
    },
  },
  {
    row: "M3", name: "non-present PMD (swap entry) with a read request: -EFAULT, nothing faulted",
    setup: (t) => {
      anon(t, t.base, 512);
      t.mm.touch(t.base + PMD_SIZE - PAGE, false); // unrelated: keeps nothing but proves the PMD table exists
      writeEntryAt(t, t.base, 1, pte.mk.swap(0, 77));
      return { start: t.base, end: t.base + 4 * PAGE, req: reqs(4, { 2: R }), expect: () => ({ ret: EFAULT, words: pages(4, () => null), faulted: 0 }) };
    },
  },
  {
    row: "M3", name: "SEED: device-private entry at PMD level is 'not present, other': ERROR even for its owner",
    profiles: ["v6.1"],
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 512);
      writeEntryAt(t, t.base, 1, pte.mk.devicePrivate(dev.firstPfn, true));
      return { start: t.base, end: t.base + 4 * PAGE, owner: dev.owner, expect: () => ({ ret: 0, words: pages(4, () => E) }) };
    },
  },
  {
    row: "M4", name: "writable THP, range mid-PMD: (pfn + idx + i) | VALID | WRITE | ord(9), W request no fault",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      return {
        start: t.base + 3 * PAGE, end: t.base + 11 * PAGE, req: reqs(8, {}, WR),
        expect: (c) => {
          const p = b(pte.pfnOf(entryAt(c, c.base, 1)));
          return { ret: 0, words: pages(8, (i) => (p + b(3 + i)) | V | W | ord(9, c.profile)), faulted: 0 };
        },
      };
    },
  },
  {
    row: "M4", name: "THP fault: one handle_mm_fault per page, exactly one order-9 allocation",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      return {
        start: t.base, end: t.base + PMD_SIZE, req: reqs(512, { 0: WR }),
        expect: (c) => {
          const p = b(pte.pfnOf(entryAt(c, c.base, 1)));
          return { ret: 0, words: pages(512, (i) => (p + b(i)) | V | W | ord(9, c.profile)), faulted: 512, frames: 512 };
        },
      };
    },
  },
  {
    row: "M4", name: "huge zero page: VALID | ord(9), no WRITE, read request satisfied",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, false);
      return {
        start: t.base + 3 * PAGE, end: t.base + 11 * PAGE, req: reqs(8, {}, R),
        expect: (c) => ({ ret: 0, words: pages(8, (i) => (HZERO + b(3 + i)) | V | ord(9, c.profile)), faulted: 0 }),
      };
    },
  },
  {
    row: "M4", name: "write request on the huge zero page: FAULT(W): split (CLEAR 2 MiB) + per-page COW (CLEAR 4 KiB)",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, false);
      const s = t.base + 3 * PAGE;
      return {
        start: s, end: s + 4 * PAGE, req: reqs(4, { 0: WR }),
        expect: (c) => ({
          ret: EBUSY, words: pages(4, () => null), faulted: 4,
          events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PMD_SIZE),
            ...[0, 1, 2, 3].map((i) => ev(MMU_NOTIFY_CLEAR, s + i * PAGE, s + (i + 1) * PAGE))],
        }),
      };
    },
  },
  {
    row: "M4", name: "write request on the huge zero page, driver protocol: converges to writable order-0 pages",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, false);
      const s = t.base + 3 * PAGE;
      return {
        start: s, end: s + 2 * PAGE, req: reqs(2, {}, WR), driver: true,
        expect: (c) => ({
          ret: 0, words: pages(2, (i) => cpu(c, s + i * PAGE) | V | W), faulted: 2,
          events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PMD_SIZE), ev(MMU_NOTIFY_CLEAR, s, s + PAGE), ev(MMU_NOTIFY_CLEAR, s + PAGE, s + 2 * PAGE)],
        }),
      };
    },
  },
  {
    row: "M4", name: "read-only THP on a read-only VMA, write request: -EPERM",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      t.mm.mprotect(t.base, PMD_SIZE, PROT_READ);
      return { start: t.base, end: t.base + 4 * PAGE, req: reqs(4, { 1: WR }), expect: () => ({ ret: EPERM, words: pages(4, () => null), faulted: 0 }) };
    },
  },
  {
    row: "M4", name: "protnone THP (NUMA hinting), no request: raw pfn, no flags, no order (QUIRK)",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      const p = pte.pfnOf(entryAt(t, t.base, 1));
      t.mm.numaHintingScan(t.base, t.base + PMD_SIZE);
      return { start: t.base + 3 * PAGE, end: t.base + 7 * PAGE, expect: () => ({ ret: 0, words: pages(4, (i) => b(p + 3 + i)) }) };
    },
  },
  {
    row: "M4", name: "protnone THP, read request: FAULT(R) restores it (no notifier), VALID | WRITE | ord(9)",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      const p = pte.pfnOf(entryAt(t, t.base, 1));
      t.mm.numaHintingScan(t.base, t.base + PMD_SIZE);
      return {
        start: t.base + 3 * PAGE, end: t.base + 7 * PAGE, req: reqs(4, { 2: R }),
        expect: (c) => ({ ret: 0, words: pages(4, (i) => b(p + 3 + i) | V | W | ord(9, c.profile)), faulted: 4 }),
      };
    },
  },
  {
    row: "M4", name: "SEED devmap (DAX) PMD leaf: (pfn + idx + i) | VALID | WRITE | ord(9)",
    setup: (t) => {
      anon(t, t.base, 512);
      writeEntryAt(t, t.base, 1, pte.mk.huge(DAX_PMD_PFN, true, 0, PTE_HI.DEVMAP));
      return {
        start: t.base + 510 * PAGE, end: t.base + 512 * PAGE, req: reqs(2, {}, WR),
        expect: (c) => ({ ret: 0, words: pages(2, (i) => b(DAX_PMD_PFN + 510 + i) | V | W | ord(9, c.profile)) }),
      };
    },
  },
  {
    row: "M5", name: "pmd_bad (garbage table pointer): FILL(ERROR)",
    setup: (t) => {
      anon(t, t.base, 512);
      writeEntryAt(t, t.base, 1, pte.mkPfnEntry(1, PTE_LO.PRESENT | PTE_LO.RW));
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => E) }) };
    },
  },
  {
    row: "M5", name: "pmd_bad with a read request: -EFAULT",
    setup: (t) => {
      anon(t, t.base, 512);
      writeEntryAt(t, t.base, 1, pte.mkPfnEntry(1, PTE_LO.PRESENT | PTE_LO.RW));
      return { start: t.base, end: t.base + 4 * PAGE, req: reqs(4, { 3: R }), expect: () => ({ ret: EFAULT, words: pages(4, () => null), faulted: 0 }) };
    },
  },

  // ---- §3.5 PTE level -------------------------------------------------------------------------
  {
    row: "P1", name: "pte_none next to a populated PTE, no request: 0",
    setup: (t) => {
      anon(t, t.base, 16);
      t.mm.touch(t.base, false);
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: [Z, 0n, 0n, 0n] }) };
    },
  },
  {
    row: "P1", name: "pte_none, read request on page 4: FAULT(4..chunk end), earlier outputs kept",
    setup: (t) => {
      anon(t, t.base, 16);
      t.mm.touch(t.base, false);
      return {
        start: t.base, end: t.base + 16 * PAGE, req: reqs(16, { 4: R }),
        expect: (c) => ({
          ret: 0, words: pages(16, (i) => (i === 0 || i >= 4 ? Z : 0n)), faulted: 12,
          extra: () => expect(isUnmapped(c, c.base + 3 * PAGE)).toBe(true),
        }),
      };
    },
  },
  {
    row: "P1", name: "pte_none, write request on a read-only VMA: -EPERM; entries before it are outputs",
    setup: (t) => {
      anon(t, t.base, 16, PROT_READ);
      t.mm.touch(t.base, false);
      return { start: t.base, end: t.base + 8 * PAGE, req: reqs(8, { 4: WR }), expect: () => ({ ret: EPERM, words: pages(8, (i) => (i === 0 ? Z : i < 4 ? 0n : null)), faulted: 0 }) };
    },
  },
  {
    row: "P1", name: "SEED pte_none_mostly: uffd-wp PTE marker is none (0); read request faults it like none",
    setup: (t) => {
      anon(t, t.base, 4);
      t.mm.touch(t.base, false);
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.marker(SWP.MARKER_UFFD_WP));
      return {
        start: t.base, end: t.base + 4 * PAGE, req: reqs(4, { 1: R }),
        expect: () => ({ ret: 0, words: [Z, Z, Z, Z], faulted: 3 }),
      };
    },
  },
  {
    row: "P1", name: "SEED pte_none_mostly: swapin-error marker is 0 without request; a read request FAULTs (SIGBUS -> -EFAULT)",
    setup: (t) => {
      anon(t, t.base, 4);
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.marker(SWP.MARKER_SWAPIN_ERROR));
      return { start: t.base, end: t.base + 4 * PAGE, req: reqs(4, { 1: R }), expect: () => ({ ret: EFAULT, words: [0n, null, null, null], faulted: 1 }) };
    },
  },
  {
    row: "P2", name: "owner-matched device-private (writable): pfn | VALID | WRITE, never faulted",
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 4);
      for (let i = 0; i < 4; i++) t.mm.cpuWriteU32(t.base + i * PAGE, 0x1000 + i);
      expect(dev.migrateToDevice(t.mm, t.base, t.base + 4 * PAGE)).toBe(4);
      return {
        start: t.base, end: t.base + 4 * PAGE, req: reqs(4, {}, WR), owner: dev.owner,
        expect: (c) => ({
          ret: 0, words: pages(4, (i) => b(dev.firstPfn + i) | V | W), faulted: 0,
          extra: () => {
            expect(pte.swapOffset(entryAt(c, c.base + 2 * PAGE, 0))).toBe(dev.firstPfn + 2);
            expect(dev.migrateToRamCalls).toBe(0);
          },
        }),
      };
    },
  },
  {
    row: "P2", name: "owner-matched read-only device-private on a read-only VMA, write request: VALID only, ret 0 (no -EPERM)",
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 4);
      for (let i = 0; i < 4; i++) t.mm.touch(t.base + i * PAGE, true);
      dev.migrateToDevice(t.mm, t.base, t.base + 4 * PAGE);
      t.mm.mprotect(t.base, 4 * PAGE, PROT_READ);
      return {
        start: t.base, end: t.base + 4 * PAGE, req: reqs(4, {}, WR), owner: dev.owner,
        expect: () => ({ ret: 0, words: pages(4, (i) => b(dev.firstPfn + i) | V), faulted: 0 }),
      };
    },
  },
  {
    row: "P2", name: "owner-matched read-only device-private on a writable VMA, write request: still no fault",
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 2);
      t.mm.touch(t.base, true);
      t.mm.touch(t.base + PAGE, true);
      dev.migrateToDevice(t.mm, t.base, t.base + 2 * PAGE);
      t.mm.mprotect(t.base, 2 * PAGE, PROT_READ);
      t.mm.mprotect(t.base, 2 * PAGE, RW);
      return {
        start: t.base, end: t.base + 2 * PAGE, req: reqs(2, {}, WR), owner: dev.owner,
        expect: () => ({ ret: 0, words: [b(dev.firstPfn) | V, b(dev.firstPfn + 1) | V], faulted: 0 }),
      };
    },
  },
  {
    row: "P3", name: "non-present entries without request: swap, foreign device-private, exclusive, migration, hwpoison -> 0",
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 8);
      t.mm.touch(t.base + 6 * PAGE, true);
      t.mm.touch(t.base + 7 * PAGE, true);
      writeEntryAt(t, t.base, 0, pte.mk.swap(0, t.engine.swap.store(null)));
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.devicePrivate(dev.firstPfn, true));
      writeEntryAt(t, t.base + 2 * PAGE, 0, pte.mk.migration(0x9000, true));
      writeEntryAt(t, t.base + 3 * PAGE, 0, pte.mk.hwpoison(0x9001));
      writeEntryAt(t, t.base + 4 * PAGE, 0, pte.mk.deviceExclusive(0x9002, true));
      writeEntryAt(t, t.base + 5 * PAGE, 0, pte.mk.swap(3, 12345, true));
      makeDeviceExclusiveRange(t.mm, t.base + 6 * PAGE, t.base + 8 * PAGE, "someone");
      return { start: t.base, end: t.base + 8 * PAGE, owner: {}, expect: () => ({ ret: 0, words: pages(8, () => 0n), faulted: 0, migrationWaits: 0 }) };
    },
  },
  {
    row: "P4", name: "swap entry, read request: swap-in; SEED maps read-only, v6.16 writable; chunk over-faulted",
    setup: (t) => {
      anon(t, t.base, 4);
      t.mm.touch(t.base, false);
      const data = new Uint8Array(PAGE).fill(0x5a);
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.swap(0, t.engine.swap.store(data)));
      return {
        start: t.base, end: t.base + 4 * PAGE, req: reqs(4, { 1: R }),
        expect: (c) => ({
          ret: 0, words: [Z, cpu(c, c.base + PAGE) | V | (c.profile === "v6.16" ? W : 0n), Z, Z], faulted: 3, frames: 1,
          extra: () => expect(c.mm.cpuReadU32(c.base + PAGE)).toBe(0x5a5a5a5a),
        }),
      };
    },
  },
  {
    row: "P4", name: "swap entry, write request: swap-in writable in both profiles, no notifier",
    setup: (t) => {
      anon(t, t.base, 1);
      writeEntryAt(t, t.base, 0, pte.mk.swap(0, t.engine.swap.store(null)));
      return { start: t.base, end: t.base + PAGE, req: [WR], expect: (c) => ({ ret: 0, words: [cpu(c, c.base) | V | W], faulted: 1 }) };
    },
  },
  {
    row: "P4", name: "swap entry, write request on a read-only VMA: -EPERM, the slot is untouched",
    setup: (t) => {
      anon(t, t.base, 2, PROT_READ);
      const slot = t.engine.swap.store(null);
      t.s.slot = slot;
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.swap(0, slot));
      return {
        start: t.base, end: t.base + 2 * PAGE, req: reqs(2, { 1: WR }),
        expect: (c) => ({ ret: EPERM, words: [0n, null], faulted: 0, extra: () => expect(c.engine.swap.has(slot)).toBe(true) }),
      };
    },
  },
  {
    row: "P5", name: "foreign device-private, read request: FAULT -> migrate_to_ram for every page of the chunk (MIGRATE events)",
    setup: (t) => {
      const dev = new Device(t.engine);
      t.s.dev = dev;
      anon(t, t.base, 3);
      for (let i = 0; i < 3; i++) t.mm.touch(t.base + i * PAGE, true);
      dev.migrateToDevice(t.mm, t.base, t.base + 3 * PAGE);
      return {
        start: t.base, end: t.base + 3 * PAGE, req: reqs(3, { 0: R }), owner: {},
        expect: (c) => ({
          ret: EBUSY, words: pages(3, () => null), faulted: 3,
          events: [0, 1, 2].map((i) => ev(MMU_NOTIFY_MIGRATE, c.base + i * PAGE, c.base + (i + 1) * PAGE, dev.owner)),
          extra: () => expect(dev.migrateToRamCalls).toBe(3),
        }),
      };
    },
  },
  {
    row: "P5", name: "device-private without any range owner, driver protocol: pages come back writable in RAM",
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 2);
      t.mm.cpuWriteU32(t.base, 0xdeadbeef);
      t.mm.touch(t.base + PAGE, true);
      dev.migrateToDevice(t.mm, t.base, t.base + 2 * PAGE);
      return {
        start: t.base, end: t.base + 2 * PAGE, req: reqs(2, { 1: R }), driver: true,
        expect: (c) => ({
          ret: 0, words: [0n, cpu(c, c.base + PAGE) | V | W], faulted: 1,
          events: [ev(MMU_NOTIFY_MIGRATE, c.base + PAGE, c.base + 2 * PAGE, dev.owner)],
          extra: () => {
            expect(dev.migrateToRamCalls).toBe(1);
            expect(pte.isDevicePrivate(entryAt(c, c.base, 0))).toBe(true);
          },
        }),
      };
    },
  },
  {
    row: "P5", name: "foreign device-private, write request on a read-only VMA: -EPERM, no migration",
    setup: (t) => {
      const dev = new Device(t.engine);
      t.s.dev = dev;
      anon(t, t.base, 2);
      t.mm.touch(t.base, true);
      dev.migrateToDevice(t.mm, t.base, t.base + PAGE);
      t.mm.mprotect(t.base, 2 * PAGE, PROT_READ);
      return {
        start: t.base, end: t.base + 2 * PAGE, req: reqs(2, { 0: WR }), owner: "other",
        expect: () => ({ ret: EPERM, words: [null, null], faulted: 0, extra: () => expect(dev.migrateToRamCalls).toBe(0) }),
      };
    },
  },
  {
    row: "P6", name: "device-exclusive, read request (even by the exclusive owner): FAULT restores; SEED EXCLUSIVE / v6.16 CLEAR, owner null",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.touch(t.base, true);
      t.mm.touch(t.base + PAGE, true);
      t.s.pfns = [cpuPfn(t, t.base), cpuPfn(t, t.base + PAGE)];
      const owner = { name: "exclusive-owner" };
      expect(makeDeviceExclusiveRange(t.mm, t.base, t.base + 2 * PAGE, owner)).toBe(2);
      return {
        start: t.base, end: t.base + 2 * PAGE, req: reqs(2, { 0: R }), owner,
        expect: (c) => {
          const evt = c.profile === "v6.16" ? MMU_NOTIFY_CLEAR : MMU_NOTIFY_EXCLUSIVE;
          return {
            ret: EBUSY, words: [null, null], faulted: 2,
            events: [ev(evt, c.base, c.base + PAGE), ev(evt, c.base + PAGE, c.base + 2 * PAGE)],
          };
        },
      };
    },
  },
  {
    row: "P6", name: "device-exclusive, driver protocol: the original page comes back VALID | WRITE",
    setup: (t) => {
      anon(t, t.base, 1);
      t.mm.touch(t.base, true);
      const pfn = cpuPfn(t, t.base);
      makeDeviceExclusiveRange(t.mm, t.base, t.base + PAGE, null);
      return {
        start: t.base, end: t.base + PAGE, req: [R], driver: true,
        expect: (c) => ({
          ret: 0, words: [b(pfn) | V | W], faulted: 1,
          events: [ev(c.profile === "v6.16" ? MMU_NOTIFY_CLEAR : MMU_NOTIFY_EXCLUSIVE, c.base, c.base + PAGE)],
        }),
      };
    },
  },
  {
    row: "P6", name: "device-exclusive, write request on a read-only VMA: -EPERM",
    setup: (t) => {
      anon(t, t.base, 1);
      t.mm.touch(t.base, true);
      makeDeviceExclusiveRange(t.mm, t.base, t.base + PAGE, null);
      t.mm.mprotect(t.base, PAGE, PROT_READ);
      return { start: t.base, end: t.base + PAGE, req: [WR], expect: () => ({ ret: EPERM, words: [null], faulted: 0 }) };
    },
  },
  {
    row: "P7", name: "migration entry with a pending migration, read request: WAIT_MIG, re-walk from that page",
    setup: (t) => {
      anon(t, t.base, 4);
      for (let i = 0; i < 4; i++) t.mm.touch(t.base + i * PAGE, true);
      const e = entryAt(t, t.base + 2 * PAGE, 0);
      const pfn = pte.pfnOf(e);
      writeEntryAt(t, t.base + 2 * PAGE, 0, pte.mk.migration(pfn, true));
      t.engine.pendingMigrations.set(pfn, { finish: () => { writeEntryAt(t, t.base + 2 * PAGE, 0, e); t.engine.pendingMigrations.delete(pfn); } });
      return {
        start: t.base, end: t.base + 4 * PAGE, req: reqs(4, { 2: R }),
        expect: (c) => ({ ret: 0, words: pages(4, (i) => cpu(c, c.base + i * PAGE) | V | W), faulted: 0, migrationWaits: 1 }),
      };
    },
  },
  {
    row: "P7", name: "migration entry, write request on a read-only VMA: waits (no VM_WRITE check) then -EPERM",
    setup: (t) => {
      anon(t, t.base, 1);
      t.mm.touch(t.base, true);
      t.mm.mprotect(t.base, PAGE, PROT_READ);
      const e = entryAt(t, t.base, 0);
      const pfn = pte.pfnOf(e);
      writeEntryAt(t, t.base, 0, pte.mk.migration(pfn, false));
      t.engine.pendingMigrations.set(pfn, { finish: () => { writeEntryAt(t, t.base, 0, e); t.engine.pendingMigrations.delete(pfn); } });
      return { start: t.base, end: t.base + PAGE, req: [WR], expect: () => ({ ret: EPERM, words: [null], faulted: 0, migrationWaits: 1 }) };
    },
  },
  {
    row: "P8", name: "hwpoison entry: 0 without request, -EFAULT with a read request (no fault attempted)",
    setup: (t) => {
      anon(t, t.base, 3);
      t.mm.touch(t.base, true);
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.hwpoison(0x4444));
      return {
        start: t.base, end: t.base + 3 * PAGE, req: reqs(3, { 1: R }),
        expect: (c) => ({ ret: EFAULT, words: [cpu(c, c.base) | V | W, null, null], faulted: 0 }),
      };
    },
  },
  {
    row: "P9", name: "protnone PTE (NUMA hinting), no request: raw pfn, no flags (QUIRK)",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.touch(t.base, true);
      t.mm.touch(t.base + PAGE, false);
      const p = cpuPfn(t, t.base);
      t.mm.numaHintingScan(t.base, t.base + 2 * PAGE);
      return { start: t.base, end: t.base + 2 * PAGE, expect: () => ({ ret: 0, words: [b(p), Z] }) };
    },
  },
  {
    row: "P9", name: "protnone PTE, read request: FAULT(R) -> do_numa_page restores VALID | WRITE, no notifier",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.touch(t.base, true);
      const p = cpuPfn(t, t.base);
      t.mm.numaHintingScan(t.base, t.base + 2 * PAGE);
      return { start: t.base, end: t.base + 2 * PAGE, req: reqs(2, { 0: R }), expect: () => ({ ret: 0, words: [b(p) | V | W, Z], faulted: 2 }) };
    },
  },
  {
    row: "P10", name: "present writable normal page: pfn | VALID | WRITE for any request",
    setup: (t) => {
      anon(t, t.base, 3);
      for (let i = 0; i < 3; i++) t.mm.touch(t.base + i * PAGE, true);
      return {
        start: t.base, end: t.base + 3 * PAGE, req: [0n, R, WR],
        expect: (c) => ({ ret: 0, words: pages(3, (i) => cpu(c, c.base + i * PAGE) | V | W), faulted: 0 }),
      };
    },
  },
  {
    row: "P10", name: "populated page through mprotect(PROT_NONE) and back to RW: same pfn, VALID | WRITE",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.cpuWriteU32(t.base, 0xabcd1234);
      const p = cpuPfn(t, t.base);
      t.mm.mprotect(t.base, 2 * PAGE, PROT_NONE);
      t.mm.mprotect(t.base, 2 * PAGE, RW);
      return {
        start: t.base, end: t.base + 2 * PAGE, req: [WR, 0n],
        expect: (c) => ({
          ret: 0, words: [b(p) | V | W, 0n], faulted: 0,
          extra: () => expect(c.mm.cpuReadU32(c.base)).toBe(0xabcd1234),
        }),
      };
    },
  },
  {
    row: "P9", name: "protnone PTE through mprotect(PROT_READ): still the same pfn (raw, no flags)",
    setup: (t) => {
      anon(t, t.base, 1);
      t.mm.touch(t.base, true);
      const p = cpuPfn(t, t.base);
      t.mm.numaHintingScan(t.base, t.base + PAGE);
      t.mm.mprotect(t.base, PAGE, PROT_READ);
      return { start: t.base, end: t.base + PAGE, req: [R], expect: () => ({ ret: 0, words: [b(p) | V], faulted: 0 }) };
    },
  },
  {
    row: "P11", name: "read-only private file page: pfn | VALID for no / read request",
    setup: (t) => {
      const f = new SimFile("data", 8 * PAGE, "regular", new Uint8Array(8 * PAGE).fill(7));
      t.mm.mmap({ addr: t.base, length: 4 * PAGE, prot: RW, flags: MAP_PRIVATE | MAP_FIXED, file: f });
      t.mm.touch(t.base, false);
      return {
        start: t.base, end: t.base + 2 * PAGE, req: [R, 0n],
        expect: () => ({ ret: 0, words: [b(f.pageCache.get(0)!) | V, 0n], faulted: 0 }),
      };
    },
  },
  {
    row: "P11", name: "read-only private file page, write request: FAULT(W) = COW (CLEAR), external -EBUSY",
    setup: (t) => {
      const f = new SimFile("data", 8 * PAGE, "regular", new Uint8Array(8 * PAGE).fill(7));
      t.mm.mmap({ addr: t.base, length: 4 * PAGE, prot: RW, flags: MAP_PRIVATE | MAP_FIXED, file: f });
      t.mm.touch(t.base, false);
      return {
        start: t.base, end: t.base + PAGE, req: [WR],
        expect: (c) => ({ ret: EBUSY, words: [null], faulted: 1, events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PAGE)], frames: 1 }),
      };
    },
  },
  {
    row: "P11", name: "read-only private file page, write request, driver protocol: a new private copy",
    setup: (t) => {
      const f = new SimFile("data", 8 * PAGE, "regular", new Uint8Array(8 * PAGE).fill(7));
      t.mm.mmap({ addr: t.base, length: 4 * PAGE, prot: RW, flags: MAP_PRIVATE | MAP_FIXED, file: f });
      t.mm.touch(t.base, false);
      const cached = f.pageCache.get(0)!;
      return {
        start: t.base, end: t.base + PAGE, req: [WR], driver: true,
        expect: (c) => ({
          ret: 0, words: [cpu(c, c.base) | V | W], faulted: 1, events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PAGE)],
          extra: () => {
            expect(cpuPfn(c, c.base)).not.toBe(cached);
            expect(c.mm.cpuReadU32(c.base)).toBe(0x07070707);
          },
        }),
      };
    },
  },
  {
    row: "P11", name: "anonymous page write-protected by mprotect(PROT_READ), write request: -EPERM",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.touch(t.base, true);
      t.mm.mprotect(t.base, 2 * PAGE, PROT_READ);
      return {
        start: t.base, end: t.base + 2 * PAGE, req: [R, WR],
        expect: (c) => ({ ret: EPERM, words: [cpu(c, c.base) | V, null], faulted: 0 }),
      };
    },
  },
  {
    row: "P12", name: "zero page: ZERO_PFN | VALID for no / read request",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.touch(t.base, false);
      t.mm.touch(t.base + PAGE, false);
      return { start: t.base, end: t.base + 2 * PAGE, req: [0n, R], expect: () => ({ ret: 0, words: [Z, Z], faulted: 0 }) };
    },
  },
  {
    row: "P12", name: "zero page, write request: FAULT(W) = zero-page upgrade (CLEAR 4 KiB), external -EBUSY",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.touch(t.base, false);
      t.mm.touch(t.base + PAGE, false);
      return {
        start: t.base, end: t.base + 2 * PAGE, req: [0n, WR],
        expect: (c) => ({ ret: EBUSY, words: [Z, null], faulted: 1, events: [ev(MMU_NOTIFY_CLEAR, c.base + PAGE, c.base + 2 * PAGE)], frames: 1 }),
      };
    },
  },
  {
    row: "P12", name: "zero page, write request on a read-only VMA: -EPERM",
    setup: (t) => {
      anon(t, t.base, 1, PROT_READ);
      t.mm.touch(t.base, false);
      return { start: t.base, end: t.base + PAGE, req: [WR], expect: () => ({ ret: EPERM, words: [null], faulted: 0, frames: 0 }) };
    },
  },
  {
    row: "P13", name: "SEED pte_devmap special PTE: treated as normal, pfn | cpu flags",
    profiles: ["v6.1"],
    setup: (t) => {
      anon(t, t.base, 2);
      writeEntryAt(t, t.base, 0, pte.mk.page(0x3100000, true, PTE_LO.SPECIAL, PTE_HI.DEVMAP));
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.page(0x3100001, false, PTE_LO.SPECIAL, PTE_HI.DEVMAP));
      return { start: t.base, end: t.base + 2 * PAGE, req: [WR, R], expect: () => ({ ret: 0, words: [b(0x3100000) | V | W, b(0x3100001) | V], faulted: 0 }) };
    },
  },
  {
    row: "P13", name: "SEED read-only devmap PTE, write request: FAULT(W)",
    profiles: ["v6.1"],
    setup: (t) => {
      anon(t, t.base, 1);
      writeEntryAt(t, t.base, 0, pte.mk.page(0x3100001, false, PTE_LO.SPECIAL, PTE_HI.DEVMAP));
      return { start: t.base, end: t.base + PAGE, req: [WR], expect: (c) => ({ ret: EBUSY, words: [null], faulted: 1, events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PAGE)] }) };
    },
  },
  {
    row: "P14", name: "read-only special PTE in a private VM_MIXEDMAP: FAULT(W) COWs it (CLEAR), the re-walk sees a normal page (P10)",
    setup: (t) => {
      const dev = new Device(t.engine);
      t.mm.mmap({ addr: t.base, length: 2 * PAGE, prot: RW, flags: MAP_PRIVATE | MAP_FIXED, device: dev, vmFlags: VM.MIXEDMAP | VM.DONTEXPAND });
      insertPfn(t.mm, t.base, 0x7001, false);
      return {
        start: t.base, end: t.base + PAGE, req: [WR], driver: true,
        expect: (c) => ({
          ret: 0, words: [cpu(c, c.base) | V | W], faulted: 1, events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PAGE)], frames: 1,
          extra: () => expect(pte.isSpecial(entryAt(c, c.base, 0))).toBe(false),
        }),
      };
    },
  },
  {
    row: "P14", name: "special PTE (insert_pfn in VM_MIXEDMAP): ERROR without request",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 2 * PAGE, RW, "mixedmap");
      insertPfn(t.mm, a, 0x7000, true);
      insertPfn(t.mm, a + PAGE, 0x7001, false);
      return { start: a, end: a + 2 * PAGE, expect: () => ({ ret: 0, words: [E, E] }) };
    },
  },
  {
    row: "P14", name: "special PTE, read request: -EFAULT without a fault",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 2 * PAGE, RW, "mixedmap");
      insertPfn(t.mm, a, 0x7000, true);
      insertPfn(t.mm, a + PAGE, 0x7001, false);
      return { start: a, end: a + 2 * PAGE, req: [0n, R], expect: () => ({ ret: EFAULT, words: [E, null], faulted: 0 }) };
    },
  },
  {
    row: "P14", name: "writable special PTE, write request: -EFAULT without a fault",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 2 * PAGE, RW, "mixedmap");
      insertPfn(t.mm, a, 0x7000, true);
      return { start: a, end: a + PAGE, req: [WR], expect: () => ({ ret: EFAULT, words: [null], faulted: 0 }) };
    },
  },
  {
    row: "P14", name: "read-only special PTE, write request: FAULT(W) first (shared: made writable in place), then -EFAULT",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 2 * PAGE, RW, "mixedmap");
      insertPfn(t.mm, a, 0x7001, false);
      return { start: a, end: a + PAGE, req: [WR], expect: () => ({ ret: EFAULT, words: [null], faulted: 1, events: [] }) };
    },
  },

  // ---- §3.6 hugetlb ---------------------------------------------------------------------------
  {
    row: "H1", name: "2 MiB hugetlb, no page table (empty 1 GiB region): hole path, 0 without order bits",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 2);
      t.mm.mmap({ addr: t.base, length: 2 * PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => 0n) }) };
    },
  },
  {
    row: "H1", name: "hole path uses the union of requests: a request on page 3 faults (hugetlb_fault), read-only private",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 2);
      t.mm.mmap({ addr: t.base, length: 2 * PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      return {
        start: t.base, end: t.base + 8 * PAGE, req: reqs(8, { 3: R }),
        expect: (c) => ({ ret: 0, words: pages(8, (i) => cpu(c, c.base + i * PAGE) | V | ord(9, c.profile)), faulted: 8, frames: 512 }),
      };
    },
  },
  {
    row: "H1", name: "1 GiB hugetlb in an empty 512 GiB region: hole path, 0 without order bits",
    setup: (t) => {
      t.engine.setHugetlbPages(30, 1);
      t.mm.mmap({ addr: t.base, length: PUD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB | MAP_FIXED });
      return { start: t.base + 0x100 * PAGE, end: t.base + 0x102 * PAGE, expect: () => ({ ret: 0, words: [0n, 0n] }) };
    },
  },
  {
    row: "H2", name: "huge PTE none in an existing PMD table: (0 + idx + i) | ord(9), no VALID (QUIRK)",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 2);
      t.mm.mmap({ addr: t.base, length: 2 * PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      t.mm.touch(t.base, true);
      const s = t.base + PMD_SIZE + 3 * PAGE;
      return { start: s, end: s + 5 * PAGE, expect: (c) => ({ ret: 0, words: pages(5, (i) => b(3 + i) | ord(9, c.profile)) }) };
    },
  },
  {
    row: "H2", name: "first-page request only (QUIRK): a read request on page 1 is ignored",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 2);
      t.mm.mmap({ addr: t.base, length: 2 * PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      t.mm.touch(t.base, true);
      const s = t.base + PMD_SIZE;
      return { start: s, end: s + 4 * PAGE, req: reqs(4, { 1: R, 3: WR }), expect: (c) => ({ ret: 0, words: pages(4, (i) => b(i) | ord(9, c.profile)), faulted: 0, frames: 0 }) };
    },
  },
  {
    row: "H2", name: "first-page read request: FAULT(R) over the chunk, then (pfn + i) | VALID | ord(9)",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 2);
      t.mm.mmap({ addr: t.base, length: 2 * PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      t.mm.touch(t.base, true);
      const s = t.base + PMD_SIZE;
      return {
        start: s, end: s + 4 * PAGE, req: reqs(4, { 0: R }),
        expect: (c) => ({ ret: 0, words: pages(4, (i) => cpu(c, s) + b(i) | V | ord(9, c.profile)), faulted: 4, frames: 512 }),
      };
    },
  },
  {
    row: "H2", name: "1 GiB hugetlb, present P4D/PGD but PUD none: (idx + i) | ord(18)",
    setup: (t) => {
      t.engine.setHugetlbPages(30, 1);
      t.mm.mmap({ addr: t.base, length: PUD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB | MAP_FIXED });
      anon(t, t.base + 2 * PUD_SIZE, 1);
      t.mm.touch(t.base + 2 * PUD_SIZE, false);
      const s = t.base + 0x100 * PAGE;
      return { start: s, end: s + 2 * PAGE, expect: (c) => ({ ret: 0, words: pages(2, (i) => b(0x100 + i) | ord(18, c.profile)) }) };
    },
  },
  {
    row: "H3", name: "2 MiB hugetlb written: (pfn + idx + i) | VALID | WRITE | ord(9)",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({ addr: t.base, length: PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      t.mm.touch(t.base, true);
      const s = t.base + 509 * PAGE;
      return {
        start: s, end: s + 3 * PAGE, req: reqs(3, {}, WR),
        expect: (c) => ({ ret: 0, words: pages(3, (i) => b(cpuPfn(c, c.base) + 509 + i) | V | W | ord(9, c.profile)), faulted: 0 }),
      };
    },
  },
  {
    row: "H3", name: "shared hugetlb read fault maps writable: VALID | WRITE | ord(9)",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({ addr: t.base, length: PMD_SIZE, prot: RW, flags: MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      return {
        start: t.base, end: t.base + 2 * PAGE, req: [R, 0n],
        expect: (c) => ({ ret: 0, words: pages(2, (i) => b(cpuPfn(c, c.base) + i) | V | W | ord(9, c.profile)), faulted: 2 }),
      };
    },
  },
  {
    row: "H3", name: "1 GiB hugetlb written: (pfn + idx + i) | VALID | WRITE | ord(18)",
    setup: (t) => {
      t.engine.setHugetlbPages(30, 1);
      t.mm.mmap({ addr: t.base, length: PUD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB | MAP_FIXED });
      t.mm.touch(t.base, true);
      const s = t.base + 0x3ffff * PAGE;
      return {
        start: s, end: s + PAGE, req: [WR],
        expect: (c) => ({ ret: 0, words: [b(cpuPfn(c, c.base) + 0x3ffff) | V | W | ord(18, c.profile)], faulted: 0 }),
      };
    },
  },
  {
    row: "H4", name: "private hugetlb after a read fault: read-only, VALID | ord(9)",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({ addr: t.base, length: PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      t.mm.touch(t.base, false);
      return { start: t.base + 7 * PAGE, end: t.base + 9 * PAGE, req: [R, R], expect: (c) => ({ ret: 0, words: pages(2, (i) => b(cpuPfn(c, c.base) + 7 + i) | V | ord(9, c.profile)), faulted: 0 }) };
    },
  },
  {
    row: "H4", name: "read-only exclusive hugetlb page, write request: FAULT(W) = hugetlb_wp reuse, no notifier",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({ addr: t.base, length: PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      t.mm.touch(t.base, false);
      const p = cpuPfn(t, t.base);
      return {
        start: t.base, end: t.base + 2 * PAGE, req: [WR, 0n],
        expect: (c) => ({ ret: 0, words: pages(2, (i) => b(p + i) | V | W | ord(9, c.profile)), faulted: 2, frames: 0 }),
      };
    },
  },
  {
    row: "H4", name: "hugetlb on a read-only VMA, write request: -EPERM",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({ addr: t.base, length: PMD_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      t.mm.touch(t.base, false);
      return { start: t.base, end: t.base + 2 * PAGE, req: [WR, 0n], expect: () => ({ ret: EPERM, words: [null, null], faulted: 0 }) };
    },
  },
  {
    row: "H5", name: "hugetlb migration entry, no request: (swp-derived garbage + idx + i) | ord(9), no VALID",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({ addr: t.base, length: PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      t.mm.touch(t.base, true);
      const p = cpuPfn(t, t.base);
      const m = pte.mk.migration(p, true);
      writeEntryAt(t, t.base, 1, m);
      t.engine.pendingMigrations.set(p, { finish: () => { throw new Error("must not wait"); } });
      const g = garbagePfn(m);
      return { start: t.base + 2 * PAGE, end: t.base + 5 * PAGE, expect: (c) => ({ ret: 0, words: pages(3, (i) => (g + b(2 + i)) | ord(9, c.profile)), migrationWaits: 0 }) };
    },
  },
  {
    row: "H5", name: "hugetlb migration entry, read request: FAULT (hugetlb_fault waits inside), then VALID | WRITE | ord(9)",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({ addr: t.base, length: PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      t.mm.touch(t.base, true);
      const e = entryAt(t, t.base, 1);
      const p = pte.pfnOf(e);
      writeEntryAt(t, t.base, 1, pte.mk.migration(p, true));
      t.engine.pendingMigrations.set(p, { finish: () => { writeEntryAt(t, t.base, 1, e); t.engine.pendingMigrations.delete(p); } });
      return {
        start: t.base, end: t.base + 2 * PAGE, req: [R, 0n],
        // the wait happens inside handle_mm_fault: WAIT_MIG is a PTE/PMD-walk action only
        expect: (c) => ({ ret: 0, words: pages(2, (i) => b(p + i) | V | W | ord(9, c.profile)), faulted: 2, migrationWaits: 0 }),
      };
    },
  },
  {
    row: "H5", name: "hugetlb hwpoison entry: garbage | ord(9) without request; read request -> VM_FAULT_HWPOISON_LARGE -> -EFAULT",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({ addr: t.base, length: 2 * PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      t.mm.touch(t.base, true);
      const hp = pte.mk.hwpoison(0x123400);
      writeEntryAt(t, t.base + PMD_SIZE, 1, hp);
      const g = garbagePfn(hp);
      return {
        start: t.base + PMD_SIZE - PAGE, end: t.base + PMD_SIZE + 2 * PAGE, req: [0n, 0n, R],
        // the request is on the second page of the poisoned huge page: ignored (first-page quirk)
        expect: (c) => ({ ret: 0, words: [b(cpuPfn(c, c.base) + 511) | V | W | ord(9, c.profile), g | ord(9, c.profile), (g + 1n) | ord(9, c.profile)], faulted: 0 }),
      };
    },
  },
  {
    row: "H5", name: "hugetlb hwpoison entry, first-page read request: -EFAULT after one fault",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({ addr: t.base, length: 2 * PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      t.mm.touch(t.base, true);
      writeEntryAt(t, t.base + PMD_SIZE, 1, pte.mk.hwpoison(0x123400));
      return { start: t.base + PMD_SIZE, end: t.base + PMD_SIZE + 2 * PAGE, req: [R, 0n], expect: () => ({ ret: EFAULT, words: [null, null], faulted: 1 }) };
    },
  },
  {
    row: "H2", name: "hugetlb pool exhausted: the fault fails (SIGBUS) -> -EFAULT",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({ addr: t.base, length: 2 * PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });
      t.mm.touch(t.base, true);
      return { start: t.base + PMD_SIZE, end: t.base + PMD_SIZE + PAGE, req: [R], expect: () => ({ ret: EFAULT, words: [null], faulted: 1, frames: 0 }) };
    },
  },

  // ---- §3.1 request evaluation ----------------------------------------------------------------
  {
    row: "req", name: "default_flags = REQ_FAULT with pfn_flags_mask = 0: per-page inputs (even WRITE) ignored",
    setup: (t) => {
      anon(t, t.base, 4);
      return {
        start: t.base, end: t.base + 4 * PAGE, req: reqs(4, {}, WR), defaultFlags: R, pfnFlagsMask: 0n,
        expect: () => ({ ret: 0, words: pages(4, () => Z), faulted: 4, frames: 0 }),
      };
    },
  },
  {
    row: "req", name: "default_flags = REQ_FAULT, mask = REQ_WRITE: page 2's REQ_WRITE makes the chunk a write fault",
    setup: (t) => {
      anon(t, t.base, 4);
      t.mm.touch(t.base, false);
      return {
        start: t.base, end: t.base + 4 * PAGE, req: reqs(4, { 2: REQ_WRITE }), defaultFlags: R, pfnFlagsMask: REQ_WRITE,
        // page 0: zero page satisfies the read; 1: none -> FAULT(R) over 1..3 (read); re-walk: 2 needs W
        // on the zero page -> FAULT(W) over 2..3 (zero-page upgrades raise CLEAR) -> external -EBUSY
        expect: (c) => ({
          ret: EBUSY, words: [Z, Z, null, null], faulted: 5,
          events: [ev(MMU_NOTIFY_CLEAR, c.base + 2 * PAGE, c.base + 3 * PAGE), ev(MMU_NOTIFY_CLEAR, c.base + 3 * PAGE, c.base + 4 * PAGE)],
        }),
      };
    },
  },
  {
    row: "req", name: "default_flags = REQ_WRITE alone: no fault, no -EPERM on a read-only VMA",
    setup: (t) => {
      anon(t, t.base, 4, PROT_READ);
      t.mm.touch(t.base, false);
      return {
        start: t.base, end: t.base + 4 * PAGE, req: reqs(4, {}, REQ_WRITE), defaultFlags: REQ_WRITE,
        expect: () => ({ ret: 0, words: [Z, 0n, 0n, 0n], faulted: 0 }),
      };
    },
  },
  {
    row: "req", name: "fast path: (default | mask) without REQ_FAULT ignores REQ_FAULT in the inputs",
    setup: (t) => {
      anon(t, t.base, 4);
      return {
        start: t.base, end: t.base + 4 * PAGE, req: reqs(4, {}, WR), defaultFlags: 0n, pfnFlagsMask: REQ_WRITE,
        expect: () => ({ ret: 0, words: pages(4, () => 0n), faulted: 0 }),
      };
    },
  },
  {
    row: "req", name: "pfn_flags_mask = REQ_FAULT only: per-page REQ_WRITE is masked to a read fault",
    setup: (t) => {
      anon(t, t.base, 2);
      return {
        start: t.base, end: t.base + 2 * PAGE, req: [WR, 0n], pfnFlagsMask: R,
        expect: () => ({ ret: 0, words: [Z, Z], faulted: 2, frames: 0 }),
      };
    },
  },
];

// "5hi": a 5-level address space with the scenario placed above 2^53 (top half of the 57-bit space)
type Levels = 4 | 5 | "5hi";
type Combo = [levels: Levels, profile: Profile, sticky: boolean];
const COMBOS: Combo[] = [];
for (const levels of [4, 5] as const) for (const profile of ["v6.1", "v6.16"] as const) for (const sticky of [false, true]) COMBOS.push([levels, profile, sticky]);
COMBOS.push(["5hi", "v6.1", false], ["5hi", "v6.16", true]);

function runCase(c: Case, [levels, profile, sticky]: Combo): void {
  const sim = makeSim({ levels: levels === "5hi" ? 5 : levels, profile });
  const t: Ctx = { ...sim, base: levels === "5hi" ? highBaseOf5() : baseOf(levels), s: {} };
  const sc = c.setup(t);
  t.events.length = 0;
  const framesBefore = t.engine.framesInUse();
  const n = (sc.end - sc.start) / PAGE;
  const stickyBits = sticky ? STICKY : 0n;
  const opts = {
    start: sc.start, end: sc.end, req: (i: number) => (sc.req?.[i] ?? 0n) | stickyBits,
    defaultFlags: sc.defaultFlags, pfnFlagsMask: sc.pfnFlagsMask, owner: sc.owner,
  };
  const r = sc.driver ? driverFault(t, opts) : runRange(t, opts);
  const x = sc.expect(t, r);
  expect(x.words.length).toBe(n);
  const want = x.words.map((w, i) => (w === null ? r.input[i] : profile === "v6.16" ? (r.input[i] & STICKY) | w : w));
  expect({ ret: r.ret, out: hexWords(r.out) }).toEqual({ ret: x.ret, out: hexWords(want) });
  const faulted = "faultedPages" in r ? (r as { faultedPages: number }).faultedPages : r.stats.faultedPages;
  if (x.faulted !== undefined) expect(faulted).toBe(x.faulted);
  if (x.migrationWaits !== undefined) expect(r.stats.migrationWaits).toBe(x.migrationWaits);
  if (x.frames !== undefined) expect(t.engine.framesInUse() - framesBefore).toBe(x.frames);
  const got = t.events.map((e) => ({ event: e.event, start: e.start, end: e.end, owner: e.owner }));
  if (!x.skipEvents) expect(got).toEqual((x.events ?? []).map((e) => ({ owner: null, ...e })));
  x.extra?.();
}

const rows = [...new Set(cases.map((c) => c.row))];
for (const row of rows) {
  describe(`decision table ${row}`, () => {
    for (const c of cases.filter((k) => k.row === row)) {
      const combos = COMBOS.filter(([, p]) => !c.profiles || c.profiles.includes(p));
      it.each(combos)(`${c.name} [%s-level %s sticky=%s]`, (levels, profile, sticky) => runCase(c, [levels, profile, sticky]));
    }
  });
}

// Sticky bits are dropped by SEED even where the output is a plain 0 or ERROR fill.
describe("sticky DMA bits (docs/semantics.md §1.2)", () => {
  it.each([4, 5] as const)("v6.1 overwrites them, v6.16 keeps them, in 0 / ERROR / VALID outputs (%i-level)", (levels) => {
    for (const profile of ["v6.1", "v6.16"] as const) {
      const t = makeSim({ levels, profile });
      const base = baseOf(levels);
      t.mm.mmap({ addr: base, length: 2 * PAGE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      t.mm.touch(base, true);
      const r = runRange(t, { start: base, end: base + 3 * PAGE, req: [STICKY, STICKY | R, 0x1000000000000000n] });
      expect(r.ret).toBe(0);
      const keep = profile === "v6.16";
      const pfn = BigInt(cpuPfn(t, base));
      expect(hexWords(r.out)).toEqual(hexWords([
        (keep ? STICKY : 0n) | pfn | V | W,
        (keep ? STICKY : 0n) | Z,
        (keep ? 0x1000000000000000n : 0n) | E,
      ]));
    }
  });
});

describe("hmm_pfn helpers agree with the layouts", () => {
  it("order / pfn extraction of a THP word in both profiles", async () => {
    const { hmmPfnToMapOrder, hmmPfnToPfn } = await import("../src/index.js");
    expect(hmmPfnToMapOrder(0x1234n | V | ord(9, "v6.1"), "v6.1")).toBe(9);
    expect(hmmPfnToMapOrder(0x1234n | V | ord(18, "v6.16") | STICKY, "v6.16")).toBe(18);
    expect(hmmPfnToPfn(0x1234n | V | W | ord(9, "v6.16") | STICKY, "v6.16")).toBe(0x1234);
  });
});
