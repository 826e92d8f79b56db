// Decision table, docs/semantics.md §3.4 PMD level (rows M): one case per row and quirk, each
// run by harness.ts on every geometry, profile and sticky-bit combination.
import { Device, EBUSY, EFAULT, EPERM, PROT_READ, MMU_NOTIFY_CLEAR } from "../../src/index.js";
import { PTE_HI, PTE_LO } from "../../src/engine/layout.js";
import * as pte from "../../src/engine/pte.js";
import { E, PAGE, PMD_SIZE, V, W, entryAt, ord, writeEntryAt } from "../helpers.js";
import {
  R,
  WR,
  HZERO,
  Z,
  b,
  anon,
  pages,
  reqs,
  cpu,
  ev,
  thp,
  DAX_PMD_PFN,
  type Case,
  registerRows,
} from "./harness.js";

const cases: Case[] = [
  {
    row: "M1",
    name: "pmd_none (PUD table present), no request: FILL(0)",
    setup: (t) => {
      anon(t, t.base, 1024);
      t.mm.touch(t.base, false);
      return {
        start: t.base + PMD_SIZE,
        end: t.base + PMD_SIZE + 8 * PAGE,
        expect: () => ({ ret: 0, words: pages(8, () => 0n) }),
      };
    },
  },
  {
    row: "M1",
    name: "pmd_none, read request on page 4: FAULT from the chunk start to the PMD end (512 pages)",
    setup: (t) => {
      anon(t, t.base, 1024);
      t.mm.touch(t.base, false);
      return {
        start: t.base + PMD_SIZE,
        end: t.base + 2 * PMD_SIZE,
        req: reqs(512, { 4: R }),
        expect: () => ({ ret: 0, words: pages(512, () => Z), faulted: 512, frames: 0 }),
      };
    },
  },
  {
    row: "M1",
    name: "pmd_none, union of R and W requests: FAULT(W) over the whole chunk",
    setup: (t) => {
      anon(t, t.base, 1024);
      t.mm.touch(t.base, false);
      const s = t.base + PMD_SIZE;
      return {
        start: s,
        end: s + 16 * PAGE,
        req: reqs(16, { 0: R, 3: WR }),
        expect: (c) => ({ ret: 0, words: pages(16, (i) => cpu(c, s + i * PAGE) | V | W), faulted: 16, frames: 16 }),
      };
    },
  },
  {
    row: "M1",
    name: "pmd_none, write request on a read-only VMA: -EPERM",
    setup: (t) => {
      anon(t, t.base, 1024, PROT_READ);
      t.mm.touch(t.base, false);
      const s = t.base + PMD_SIZE;
      return {
        start: s,
        end: s + 8 * PAGE,
        req: reqs(8, { 7: WR }),
        expect: () => ({ ret: EPERM, words: pages(8, () => null), faulted: 0 }),
      };
    },
  },
  {
    row: "M2",
    name: "PMD migration entry, no request: FILL(0), no wait",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      const e = entryAt(t, t.base, 1);
      const pfn = pte.pfnOf(e);
      writeEntryAt(t, t.base, 1, pte.mk.migration(pfn, true));
      t.engine.pendingMigrations.set(pfn, {
        finish: () => {
          throw new Error("must not wait");
        },
      });
      return {
        start: t.base,
        end: t.base + 8 * PAGE,
        expect: () => ({ ret: 0, words: pages(8, () => 0n), migrationWaits: 0 }),
      };
    },
  },
  {
    row: "M2",
    name: "PMD migration entry, read request: WAIT_MIG then re-walk reports the THP",
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
        start: t.base,
        end: t.base + 8 * PAGE,
        req: reqs(8, { 3: R }),
        expect: (c) => ({
          ret: 0,
          words: pages(8, (i) => b(pfn + i) | V | W | ord(9, c.profile)),
          faulted: 0,
          migrationWaits: 1,
        }),
      };
    },
  },
  {
    row: "M2",
    name: "PMD migration entry, write request on a read-only VMA: waits first (no VM_WRITE check), then -EPERM",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      t.mm.mprotect(t.base, PMD_SIZE, PROT_READ);
      const e = entryAt(t, t.base, 1);
      const pfn = pte.pfnOf(e);
      writeEntryAt(t, t.base, 1, pte.mk.migration(pfn, false));
      t.engine.pendingMigrations.set(pfn, {
        finish: () => {
          writeEntryAt(t, t.base, 1, e);
          t.engine.pendingMigrations.delete(pfn);
        },
      });
      return {
        start: t.base,
        end: t.base + 8 * PAGE,
        req: reqs(8, {}, WR),
        expect: () => ({ ret: EPERM, words: pages(8, () => null), faulted: 0, migrationWaits: 1 }),
      };
    },
  },
  {
    row: "M3",
    name: "non-present PMD (hwpoison): FILL(ERROR); request: -EFAULT",
    setup: (t) => {
      anon(t, t.base, 512);
      writeEntryAt(t, t.base, 1, pte.mk.hwpoison(0x5000));
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => E) }) };
    },
  },
  {
    row: "M3",
    name: "non-present PMD (swap entry) with a read request: -EFAULT, nothing faulted",
    setup: (t) => {
      anon(t, t.base, 512);
      t.mm.touch(t.base + PMD_SIZE - PAGE, false); // unrelated: keeps nothing but proves the PMD table exists
      writeEntryAt(t, t.base, 1, pte.mk.swap(0, 77));
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, { 2: R }),
        expect: () => ({ ret: EFAULT, words: pages(4, () => null), faulted: 0 }),
      };
    },
  },
  {
    row: "M3",
    name: "SEED: device-private entry at PMD level is 'not present, other': ERROR even for its owner",
    profiles: ["v6.1"],
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 512);
      writeEntryAt(t, t.base, 1, pte.mk.devicePrivate(dev.firstPfn, true));
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        owner: dev.owner,
        expect: () => ({ ret: 0, words: pages(4, () => E) }),
      };
    },
  },
  {
    row: "M4",
    name: "writable THP, range mid-PMD: (pfn + idx + i) | VALID | WRITE | ord(9), W request no fault",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      return {
        start: t.base + 3 * PAGE,
        end: t.base + 11 * PAGE,
        req: reqs(8, {}, WR),
        expect: (c) => {
          const p = b(pte.pfnOf(entryAt(c, c.base, 1)));
          return { ret: 0, words: pages(8, (i) => (p + b(3 + i)) | V | W | ord(9, c.profile)), faulted: 0 };
        },
      };
    },
  },
  {
    row: "M4",
    name: "THP fault: one handle_mm_fault per page, exactly one order-9 allocation",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      return {
        start: t.base,
        end: t.base + PMD_SIZE,
        req: reqs(512, { 0: WR }),
        expect: (c) => {
          const p = b(pte.pfnOf(entryAt(c, c.base, 1)));
          return {
            ret: 0,
            words: pages(512, (i) => (p + b(i)) | V | W | ord(9, c.profile)),
            faulted: 512,
            frames: 512,
          };
        },
      };
    },
  },
  {
    row: "M4",
    name: "huge zero page: VALID | ord(9), no WRITE, read request satisfied",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, false);
      return {
        start: t.base + 3 * PAGE,
        end: t.base + 11 * PAGE,
        req: reqs(8, {}, R),
        expect: (c) => ({ ret: 0, words: pages(8, (i) => (HZERO + b(3 + i)) | V | ord(9, c.profile)), faulted: 0 }),
      };
    },
  },
  {
    row: "M4",
    name: "write request on the huge zero page: FAULT(W): split (CLEAR 2 MiB) + per-page COW (CLEAR 4 KiB)",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, false);
      const s = t.base + 3 * PAGE;
      return {
        start: s,
        end: s + 4 * PAGE,
        req: reqs(4, { 0: WR }),
        expect: (c) => ({
          ret: EBUSY,
          words: pages(4, () => null),
          faulted: 4,
          events: [
            ev(MMU_NOTIFY_CLEAR, c.base, c.base + PMD_SIZE),
            ...[0, 1, 2, 3].map((i) => ev(MMU_NOTIFY_CLEAR, s + i * PAGE, s + (i + 1) * PAGE)),
          ],
        }),
      };
    },
  },
  {
    row: "M4",
    name: "write request on the huge zero page, driver protocol: converges to writable order-0 pages",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, false);
      const s = t.base + 3 * PAGE;
      return {
        start: s,
        end: s + 2 * PAGE,
        req: reqs(2, {}, WR),
        driver: true,
        expect: (c) => ({
          ret: 0,
          words: pages(2, (i) => cpu(c, s + i * PAGE) | V | W),
          faulted: 2,
          events: [
            ev(MMU_NOTIFY_CLEAR, c.base, c.base + PMD_SIZE),
            ev(MMU_NOTIFY_CLEAR, s, s + PAGE),
            ev(MMU_NOTIFY_CLEAR, s + PAGE, s + 2 * PAGE),
          ],
        }),
      };
    },
  },
  {
    row: "M4",
    name: "read-only THP on a read-only VMA, write request: -EPERM",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      t.mm.mprotect(t.base, PMD_SIZE, PROT_READ);
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, { 1: WR }),
        expect: () => ({ ret: EPERM, words: pages(4, () => null), faulted: 0 }),
      };
    },
  },
  {
    row: "M4",
    name: "protnone THP (NUMA hinting), no request: raw pfn, no flags, no order (QUIRK)",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      const p = pte.pfnOf(entryAt(t, t.base, 1));
      t.mm.numaHintingScan(t.base, t.base + PMD_SIZE);
      return {
        start: t.base + 3 * PAGE,
        end: t.base + 7 * PAGE,
        expect: () => ({ ret: 0, words: pages(4, (i) => b(p + 3 + i)) }),
      };
    },
  },
  {
    row: "M4",
    name: "protnone THP, read request: FAULT(R) restores it (no notifier), VALID | WRITE | ord(9)",
    setup: (t) => {
      thp(t);
      anon(t, t.base, 512);
      t.mm.touch(t.base, true);
      const p = pte.pfnOf(entryAt(t, t.base, 1));
      t.mm.numaHintingScan(t.base, t.base + PMD_SIZE);
      return {
        start: t.base + 3 * PAGE,
        end: t.base + 7 * PAGE,
        req: reqs(4, { 2: R }),
        expect: (c) => ({ ret: 0, words: pages(4, (i) => b(p + 3 + i) | V | W | ord(9, c.profile)), faulted: 4 }),
      };
    },
  },
  {
    row: "M4",
    name: "SEED devmap (DAX) PMD leaf: (pfn + idx + i) | VALID | WRITE | ord(9)",
    setup: (t) => {
      anon(t, t.base, 512);
      writeEntryAt(t, t.base, 1, pte.mk.huge(DAX_PMD_PFN, true, 0, PTE_HI.DEVMAP));
      return {
        start: t.base + 510 * PAGE,
        end: t.base + 512 * PAGE,
        req: reqs(2, {}, WR),
        expect: (c) => ({ ret: 0, words: pages(2, (i) => b(DAX_PMD_PFN + 510 + i) | V | W | ord(9, c.profile)) }),
      };
    },
  },
  {
    row: "M5",
    name: "pmd_bad (garbage table pointer): FILL(ERROR)",
    setup: (t) => {
      anon(t, t.base, 512);
      writeEntryAt(t, t.base, 1, pte.mkPfnEntry(1, PTE_LO.PRESENT | PTE_LO.RW));
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => E) }) };
    },
  },
  {
    row: "M5",
    name: "pmd_bad with a read request: -EFAULT",
    setup: (t) => {
      anon(t, t.base, 512);
      writeEntryAt(t, t.base, 1, pte.mkPfnEntry(1, PTE_LO.PRESENT | PTE_LO.RW));
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, { 3: R }),
        expect: () => ({ ret: EFAULT, words: pages(4, () => null), faulted: 0 }),
      };
    },
  },
];

registerRows(cases);
