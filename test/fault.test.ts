// Spec §5: the fault model reachable from hmm_range_fault() (and CPU accesses), with the notifier
// events each path raises (§7), recorded by an interval notifier over the whole address space.
import { describe, expect, it } from "vitest";
import {
  Device,
  EBUSY,
  EFAULT,
  EPERM,
  Engine,
  FAULT_FLAG_REMOTE,
  FAULT_FLAG_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_EXCLUSIVE,
  MMU_NOTIFY_MIGRATE,
  PROT_READ,
  SimFile,
  VM_FAULT_HWPOISON,
  VM_FAULT_HWPOISON_LARGE,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  handleMmFault,
  makeDeviceExclusiveRange,
  type Profile,
} from "../src/index.js";
import { PHYS, PTE_LO, SWP } from "../src/engine/layout.js";
import * as pte from "../src/engine/pte.js";
import {
  PAGE,
  PMD_SIZE,
  V,
  W,
  baseOf,
  cpuPfn,
  driverFault,
  entryAt,
  hexWords,
  makeSim,
  ord,
  runRange,
  writeEntryAt,
  type Event,
  type Sim,
  RW,
  R,
  WR,
  Z,
  b,
  anon,
} from "./helpers.js";
import { ENGINE_OPTS } from "./env.js";

const PROFILES: Profile[] = ["v6.1", "v6.16"];

function fileMap(t: Sim, addr: number, pages: number, file: SimFile, flags: number, prot = RW, offset = 0): number {
  return t.mm.mmap({ addr, length: pages * PAGE, prot, flags: flags | MAP_FIXED, file, offset });
}
/** Events as compact tuples: [event, start, end, owner, blockable]. */
function evs(t: Sim): [number, number, number, unknown, boolean][] {
  return t.events.map((e: Event) => [e.event, e.start, e.end, e.owner, e.blockable]);
}
const clear = (s: number, e: number): [number, number, number, unknown, boolean] => [
  MMU_NOTIFY_CLEAR,
  s,
  e,
  null,
  true,
];
function word(t: Sim, addr: number, req = 0n): bigint {
  const r = runRange(t, { start: addr, end: addr + PAGE, req: [req] });
  expect(r.ret).toBe(0);
  return r.out[0];
}
function bytes(n: number, v: number): Uint8Array {
  return new Uint8Array(n).fill(v);
}
const fault = (t: Sim, addr: number, write: boolean): number =>
  handleMmFault(t.mm, t.mm.vmaLookup(addr)!, addr, FAULT_FLAG_REMOTE | (write ? FAULT_FLAG_WRITE : 0));

