// Decision table, docs/semantics.md §3.2 range and VMA level (rows V): one case per row and quirk, each
// run by harness.ts on every geometry, profile and sticky-bit combination.
import {
  Device,
  EFAULT,
  MAP_FIXED,
  MAP_SHARED,
  PROT_NONE,
  PROT_WRITE,
  VM,
  insertPage,
  insertPfn,
} from "../../src/index.js";
import { E, PAGE, REQ_WRITE, V } from "../helpers.js";
import { RW, R, WR, Z, b, anon, pages, reqs, type Case, registerRows } from "./harness.js";

const cases: Case[] = [
  {
    row: "V1",
    name: "gap below a VMA, no request: FILL(ERROR)",
    setup: (t) => {
      anon(t, t.base + 16 * PAGE, 16);
      return { start: t.base, end: t.base + 8 * PAGE, expect: () => ({ ret: 0, words: pages(8, () => E) }) };
    },
  },
  {
    row: "V1",
    name: "gap between VMAs and after the last one: 0 inside VMAs, ERROR in gaps",
    setup: (t) => {
      anon(t, t.base, 4);
      anon(t, t.base + 8 * PAGE, 4);
      return {
        start: t.base,
        end: t.base + 16 * PAGE,
        expect: () => ({ ret: 0, words: pages(16, (i) => (i < 4 || (i >= 8 && i < 12) ? 0n : E)) }),
      };
    },
  },
  {
    row: "V1",
    name: "read request in a gap: -EFAULT, gap not written, nothing faulted",
    setup: (t) => {
      anon(t, t.base, 4);
      anon(t, t.base + 8 * PAGE, 4);
      return {
        start: t.base,
        end: t.base + 12 * PAGE,
        req: reqs(12, { 6: R }),
        expect: () => ({ ret: EFAULT, words: pages(12, (i) => (i < 4 ? 0n : null)), faulted: 0 }),
      };
    },
  },
  {
    row: "V1",
    name: "REQ_WRITE without REQ_FAULT is ignored (no -EFAULT)",
    setup: (t) => {
      anon(t, t.base + 4 * PAGE, 4);
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, {}, REQ_WRITE),
        expect: () => ({ ret: 0, words: pages(4, () => E), faulted: 0 }),
      };
    },
  },
  {
    row: "V2",
    name: "VM_IO|VM_PFNMAP device mapping (populated): ERROR, -EFAULT on request",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 4 * PAGE, RW, "io");
      insertPfn(t.mm, a, 0x7000, true);
      return { start: a, end: a + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => E) }) };
    },
  },
  {
    row: "V2",
    name: "VM_PFNMAP: any read request (one page) is -EFAULT before anything is written",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 4 * PAGE, RW, "pfnmap");
      insertPfn(t.mm, a, 0x7000, true);
      return {
        start: a,
        end: a + 4 * PAGE,
        req: reqs(4, { 3: R }),
        expect: () => ({ ret: EFAULT, words: pages(4, () => null), faulted: 0 }),
      };
    },
  },
  {
    row: "V2",
    name: "PFNMAP VMA between two anonymous VMAs: skipped with ERROR, walk continues",
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 4);
      t.mm.mmap({
        addr: t.base + 4 * PAGE,
        length: 4 * PAGE,
        prot: RW,
        flags: MAP_SHARED | MAP_FIXED,
        device: dev,
        vmFlags: VM.PFNMAP | VM.DONTEXPAND,
      });
      anon(t, t.base + 8 * PAGE, 4);
      t.mm.touch(t.base + 8 * PAGE, false);
      return {
        start: t.base,
        end: t.base + 12 * PAGE,
        req: reqs(12, { 0: R }),
        // page 0's read request faults the first VMA (zero pages); the PFNMAP part has no request
        expect: () => ({ ret: 0, words: pages(12, (i) => (i < 4 ? Z : i < 8 ? E : i === 8 ? Z : 0n)), faulted: 4 }),
      };
    },
  },
  {
    row: "V3",
    name: "PROT_NONE VMA with populated pages: ERROR without looking at the PTEs",
    setup: (t) => {
      anon(t, t.base, 4);
      t.mm.touch(t.base, true);
      t.mm.mprotect(t.base, 4 * PAGE, PROT_NONE);
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => E) }) };
    },
  },
  {
    row: "V3",
    name: "PROT_NONE VMA, read request: -EFAULT",
    setup: (t) => {
      anon(t, t.base, 4, PROT_NONE);
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, { 1: R }),
        expect: () => ({ ret: EFAULT, words: pages(4, () => null), faulted: 0 }),
      };
    },
  },
  {
    row: "V3",
    name: "write-only VMA: ERROR; write request is -EFAULT (not -EPERM)",
    setup: (t) => {
      anon(t, t.base, 4, PROT_WRITE);
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, {}, WR),
        expect: () => ({ ret: EFAULT, words: pages(4, () => null), faulted: 0 }),
      };
    },
  },
  {
    row: "V3",
    name: "write-only VMA, no request: ERROR",
    setup: (t) => {
      anon(t, t.base, 4, PROT_WRITE);
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: pages(4, () => E) }) };
    },
  },
  {
    row: "V4",
    name: "VM_MIXEDMAP is walked: vm_insert_page -> VALID, insert_pfn -> ERROR (P14), none -> 0",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 4 * PAGE, RW, "mixedmap");
      const pfn = t.engine.allocFrames(0, 0);
      insertPage(t.mm, a, pfn);
      insertPfn(t.mm, a + PAGE, 0x7000, false);
      return { start: a, end: a + 4 * PAGE, expect: () => ({ ret: 0, words: [b(pfn) | V, E, 0n, 0n] }) };
    },
  },
];

registerRows(cases);
