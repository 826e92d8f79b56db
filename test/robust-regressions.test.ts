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
    const logged = own.log.length;
    expect(dev.migrateToDevice(mm, a, a + 2 * PAGE)).toBe(2);
    expect(own.entries.size).toBe(0);
    // its own migration is not logged as an invalidation
    expect(own.log.length).toBe(logged);
    expect(checkInvariants(engine, { mirrors: [own] })).toEqual([]);
  });
});

import { madvise, MADV_DONTFORK, MADV_HUGEPAGE } from "../src/ops/madvise.js";
import { uffdRegisterWp, uffdWriteprotect } from "../src/ops/uffd.js";
import { makeDeviceExclusiveRange } from "../src/ops/migrate-device.js";
import { migratePages } from "../src/ops/migrate.js";
import { ksmMerge } from "../src/ops/reclaim.js";
import { SimFile } from "../src/mm/file.js";
import { ErrnoError } from "../src/engine/errors.js";
import * as pte from "../src/engine/pte.js";

/** A THP mapped writable at a 2 MiB-aligned address, with a whole-space mirror faulted over it. */
function thpScene(): { engine: Engine; mm: Mm; mirror: Mirror; a: number } {
  const engine = new Engine(ENGINE_OPTS);
  const mm = new Mm(engine, { thp: "always" });
  const a = mm.mmap({ length: 2 * PMD, prot: RW, flags: ANON });
  const h = a - (a % PMD) + (a % PMD === 0 ? 0 : PMD);
  mm.cpuWriteU32(h, 1);
  expect(mm.leafOf(h).level).toBe(1);
  const mirror = new Mirror(mm);
  expect(mirror.fault(h, h + PMD, true)).toBe(0);
  return { engine, mm, mirror, a: h };
}

describe("operations over part of a THP split it first (no protnone or read-only page left mirrored)", () => {
  it("numaHintingScan over part of a THP leaves the mirror only pages the CPU maps accessibly", () => {
    const { engine, mm, mirror, a } = thpScene();
    mm.numaHintingScan(a, a + 4 * PAGE);
    // split (CLEAR over the 2 MiB); the subpages of the PTE-mapped THP then hold 512 references,
    // so v6.1 skips them as COW-shared (page_count != 1): nothing becomes protnone
    expect(mm.leafOf(a + 8 * PAGE).level).toBe(0);
    expect(pte.isProtnone(mm.leafOf(a).entry)).toBe(false);
    expect(mirror.entries.size).toBe(0);
    expect(checkInvariants(engine, { mirrors: [mirror] })).toEqual([]);
  });

  it("UFFDIO_WRITEPROTECT over part of a THP write-protects only the covered pages", () => {
    const { engine, mm, mirror, a } = thpScene();
    uffdRegisterWp(mm, a, PMD);
    expect(mirror.fault(a, a + PMD, true)).toBe(0);
    uffdWriteprotect(mm, a, 4 * PAGE, true);
    expect(pte.isWrite(mm.leafOf(a).entry)).toBe(false);
    expect(pte.isWrite(mm.leafOf(a + 8 * PAGE).entry)).toBe(true);
    expect(checkInvariants(engine, { mirrors: [mirror] })).toEqual([]);
  });

  it("a VMA split by madvise inside a THP splits the PMD: no huge entry straddles two VMAs", () => {
    const { engine, mm, mirror, a } = thpScene();
    madvise(mm, a + 4 * PAGE, 4 * PAGE, MADV_DONTFORK);
    expect(mm.leafOf(a).level).toBe(0);
    const child = fork(mm);
    expect(checkInvariants(engine, { mirrors: [mirror] })).toEqual([]);
    child.exit();
    madvise(mm, a + PMD + 4 * PAGE, PAGE, MADV_HUGEPAGE);
    expect(checkInvariants(engine, { mirrors: [mirror] })).toEqual([]);
  });

  it("splitting one Mm's PMD mapping of a THP shared after fork counts one PTE mapping per subpage", () => {
    const { engine, mm, a } = thpScene();
    const child = fork(mm);
    child.munmap(a + PMD - PAGE, PAGE);
    const head = pte.pfnOf(mm.leafOf(a).entry);
    expect(engine.mapcount(head)).toBe(2); // the parent's PMD + the child's PTE of subpage 0
    expect(engine.mapcount(head + 1)).toBe(1);
    expect(engine.mapcount(head + 511)).toBe(0); // unmapped in the child
    expect(checkInvariants(engine)).toEqual([]);
  });
});