describe.each(PROFILES)("§5.2 anonymous memory (%s)", (profile) => {
  const base = baseOf(4);

  it("read fault maps the shared zero page: special, read-only, no notifier, no frame", () => {
    const t = makeSim({ profile });
    anon(t, base, 2);
    const frames = t.engine.framesInUse();
    const r = runRange(t, { start: base, end: base + PAGE, req: [R] });
    expect(r.ret).toBe(0);
    expect(r.out).toEqual([Z]);
    const e = entryAt(t, base, 0);
    expect([pte.isPresent(e), pte.isSpecial(e), pte.isWrite(e), pte.pfnOf(e)]).toEqual([
      true,
      true,
      false,
      PHYS.ZERO_PFN,
    ]);
    expect(t.engine.framesInUse()).toBe(frames);
    expect(evs(t)).toEqual([]);
    expect(t.mm.cpuReadU32(base)).toBe(0);
  });

  it("write fault allocates a zeroed exclusive writable page, no notifier", () => {
    const t = makeSim({ profile });
    anon(t, base, 1);
    const frames = t.engine.framesInUse();
    const r = runRange(t, { start: base, end: base + PAGE, req: [WR] });
    expect(r.ret).toBe(0);
    const p = cpuPfn(t, base);
    expect(r.out).toEqual([b(p) | V | W]);
    expect(p).not.toBe(PHYS.ZERO_PFN);
    expect(t.engine.framesInUse() - frames).toBe(1);
    const e = entryAt(t, base, 0);
    expect(e.lo & (PTE_LO.RW | PTE_LO.DIRTY | PTE_LO.SPECIAL)).toBe(PTE_LO.RW | PTE_LO.DIRTY);
    expect(evs(t)).toEqual([]);
    expect(t.mm.cpuReadU32(base)).toBe(0);
  });

  it("write to the zero page: CLEAR [addr, addr+4096), a new page replaces it", () => {
    const t = makeSim({ profile });
    anon(t, base, 4);
    t.mm.touch(base + 2 * PAGE, false);
    const d = driverFault(t, { start: base + 2 * PAGE, end: base + 3 * PAGE, req: [WR] });
    expect(d.rets).toEqual([EBUSY, 0]);
    expect(evs(t)).toEqual([clear(base + 2 * PAGE, base + 3 * PAGE)]);
    expect(d.out).toEqual([b(cpuPfn(t, base + 2 * PAGE)) | V | W]);
    expect(cpuPfn(t, base + 2 * PAGE)).not.toBe(PHYS.ZERO_PFN);
    expect(t.mm.cpuReadU32(base + 2 * PAGE)).toBe(0);
  });

  it("a CPU write to the zero page raises the same CLEAR", () => {
    const t = makeSim({ profile });
    anon(t, base, 1);
    t.mm.cpuReadU32(base);
    t.mm.cpuWriteU32(base, 0xfeedf00d);
    expect(evs(t)).toEqual([clear(base, base + PAGE)]);
    expect(t.mm.cpuReadU32(base)).toBe(0xfeedf00d);
  });

  it("write to an exclusive write-protected anonymous page: wp_page_reuse in place, no notifier", () => {
    const t = makeSim({ profile });
    anon(t, base, 1);
    t.mm.cpuWriteU32(base, 42);
    const p = cpuPfn(t, base);
    writeEntryAt(t, base, 0, pte.mk.page(p, false)); // e.g. soft-dirty / uffd-wp write protection
    const r = runRange(t, { start: base, end: base + PAGE, req: [WR] });
    expect(r.ret).toBe(0);
    expect(r.out).toEqual([b(p) | V | W]);
    expect(evs(t)).toEqual([]);
    expect(t.mm.cpuReadU32(base)).toBe(42);
  });

  it("NUMA hinting fault (protnone): protection restored, same pfn, no notifier", () => {
    const t = makeSim({ profile });
    anon(t, base, 1);
    t.mm.cpuWriteU32(base, 7);
    const p = cpuPfn(t, base);
    t.mm.numaHintingScan(base, base + PAGE);
    expect(evs(t).map((e) => e[0])).toEqual([2]); // the scan itself: PROTECTION_VMA
    t.events.length = 0;
    expect(fault(t, base, false)).toBe(0);
    expect(evs(t)).toEqual([]);
    expect(word(t, base)).toBe(b(p) | V | W);
    expect(t.mm.cpuReadU32(base)).toBe(7);
  });

  it("NUMA hinting fault with numaMigrateOnFault: the page moves to a new frame inside CLEAR", () => {
    const t = makeSim({ profile });
    t.mm.numaMigrateOnFault = true;
    anon(t, base, 1);
    t.mm.cpuWriteU32(base, 7);
    const p = cpuPfn(t, base);
    const frames = t.engine.framesInUse();
    t.mm.numaHintingScan(base, base + PAGE);
    t.events.length = 0;
    expect(fault(t, base, false)).toBe(0);
    expect(evs(t)).toEqual([[1, base, base + PAGE, null, true]]);
    const q = cpuPfn(t, base);
    expect(q).not.toBe(p);
    expect(word(t, base)).toBe(b(q) | V | W);
    expect(t.mm.cpuReadU32(base)).toBe(7);
    expect(t.engine.framesInUse()).toBe(frames);
  });

  it("out of memory: VM_FAULT_OOM, which hmm_range_fault reports as -EFAULT", () => {
    const t = makeSim({ profile, engine: new Engine({ ...ENGINE_OPTS, ramFrames: 0 }) });
    anon(t, base, 2);
    expect(fault(t, base, true)).toBe(VM_FAULT_OOM);
    const r = runRange(t, { start: base, end: base + 2 * PAGE, req: [0n, WR] });
    expect(r.ret).toBe(EFAULT);
    expect(r.stats.faultedPages).toBe(1);
    // a read fault needs no memory (zero page)
    expect(runRange(t, { start: base, end: base + PAGE, req: [R] }).out).toEqual([Z]);
  });
});

