// Decision table, docs/semantics.md §3.3 upper levels PGD / P4D / PUD (rows U): one case per row and quirk, each
// run by harness.ts on every geometry, profile and sticky-bit combination.
import { expect } from "vitest";
import { EBUSY, EFAULT, EPERM, PROT_READ, MMU_NOTIFY_CLEAR } from "../../src/index.js";
import { PTE_HI, PTE_LO } from "../../src/engine/layout.js";
import * as pte from "../../src/engine/pte.js";
import { PAGE, PUD_SIZE, V, W, entryAt, ord, writeEntryAt } from "../helpers.js";
import {
  R,
  WR,
  Z,
  b,
  anon,
  pages,
  reqs,
  cpu,
  isUnmapped,
  ev,
  DAX_PUD_PFN,
  type Case,
  registerRows,
} from "./harness.js";

const cases: Case[] = [
  {
    row: "U1",
    name: "untouched region (top-level entry none), no request: FILL(0)",
    setup: (t) => {
      anon(t, t.base, 16);
      return {
        start: t.base,
        end: t.base + 16 * PAGE,
        expect: () => ({ ret: 0, words: pages(16, () => 0n), faulted: 0 }),
      };
    },
  },
  {
    row: "U1",
    name: "read request on page 0 only: over-faults the whole hole chunk (VMA end), zero pages",
    setup: (t) => {
      anon(t, t.base, 16);
      return {
        start: t.base,
        end: t.base + 16 * PAGE,
        req: reqs(16, { 0: R }),
        expect: () => ({ ret: 0, words: pages(16, () => Z), faulted: 16, frames: 0 }),
      };
    },
  },
  {
    row: "U1",
    name: "write request on page 0 only: 16 new writable pages, no notifier",
    setup: (t) => {
      anon(t, t.base, 16);
      return {
        start: t.base,
        end: t.base + 16 * PAGE,
        req: reqs(16, { 0: WR }),
        expect: (c) => ({
          ret: 0,
          words: pages(16, (i) => cpu(c, c.base + i * PAGE) | V | W),
          faulted: 16,
          frames: 16,
        }),
      };
    },
  },
  {
    row: "U1",
    name: "hole chunk ends at the range end: pages beyond stay unmapped",
    setup: (t) => {
      anon(t, t.base, 16);
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, { 0: R }),
        expect: (c) => ({
          ret: 0,
          words: pages(4, () => Z),
          faulted: 4,
          extra: () => expect(isUnmapped(c, c.base + 4 * PAGE)).toBe(true),
        }),
      };
    },
  },
  {
    row: "U1",
    name: "hole chunk ends at the PUD boundary (next PUD populated)",
    setup: (t) => {
      const a = anon(t, t.base + PUD_SIZE - 8 * PAGE, 16);
      t.mm.touch(t.base + PUD_SIZE, false);
      return {
        start: a,
        end: a + 16 * PAGE,
        req: reqs(16, { 0: R }),
        expect: () => ({ ret: 0, words: pages(16, (i) => (i <= 8 ? Z : 0n)), faulted: 8 }),
      };
    },
  },
  {
    row: "U1",
    name: "hole chunk ends at the P4D (5-level) / PGD (4-level) boundary, 2^39",
    setup: (t) => {
      const a = anon(t, t.base + 2 ** 39 - 4 * PAGE, 8);
      t.mm.touch(t.base + 2 ** 39, false);
      return {
        start: a,
        end: a + 8 * PAGE,
        req: reqs(8, { 0: R }),
        expect: () => ({ ret: 0, words: pages(8, (i) => (i <= 4 ? Z : 0n)), faulted: 4 }),
      };
    },
  },
  {
    row: "U1",
    name: "write request on a read-only VMA: -EPERM before any fault",
    setup: (t) => {
      anon(t, t.base, 8, PROT_READ);
      return {
        start: t.base,
        end: t.base + 8 * PAGE,
        req: reqs(8, { 5: WR }),
        expect: () => ({ ret: EPERM, words: pages(8, () => null), faulted: 0, frames: 0 }),
      };
    },
  },
  {
    row: "U3",
    name: "present writable devmap PUD leaf: (pfn + idx + i) | VALID | WRITE | ord(18)",
    setup: (t) => {
      anon(t, t.base, PUD_SIZE / PAGE);
      writeEntryAt(t, t.base, 2, pte.mk.huge(DAX_PUD_PFN, true, 0, PTE_HI.DEVMAP));
      return {
        start: t.base + 5 * PAGE,
        end: t.base + 9 * PAGE,
        req: reqs(4, { 0: WR }),
        expect: (c) => ({
          ret: 0,
          words: pages(4, (i) => b(DAX_PUD_PFN + 5 + i) | V | W | ord(18, c.profile)),
          faulted: 0,
        }),
      };
    },
  },
  {
    row: "U3",
    name: "read-only devmap PUD leaf mid-PUD (idx 0x12345): VALID | ord(18), read request does not fault",
    setup: (t) => {
      anon(t, t.base, PUD_SIZE / PAGE);
      writeEntryAt(t, t.base, 2, pte.mk.huge(DAX_PUD_PFN, false, 0, PTE_HI.DEVMAP));
      const s = t.base + 0x12345 * PAGE;
      return {
        start: s,
        end: s + 3 * PAGE,
        req: reqs(3, {}, R),
        expect: (c) => ({
          ret: 0,
          words: pages(3, (i) => b(DAX_PUD_PFN + 0x12345 + i) | V | ord(18, c.profile)),
          faulted: 0,
        }),
      };
    },
  },
  {
    row: "U3",
    name: "write request on a read-only devmap PUD: FAULT(W) -> wp_huge_pud split (CLEAR 1 GiB)",
    profiles: ["v6.1"],
    setup: (t) => {
      anon(t, t.base, PUD_SIZE / PAGE);
      writeEntryAt(t, t.base, 2, pte.mk.huge(DAX_PUD_PFN, false, 0, PTE_HI.DEVMAP));
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: reqs(2, { 0: WR }),
        expect: (c) => ({
          ret: EBUSY,
          words: pages(2, () => null),
          faulted: 2,
          events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PUD_SIZE)],
        }),
      };
    },
  },
  {
    row: "U4",
    name: "non-present devmap PUD leaf: treated as a hole (FILL(0))",
    setup: (t) => {
      anon(t, t.base, PUD_SIZE / PAGE);
      writeEntryAt(t, t.base, 2, pte.mkPfnEntry(DAX_PUD_PFN, PTE_LO.PSE | PTE_LO.USER, PTE_HI.DEVMAP));
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        expect: () => ({ ret: 0, words: pages(4, () => 0n), faulted: 0 }),
      };
    },
  },
  {
    row: "U4",
    name: "non-present devmap PUD leaf with a read request: FAULT over the chunk (not an immediate -EFAULT)",
    setup: (t) => {
      anon(t, t.base, PUD_SIZE / PAGE);
      writeEntryAt(t, t.base, 2, pte.mkPfnEntry(DAX_PUD_PFN, PTE_LO.PSE | PTE_LO.USER, PTE_HI.DEVMAP));
      // the fault handler cannot do anything useful with this entry: the simulator reports
      // VM_FAULT_OOM (pmd_alloc on a non-table PUD), hence -EFAULT after one handle_mm_fault
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, { 2: R }),
        expect: () => ({ ret: EFAULT, words: pages(4, () => null), faulted: 1 }),
      };
    },
  },
  {
    row: "U5",
    name: "SEED: present non-devmap PUD leaf is split (ACTION_SUBTREE) and walked as a hole",
    profiles: ["v6.1"],
    setup: (t) => {
      anon(t, t.base, PUD_SIZE / PAGE);
      writeEntryAt(t, t.base, 2, pte.mk.huge(DAX_PUD_PFN, true));
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        expect: (c) => ({
          // split_huge_pud() raises CLEAR [haddr, +1 GiB) inside the walk; the walk then goes on
          // (no sequence check in between), so the call still returns 0
          ret: 0,
          words: pages(4, () => 0n),
          faulted: 0,
          events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PUD_SIZE)],
          extra: () => expect(pte.isNone(entryAt(c, c.base, 2))).toBe(true),
        }),
      };
    },
  },
];

registerRows(cases);