describe("a refused VMA operation leaves the VMA list and the engine's table in step", () => {
  it("uffd register over a regular file mapping is refused (EINVAL) before any split", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const f = new SimFile("f", 16 * PAGE);
    const a = mm.mmap({ length: 16 * PAGE, prot: RW, flags: MAP_PRIVATE, file: f });
    const d = engine.stateDigest();
    expect(() => uffdRegisterWp(mm, a + 4 * PAGE, 4 * PAGE)).toThrow(ErrnoError);
    expect(mm.vmas.length).toBe(1);
    expect(engine.stateDigest()).toBe(d);
    expect(checkInvariants(engine)).toEqual([]);
  });

  it("mprotect with a hugetlb-unaligned boundary is refused (EINVAL) before any split", () => {
    const engine = new Engine(ENGINE_OPTS);
    engine.setHugetlbPages(21, 4);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: 2 * PMD, prot: RW, flags: ANON | MAP_HUGETLB });
    mm.cpuWriteU32(a, 1);
    const d = engine.stateDigest();
    expect(() => mm.mprotect(a + PAGE, PMD, PROT_READ)).toThrow(/EINVAL/);
    expect(() => madvise(mm, a + PAGE, PMD, MADV_DONTFORK)).toThrow(/EINVAL/);
    expect(engine.stateDigest()).toBe(d);
    expect(checkInvariants(engine)).toEqual([]);
  });
});

describe("device-exclusive access", () => {
  it("makeDeviceExclusiveRange on a hugetlb VMA converts nothing and never splits the hugetlb PMD", () => {
    const engine = new Engine(ENGINE_OPTS);
    engine.setHugetlbPages(21, 2);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: PMD, prot: RW, flags: ANON | MAP_HUGETLB });
    mm.cpuWriteU32(a, 3);
    const mirror = new Mirror(mm);
    expect(mirror.fault(a, a + 4 * PAGE, false)).toBe(0);
    expect(makeDeviceExclusiveRange(mm, a, a + 4 * PAGE, { name: "dev" })).toBe(0);
    expect(mm.leafOf(a).level).toBe(1);
    expect(checkInvariants(engine, { mirrors: [mirror] })).toEqual([]);
  });

  it("makeDeviceExclusiveRange leaves shared file pages mapped as they are", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const f = new SimFile("f", 4 * PAGE, "shmem");
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: MAP_SHARED, file: f });
    expect(makeDeviceExclusiveRange(mm, a, a + 2 * PAGE, { name: "dev" })).toBe(0);
    expect(pte.isPresent(mm.leafOf(a).entry)).toBe(true);
    expect(checkInvariants(engine, { files: [f] })).toEqual([]);
  });
});

describe("migration", () => {
  it("a private-file COW page shared after fork and moved to a device migrates back on a CPU access", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const dev = new Device(engine, { pages: 8 });
    const f = new SimFile("f", 4 * PAGE);
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: MAP_PRIVATE, file: f });
    mm.cpuWriteU32(a, 77); // COW: an anonymous copy in a file VMA
    const child = fork(mm);
    expect(dev.migrateToDevice(mm, a, a + PAGE)).toBe(1);
    expect(pte.isDevicePrivate(child.leafOf(a).entry)).toBe(true);
    expect(child.cpuReadU32(a)).toBe(77);
    expect(mm.cpuReadU32(a)).toBe(77);
    expect(checkInvariants(engine, { files: [f] })).toEqual([]);
    child.exit();
    mm.exit();
    expect(checkTeardown(engine, { files: [f] })).toEqual([]);
  });

  it("a file fault waits for a folio under migration instead of mapping the old folio", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const f = new SimFile("f", 8 * PAGE, "shmem");
    const a = mm.mmap({ length: 8 * PAGE, prot: RW, flags: MAP_SHARED, file: f });
    mm.cpuWriteU32(a, 5);
    const old = f.pageCache.get(0)!;
    const [mig] = migratePages(mm, a, PAGE, { defer: true });
    expect(mig.state).toBe("pending");
    const child = new Mm(engine);
    const b = child.mmap({ length: 8 * PAGE, prot: RW, flags: MAP_SHARED, file: f });
    expect(child.cpuReadU32(b + PAGE)).toBe(0); // fault-around skips the locked folio
    expect(child.cpuReadU32(b)).toBe(5); // waits: the migration completes
    expect(mig.state).toBe("done");
    expect(f.pageCache.get(0)).not.toBe(old);
    expect(checkInvariants(engine, { files: [f] })).toEqual([]);
    child.exit();
    mm.exit();
    expect(checkTeardown(engine, { files: [f] })).toEqual([]);
  });
});