describe.each(PROFILES)("§5.2 file mappings (%s)", (profile) => {
  const base = baseOf(4);
  const contents = (): Uint8Array => {
    const d = new Uint8Array(8 * PAGE);
    for (let i = 0; i < 8; i++) d.fill(0x10 + i, i * PAGE, (i + 1) * PAGE);
    return d;
  };

  it("private file: read maps the page-cache page read-only; write breaks COW with CLEAR; the file keeps its data", () => {
    const t = makeSim({ profile });
    const f = new SimFile("f", 8 * PAGE, "regular", contents());
    fileMap(t, base, 4, f, MAP_PRIVATE);
    expect(t.mm.cpuReadU32(base + PAGE)).toBe(0x11111111);
    const cached = f.pageCache.get(1)!;
    expect(word(t, base + PAGE, R)).toBe(b(cached) | V);
    expect(evs(t)).toEqual([]);
    const d = driverFault(t, { start: base + PAGE, end: base + 2 * PAGE, req: [WR] });
    expect(d.rets).toEqual([EBUSY, 0]);
    expect(evs(t)).toEqual([clear(base + PAGE, base + 2 * PAGE)]);
    const copy = cpuPfn(t, base + PAGE);
    expect(copy).not.toBe(cached);
    expect(d.out).toEqual([b(copy) | V | W]);
    // the private copy starts with the file's data, then diverges
    expect(t.mm.cpuReadU32(base + PAGE)).toBe(0x11111111);
    t.mm.cpuWriteU32(base + PAGE, 0xcafebabe);
    expect(t.mm.cpuReadU32(base + PAGE)).toBe(0xcafebabe);
    const cache = new Uint8Array(4);
    t.engine.readFrame(cached, 0, cache);
    expect(Array.from(cache)).toEqual([0x11, 0x11, 0x11, 0x11]);
    // a shared mapping of the same file sees the file, not the private copy
    fileMap(t, base + 16 * PAGE, 4, f, MAP_SHARED, PROT_READ);
    expect(t.mm.cpuReadU32(base + 17 * PAGE)).toBe(0x11111111);
  });

  it("private file: a first write fault copies directly (do_cow_fault), no notifier", () => {
    const t = makeSim({ profile });
    const f = new SimFile("f", 8 * PAGE, "regular", contents());
    fileMap(t, base, 4, f, MAP_PRIVATE);
    const r = runRange(t, { start: base + 2 * PAGE, end: base + 3 * PAGE, req: [WR] });
    expect(r.ret).toBe(0);
    expect(evs(t)).toEqual([]);
    const p = cpuPfn(t, base + 2 * PAGE);
    expect(p).not.toBe(f.pageCache.get(2));
    expect(r.out).toEqual([b(p) | V | W]);
    expect(t.mm.cpuReadU32(base + 2 * PAGE)).toBe(0x12121212);
  });

  it("shared regular file: read maps read-only (write-notify), write makes the same page writable, no notifier", () => {
    const t = makeSim({ profile });
    const f = new SimFile("f", 8 * PAGE, "regular", contents());
    fileMap(t, base, 4, f, MAP_SHARED);
    expect(word(t, base, R)).toBe(b(f.pageCache.get(0)!) | V);
    const r = runRange(t, { start: base, end: base + PAGE, req: [WR] });
    expect(r.ret).toBe(0);
    expect(r.out).toEqual([b(f.pageCache.get(0)!) | V | W]);
    // a first fault that writes: do_shared_fault, writable and dirty
    expect(runRange(t, { start: base + 3 * PAGE, end: base + 4 * PAGE, req: [WR] }).out).toEqual([
      b(f.pageCache.get(3)!) | V | W,
    ]);
    expect(entryAt(t, base + 3 * PAGE, 0).lo & PTE_LO.DIRTY).toBe(PTE_LO.DIRTY);
    expect(evs(t)).toEqual([]);
    t.mm.cpuWriteU32(base, 0x01020304);
    const cache = new Uint8Array(4);
    t.engine.readFrame(f.pageCache.get(0)!, 0, cache);
    expect(Array.from(cache)).toEqual([4, 3, 2, 1]);
  });

  it("shared shmem (MAP_SHARED|MAP_ANONYMOUS): a read fault maps writable (no write-notify)", () => {
    const t = makeSim({ profile });
    anon(t, base, 2, RW, MAP_SHARED);
    const w0 = word(t, base, R);
    const shm = t.mm.vmaLookup(base)!.file!;
    expect(shm.kind).toBe("shmem");
    expect(w0).toBe(b(shm.pageCache.get(0)!) | V | W);
    expect(evs(t)).toEqual([]);
  });

  it("shared file mapped read-only: read fault is read-only; a write request is -EPERM", () => {
    const t = makeSim({ profile });
    const f = new SimFile("f", 8 * PAGE, "shmem", contents());
    fileMap(t, base, 2, f, MAP_SHARED, PROT_READ);
    expect(word(t, base, R)).toBe(b(f.pageCache.get(0)!) | V);
    expect(runRange(t, { start: base, end: base + PAGE, req: [WR] }).ret).toBe(EPERM);
  });

  it("fault-around maps cached neighbours read-only (within the 16-page window)", () => {
    const t = makeSim({ profile });
    const f = new SimFile("f", 32 * PAGE, "regular", null);
    fileMap(t, base, 32, f, MAP_PRIVATE);
    t.mm.touch(base + 3 * PAGE, false);
    t.mm.touch(base + 20 * PAGE, false);
    fileMap(t, base + 64 * PAGE, 32, f, MAP_PRIVATE);
    t.mm.touch(base + 64 * PAGE, false);
    const r = runRange(t, { start: base + 64 * PAGE, end: base + 96 * PAGE });
    const want = Array.from({ length: 32 }, (_, i) => (i === 0 || i === 3 ? b(f.pageCache.get(i)!) | V : 0n));
    expect(hexWords(r.out)).toEqual(hexWords(want));
  });

  it("file fault beyond EOF: VM_FAULT_SIGBUS -> -EFAULT; inside EOF fine", () => {
    const t = makeSim({ profile });
    const f = new SimFile("f", PAGE + 100, "regular", null); // two pages (the second partial)
    fileMap(t, base, 4, f, MAP_PRIVATE);
    expect(fault(t, base + 2 * PAGE, false)).toBe(VM_FAULT_SIGBUS);
    const r = runRange(t, { start: base, end: base + 4 * PAGE, req: [R, 0n, R, 0n] });
    // page 0 faults [0, 4): pages 0 and 1 map, page 2 is beyond EOF
    expect(r.ret).toBe(EFAULT);
    expect(r.stats.faultedPages).toBe(3);
    expect(hexWords(r.out)).toEqual(hexWords([R, 0n, R, 0n]));
    expect(word(t, base + PAGE)).toBe(b(f.pageCache.get(1)!) | V);
  });

  it("a device VM_MIXEDMAP mapping has no ->fault: SIGBUS -> -EFAULT", () => {
    const t = makeSim({ profile });
    const dev = new Device(t.engine);
    const a = dev.mmap(t.mm, 2 * PAGE, RW, "mixedmap");
    expect(fault(t, a, false)).toBe(VM_FAULT_SIGBUS);
    expect(runRange(t, { start: a, end: a + PAGE, req: [R] }).ret).toBe(EFAULT);
  });
});

