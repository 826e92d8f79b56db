// tools/testing/selftests/mm/hmm-tests.c, part 1: the hmm fixture's read, write, file and
// migration tests, one vitest test per kernel TEST_F (same name), both fixture variants, every
// profile the test exists in. Assertions are the kernel test's: return codes, cpages, faults, data.
import { describe, expect, it } from "vitest";
import {
  EFAULT,
  ENOENT,
  EPERM,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  SimFile,
  fork,
  madvise,
  type Profile,
} from "../../src/index.js";
import {
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
} from "../../src/drivers/dmirror/index.js";
import {
  ALIGN,
  HMM_BUFFER_SIZE,
  PAGE,
  PMD,
  VARIANTS,
  buffer,
  cpuInit,
  cpuMismatch,
  hmmDmirrorCmd,
  ints,
  intPattern,
  mirrorMismatch,
  setup,
  teardown,
} from "./harness.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const PROFILES: Profile[] = ["v6.1", "v6.16", "v6.19"];

describe.each(PROFILES)("%s", (profile) => {
  describe.each(VARIANTS)("hmm $name", (variant) => {
    const npages = HMM_BUFFER_SIZE / PAGE;
    const size = HMM_BUFFER_SIZE;

    it("hmm.open_close", () => {
      const f = setup(profile, variant);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.anon_read", () => {
      const f = setup(profile, variant);
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: ANON }), size);
      // pages 0 and 1 stay untouched
      const first = (2 * PAGE) / 4;
      cpuInit(f.mm, b.ptr + 2 * PAGE, size - 2 * PAGE, (i) => i, first);
      f.mm.mprotect(b.ptr, size, PROT_READ);
      // the zero page at page 1
      expect(f.mm.cpuReadU32(b.ptr + PAGE)).toBe(0);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_READ, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      expect(b.faults).toBe(1);
      expect(mirrorMismatch(b, (i) => (i < first ? 0 : i))).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.anon_read_prot", () => {
      const f = setup(profile, variant);
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: ANON }), size);
      cpuInit(f.mm, b.ptr, size, (i) => i);
      b.mirror.set(intPattern(size, (i) => -i));
      f.mm.mprotect(b.ptr, size, PROT_NONE);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_READ, b, npages)).toBe(EFAULT);
      f.mm.mprotect(b.ptr, size, PROT_READ);
      expect(cpuMismatch(f.mm, b.ptr, size, (i) => i)).toBe(-1);
      expect(mirrorMismatch(b, (i) => -i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.anon_write", () => {
      const f = setup(profile, variant);
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: ANON }), size);
      b.mirror.set(intPattern(size, (i) => i));
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_WRITE, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      expect(b.faults).toBe(1);
      expect(cpuMismatch(f.mm, b.ptr, size, (i) => i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.anon_write_prot", () => {
      const f = setup(profile, variant);
      const b = buffer(f.mm.mmap({ length: size, prot: PROT_READ, flags: ANON }), size);
      // the device reads the zero page
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_READ, b, 1)).toBe(0);
      expect(b.cpages).toBe(1);
      expect(b.faults).toBe(1);
      b.mirror.set(intPattern(size, (i) => i));
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_WRITE, b, npages)).toBe(EPERM);
      expect(cpuMismatch(f.mm, b.ptr, size, () => 0)).toBe(-1);
      f.mm.mprotect(b.ptr, size, RW);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_WRITE, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      expect(b.faults).toBe(1);
      expect(cpuMismatch(f.mm, b.ptr, size, (i) => i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.anon_write_child", () => {
      // v6.19 loops over migrate (device pages before fork) and use_thp (a PMD-sized THP buffer)
      const loops =
        profile === "v6.19"
          ? [
              [0, 0],
              [0, 1],
              [1, 0],
              [1, 1],
            ]
          : [[0, 0]];
      const f = setup(profile, variant);
      for (const [migrate, useThp] of loops) {
        const sz = useThp ? PMD : size;
        const n = sz / PAGE;
        const raw = f.mm.mmap({ length: 2 * sz, prot: RW, flags: ANON });
        const map = useThp ? ALIGN(raw, sz) : raw;
        if (useThp) madvise(f.mm, map, sz, MADV_HUGEPAGE);
        const b = buffer(map, sz);
        cpuInit(f.mm, map, sz, (i) => i);
        b.mirror.set(intPattern(sz, (i) => -i));
        if (migrate) {
          expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, n)).toBe(0);
          expect(b.cpages).toBe(n);
        }
        const child = fork(f.mm);
        // the child runs to completion before the parent's waitpid() returns
        {
          const cb = { ...b, mirror: b.mirror.slice() };
          expect(cpuMismatch(child, map, sz, (i) => i)).toBe(-1);
          if (!migrate) expect(mirrorMismatch(cb, (i) => -i)).toBe(-1);
          const childFd = f.driver.open(0, child);
          expect(hmmDmirrorCmd(childFd, HMM_DMIRROR_WRITE, cb, n)).toBe(0);
          expect(cb.cpages).toBe(n);
          expect(cb.faults).toBe(1);
          if (!migrate) expect(cpuMismatch(child, map, sz, (i) => -i)).toBe(-1);
          expect(childFd.close()).toBe(0);
          child.exit();
        }
        expect(cpuMismatch(f.mm, map, sz, (i) => i)).toBe(-1);
        f.mm.munmap(raw, 2 * sz);
      }
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.anon_write_child_shared", () => {
      const f = setup(profile, variant);
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: MAP_SHARED | MAP_ANONYMOUS }), size);
      cpuInit(f.mm, b.ptr, size, (i) => i);
      b.mirror.set(intPattern(size, (i) => -i));
      const child = fork(f.mm);
      {
        const cb = { ...b, mirror: b.mirror.slice() };
        expect(cpuMismatch(child, cb.ptr, size, (i) => i)).toBe(-1);
        expect(mirrorMismatch(cb, (i) => -i)).toBe(-1);
        const childFd = f.driver.open(0, child);
        expect(hmmDmirrorCmd(childFd, HMM_DMIRROR_WRITE, cb, npages)).toBe(0);
        expect(cb.cpages).toBe(npages);
        expect(cb.faults).toBe(1);
        expect(cpuMismatch(child, cb.ptr, size, (i) => -i)).toBe(-1);
        expect(childFd.close()).toBe(0);
        child.exit();
      }
      // no COW: the parent sees what the child's device wrote
      expect(cpuMismatch(f.mm, b.ptr, size, (i) => -i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.anon_write_huge", () => {
      const f = setup(profile, variant);
      const ptr = f.mm.mmap({ length: 2 * PMD, prot: RW, flags: ANON });
      const map = ALIGN(ptr, PMD);
      madvise(f.mm, map, PMD, MADV_HUGEPAGE);
      const b = buffer(map, PMD);
      b.mirror.set(intPattern(PMD, (i) => i));
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_WRITE, b, PMD / PAGE)).toBe(0);
      expect(b.cpages).toBe(PMD / PAGE);
      expect(b.faults).toBe(1);
      expect(cpuMismatch(f.mm, map, PMD, (i) => i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.anon_write_hugetlbfs", () => {
      const f = setup(profile, variant);
      // HUGETLB_SETUP_DEFAULT_PAGES(1)
      f.engine.setHugetlbPages(21, 1);
      const b = buffer(f.mm.mmap({ length: PMD, prot: RW, flags: ANON | MAP_HUGETLB }), PMD);
      b.mirror.set(intPattern(PMD, (i) => i));
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_WRITE, b, PMD / PAGE)).toBe(0);
      expect(b.cpages).toBe(PMD / PAGE);
      expect(b.faults).toBe(1);
      expect(cpuMismatch(f.mm, b.ptr, PMD, (i) => i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.file_read", () => {
      const f = setup(profile, variant);
      // a temporary file written with pwrite()
      const file = new SimFile(
        "hmm-test-tmpfile",
        size,
        "regular",
        intPattern(size, (i) => i),
      );
      const b = buffer(f.mm.mmap({ length: size, prot: PROT_READ, flags: MAP_SHARED, file }), size);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_READ, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      expect(b.faults).toBe(1);
      expect(mirrorMismatch(b, (i) => i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.file_write", () => {
      const f = setup(profile, variant);
      const file = new SimFile("hmm-test-tmpfile", size, "regular");
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: MAP_SHARED, file }), size);
      b.mirror.set(intPattern(size, (i) => i));
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_WRITE, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      expect(b.faults).toBe(1);
      expect(cpuMismatch(f.mm, b.ptr, size, (i) => i)).toBe(-1);
      // pread(): the data reached the file's page cache
      const back = new Uint8Array(size);
      for (let p = 0; p < npages; p++)
        f.engine.readFrame(file.pageCache.get(p)!, 0, back.subarray(p * PAGE, (p + 1) * PAGE));
      expect(ints(back).findIndex((v, i) => v !== i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.migrate", () => {
      const f = setup(profile, variant);
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: ANON }), size);
      cpuInit(f.mm, b.ptr, size, (i) => i);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      expect(mirrorMismatch(b, (i) => i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.migrate_fault", () => {
      const f = setup(profile, variant);
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: ANON }), size);
      cpuInit(f.mm, b.ptr, size, (i) => i);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      expect(mirrorMismatch(b, (i) => i)).toBe(-1);
      // fault half the pages back to system memory
      expect(cpuMismatch(f.mm, b.ptr, size / 2, (i) => i)).toBe(-1);
      b.mirror.fill(0);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      expect(mirrorMismatch(b, (i) => i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.migrate_shared", () => {
      const f = setup(profile, variant);
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: MAP_SHARED | MAP_ANONYMOUS }), size);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(ENOENT);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.migrate_multiple", () => {
      const f = setup(profile, variant);
      for (let c = 0; c < 10; c++) {
        const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: ANON }), size);
        cpuInit(f.mm, b.ptr, size, (i) => i);
        expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
        expect(b.cpages).toBe(npages);
        expect(mirrorMismatch(b, (i) => i)).toBe(-1);
        if (variant.name === "device_coherent") {
          expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_SYS, b, npages)).toBe(0);
          expect(b.cpages).toBe(npages);
        }
        expect(cpuMismatch(f.mm, b.ptr, size, (i) => i)).toBe(-1);
        f.mm.munmap(b.ptr, size);
      }
      // munmap freed every device page (page_free)
      expect(f.fd.device.pagesInUse).toBe(0);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.anon_read_multiple", () => {
      const f = setup(profile, variant);
      for (let c = 0; c < 10; c++) {
        const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: ANON }), size);
        cpuInit(f.mm, b.ptr, size, (i) => i + c);
        expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_READ, b, npages)).toBe(0);
        expect(b.cpages).toBe(npages);
        expect(b.faults).toBe(1);
        expect(mirrorMismatch(b, (i) => i + c)).toBe(-1);
        f.mm.munmap(b.ptr, size);
      }
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.mixedmap", () => {
      const f = setup(profile, variant);
      // mmap of the device file: the driver vm_insert_page()s a zeroed page
      const b = buffer(f.fd.mmap(PAGE, PROT_READ, MAP_PRIVATE), PAGE, 1);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_SNAPSHOT, b, 1)).toBe(0);
      expect(b.cpages).toBe(1);
      expect(b.mirror[0]).toBe(HMM_DMIRROR_PROT_READ);
      expect(teardown(f)).toEqual([0, 0]);
    });
  });
});