describe("NUMA hinting scans follow v6.1's change_pte_range", () => {
  it("skips KSM pages and COW-shared pages of a COW mapping", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(a, 9);
    mm.cpuWriteU32(a + PAGE, 9);
    mm.cpuWriteU32(a + 2 * PAGE, 1);
    mm.cpuWriteU32(a + 3 * PAGE, 2);
    expect(ksmMerge(mm, [a, a + PAGE]).merged).toBe(2);
    const child = fork(mm);
    child.cpuWriteU32(a + 3 * PAGE, 3); // the child's copy: page 3 of the parent is exclusive again
    mm.numaHintingScan(a, a + 4 * PAGE);
    expect(pte.isProtnone(mm.leafOf(a).entry)).toBe(false); // KSM
    expect(pte.isProtnone(mm.leafOf(a + 2 * PAGE).entry)).toBe(false); // shared with the child
    expect(pte.isProtnone(mm.leafOf(a + 3 * PAGE).entry)).toBe(true);
    expect(checkInvariants(engine)).toEqual([]);
  });
});

import { reclaimPages } from "../src/ops/reclaim.js";
import { mremap, MREMAP_FIXED, MREMAP_MAYMOVE } from "../src/ops/mremap.js";
import { MADV_NOHUGEPAGE } from "../src/ops/madvise.js";
import { FRAME } from "../src/engine/layout.js";

describe("KSM", () => {
  it("a KSM page freed by reclaim leaves the stable tree: a later merge never maps a free frame", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: 8 * PAGE, prot: RW, flags: ANON });
    for (let i = 0; i < 4; i++) mm.cpuWriteU32(a + i * PAGE, 0x55);
    expect(ksmMerge(mm, [a, a + PAGE]).merged).toBe(2);
    expect(reclaimPages(mm, a, 2 * PAGE).swappedOut).toBe(2);
    expect(engine.framesInUse()).toBe(2);
    expect(ksmMerge(mm, [a + 2 * PAGE, a + 3 * PAGE]).merged).toBe(2);
    expect(checkInvariants(engine)).toEqual([]);
    expect(mm.cpuReadU32(a)).toBe(0x55);
    expect(checkInvariants(engine)).toEqual([]);
  });

  it("migrate_vma of a KSM page mapped at several addresses migrates it once, for every mapping", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const dev = new Device(engine, { pages: 8 });
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    for (let i = 0; i < 3; i++) mm.cpuWriteU32(a + i * PAGE, 0x77);
    expect(ksmMerge(mm, [a, a + PAGE, a + 2 * PAGE]).merged).toBe(3);
    dev.migrateToDevice(mm, a, a + 3 * PAGE);
    expect(engine.pendingMigrations.size).toBe(0);
    expect(checkInvariants(engine)).toEqual([]);
    for (let i = 0; i < 3; i++) expect(mm.cpuReadU32(a + i * PAGE)).toBe(0x77);
    mm.exit();
    expect(checkTeardown(engine)).toEqual([]);
  });
});

describe("KSM pages are copied on every write fault (do_wp_page never reuses PageKsm)", () => {
  it("a device write fault through a KSM page's last mapping copies it; a later merge maps it read-only again", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    for (let i = 0; i < 3; i++) mm.cpuWriteU32(a + i * PAGE, 0x42);
    expect(ksmMerge(mm, [a, a + PAGE]).merged).toBe(2);
    const ksm = pte.pfnOf(mm.leafOf(a).entry);
    expect(pte.pfnOf(mm.leafOf(a + PAGE).entry)).toBe(ksm);
    const mirror = new Mirror(mm);
    // the first write copies (two mappings); the second reaches the KSM page's last mapping,
    // whose reference count is 1: it must still copy, not make the KSM page writable
    expect(mirror.fault(a, a + 2 * PAGE, true)).toBe(0);
    for (const at of [a, a + PAGE]) {
      const e = mm.leafOf(at).entry;
      expect(pte.isWrite(e)).toBe(true);
      expect(pte.pfnOf(e)).not.toBe(ksm);
    }
    expect(engine.mapcount(ksm)).toBe(0);
    // the contents did not change: the next pass merges all three pages again, every one read-only
    expect(ksmMerge(mm, [a, a + PAGE, a + 2 * PAGE]).merged).toBe(3);
    const merged = pte.pfnOf(mm.leafOf(a).entry);
    for (let i = 0; i < 3; i++) {
      const e = mm.leafOf(a + i * PAGE).entry;
      expect(pte.pfnOf(e)).toBe(merged);
      expect(pte.isWrite(e)).toBe(false);
    }
    expect(checkInvariants(engine)).toEqual([]);
    for (let i = 0; i < 3; i++) expect(mm.cpuReadU32(a + i * PAGE)).toBe(0x42);
    mm.exit();
    expect(checkTeardown(engine)).toEqual([]);
  });
});