describe.each(PROFILES)("§5.3/§5.4 THP (%s)", (profile) => {
  const base = baseOf(4);

  it("read fault in a THP-eligible range maps the huge zero page: VALID | ord(9), no WRITE, no notifier", () => {
    const t = makeSim({ profile });
    t.mm.thp = "always";
    anon(t, base, 512);
    const r = runRange(t, { start: base, end: base + 4 * PAGE, req: [R, 0n, 0n, 0n] });
    expect(r.ret).toBe(0);
    expect(r.out).toEqual([0, 1, 2, 3].map((i) => b(PHYS.HUGE_ZERO_PFN + i) | V | ord(9, profile)));
    expect(evs(t)).toEqual([]);
  });

  it("write to the huge zero page: CLEAR 2 MiB (split) then CLEAR 4 KiB (zero-page COW)", () => {
    const t = makeSim({ profile });
    t.mm.thp = "always";
    anon(t, base, 512);
    t.mm.touch(base, false);
    const a = base + 5 * PAGE;
    const d = driverFault(t, { start: a, end: a + PAGE, req: [WR] });
    expect(d.rets).toEqual([EBUSY, 0]);
    expect(evs(t)).toEqual([clear(base, base + PMD_SIZE), clear(a, a + PAGE)]);
    expect(d.out).toEqual([b(cpuPfn(t, a)) | V | W]);
    // the rest of the old huge zero page is now 4 KiB zero pages
    expect(word(t, base + 6 * PAGE)).toBe(Z);
  });

  it("write fault on a none PMD allocates a writable THP (one order-9 folio, no notifier)", () => {
    const t = makeSim({ profile });
    t.mm.thp = "always";
    anon(t, base, 512);
    const frames = t.engine.framesInUse();
    t.mm.cpuWriteU32(base + 7 * PAGE, 99);
    expect(t.engine.framesInUse() - frames).toBe(512);
    const p = pte.pfnOf(entryAt(t, base, 1));
    expect(word(t, base + 7 * PAGE)).toBe(b(p + 7) | V | W | ord(9, profile));
    expect(evs(t)).toEqual([]);
    expect(t.mm.cpuReadU32(base + 7 * PAGE)).toBe(99);
  });

  it("without the huge zero page a read fault allocates a THP, writable iff VM_WRITE", () => {
    const t = makeSim({ profile });
    t.mm.thp = "always";
    t.mm.hugeZeroPage = false;
    anon(t, base, 512);
    const w0 = word(t, base, R);
    const p = pte.pfnOf(entryAt(t, base, 1));
    expect(p).not.toBe(PHYS.HUGE_ZERO_PFN);
    expect(w0).toBe(b(p) | V | W | ord(9, profile));
  });

  it("THP needs the whole aligned 2 MiB block inside the VMA: otherwise order-0 pages", () => {
    const t = makeSim({ profile });
    t.mm.thp = "always";
    anon(t, base + PAGE, 511);
    expect(word(t, base + PAGE, WR)).toBe(b(cpuPfn(t, base + PAGE)) | V | W);
    expect(t.mm.leafOf(base + PAGE).level).toBe(0);
  });

  it("THP policy madvise: no THP without VM_HUGEPAGE", () => {
    const t = makeSim({ profile });
    anon(t, base, 512);
    expect(word(t, base, R)).toBe(Z);
  });
});

