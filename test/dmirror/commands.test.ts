// The dmirror driver's commands one by one, beyond what the ported selftests check: the ioctl
// preamble, chunking, the retry budget, the invalidate quirks, tags in the device page table,
// device memory chunks, mmap, migrate_to_ram and per-process files.
import { describe, expect, it } from "vitest";
import {
  EBUSY,
  EFAULT,
  EINVAL,
  ENOENT,
  EPERM,
  Engine,
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MMU_NOTIFY_MIGRATE,
  Mm,
  PROT_READ,
  PROT_WRITE,
  VM,
  fork,
  madvise,
  type Profile,
} from "../../src/index.js";
import {
  DPT_TAG_ATOMIC,
  DPT_TAG_READ,
  DPT_TAG_WRITE,
  DmirrorDriver,
  EBADF,
  ENODEV,
  HMM_DMIRROR_CHECK_EXCLUSIVE,
  HMM_DMIRROR_EXCLUSIVE,
  HMM_DMIRROR_FLAGS,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_RELEASE,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
  type HmmDmirrorCmd,
} from "../../src/drivers/dmirror/index.js";
import { ENGINE_OPTS } from "../env.js";

const PAGE = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function sim(profile: Profile = "v6.1", retryBudget?: number) {
  const engine = new Engine(ENGINE_OPTS);
  const mm = new Mm(engine, { profile });
  const driver = new DmirrorDriver(engine, { profile, retryBudget, chunkPages: 256 });
  return { engine, mm, driver, fd: driver.open(0, mm) };
}
const cmd = (
  addr: number | bigint,
  npages: number | bigint,
  ptr: Uint8Array | null = new Uint8Array(Number(npages) * PAGE),
): HmmDmirrorCmd => ({ addr, ptr, npages, cpages: -1, faults: -1 });
const fillPages = (mm: Mm, a: number, n: number, base = 1): void => {
  for (let i = 0; i < n; i++) mm.cpuWriteU32(a + i * PAGE, base + i);
};

describe("open / close", () => {
  it("devices 0..3 exist (2, 3 coherent); other minors -ENODEV; the mm must run the driver's profile", () => {
    const { engine, mm, driver } = sim();
    expect(driver.devices.map((d) => d.coherent)).toEqual([false, false, true, true]);
    expect(() => driver.open(4, mm)).toThrow(expect.objectContaining({ errno: -ENODEV }));
    expect(() => driver.open(0, new Mm(engine, { profile: "v6.16" }))).toThrow(/models v6.1/);
    const noCoherent = new DmirrorDriver(engine, { coherent: false });
    expect(noCoherent.devices.length).toBe(2);
  });
  it("close returns 0 once, then -EBADF; a closed file's ioctl is -EBADF", () => {
    const { fd } = sim();
    expect(fd.close()).toBe(0);
    expect(fd.close()).toBe(-EBADF);
    expect(fd.ioctl(HMM_DMIRROR_READ, cmd(0x1000, 1))).toBe(-EBADF);
  });
});

describe("ioctl preamble", () => {
  it("-EINVAL for an unaligned addr, npages 0, u64 overflow and unknown commands; counters untouched", () => {
    const { fd, mm } = sim();
    const a = mm.mmap({ length: PAGE, prot: RW, flags: ANON });
    const c = cmd(a + 8, 1);
    expect(fd.ioctl(HMM_DMIRROR_READ, c)).toBe(EINVAL);
    expect(c.cpages).toBe(-1);
    expect(fd.ioctl(HMM_DMIRROR_READ, cmd(a, 0))).toBe(EINVAL);
    // addr + (npages << 12) wraps around 2^64 to below addr
    expect(fd.ioctl(HMM_DMIRROR_READ, cmd(BigInt(a), 2n ** 52n - 1n, null))).toBe(EINVAL);
    expect(fd.ioctl(0x42, cmd(a, 1))).toBe(EINVAL);
    // RELEASE is v6.2+, FLAGS v6.19
    expect(fd.ioctl(HMM_DMIRROR_RELEASE, cmd(a, 1))).toBe(EINVAL);
    expect(fd.ioctl(HMM_DMIRROR_FLAGS, cmd(a, 1))).toBe(EINVAL);
  });
  it("a user buffer too small for the data is -EFAULT (copy_to_user)", () => {
    const { fd, mm } = sim();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    expect(fd.ioctl(HMM_DMIRROR_READ, cmd(a, 2, new Uint8Array(PAGE)))).toBe(EFAULT);
    expect(fd.ioctl(HMM_DMIRROR_WRITE, cmd(a, 2, null))).toBe(EFAULT);
    expect(fd.ioctl(HMM_DMIRROR_SNAPSHOT, cmd(a, 2, new Uint8Array(1)))).toBe(EFAULT);
  });
});