import {
  migrateVmaFinalize,
  migrateVmaSetup,
  MIGRATE_VMA_SELECT_SYSTEM,
  type MigrateVma,
} from "../src/ops/migrate-device.js";

describe("a failed migrate_vma restores each page as its migration entry says", () => {
  it("mprotect then fork during migrate_vma: finalize without a destination leaves the page read-only in both Mms", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(a, 0x11);
    const pfn = pte.pfnOf(mm.leafOf(a).entry);
    const m = migrateVmaSetup(mm, {
      start: a,
      end: a + PAGE,
      pgmapOwner: null,
      flags: MIGRATE_VMA_SELECT_SYSTEM,
    }) as MigrateVma;
    expect(typeof m).toBe("object");
    mm.mprotect(a, PAGE, PROT_READ | PROT_WRITE); // the writable migration entry becomes readable
    const child = fork(mm);
    migrateVmaFinalize(m); // no destination: the old page comes back in both Mms
    for (const x of [mm, child]) {
      const e = x.leafOf(a).entry;
      expect(pte.pfnOf(e)).toBe(pfn);
      expect(pte.isWrite(e)).toBe(false);
    }
    expect(engine.frameFlags(pfn) & FRAME.ANON_EXCLUSIVE).toBe(0);
    expect(checkInvariants(engine)).toEqual([]);
    // the parent's write now breaks COW: the child keeps the old contents
    mm.cpuWriteU32(a, 0x22);
    expect(pte.pfnOf(mm.leafOf(a).entry)).not.toBe(pfn);
    expect([mm.cpuReadU32(a), child.cpuReadU32(a)]).toEqual([0x22, 0x11]);
    expect(checkInvariants(engine)).toEqual([]);
    child.exit();
    mm.exit();
    expect(checkTeardown(engine)).toEqual([]);
  });
});

describe("migration entries across fork, VMA splits and mremap", () => {
  it("aborting a migration after fork leaves the page shared read-only in both Mms (no AnonExclusive)", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(a, 1);
    const [mig] = migratePages(mm, a, PAGE, { defer: true });
    const child = fork(mm);
    mig.abort();
    const pfn = pte.pfnOf(mm.leafOf(a).entry);
    expect(engine.frameFlags(pfn) & FRAME.ANON_EXCLUSIVE).toBe(0);
    mm.cpuWriteU32(a, 2); // COW: a copy, the child keeps 1
    expect(child.cpuReadU32(a)).toBe(1);
    expect(checkInvariants(engine)).toEqual([]);
  });

  it("a VMA split inside a THP under migration completes the migration and splits the new THP", () => {
    const { engine, mm, mirror, a } = thpScene();
    const [mig] = migratePages(mm, a, PAGE, { defer: true });
    expect(mm.leafOf(a).level).toBe(1);
    madvise(mm, a + 8 * PAGE, 8 * PAGE, MADV_NOHUGEPAGE);
    expect(mig.state).toBe("done");
    expect(mm.leafOf(a).level).toBe(0);
    expect(checkInvariants(engine, { mirrors: [mirror] })).toEqual([]);
  });

  it("mremap of a THP under migration to an unaligned address leaves no PMD entry outside the VMA", () => {
    const { engine, mm, mirror, a } = thpScene();
    const [mig] = migratePages(mm, a, PAGE, { defer: true });
    const dst = mm.vmas[mm.vmas.length - 1].end + 3 * PMD + 5 * PAGE;
    expect(mremap(mm, a, PMD, PMD, MREMAP_MAYMOVE | MREMAP_FIXED, dst)).toBe(dst);
    expect(mig.state).toBe("done");
    expect(mm.cpuReadU32(dst)).toBe(1);
    expect(checkInvariants(engine, { mirrors: [mirror] })).toEqual([]);
  });
});