describe.each(PROFILES)("§5.5 non-present PTEs (%s)", (profile) => {
  const base = baseOf(4);

  it(`swap-in on read: SEED maps read-only, v6.16 writable; data restored; slot freed; no notifier`, () => {
    const t = makeSim({ profile });
    anon(t, base, 1);
    const slot = t.engine.swap.store(bytes(PAGE, 0xa5));
    writeEntryAt(t, base, 0, pte.mk.swap(0, slot));
    const r = runRange(t, { start: base, end: base + PAGE, req: [R] });
    expect(r.ret).toBe(0);
    const p = cpuPfn(t, base);
    expect(r.out).toEqual([b(p) | V | (profile === "v6.16" ? W : 0n)]);
    expect(evs(t)).toEqual([]);
    expect(t.engine.swap.has(slot)).toBe(false);
    expect(t.mm.cpuReadU32(base)).toBe(0xa5a5a5a5);
    // clean after a read swap-in in both profiles (LATE: dirty only on a write fault)
    expect(entryAt(t, base, 0).lo & PTE_LO.DIRTY).toBe(0);
  });

  it("swap-in on write: writable and dirty in both profiles", () => {
    const t = makeSim({ profile });
    anon(t, base, 1);
    writeEntryAt(t, base, 0, pte.mk.swap(0, t.engine.swap.store(bytes(PAGE, 3))));
    expect(word(t, base, WR)).toBe(b(cpuPfn(t, base)) | V | W);
    expect(entryAt(t, base, 0).lo & (PTE_LO.RW | PTE_LO.DIRTY)).toBe(PTE_LO.RW | PTE_LO.DIRTY);
    expect(evs(t)).toEqual([]);
  });

  it("swap-in of a read-only VMA's page: read-only in both profiles", () => {
    const t = makeSim({ profile });
    anon(t, base, 1, PROT_READ);
    writeEntryAt(t, base, 0, pte.mk.swap(0, t.engine.swap.store(null)));
    expect(word(t, base, R)).toBe(b(cpuPfn(t, base)) | V);
  });

  it("non-exclusive swap entry (slot still referenced elsewhere): read maps read-only in both profiles", () => {
    const t = makeSim({ profile });
    anon(t, base, 1);
    const slot = t.engine.swap.store(bytes(PAGE, 9), 2);
    writeEntryAt(t, base, 0, pte.mk.swap(0, slot));
    expect(word(t, base, R)).toBe(b(cpuPfn(t, base)) | V);
    expect(t.engine.swap.refs(slot)).toBe(1);
  });

  it("swap slot that fails to read: SIGBUS -> -EFAULT", () => {
    const t = makeSim({ profile });
    anon(t, base, 1);
    const slot = t.engine.swap.store(null);
    t.engine.swap.badSlots.add(slot);
    writeEntryAt(t, base, 0, pte.mk.swap(0, slot));
    expect(fault(t, base, false)).toBe(VM_FAULT_SIGBUS);
    expect(runRange(t, { start: base, end: base + PAGE, req: [R] }).ret).toBe(EFAULT);
  });

  it("device-exclusive restore by HMM: SEED MMU_NOTIFY_EXCLUSIVE, v6.16 MMU_NOTIFY_CLEAR, owner NULL, one page", () => {
    const t = makeSim({ profile });
    anon(t, base, 2);
    t.mm.cpuWriteU32(base + PAGE, 0x5151);
    const p = cpuPfn(t, base + PAGE);
    const owner = { id: "gpu" };
    expect(makeDeviceExclusiveRange(t.mm, base + PAGE, base + 2 * PAGE, owner)).toBe(1);
    expect(evs(t)).toEqual([[MMU_NOTIFY_EXCLUSIVE, base + PAGE, base + 2 * PAGE, owner, true]]);
    t.events.length = 0;
    const d = driverFault(t, { start: base + PAGE, end: base + 2 * PAGE, req: [R] });
    expect(d.rets).toEqual([EBUSY, 0]);
    const evt = profile === "v6.16" ? MMU_NOTIFY_CLEAR : MMU_NOTIFY_EXCLUSIVE;
    expect(evs(t)).toEqual([[evt, base + PAGE, base + 2 * PAGE, null, true]]);
    expect(d.out).toEqual([b(p) | V | W]);
    expect(t.mm.cpuReadU32(base + PAGE)).toBe(0x5151);
  });

  it("device-exclusive restore by a CPU access raises the same event", () => {
    const t = makeSim({ profile });
    anon(t, base, 1);
    t.mm.cpuWriteU32(base, 0x77);
    makeDeviceExclusiveRange(t.mm, base, base + PAGE, "dev");
    t.events.length = 0;
    expect(t.mm.cpuReadU32(base)).toBe(0x77);
    expect(evs(t)).toEqual([
      [profile === "v6.16" ? MMU_NOTIFY_CLEAR : MMU_NOTIFY_EXCLUSIVE, base, base + PAGE, null, true],
    ]);
    expect(pte.isPresent(entryAt(t, base, 0))).toBe(true);
  });

  it("make_device_exclusive on the zero page: the write GUP upgrades it first (CLEAR), then EXCLUSIVE with the owner", () => {
    const t = makeSim({ profile });
    anon(t, base, 1);
    t.mm.touch(base, false);
    makeDeviceExclusiveRange(t.mm, base, base + PAGE, "dev");
    expect(evs(t)).toEqual([clear(base, base + PAGE), [MMU_NOTIFY_EXCLUSIVE, base, base + PAGE, "dev", true]]);
  });

  it("device-private page touched by the CPU: migrate_to_ram (MIGRATE, owner = pgmap owner), data preserved", () => {
    const t = makeSim({ profile });
    const dev = new Device(t.engine);
    anon(t, base, 1);
    t.mm.cpuWriteU32(base, 0x600d);
    dev.migrateToDevice(t.mm, base, base + PAGE);
    expect(evs(t)).toEqual([[MMU_NOTIFY_MIGRATE, base, base + PAGE, dev.owner, true]]);
    t.events.length = 0;
    expect(t.mm.cpuReadU32(base)).toBe(0x600d);
    expect(dev.migrateToRamCalls).toBe(1);
    expect(evs(t)).toEqual([[MMU_NOTIFY_MIGRATE, base, base + PAGE, dev.owner, true]]);
    expect(word(t, base)).toBe(b(cpuPfn(t, base)) | V | W);
  });

  it("hwpoison entry: VM_FAULT_HWPOISON; hmm_range_fault returns -EFAULT before faulting", () => {
    const t = makeSim({ profile });
    anon(t, base, 1);
    writeEntryAt(t, base, 0, pte.mk.hwpoison(0x4321));
    expect(fault(t, base, false)).toBe(VM_FAULT_HWPOISON);
    const r = runRange(t, { start: base, end: base + PAGE, req: [R] });
    expect(r.ret).toBe(EFAULT);
    expect(r.stats.faultedPages).toBe(0);
  });

  it("PTE markers: uffd-wp is treated as none (zero page), swapin-error gives SIGBUS", () => {
    const t = makeSim({ profile });
    anon(t, base, 2);
    writeEntryAt(t, base, 0, pte.mk.marker(SWP.MARKER_UFFD_WP));
    writeEntryAt(t, base + PAGE, 0, pte.mk.marker(SWP.MARKER_SWAPIN_ERROR));
    expect(fault(t, base, false)).toBe(0);
    expect(word(t, base)).toBe(Z);
    expect(fault(t, base + PAGE, false)).toBe(VM_FAULT_SIGBUS);
  });

  it("migration entry: the fault waits for the migration (no notifier) and returns 0", () => {
    const t = makeSim({ profile });
    anon(t, base, 1);
    t.mm.touch(base, true);
    const e = entryAt(t, base, 0);
    const p = pte.pfnOf(e);
    writeEntryAt(t, base, 0, pte.mk.migration(p, true));
    let done = 0;
    t.engine.pendingMigrations.set(p, {
      finish: () => {
        done++;
        writeEntryAt(t, base, 0, e);
        t.engine.pendingMigrations.delete(p);
      },
    });
    expect(fault(t, base, false)).toBe(0);
    expect(done).toBe(1);
    expect(evs(t)).toEqual([]);
  });
});

