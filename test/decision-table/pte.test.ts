// Decision table, docs/semantics.md §3.5 PTE level (rows P): one case per row and quirk, each
// run by harness.ts on every geometry, profile and sticky-bit combination.
import { expect } from "vitest";
import {
  Device,
  EBUSY,
  EFAULT,
  EPERM,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_NONE,
  PROT_READ,
  SimFile,
  VM,
  insertPfn,
  makeDeviceExclusiveRange,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_EXCLUSIVE,
  MMU_NOTIFY_MIGRATE,
} from "../../src/index.js";
import { PTE_HI, PTE_LO, SWP } from "../../src/engine/layout.js";
import * as pte from "../../src/engine/pte.js";
import { E, PAGE, V, W, cpuPfn, entryAt, writeEntryAt } from "../helpers.js";
import { RW, R, WR, Z, b, anon, pages, reqs, cpu, isUnmapped, ev, type Case, registerRows } from "./harness.js";

const cases: Case[] = [
  {
    row: "P1",
    name: "pte_none next to a populated PTE, no request: 0",
    setup: (t) => {
      anon(t, t.base, 16);
      t.mm.touch(t.base, false);
      return { start: t.base, end: t.base + 4 * PAGE, expect: () => ({ ret: 0, words: [Z, 0n, 0n, 0n] }) };
    },
  },
  {
    row: "P1",
    name: "pte_none, read request on page 4: FAULT(4..chunk end), earlier outputs kept",
    setup: (t) => {
      anon(t, t.base, 16);
      t.mm.touch(t.base, false);
      return {
        start: t.base,
        end: t.base + 16 * PAGE,
        req: reqs(16, { 4: R }),
        expect: (c) => ({
          ret: 0,
          words: pages(16, (i) => (i === 0 || i >= 4 ? Z : 0n)),
          faulted: 12,
          extra: () => expect(isUnmapped(c, c.base + 3 * PAGE)).toBe(true),
        }),
      };
    },
  },
  {
    row: "P1",
    name: "pte_none, write request on a read-only VMA: -EPERM; entries before it are outputs",
    setup: (t) => {
      anon(t, t.base, 16, PROT_READ);
      t.mm.touch(t.base, false);
      return {
        start: t.base,
        end: t.base + 8 * PAGE,
        req: reqs(8, { 4: WR }),
        expect: () => ({ ret: EPERM, words: pages(8, (i) => (i === 0 ? Z : i < 4 ? 0n : null)), faulted: 0 }),
      };
    },
  },
  {
    row: "P1",
    name: "SEED pte_none_mostly: uffd-wp PTE marker is none (0); read request faults it like none",
    setup: (t) => {
      anon(t, t.base, 4);
      t.mm.touch(t.base, false);
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.marker(SWP.MARKER_UFFD_WP));
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, { 1: R }),
        expect: () => ({ ret: 0, words: [Z, Z, Z, Z], faulted: 3 }),
      };
    },
  },
  {
    row: "P1",
    name: "SEED pte_none_mostly: swapin-error marker is 0 without request; a read request FAULTs (SIGBUS -> -EFAULT)",
    setup: (t) => {
      anon(t, t.base, 4);
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.marker(SWP.MARKER_SWAPIN_ERROR));
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, { 1: R }),
        expect: () => ({ ret: EFAULT, words: [0n, null, null, null], faulted: 1 }),
      };
    },
  },
  {
    row: "P2",
    name: "owner-matched device-private (writable): pfn | VALID | WRITE, never faulted",
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 4);
      for (let i = 0; i < 4; i++) t.mm.cpuWriteU32(t.base + i * PAGE, 0x1000 + i);
      expect(dev.migrateToDevice(t.mm, t.base, t.base + 4 * PAGE)).toBe(4);
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, {}, WR),
        owner: dev.owner,
        expect: (c) => ({
          ret: 0,
          words: pages(4, (i) => b(dev.firstPfn + i) | V | W),
          faulted: 0,
          extra: () => {
            expect(pte.swapOffset(entryAt(c, c.base + 2 * PAGE, 0))).toBe(dev.firstPfn + 2);
            expect(dev.migrateToRamCalls).toBe(0);
          },
        }),
      };
    },
  },
  {
    row: "P2",
    name: "owner-matched read-only device-private on a read-only VMA, write request: VALID only, ret 0 (no -EPERM)",
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 4);
      for (let i = 0; i < 4; i++) t.mm.touch(t.base + i * PAGE, true);
      dev.migrateToDevice(t.mm, t.base, t.base + 4 * PAGE);
      t.mm.mprotect(t.base, 4 * PAGE, PROT_READ);
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, {}, WR),
        owner: dev.owner,
        expect: () => ({ ret: 0, words: pages(4, (i) => b(dev.firstPfn + i) | V), faulted: 0 }),
      };
    },
  },
  {
    row: "P2",
    name: "owner-matched read-only device-private on a writable VMA, write request: still no fault",
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 2);
      t.mm.touch(t.base, true);
      t.mm.touch(t.base + PAGE, true);
      dev.migrateToDevice(t.mm, t.base, t.base + 2 * PAGE);
      t.mm.mprotect(t.base, 2 * PAGE, PROT_READ);
      t.mm.mprotect(t.base, 2 * PAGE, RW);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: reqs(2, {}, WR),
        owner: dev.owner,
        expect: () => ({ ret: 0, words: [b(dev.firstPfn) | V, b(dev.firstPfn + 1) | V], faulted: 0 }),
      };
    },
  },
  {
    row: "P3",
    name: "non-present entries without request: swap, foreign device-private, exclusive, migration, hwpoison -> 0",
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
      return {
        start: t.base,
        end: t.base + 8 * PAGE,
        owner: {},
        expect: () => ({ ret: 0, words: pages(8, () => 0n), faulted: 0, migrationWaits: 0 }),
      };
    },
  },
  {
    row: "P4",
    name: "swap entry, read request: swap-in; SEED maps read-only, v6.16 writable; chunk over-faulted",
    setup: (t) => {
      anon(t, t.base, 4);
      t.mm.touch(t.base, false);
      const data = new Uint8Array(PAGE).fill(0x5a);
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.swap(0, t.engine.swap.store(data)));
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, { 1: R }),
        expect: (c) => ({
          ret: 0,
          words: [Z, cpu(c, c.base + PAGE) | V | (c.profile === "v6.16" ? W : 0n), Z, Z],
          faulted: 3,
          frames: 1,
          extra: () => expect(c.mm.cpuReadU32(c.base + PAGE)).toBe(0x5a5a5a5a),
        }),
      };
    },
  },
  {
    row: "P4",
    name: "swap entry, write request: swap-in writable in both profiles, no notifier",
    setup: (t) => {
      anon(t, t.base, 1);
      writeEntryAt(t, t.base, 0, pte.mk.swap(0, t.engine.swap.store(null)));
      return {
        start: t.base,
        end: t.base + PAGE,
        req: [WR],
        expect: (c) => ({ ret: 0, words: [cpu(c, c.base) | V | W], faulted: 1 }),
      };
    },
  },
  {
    row: "P4",
    name: "swap entry, write request on a read-only VMA: -EPERM, the slot is untouched",
    setup: (t) => {
      anon(t, t.base, 2, PROT_READ);
      const slot = t.engine.swap.store(null);
      t.s.slot = slot;
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.swap(0, slot));
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: reqs(2, { 1: WR }),
        expect: (c) => ({
          ret: EPERM,
          words: [0n, null],
          faulted: 0,
          extra: () => expect(c.engine.swap.has(slot)).toBe(true),
        }),
      };
    },
  },
  {
    row: "P5",
    name: "foreign device-private, read request: FAULT -> migrate_to_ram for every page of the chunk (MIGRATE events)",
    setup: (t) => {
      const dev = new Device(t.engine);
      t.s.dev = dev;
      anon(t, t.base, 3);
      for (let i = 0; i < 3; i++) t.mm.touch(t.base + i * PAGE, true);
      dev.migrateToDevice(t.mm, t.base, t.base + 3 * PAGE);
      return {
        start: t.base,
        end: t.base + 3 * PAGE,
        req: reqs(3, { 0: R }),
        owner: {},
        expect: (c) => ({
          ret: EBUSY,
          words: pages(3, () => null),
          faulted: 3,
          events: [0, 1, 2].map((i) => ev(MMU_NOTIFY_MIGRATE, c.base + i * PAGE, c.base + (i + 1) * PAGE, dev.owner)),
          extra: () => expect(dev.migrateToRamCalls).toBe(3),
        }),
      };
    },
  },
  {
    row: "P5",
    name: "device-private without any range owner, driver protocol: pages come back writable in RAM",
    setup: (t) => {
      const dev = new Device(t.engine);
      anon(t, t.base, 2);
      t.mm.cpuWriteU32(t.base, 0xdeadbeef);
      t.mm.touch(t.base + PAGE, true);
      dev.migrateToDevice(t.mm, t.base, t.base + 2 * PAGE);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: reqs(2, { 1: R }),
        driver: true,
        expect: (c) => ({
          ret: 0,
          words: [0n, cpu(c, c.base + PAGE) | V | W],
          faulted: 1,
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
    row: "P5",
    name: "foreign device-private, write request on a read-only VMA: -EPERM, no migration",
    setup: (t) => {
      const dev = new Device(t.engine);
      t.s.dev = dev;
      anon(t, t.base, 2);
      t.mm.touch(t.base, true);
      dev.migrateToDevice(t.mm, t.base, t.base + PAGE);
      t.mm.mprotect(t.base, 2 * PAGE, PROT_READ);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: reqs(2, { 0: WR }),
        owner: "other",
        expect: () => ({
          ret: EPERM,
          words: [null, null],
          faulted: 0,
          extra: () => expect(dev.migrateToRamCalls).toBe(0),
        }),
      };
    },
  },
  {
    row: "P6",
    name: "device-exclusive, read request (even by the exclusive owner): FAULT restores; SEED EXCLUSIVE / v6.16 CLEAR, owner null",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.touch(t.base, true);
      t.mm.touch(t.base + PAGE, true);
      t.s.pfns = [cpuPfn(t, t.base), cpuPfn(t, t.base + PAGE)];
      const owner = { name: "exclusive-owner" };
      expect(makeDeviceExclusiveRange(t.mm, t.base, t.base + 2 * PAGE, owner)).toBe(2);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: reqs(2, { 0: R }),
        owner,
        expect: (c) => {
          const evt = c.profile === "v6.16" ? MMU_NOTIFY_CLEAR : MMU_NOTIFY_EXCLUSIVE;
          return {
            ret: EBUSY,
            words: [null, null],
            faulted: 2,
            events: [ev(evt, c.base, c.base + PAGE), ev(evt, c.base + PAGE, c.base + 2 * PAGE)],
          };
        },
      };
    },
  },
  {
    row: "P6",
    name: "device-exclusive, driver protocol: the original page comes back VALID | WRITE",
    setup: (t) => {
      anon(t, t.base, 1);
      t.mm.touch(t.base, true);
      const pfn = cpuPfn(t, t.base);
      makeDeviceExclusiveRange(t.mm, t.base, t.base + PAGE, null);
      return {
        start: t.base,
        end: t.base + PAGE,
        req: [R],
        driver: true,
        expect: (c) => ({
          ret: 0,
          words: [b(pfn) | V | W],
          faulted: 1,
          events: [ev(c.profile === "v6.16" ? MMU_NOTIFY_CLEAR : MMU_NOTIFY_EXCLUSIVE, c.base, c.base + PAGE)],
        }),
      };
    },
  },
  {
    row: "P6",
    name: "device-exclusive, write request on a read-only VMA: -EPERM",
    setup: (t) => {
      anon(t, t.base, 1);
      t.mm.touch(t.base, true);
      makeDeviceExclusiveRange(t.mm, t.base, t.base + PAGE, null);
      t.mm.mprotect(t.base, PAGE, PROT_READ);
      return {
        start: t.base,
        end: t.base + PAGE,
        req: [WR],
        expect: () => ({ ret: EPERM, words: [null], faulted: 0 }),
      };
    },
  },
  {
    row: "P7",
    name: "migration entry with a pending migration, read request: WAIT_MIG, re-walk from that page",
    setup: (t) => {
      anon(t, t.base, 4);
      for (let i = 0; i < 4; i++) t.mm.touch(t.base + i * PAGE, true);
      const e = entryAt(t, t.base + 2 * PAGE, 0);
      const pfn = pte.pfnOf(e);
      writeEntryAt(t, t.base + 2 * PAGE, 0, pte.mk.migration(pfn, true));
      t.engine.pendingMigrations.set(pfn, {
        finish: () => {
          writeEntryAt(t, t.base + 2 * PAGE, 0, e);
          t.engine.pendingMigrations.delete(pfn);
        },
      });
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, { 2: R }),
        expect: (c) => ({
          ret: 0,
          words: pages(4, (i) => cpu(c, c.base + i * PAGE) | V | W),
          faulted: 0,
          migrationWaits: 1,
        }),
      };
    },
  },
  {
    row: "P7",
    name: "migration entry, write request on a read-only VMA: waits (no VM_WRITE check) then -EPERM",
    setup: (t) => {
      anon(t, t.base, 1);
      t.mm.touch(t.base, true);
      t.mm.mprotect(t.base, PAGE, PROT_READ);
      const e = entryAt(t, t.base, 0);
      const pfn = pte.pfnOf(e);
      writeEntryAt(t, t.base, 0, pte.mk.migration(pfn, false));
      t.engine.pendingMigrations.set(pfn, {
        finish: () => {
          writeEntryAt(t, t.base, 0, e);
          t.engine.pendingMigrations.delete(pfn);
        },
      });
      return {
        start: t.base,
        end: t.base + PAGE,
        req: [WR],
        expect: () => ({ ret: EPERM, words: [null], faulted: 0, migrationWaits: 1 }),
      };
    },
  },
  {
    row: "P8",
    name: "hwpoison entry: 0 without request, -EFAULT with a read request (no fault attempted)",
    setup: (t) => {
      anon(t, t.base, 3);
      t.mm.touch(t.base, true);
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.hwpoison(0x4444));
      return {
        start: t.base,
        end: t.base + 3 * PAGE,
        req: reqs(3, { 1: R }),
        expect: (c) => ({ ret: EFAULT, words: [cpu(c, c.base) | V | W, null, null], faulted: 0 }),
      };
    },
  },
  {
    row: "P9",
    name: "protnone PTE (NUMA hinting), no request: raw pfn, no flags (QUIRK)",
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
    row: "P9",
    name: "protnone PTE, read request: FAULT(R) -> do_numa_page restores VALID | WRITE, no notifier",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.touch(t.base, true);
      const p = cpuPfn(t, t.base);
      t.mm.numaHintingScan(t.base, t.base + 2 * PAGE);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: reqs(2, { 0: R }),
        expect: () => ({ ret: 0, words: [b(p) | V | W, Z], faulted: 2 }),
      };
    },
  },
  {
    row: "P10",
    name: "present writable normal page: pfn | VALID | WRITE for any request",
    setup: (t) => {
      anon(t, t.base, 3);
      for (let i = 0; i < 3; i++) t.mm.touch(t.base + i * PAGE, true);
      return {
        start: t.base,
        end: t.base + 3 * PAGE,
        req: [0n, R, WR],
        expect: (c) => ({ ret: 0, words: pages(3, (i) => cpu(c, c.base + i * PAGE) | V | W), faulted: 0 }),
      };
    },
  },
  {
    row: "P10",
    name: "populated page through mprotect(PROT_NONE) and back to RW: same pfn, VALID | WRITE",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.cpuWriteU32(t.base, 0xabcd1234);
      const p = cpuPfn(t, t.base);
      t.mm.mprotect(t.base, 2 * PAGE, PROT_NONE);
      t.mm.mprotect(t.base, 2 * PAGE, RW);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: [WR, 0n],
        expect: (c) => ({
          ret: 0,
          words: [b(p) | V | W, 0n],
          faulted: 0,
          extra: () => expect(c.mm.cpuReadU32(c.base)).toBe(0xabcd1234),
        }),
      };
    },
  },
  {
    row: "P9",
    name: "protnone PTE through mprotect(PROT_READ): still the same pfn (raw, no flags)",
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
    row: "P11",
    name: "read-only private file page: pfn | VALID for no / read request",
    setup: (t) => {
      const f = new SimFile("data", 8 * PAGE, "regular", new Uint8Array(8 * PAGE).fill(7));
      t.mm.mmap({ addr: t.base, length: 4 * PAGE, prot: RW, flags: MAP_PRIVATE | MAP_FIXED, file: f });
      t.mm.touch(t.base, false);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: [R, 0n],
        expect: () => ({ ret: 0, words: [b(f.pageCache.get(0)!) | V, 0n], faulted: 0 }),
      };
    },
  },
  {
    row: "P11",
    name: "read-only private file page, write request: FAULT(W) = COW (CLEAR), external -EBUSY",
    setup: (t) => {
      const f = new SimFile("data", 8 * PAGE, "regular", new Uint8Array(8 * PAGE).fill(7));
      t.mm.mmap({ addr: t.base, length: 4 * PAGE, prot: RW, flags: MAP_PRIVATE | MAP_FIXED, file: f });
      t.mm.touch(t.base, false);
      return {
        start: t.base,
        end: t.base + PAGE,
        req: [WR],
        expect: (c) => ({
          ret: EBUSY,
          words: [null],
          faulted: 1,
          events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PAGE)],
          frames: 1,
        }),
      };
    },
  },
  {
    row: "P11",
    name: "read-only private file page, write request, driver protocol: a new private copy",
    setup: (t) => {
      const f = new SimFile("data", 8 * PAGE, "regular", new Uint8Array(8 * PAGE).fill(7));
      t.mm.mmap({ addr: t.base, length: 4 * PAGE, prot: RW, flags: MAP_PRIVATE | MAP_FIXED, file: f });
      t.mm.touch(t.base, false);
      const cached = f.pageCache.get(0)!;
      return {
        start: t.base,
        end: t.base + PAGE,
        req: [WR],
        driver: true,
        expect: (c) => ({
          ret: 0,
          words: [cpu(c, c.base) | V | W],
          faulted: 1,
          events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PAGE)],
          extra: () => {
            expect(cpuPfn(c, c.base)).not.toBe(cached);
            expect(c.mm.cpuReadU32(c.base)).toBe(0x07070707);
          },
        }),
      };
    },
  },
  {
    row: "P11",
    name: "anonymous page write-protected by mprotect(PROT_READ), write request: -EPERM",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.touch(t.base, true);
      t.mm.mprotect(t.base, 2 * PAGE, PROT_READ);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: [R, WR],
        expect: (c) => ({ ret: EPERM, words: [cpu(c, c.base) | V, null], faulted: 0 }),
      };
    },
  },
  {
    row: "P12",
    name: "zero page: ZERO_PFN | VALID for no / read request",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.touch(t.base, false);
      t.mm.touch(t.base + PAGE, false);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: [0n, R],
        expect: () => ({ ret: 0, words: [Z, Z], faulted: 0 }),
      };
    },
  },
  {
    row: "P12",
    name: "zero page, write request: FAULT(W) = zero-page upgrade (CLEAR 4 KiB), external -EBUSY",
    setup: (t) => {
      anon(t, t.base, 2);
      t.mm.touch(t.base, false);
      t.mm.touch(t.base + PAGE, false);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: [0n, WR],
        expect: (c) => ({
          ret: EBUSY,
          words: [Z, null],
          faulted: 1,
          events: [ev(MMU_NOTIFY_CLEAR, c.base + PAGE, c.base + 2 * PAGE)],
          frames: 1,
        }),
      };
    },
  },
  {
    row: "P12",
    name: "zero page, write request on a read-only VMA: -EPERM",
    setup: (t) => {
      anon(t, t.base, 1, PROT_READ);
      t.mm.touch(t.base, false);
      return {
        start: t.base,
        end: t.base + PAGE,
        req: [WR],
        expect: () => ({ ret: EPERM, words: [null], faulted: 0, frames: 0 }),
      };
    },
  },
  {
    row: "P13",
    name: "SEED pte_devmap special PTE: treated as normal, pfn | cpu flags",
    profiles: ["v6.1"],
    setup: (t) => {
      anon(t, t.base, 2);
      writeEntryAt(t, t.base, 0, pte.mk.page(0x3100000, true, PTE_LO.SPECIAL, PTE_HI.DEVMAP));
      writeEntryAt(t, t.base + PAGE, 0, pte.mk.page(0x3100001, false, PTE_LO.SPECIAL, PTE_HI.DEVMAP));
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: [WR, R],
        expect: () => ({ ret: 0, words: [b(0x3100000) | V | W, b(0x3100001) | V], faulted: 0 }),
      };
    },
  },
  {
    row: "P13",
    name: "SEED read-only devmap PTE, write request: FAULT(W)",
    profiles: ["v6.1"],
    setup: (t) => {
      anon(t, t.base, 1);
      writeEntryAt(t, t.base, 0, pte.mk.page(0x3100001, false, PTE_LO.SPECIAL, PTE_HI.DEVMAP));
      return {
        start: t.base,
        end: t.base + PAGE,
        req: [WR],
        expect: (c) => ({
          ret: EBUSY,
          words: [null],
          faulted: 1,
          events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PAGE)],
        }),
      };
    },
  },
  {
    row: "P14",
    name: "read-only special PTE in a private VM_MIXEDMAP: FAULT(W) COWs it (CLEAR), the re-walk sees a normal page (P10)",
    setup: (t) => {
      const dev = new Device(t.engine);
      t.mm.mmap({
        addr: t.base,
        length: 2 * PAGE,
        prot: RW,
        flags: MAP_PRIVATE | MAP_FIXED,
        device: dev,
        vmFlags: VM.MIXEDMAP | VM.DONTEXPAND,
      });
      insertPfn(t.mm, t.base, 0x7001, false);
      return {
        start: t.base,
        end: t.base + PAGE,
        req: [WR],
        driver: true,
        expect: (c) => ({
          ret: 0,
          words: [cpu(c, c.base) | V | W],
          faulted: 1,
          events: [ev(MMU_NOTIFY_CLEAR, c.base, c.base + PAGE)],
          frames: 1,
          extra: () => expect(pte.isSpecial(entryAt(c, c.base, 0))).toBe(false),
        }),
      };
    },
  },
  {
    row: "P14",
    name: "special PTE (insert_pfn in VM_MIXEDMAP): ERROR without request",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 2 * PAGE, RW, "mixedmap");
      insertPfn(t.mm, a, 0x7000, true);
      insertPfn(t.mm, a + PAGE, 0x7001, false);
      return { start: a, end: a + 2 * PAGE, expect: () => ({ ret: 0, words: [E, E] }) };
    },
  },
  {
    row: "P14",
    name: "special PTE, read request: -EFAULT without a fault",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 2 * PAGE, RW, "mixedmap");
      insertPfn(t.mm, a, 0x7000, true);
      insertPfn(t.mm, a + PAGE, 0x7001, false);
      return {
        start: a,
        end: a + 2 * PAGE,
        req: [0n, R],
        expect: () => ({ ret: EFAULT, words: [E, null], faulted: 0 }),
      };
    },
  },
  {
    row: "P14",
    name: "writable special PTE, write request: -EFAULT without a fault",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 2 * PAGE, RW, "mixedmap");
      insertPfn(t.mm, a, 0x7000, true);
      return { start: a, end: a + PAGE, req: [WR], expect: () => ({ ret: EFAULT, words: [null], faulted: 0 }) };
    },
  },
  {
    row: "P14",
    name: "read-only special PTE, write request: FAULT(W) first (shared: made writable in place), then -EFAULT",
    setup: (t) => {
      const dev = new Device(t.engine);
      const a = dev.mmap(t.mm, 2 * PAGE, RW, "mixedmap");
      insertPfn(t.mm, a, 0x7001, false);
      return {
        start: a,
        end: a + PAGE,
        req: [WR],
        expect: () => ({ ret: EFAULT, words: [null], faulted: 1, events: [] }),
      };
    },
  },
];

registerRows(cases);
