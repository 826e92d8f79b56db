// Decision table, docs/semantics.md §3.6 hugetlb (rows H): one case per row and quirk, each
// run by harness.ts on every geometry, profile and sticky-bit combination.
import {
  EFAULT,
  EPERM,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_HUGE_1GB,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
} from "../../src/index.js";
import * as pte from "../../src/engine/pte.js";
import { PAGE, PMD_SIZE, PUD_SIZE, V, W, cpuPfn, entryAt, ord, writeEntryAt } from "../helpers.js";
import { RW, R, WR, b, anon, pages, reqs, garbagePfn, cpu, type Case, registerRows } from "./harness.js";

const cases: Case[] = [
  {
    row: "H1",
    name: "2 MiB hugetlb, no page table (empty 1 GiB region): hole path, 0 without order bits",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 2);
      t.mm.mmap({
        addr: t.base,
        length: 2 * PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => 0n) }) };
    },
  },
  {
    row: "H1",
    name: "hole path uses the union of requests: a request on page 3 faults (hugetlb_fault), read-only private",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 2);
      t.mm.mmap({
        addr: t.base,
        length: 2 * PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      return {
        start: t.base,
        end: t.base + 8 * PAGE,
        req: reqs(8, { 3: R }),
        expect: (c) => ({
          ret: 0,
          words: pages(8, (i) => cpu(c, c.base + i * PAGE) | V | ord(9, c.profile)),
          faulted: 8,
          frames: 512,
        }),
      };
    },
  },
  {
    row: "H1",
    name: "1 GiB hugetlb in an empty 512 GiB region: hole path, 0 without order bits",
    setup: (t) => {
      t.engine.setHugetlbPages(30, 1);
      t.mm.mmap({
        addr: t.base,
        length: PUD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB | MAP_FIXED,
      });
      return { start: t.base + 0x100 * PAGE, end: t.base + 0x102 * PAGE, expect: () => ({ ret: 0, words: [0n, 0n] }) };
    },
  },
  {
    row: "H2",
    name: "huge PTE none in an existing PMD table: (0 + idx + i) | ord(9), no VALID (QUIRK)",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 2);
      t.mm.mmap({
        addr: t.base,
        length: 2 * PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      t.mm.touch(t.base, true);
      const s = t.base + PMD_SIZE + 3 * PAGE;
      return {
        start: s,
        end: s + 5 * PAGE,
        expect: (c) => ({ ret: 0, words: pages(5, (i) => b(3 + i) | ord(9, c.profile)) }),
      };
    },
  },
  {
    row: "H2",
    name: "first-page request only (QUIRK): a read request on page 1 is ignored",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 2);
      t.mm.mmap({
        addr: t.base,
        length: 2 * PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      t.mm.touch(t.base, true);
      const s = t.base + PMD_SIZE;
      return {
        start: s,
        end: s + 4 * PAGE,
        req: reqs(4, { 1: R, 3: WR }),
        expect: (c) => ({ ret: 0, words: pages(4, (i) => b(i) | ord(9, c.profile)), faulted: 0, frames: 0 }),
      };
    },
  },
  {
    row: "H2",
    name: "first-page read request: FAULT(R) over the chunk, then (pfn + i) | VALID | ord(9)",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 2);
      t.mm.mmap({
        addr: t.base,
        length: 2 * PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      t.mm.touch(t.base, true);
      const s = t.base + PMD_SIZE;
      return {
        start: s,
        end: s + 4 * PAGE,
        req: reqs(4, { 0: R }),
        expect: (c) => ({
          ret: 0,
          words: pages(4, (i) => (cpu(c, s) + b(i)) | V | ord(9, c.profile)),
          faulted: 4,
          frames: 512,
        }),
      };
    },
  },
  {
    row: "H2",
    name: "1 GiB hugetlb, present P4D/PGD but PUD none: (idx + i) | ord(18)",
    setup: (t) => {
      t.engine.setHugetlbPages(30, 1);
      t.mm.mmap({
        addr: t.base,
        length: PUD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB | MAP_FIXED,
      });
      anon(t, t.base + 2 * PUD_SIZE, 1);
      t.mm.touch(t.base + 2 * PUD_SIZE, false);
      const s = t.base + 0x100 * PAGE;
      return {
        start: s,
        end: s + 2 * PAGE,
        expect: (c) => ({ ret: 0, words: pages(2, (i) => b(0x100 + i) | ord(18, c.profile)) }),
      };
    },
  },
  {
    row: "H3",
    name: "2 MiB hugetlb written: (pfn + idx + i) | VALID | WRITE | ord(9)",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({
        addr: t.base,
        length: PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      t.mm.touch(t.base, true);
      const s = t.base + 509 * PAGE;
      return {
        start: s,
        end: s + 3 * PAGE,
        req: reqs(3, {}, WR),
        expect: (c) => ({
          ret: 0,
          words: pages(3, (i) => b(cpuPfn(c, c.base) + 509 + i) | V | W | ord(9, c.profile)),
          faulted: 0,
        }),
      };
    },
  },
  {
    row: "H3",
    name: "shared hugetlb read fault maps writable: VALID | WRITE | ord(9)",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({
        addr: t.base,
        length: PMD_SIZE,
        prot: RW,
        flags: MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: [R, 0n],
        expect: (c) => ({
          ret: 0,
          words: pages(2, (i) => b(cpuPfn(c, c.base) + i) | V | W | ord(9, c.profile)),
          faulted: 2,
        }),
      };
    },
  },
  {
    row: "H3",
    name: "1 GiB hugetlb written: (pfn + idx + i) | VALID | WRITE | ord(18)",
    setup: (t) => {
      t.engine.setHugetlbPages(30, 1);
      t.mm.mmap({
        addr: t.base,
        length: PUD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB | MAP_FIXED,
      });
      t.mm.touch(t.base, true);
      const s = t.base + 0x3ffff * PAGE;
      return {
        start: s,
        end: s + PAGE,
        req: [WR],
        expect: (c) => ({ ret: 0, words: [b(cpuPfn(c, c.base) + 0x3ffff) | V | W | ord(18, c.profile)], faulted: 0 }),
      };
    },
  },
  {
    row: "H4",
    name: "private hugetlb after a read fault: read-only, VALID | ord(9)",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({
        addr: t.base,
        length: PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      t.mm.touch(t.base, false);
      return {
        start: t.base + 7 * PAGE,
        end: t.base + 9 * PAGE,
        req: [R, R],
        expect: (c) => ({
          ret: 0,
          words: pages(2, (i) => b(cpuPfn(c, c.base) + 7 + i) | V | ord(9, c.profile)),
          faulted: 0,
        }),
      };
    },
  },
  {
    row: "H4",
    name: "read-only exclusive hugetlb page, write request: FAULT(W) = hugetlb_wp reuse, no notifier",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({
        addr: t.base,
        length: PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      t.mm.touch(t.base, false);
      const p = cpuPfn(t, t.base);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: [WR, 0n],
        expect: (c) => ({
          ret: 0,
          words: pages(2, (i) => b(p + i) | V | W | ord(9, c.profile)),
          faulted: 2,
          frames: 0,
        }),
      };
    },
  },
  {
    row: "H4",
    name: "hugetlb on a read-only VMA, write request: -EPERM",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({
        addr: t.base,
        length: PMD_SIZE,
        prot: PROT_READ,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      t.mm.touch(t.base, false);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: [WR, 0n],
        expect: () => ({ ret: EPERM, words: [null, null], faulted: 0 }),
      };
    },
  },
  {
    row: "H5",
    name: "hugetlb migration entry, no request: (swp-derived garbage + idx + i) | ord(9), no VALID",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({
        addr: t.base,
        length: PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      t.mm.touch(t.base, true);
      const p = cpuPfn(t, t.base);
      const m = pte.mk.migration(p, true);
      writeEntryAt(t, t.base, 1, m);
      t.engine.pendingMigrations.set(p, {
        finish: () => {
          throw new Error("must not wait");
        },
      });
      const g = garbagePfn(m);
      return {
        start: t.base + 2 * PAGE,
        end: t.base + 5 * PAGE,
        expect: (c) => ({ ret: 0, words: pages(3, (i) => (g + b(2 + i)) | ord(9, c.profile)), migrationWaits: 0 }),
      };
    },
  },
  {
    row: "H5",
    name: "hugetlb migration entry, read request: FAULT (hugetlb_fault waits inside), then VALID | WRITE | ord(9)",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({
        addr: t.base,
        length: PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      t.mm.touch(t.base, true);
      const e = entryAt(t, t.base, 1);
      const p = pte.pfnOf(e);
      writeEntryAt(t, t.base, 1, pte.mk.migration(p, true));
      t.engine.pendingMigrations.set(p, {
        finish: () => {
          writeEntryAt(t, t.base, 1, e);
          t.engine.pendingMigrations.delete(p);
        },
      });
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: [R, 0n],
        // the wait happens inside handle_mm_fault: WAIT_MIG is a PTE/PMD-walk action only
        expect: (c) => ({
          ret: 0,
          words: pages(2, (i) => b(p + i) | V | W | ord(9, c.profile)),
          faulted: 2,
          migrationWaits: 0,
        }),
      };
    },
  },
  {
    row: "H5",
    name: "hugetlb hwpoison entry: garbage | ord(9) without request; read request -> VM_FAULT_HWPOISON_LARGE -> -EFAULT",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({
        addr: t.base,
        length: 2 * PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      t.mm.touch(t.base, true);
      const hp = pte.mk.hwpoison(0x123400);
      writeEntryAt(t, t.base + PMD_SIZE, 1, hp);
      const g = garbagePfn(hp);
      return {
        start: t.base + PMD_SIZE - PAGE,
        end: t.base + PMD_SIZE + 2 * PAGE,
        req: [0n, 0n, R],
        // the request is on the second page of the poisoned huge page: ignored (first-page quirk)
        expect: (c) => ({
          ret: 0,
          words: [
            b(cpuPfn(c, c.base) + 511) | V | W | ord(9, c.profile),
            g | ord(9, c.profile),
            (g + 1n) | ord(9, c.profile),
          ],
          faulted: 0,
        }),
      };
    },
  },
  {
    row: "H5",
    name: "hugetlb hwpoison entry, first-page read request: -EFAULT after one fault",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({
        addr: t.base,
        length: 2 * PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      t.mm.touch(t.base, true);
      writeEntryAt(t, t.base + PMD_SIZE, 1, pte.mk.hwpoison(0x123400));
      return {
        start: t.base + PMD_SIZE,
        end: t.base + PMD_SIZE + 2 * PAGE,
        req: [R, 0n],
        expect: () => ({ ret: EFAULT, words: [null, null], faulted: 1 }),
      };
    },
  },
  {
    row: "H2",
    name: "hugetlb pool exhausted: the fault fails (SIGBUS) -> -EFAULT",
    setup: (t) => {
      t.engine.setHugetlbPages(21, 1);
      t.mm.mmap({
        addr: t.base,
        length: 2 * PMD_SIZE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
      });
      t.mm.touch(t.base, true);
      return {
        start: t.base + PMD_SIZE,
        end: t.base + PMD_SIZE + PAGE,
        req: [R],
        expect: () => ({ ret: EFAULT, words: [null], faulted: 1, frames: 0 }),
      };
    },
  },
];

registerRows(cases);
