// Regression tests for the coherence defects the coherence fuzzer (fuzz/coherence) and the
// robustness issue found; each test is named for the invariant it guards and checks it with the
// invariant checker as well as by direct assertions.
import { describe, expect, it } from "vitest";
import { Engine } from "../src/engine/engine.js";
import { Mm } from "../src/api/mm.js";
import { Mirror } from "../src/drivers/mirror.js";
import { Device } from "../src/drivers/device.js";
import { fork } from "../src/ops/fork.js";
import { MAP_ANONYMOUS, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from "../src/mm/vma.js";
import { checkInvariants, checkTeardown } from "../src/sim/check/index.js";
import { ENGINE_OPTS } from "./env.js";

const PAGE = 4096;
const PMD = 2 ** 21;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

describe("shared anonymous memory is freed with its last mapping", () => {
  it("frees shmem pages of MAP_SHARED|MAP_ANONYMOUS after munmap in parent and child", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: MAP_SHARED | MAP_ANONYMOUS });
    mm.cpuWriteU32(a, 1);
    mm.cpuWriteU32(a + PAGE, 2);
    const child = fork(mm);
    expect(child.cpuReadU32(a + PAGE)).toBe(2);
    mm.munmap(a, 4 * PAGE);
    // the child still maps the file: its pages stay
    expect(engine.framesInUse()).toBe(2);
    expect(child.cpuReadU32(a)).toBe(1);
    child.exit();
    mm.exit();
    expect(engine.framesInUse()).toBe(0);
    expect(checkTeardown(engine)).toEqual([]);
  });

  it("returns shared hugetlb pages to their pool after exit", () => {
    const engine = new Engine(ENGINE_OPTS);
    engine.setHugetlbPages(21, 2);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: PMD, prot: RW, flags: MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB });
    mm.cpuWriteU32(a, 7);
    expect(engine.hugetlbFree.get(21)).toBe(1);
    mm.exit();
    expect(engine.hugetlbFree.get(21)).toBe(2);
    expect(checkTeardown(engine)).toEqual([]);
  });
});

describe("a mirror whose owner is a device's owner stays within the CPU page table", () => {
  it("drops its device-private entries when another mirror's fault migrates the pages back to RAM", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const dev = new Device(engine, { pages: 16 });
    const own = new Mirror(mm, { owner: dev.owner });
    const other = new Mirror(mm, { owner: { name: "other" } });
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    for (let i = 0; i < 4; i++) mm.cpuWriteU32(a + i * PAGE, i + 10);
    expect(dev.migrateToDevice(mm, a, a + 4 * PAGE)).toBe(4);
    expect(own.fault(a, a + 4 * PAGE, false)).toBe(0);
    expect(own.entries.size).toBe(4);
    expect(other.fault(a, a + 4 * PAGE, false)).toBe(0);
    expect(own.entries.size).toBe(0);
    expect(checkInvariants(engine, { mirrors: [own, other] })).toEqual([]);
    expect(own.verify().ok).toBe(true);
  });

  it("drops its RAM entries when its own device migrates the pages to device memory", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const dev = new Device(engine, { pages: 16 });
    const own = new Mirror(mm, { owner: dev.owner });
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(a, 1);
    mm.cpuWriteU32(a + PAGE, 2);
    expect(own.fault(a, a + 2 * PAGE, true)).toBe(0);
    const seq = own.notifier.invalidateSeq;
    expect(dev.migrateToDevice(mm, a, a + 2 * PAGE)).toBe(2);
    expect(own.entries.size).toBe(0);
    // its own migration is not an invalidation: no sequence bump, nothing logged
    expect(own.notifier.invalidateSeq).toBe(seq);
    expect(own.log).toEqual([]);
    expect(checkInvariants(engine, { mirrors: [own] })).toEqual([]);
  });
});