describe.each(PROFILES)("§5.6 hugetlb (%s)", (profile) => {
  const base = baseOf(4);
  const hmap = (t: Sim, pages2m: number, flags = MAP_PRIVATE, prot = RW): number =>
    t.mm.mmap({ addr: base, length: pages2m * PMD_SIZE, prot, flags: flags | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED });

  it("pool exhausted: VM_FAULT_SIGBUS, hmm_range_fault -EFAULT", () => {
    const t = makeSim({ profile });
    t.engine.setHugetlbPages(21, 0);
    hmap(t, 1);
    expect(fault(t, base, false)).toBe(VM_FAULT_SIGBUS);
    const r = runRange(t, { start: base, end: base + 2 * PAGE, req: [R, 0n] });
    expect(r.ret).toBe(EFAULT);
    expect(r.stats.faultedPages).toBe(1);
  });

  it("pool of one: the first huge page faults in, the second fails", () => {
    const t = makeSim({ profile });
    t.engine.setHugetlbPages(21, 1);
    hmap(t, 2);
    expect(runRange(t, { start: base, end: base + PAGE, req: [WR] }).ret).toBe(0);
    expect(t.engine.hugetlbFree.get(21)).toBe(0);
    expect(runRange(t, { start: base + PMD_SIZE, end: base + PMD_SIZE + PAGE, req: [R] }).ret).toBe(EFAULT);
  });

  it("private: read maps read-only, write reuses the exclusive page in place (no notifier)", () => {
    const t = makeSim({ profile });
    t.engine.setHugetlbPages(21, 1);
    hmap(t, 1);
    const w0 = word(t, base, R);
    const p = cpuPfn(t, base);
    expect(w0).toBe(b(p) | V | ord(9, profile));
    expect(word(t, base + PAGE, WR)).toBe(b(p + 1) | V | W | ord(9, profile));
    expect(evs(t)).toEqual([]);
  });

  it("shared: a read fault maps writable", () => {
    const t = makeSim({ profile });
    t.engine.setHugetlbPages(21, 1);
    hmap(t, 1, MAP_SHARED);
    expect(word(t, base + 9 * PAGE, R)).toBe(b(cpuPfn(t, base) + 9) | V | W | ord(9, profile));
  });

  it("hwpoisoned huge page: VM_FAULT_HWPOISON_LARGE", () => {
    const t = makeSim({ profile });
    t.engine.setHugetlbPages(21, 1);
    hmap(t, 1);
    t.mm.touch(base, true);
    writeEntryAt(t, base, 1, pte.mk.hwpoison(0x8000));
    expect(fault(t, base, false)).toBe(VM_FAULT_HWPOISON_LARGE);
  });
});

