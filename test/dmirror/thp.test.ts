// dmirror of v6.19: device-private THP migration (compound entries in both directions),
// FLAGS(FAIL_ALLOC) falling back to small pages, whole-folio migrate_to_ram, close evicting, and
// the preamble's npages limit; with what the same calls do in the earlier profiles.
import { describe, expect, it } from "vitest";
import {
  EINVAL,
  ERRNO,
  Engine,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  Mm,
  PROT_READ,
  PROT_WRITE,
  madvise,
  type Profile,
} from "../../src/index.js";
import {
  DPT_TAG_WRITE,
  DmirrorDriver,
  HMM_DMIRROR_FLAGS,
  HMM_DMIRROR_FLAG_FAIL_ALLOC,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_SNAPSHOT,
  type HmmDmirrorCmd,
} from "../../src/drivers/dmirror/index.js";
import * as pte from "../../src/engine/pte.js";
import { ENGINE_OPTS } from "../env.js";

const PAGE = 4096;
const PMD = 2 << 20;
const N = PMD / PAGE;

function sim(profile: Profile = "v6.19") {
  const engine = new Engine(ENGINE_OPTS);
  const mm = new Mm(engine, { profile });
  const driver = new DmirrorDriver(engine, { profile, chunkPages: 2048 });
  const raw = mm.mmap({ length: 2 * PMD, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  const map = Math.ceil(raw / PMD) * PMD;
  madvise(mm, map, PMD, MADV_HUGEPAGE);
  for (let i = 0; i < N; i++) mm.cpuWriteU32(map + i * PAGE, i);
  return { engine, mm, driver, fd: driver.open(0, mm), map };
}
const cmd = (addr: number | bigint, npages: number | bigint, bytes = Number(npages) * PAGE): HmmDmirrorCmd => ({
  addr,
  ptr: new Uint8Array(bytes),
  npages,
  cpages: 0,
  faults: 0,
});

describe("v6.19 compound migration", () => {
  it("a THP moves as one device-private PMD: 512 WRITE entries, snapshot 0x26, another device sees 0xFF", () => {
    const { mm, driver, fd, map } = sim();
    expect(mm.leafOf(map).level).toBe(1); // a THP
    const c = cmd(map, N);
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, c)).toBe(0);
    expect(c.cpages).toBe(N);
    const leaf = mm.leafOf(map);
    expect(leaf.level).toBe(1);
    expect(pte.isDevicePrivate(leaf.entry)).toBe(true);
    expect(fd.pt.size).toBe(N);
    expect(fd.pt.get(map / PAGE + 511)!.tag).toBe(DPT_TAG_WRITE);
    const s = cmd(map, 2, 2);
    expect(fd.ioctl(HMM_DMIRROR_SNAPSHOT, s)).toBe(0);
    expect([...s.ptr!]).toEqual([0x26, 0x26]);
    // M3L(b): another owner's walk without a fault request reports ERROR
    const other = driver.open(1, mm);
    const o = cmd(map, 2, 2);
    expect(other.ioctl(HMM_DMIRROR_SNAPSHOT, o)).toBe(0);
    expect([...o.ptr!]).toEqual([0xff, 0xff]);
  });

  it("FAIL_ALLOC: the device THP allocation fails once and 512 small device pages are used", () => {
    const { mm, fd, map } = sim();
    expect(fd.ioctl(HMM_DMIRROR_FLAGS, cmd(map, HMM_DMIRROR_FLAG_FAIL_ALLOC))).toBe(0);
    expect(fd.device.failNextAlloc).toBe(true);
    const c = cmd(map, N);
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, c)).toBe(0);
    expect(c.cpages).toBe(N);
    expect(fd.device.failNextAlloc).toBe(false);
    const leaf = mm.leafOf(map + 3 * PAGE);
    expect(leaf.level).toBe(0);
    expect(pte.isDevicePrivate(leaf.entry)).toBe(true);
    expect(new Uint32Array(c.ptr!.buffer)[(3 * PAGE) / 4]).toBe(3);
  });

  it("MIGRATE_TO_SYS brings the folio back as a THP; with FAIL_ALLOC as small pages", () => {
    for (const fail of [false, true]) {
      const { mm, fd, map } = sim();
      expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, cmd(map, N))).toBe(0);
      if (fail) expect(fd.ioctl(HMM_DMIRROR_FLAGS, cmd(map, HMM_DMIRROR_FLAG_FAIL_ALLOC))).toBe(0);
      const c = cmd(map, N);
      expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_SYS, c)).toBe(0);
      expect(c.cpages).toBe(N);
      const leaf = mm.leafOf(map);
      expect(leaf.level).toBe(fail ? 0 : 1);
      expect(pte.isPresent(leaf.entry)).toBe(true);
      expect(fd.pt.size).toBe(0);
      expect(fd.device.pagesInUse).toBe(0);
      expect(mm.cpuReadU32(map + 300 * PAGE)).toBe(300);
    }
  });

  it("a CPU fault on the device PMD migrates the whole folio back (one migrate_to_ram)", () => {
    const { mm, fd, map } = sim();
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, cmd(map, N))).toBe(0);
    expect(mm.cpuReadU32(map + 7 * PAGE)).toBe(7);
    expect(fd.device.chunks[0].migrateToRamCalls).toBe(1);
    expect(mm.leafOf(map).level).toBe(1);
    expect(fd.pt.size).toBe(0);
    expect(fd.device.pagesInUse).toBe(0);
  });

  it("the seed driver migrates the same THP page by page (split, 64-page chunks)", () => {
    const { mm, fd, map } = sim("v6.1");
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, cmd(map, N))).toBe(0);
    expect(mm.leafOf(map).level).toBe(0);
    expect(fd.ioctl(HMM_DMIRROR_FLAGS, cmd(map, 1))).toBe(EINVAL);
  });
});

describe("v6.19 close and preamble", () => {
  it("closing a file evicts the device's memory (v6.19), not before", () => {
    for (const [profile, evicts] of [
      ["v6.16", false],
      ["v6.19", true],
    ] as const) {
      const { mm, fd, map } = sim(profile);
      expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, cmd(map, 4))).toBe(0);
      const dev = fd.device;
      expect(fd.close()).toBe(0);
      expect(dev.pagesInUse).toBe(evicts ? 0 : 4);
      expect(mm.cpuReadU32(map + 3 * PAGE)).toBe(3);
    }
  });

  it("npages above ULONG_MAX >> PAGE_SHIFT is -EINVAL in v6.19; a huge bounce buffer is -ENOMEM", () => {
    const huge = 2n ** 52n + 1n; // << 12 wraps to 4096: the seed's overflow check passes
    const late = sim("v6.19");
    expect(late.fd.ioctl(HMM_DMIRROR_READ, { addr: late.map, ptr: null, npages: huge, cpages: 0, faults: 0 })).toBe(
      EINVAL,
    );
    const seed = sim("v6.1");
    expect(seed.fd.ioctl(HMM_DMIRROR_READ, { addr: seed.map, ptr: null, npages: huge, cpages: 0, faults: 0 })).toBe(
      -ERRNO.ENOMEM,
    );
  });
});