describe("device-coherent pages", () => {
  it("are referenced by fork: after the parent unmaps, the child still reads its own data", () => {
    const engine = new Engine(ENGINE_OPTS);
    const dev = new Device(engine, { pages: 4, coherent: true });
    const mm = new Mm(engine);
    const a = mm.mmap({ length: PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(a, 41);
    expect(dev.migrateToDevice(mm, a, a + PAGE)).toBe(1);
    const child = fork(mm);
    const pfn = pte.pfnOf(child.leafOf(a).entry);
    expect(engine.refcount(pfn)).toBe(2);
    mm.munmap(a, PAGE);
    expect(dev.freePages).toBe(3);
    const other = new Mm(engine);
    const b = other.mmap({ length: PAGE, prot: RW, flags: ANON });
    other.cpuWriteU32(b, 99);
    expect(dev.migrateToDevice(other, b, b + PAGE)).toBe(1);
    expect(child.cpuReadU32(a)).toBe(41);
    expect(checkInvariants(engine)).toEqual([]);
  });
});

describe("a mirror racing its own device's migration inside its fault", () => {
  it("a CPU access from betweenFaults migrating a page back retries the fault: no stale device pfn", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const dev = new Device(engine, { pages: 8 });
    const mirror = new Mirror(mm, { owner: dev.owner });
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    for (let i = 0; i < 2; i++) mm.cpuWriteU32(a + i * PAGE, i);
    expect(dev.migrateToDevice(mm, a, a + 2 * PAGE)).toBe(2);
    let ran = false;
    mm.hooks.betweenFaults = () => {
      mm.hooks.betweenFaults = undefined;
      ran = true;
      mm.cpuWriteU32(a, 9); // migrate_to_ram of the first page, MIGRATE with the mirror's owner
    };
    // pages 2 and 3 need faults: the hook runs before the second, after page 0 was reported
    expect(mirror.fault(a, a + 4 * PAGE, false)).toBe(0);
    expect(ran).toBe(true);
    expect(checkInvariants(engine, { mirrors: [mirror] })).toEqual([]);
    expect(mirror.verify().ok).toBe(true);
  });
});

describe("a deferred folio migration combined with migrate_vma keeps its record and the refcounts", () => {
  for (const variant of ["plain", "fork", "thp", "finish-first", "abort"] as const) {
    it(variant, () => {
      const engine = new Engine(ENGINE_OPTS);
      const mm = new Mm(engine, { thp: variant === "thp" ? "always" : "never" });
      const dev = new Device(engine, { pages: 1024 });
      const len = variant === "thp" ? 2 * PMD : 8 * PAGE;
      let a = mm.mmap({ length: len, prot: RW, flags: ANON });
      if (variant === "thp") a = Math.ceil(a / PMD) * PMD;
      for (let i = 0; i < 4; i++) mm.cpuWriteU32(a + i * PAGE, i + 1);
      const child = variant === "fork" ? fork(mm) : null;
      const migs = migratePages(mm, a, 4 * PAGE, { defer: true });
      expect(migs.length).toBe(variant === "thp" ? 1 : 4);
      if (variant === "finish-first") migs[0].finish();
      // pages under a folio migration are not collected; a THP's migration completes first
      expect(dev.migrateToDevice(mm, a, a + 4 * PAGE)).toBe(
        { plain: 0, fork: 0, thp: 4, "finish-first": 1, abort: 0 }[variant],
      );
      expect(checkInvariants(engine)).toEqual([]);
      for (const m of migs)
        if (variant === "abort") m.abort();
        else m.finish();
      expect(checkInvariants(engine)).toEqual([]);
      for (let i = 0; i < 4; i++) expect(mm.cpuReadU32(a + i * PAGE)).toBe(i + 1);
      if (child) for (let i = 0; i < 4; i++) expect(child.cpuReadU32(a + i * PAGE)).toBe(i + 1);
      child?.exit();
      mm.exit();
      dev.evictAll();
      expect(checkTeardown(engine)).toEqual([]);
    });
  }
});

describe("5-level addresses above 2^53", () => {
  it("madvise, reclaim and migrate accept them", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine, { levels: 5 });
    const addr = 2 ** 55;
    expect(mm.mmap({ addr, length: 4 * PAGE, prot: RW, flags: ANON | 0x10 })).toBe(addr);
    for (let i = 0; i < 4; i++) mm.cpuWriteU32(addr + i * PAGE, i + 3);
    madvise(mm, addr, PAGE, 4);
    expect(mm.cpuReadU32(addr)).toBe(0);
    expect(reclaimPages(mm, addr + PAGE, PAGE).swappedOut).toBe(1);
    expect(migratePages(mm, addr + 2 * PAGE, PAGE).length).toBe(1);
    expect([mm.cpuReadU32(addr + PAGE), mm.cpuReadU32(addr + 2 * PAGE)]).toEqual([4, 5]);
    expect(checkInvariants(engine)).toEqual([]);
  });
});