describe("§5 data through COW (cpuRead / cpuWrite)", () => {
  const base = baseOf(4);

  it("anonymous: zero page reads 0; written data survives; HMM sees the CPU's page", () => {
    const t = makeSim();
    anon(t, base, 2);
    expect(t.mm.cpuReadU32(base + 100)).toBe(0);
    t.mm.cpuWrite(base + PAGE - 2, new Uint8Array([1, 2, 3, 4])); // straddles two pages
    expect(Array.from(t.mm.cpuRead(base + PAGE - 2, 4))).toEqual([1, 2, 3, 4]);
    expect(evs(t)).toEqual([clear(base, base + PAGE)]); // page 0 was the zero page; page 1 was none
    expect(word(t, base)).toBe(b(cpuPfn(t, base)) | V | W);
  });

  it("private file COW keeps other bytes of the page", () => {
    const t = makeSim();
    const init = new Uint8Array(2 * PAGE);
    for (let i = 0; i < init.length; i++) init[i] = i & 0xff;
    const f = new SimFile("f", 2 * PAGE, "regular", init);
    fileMap(t, base, 2, f, MAP_PRIVATE);
    t.mm.cpuRead(base, 1);
    t.mm.cpuWrite(base + 10, new Uint8Array([0xee]));
    expect(Array.from(t.mm.cpuRead(base + 8, 5))).toEqual([8, 9, 0xee, 11, 12]);
    expect(evs(t)).toEqual([clear(base, base + PAGE)]);
  });
});