describe("READ / WRITE", () => {
  it("faults in 64-page chunks, one fault pass; entries tagged by the walk's WRITE bit", () => {
    const { fd, mm } = sim();
    const a = mm.mmap({ length: 130 * PAGE, prot: RW, flags: ANON });
    fillPages(mm, a, 130);
    mm.mprotect(a, PAGE, PROT_READ);
    const chunks: number[] = [];
    fd.hooks.beforeChunk = (i) => chunks.push((i.end - i.start) / PAGE);
    const c = cmd(a, 130);
    expect(fd.ioctl(HMM_DMIRROR_READ, c)).toBe(0);
    expect([c.cpages, c.faults]).toEqual([130, 1]);
    expect(chunks).toEqual([64, 64, 2]);
    expect(new Uint32Array(c.ptr!.buffer)[(129 * PAGE) / 4]).toBe(130);
    expect(fd.pt.get(a / PAGE)!.tag).toBe(DPT_TAG_READ);
    expect(fd.pt.get(a / PAGE + 1)!.tag).toBe(DPT_TAG_WRITE);
    // already mapped: no fault pass
    const again = cmd(a, 130);
    expect(fd.ioctl(HMM_DMIRROR_READ, again)).toBe(0);
    expect(again.faults).toBe(0);
  });
  it("WRITE needs WRITE-tagged entries: read-only ones are faulted again for write", () => {
    const { fd, mm } = sim();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    expect(fd.ioctl(HMM_DMIRROR_READ, cmd(a, 2))).toBe(0);
    expect(fd.pt.get(a / PAGE)!.tag).toBe(DPT_TAG_READ); // the zero page
    const data = new Uint8Array(2 * PAGE).fill(7);
    const c = cmd(a, 2, data);
    expect(fd.ioctl(HMM_DMIRROR_WRITE, c)).toBe(0);
    expect([c.cpages, c.faults]).toEqual([2, 1]);
    expect(mm.cpuRead(a + PAGE, 4)).toEqual(new Uint8Array([7, 7, 7, 7]));
  });
  it("the retry budget turns endless invalidation into -EBUSY", () => {
    const { fd, mm } = sim("v6.1", 5);
    const a = mm.mmap({ length: PAGE, prot: RW, flags: ANON });
    const other = mm.mmap({ length: PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(other, 1);
    let walks = 0;
    // another thread mprotects something between every walk and its commit
    fd.hooks.afterWalk = () => {
      walks++;
      mm.mprotect(other, PAGE, walks % 2 ? PROT_READ : RW);
    };
    expect(fd.ioctl(HMM_DMIRROR_READ, cmd(a, 1))).toBe(EBUSY);
    expect(walks).toBe(5);
  });
  it("invalidation erases one page past the range (the kernel's inclusive bound)", () => {
    const { fd, mm } = sim();
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    fillPages(mm, a, 4);
    expect(fd.ioctl(HMM_DMIRROR_READ, cmd(a, 4))).toBe(0);
    madvise(mm, a + PAGE, PAGE, MADV_DONTNEED);
    expect(fd.pt.pages()).toEqual([a / PAGE, a / PAGE + 3]);
  });
  it("a read-only VMA: WRITE is -EPERM; no VMA: READ is -EFAULT", () => {
    const { fd, mm } = sim();
    const a = mm.mmap({ length: PAGE, prot: PROT_READ, flags: ANON });
    expect(fd.ioctl(HMM_DMIRROR_WRITE, cmd(a, 1))).toBe(EPERM);
    mm.munmap(a, PAGE);
    expect(fd.ioctl(HMM_DMIRROR_READ, cmd(a, 1))).toBe(EFAULT);
  });
});

describe("MIGRATE_TO_DEV / MIGRATE_TO_SYS", () => {
  it("device memory is allocated in chunks on demand; own migrations are not logged, others' are", () => {
    const { fd, mm, driver } = sim();
    const other = driver.open(1, mm);
    const dev = fd.device;
    expect(dev.chunks.length).toBe(0);
    const a = mm.mmap({ length: 300 * PAGE, prot: RW, flags: ANON });
    fillPages(mm, a, 300);
    const c = cmd(a, 300);
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, c)).toBe(0);
    expect(c.cpages).toBe(300);
    expect(dev.chunks.length).toBe(2); // 256-page chunks in this test
    expect(dev.pagesInUse).toBe(300);
    expect(fd.log.filter((r) => r.event === MMU_NOTIFY_MIGRATE)).toEqual([]);
    expect(other.log.some((r) => r.event === MMU_NOTIFY_MIGRATE && r.owner === dev)).toBe(true);
    expect(fd.pt.get(a / PAGE)!.tag).toBe(DPT_TAG_WRITE);
  });
  it("a read-only source maps read-only on the device; MIGRATE_TO_SYS brings pages back and erases them", () => {
    const { fd, mm } = sim();
    const a = mm.mmap({ length: 4 * PAGE, prot: RW, flags: ANON });
    fillPages(mm, a, 4, 40);
    mm.mprotect(a, PAGE, PROT_READ);
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, cmd(a, 4))).toBe(0);
    expect(fd.pt.get(a / PAGE)!.tag).toBe(DPT_TAG_READ);
    const c = cmd(a, 4);
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_SYS, c)).toBe(0);
    expect(c.cpages).toBe(4);
    expect(fd.pt.size).toBe(0);
    expect(fd.device.pagesInUse).toBe(0);
    expect(mm.cpuReadU32(a + 3 * PAGE)).toBe(43);
    // nothing left on the device: nothing migrates
    const again = cmd(a, 4);
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_SYS, again)).toBe(0);
    expect(again.cpages).toBe(0);
  });
  it("migrate_to_ram (seed) moves only the faulting page and erases only its entry", () => {
    const { fd, mm } = sim();
    const a = mm.mmap({ length: 3 * PAGE, prot: RW, flags: ANON });
    fillPages(mm, a, 3, 10);
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, cmd(a, 3))).toBe(0);
    expect(mm.cpuReadU32(a + PAGE)).toBe(11);
    expect(fd.pt.pages()).toEqual([a / PAGE, a / PAGE + 2]);
    expect(fd.device.pagesInUse).toBe(2);
  });
  it("holes of a non-anonymous VMA are not migrated: -ENOENT; a VMA without VM_READ: -EINVAL", () => {
    const { fd, mm } = sim();
    const s = mm.mmap({ length: PAGE, prot: RW, flags: MAP_SHARED | MAP_ANONYMOUS });
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, cmd(s, 1))).toBe(ENOENT);
    const n = mm.mmap({ length: PAGE, prot: PROT_WRITE & 0, flags: ANON });
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, cmd(n, 1))).toBe(EINVAL);
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_SYS, cmd(n, 1))).toBe(EINVAL);
  });
});

describe("SNAPSHOT", () => {
  it("never faults and leaves no notifier behind", () => {
    const { fd, mm } = sim();
    const a = mm.mmap({ length: 100 * PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(a, 1);
    const faults = mm.stats.faults;
    const c = cmd(a, 100, new Uint8Array(100));
    expect(fd.ioctl(HMM_DMIRROR_SNAPSHOT, c)).toBe(0);
    expect(c.cpages).toBe(100);
    expect(c.ptr![0]).toBe(0x02);
    expect(c.ptr!.subarray(1).every((x) => x === 0)).toBe(true);
    expect(mm.stats.faults).toBe(faults);
    expect(fd.pt.size).toBe(0);
    // a later invalidation reaches only the file's own notifier
    const before = fd.log.length;
    mm.munmap(a, PAGE);
    expect(fd.log.length).toBe(before + 1);
  });
});

describe("EXCLUSIVE / CHECK_EXCLUSIVE", () => {
  it("entries are tagged ATOMIC until a CPU access revokes each page", () => {
    const { fd, mm } = sim();
    const a = mm.mmap({ length: 2 * PAGE, prot: RW, flags: ANON });
    fillPages(mm, a, 2);
    const c = cmd(a, 2);
    expect(fd.ioctl(HMM_DMIRROR_EXCLUSIVE, c)).toBe(0);
    expect(c.cpages).toBe(2);
    expect(fd.pt.get(a / PAGE)!.tag).toBe(DPT_TAG_ATOMIC);
    expect(fd.ioctl(HMM_DMIRROR_CHECK_EXCLUSIVE, cmd(a, 2))).toBe(EPERM);
    mm.cpuReadU32(a);
    // the EXCLUSIVE invalidation's inclusive bound also erased page 1
    expect(fd.ioctl(HMM_DMIRROR_CHECK_EXCLUSIVE, cmd(a, 2))).toBe(0);
  });
  it("a read-only VMA: -EBUSY in the seed (chunk not converted), the GUP's -EFAULT in v6.16", () => {
    for (const [profile, want] of [
      ["v6.1", EBUSY],
      ["v6.16", EFAULT],
    ] as const) {
      const { fd, mm } = sim(profile);
      const a = mm.mmap({ length: PAGE, prot: PROT_READ, flags: ANON });
      expect(fd.ioctl(HMM_DMIRROR_EXCLUSIVE, cmd(a, 1))).toBe(want);
    }
  });
});

describe("RELEASE (v6.2+)", () => {
  it("evicts every device page back to system memory", () => {
    const { fd, mm } = sim("v6.16");
    const a = mm.mmap({ length: 3 * PAGE, prot: RW, flags: ANON });
    fillPages(mm, a, 3, 5);
    expect(fd.ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, cmd(a, 3))).toBe(0);
    expect(fd.ioctl(HMM_DMIRROR_RELEASE, cmd(a, 1))).toBe(0);
    expect(fd.device.pagesInUse).toBe(0);
    expect(fd.device.stats.migratedToRam).toBe(0); // not through migrate_to_ram
    expect(mm.cpuReadU32(a + 2 * PAGE)).toBe(7);
  });
});

describe("mmap of the device file", () => {
  it("maps zeroed pages with vm_insert_page: VM_MIXEDMAP, read-only when private", () => {
    const { fd, mm } = sim();
    const a = fd.mmap(2 * PAGE, RW, MAP_PRIVATE);
    const v = mm.vmaLookup(a)!;
    expect(v.flags & VM.MIXEDMAP).toBe(VM.MIXEDMAP);
    expect(mm.cpuReadU32(a + PAGE)).toBe(0);
    expect(mm.translate(a, true)).toBeNull();
    const c = cmd(a, 2, new Uint8Array(2));
    expect(fd.ioctl(HMM_DMIRROR_SNAPSHOT, c)).toBe(0);
    expect([...c.ptr!]).toEqual([0x01, 0x01]);
  });
});

describe("per-process files after fork", () => {
  it("a child's file mirrors the child's mm, the parent's file the parent's", () => {
    const { fd, mm, driver } = sim();
    const a = mm.mmap({ length: PAGE, prot: RW, flags: ANON });
    mm.cpuWriteU32(a, 1);
    const child = fork(mm);
    const cfd = driver.open(0, child);
    const data = new Uint8Array(PAGE).fill(9);
    expect(cfd.ioctl(HMM_DMIRROR_WRITE, cmd(a, 1, data))).toBe(0);
    expect(child.cpuReadU32(a)).toBe(0x09090909);
    expect(mm.cpuReadU32(a)).toBe(1);
    const r = cmd(a, 1);
    expect(fd.ioctl(HMM_DMIRROR_READ, r)).toBe(0);
    expect(new Uint32Array(r.ptr!.buffer)[0]).toBe(1);
  });
});
