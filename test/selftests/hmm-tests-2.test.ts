// tools/testing/selftests/mm/hmm-tests.c, part 2: the hmm2 fixture (two devices), snapshots,
// hugetlb orders, device-exclusive access, GUP, COW of device pages, and anon_teardown's race as
// deterministic interleavings. Same rules as part 1: kernel names, kernel assertions.
import { describe, expect, it } from "vitest";
import {
  EINVAL,
  ENOENT,
  EPERM,
  FOLL_LONGTERM,
  FOLL_WRITE,
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_PRIVATE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  SimFile,
  fork,
  getUserPages,
  pinUserPages,
  putUserPages,
  unpinUserPages,
  type Mm,
  type Profile,
} from "../../src/index.js";
import {
  HMM_DMIRROR_CHECK_EXCLUSIVE,
  HMM_DMIRROR_EXCLUSIVE,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL,
  HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE,
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_RELEASE,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
} from "../../src/drivers/dmirror/index.js";
import {
  HMM_BUFFER_SIZE,
  PAGE,
  PMD,
  VARIANTS,
  buffer,
  cpuInit,
  cpuMismatch,
  hmmDmirrorCmd,
  intPattern,
  ints,
  mirrorMismatch,
  setup,
  teardown,
} from "./harness.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const npages = HMM_BUFFER_SIZE / PAGE;
const size = HMM_BUFFER_SIZE;
/** Tests of the seed suite run in every profile; later ones from the profile of their kernel. */
const ALL: Profile[] = ["v6.1", "v6.16", "v6.19"];
const SINCE_6_2: Profile[] = ["v6.16", "v6.19"];

/** `for (i...) ASSERT_EQ(ptr[i]++, i)` then `ASSERT_EQ(ptr[i], i + 1)`, page by page. */
function incrementAll(mm: Mm, addr: number, bytes: number): number {
  for (let off = 0; off < bytes; off += PAGE) {
    const v = ints(mm.cpuRead(addr + off, PAGE));
    const first = off / 4;
    for (let k = 0; k < v.length; k++) if (v[k] !== first + k) return first + k;
    mm.cpuWrite(
      addr + off,
      intPattern(PAGE, (k) => first + k + 1),
    );
  }
  return cpuMismatch(mm, addr, bytes, (i) => i + 1);
}

describe.each(VARIANTS)("hmm $name", (variant) => {
  const coherent = variant.name === "device_coherent";

  describe.each(SINCE_6_2)("%s", (profile) => {
    it("hmm.migrate_file_private", () => {
      const f = setup(profile, variant);
      const file = new SimFile("hmm-test-tmpfile", size, "regular");
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: MAP_PRIVATE, file }), size);
      // private COW pages of a file are anonymous: they migrate
      cpuInit(f.mm, b.ptr, size, (i) => i);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      expect(mirrorMismatch(b, (i) => i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.migrate_release", () => {
      const f = setup(profile, variant);
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: ANON }), size);
      cpuInit(f.mm, b.ptr, size, (i) => i);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      expect(mirrorMismatch(b, (i) => i)).toBe(-1);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_RELEASE, b, npages)).toBe(0);
      expect(cpuMismatch(f.mm, b.ptr, size / 2, (i) => i)).toBe(-1);
      expect(f.fd.device.pagesInUse).toBe(0);
      expect(teardown(f)).toEqual([0, 0]);
    });
  });

  describe.each(ALL)("%s", (profile) => {
    it("hmm2.migrate_mixed", () => {
      const f = setup(profile, variant);
      const n = 6;
      const p = f.mm.mmap({ length: n * PAGE, prot: PROT_NONE, flags: ANON });
      const b = buffer(p, n * PAGE);
      expect(hmmDmirrorCmd(f.fd1, HMM_DMIRROR_MIGRATE_TO_DEV, b, n)).toBe(EINVAL);
      f.mm.munmap(p + PAGE, PAGE);
      expect(hmmDmirrorCmd(f.fd1, HMM_DMIRROR_MIGRATE_TO_DEV, b, 3)).toBe(EINVAL);
      f.mm.mprotect(p + 2 * PAGE, PAGE, PROT_READ);
      expect(f.mm.cpuReadU32(p + 2 * PAGE) + 3).toBe(3);
      f.mm.mprotect(p + 3 * PAGE, PAGE, RW);
      f.mm.cpuWriteU32(p + 3 * PAGE, 3);
      f.mm.mprotect(p + 3 * PAGE, PAGE, PROT_READ);
      f.mm.mprotect(p + 4 * PAGE, 2 * PAGE, RW);
      f.mm.cpuWriteU32(p + 4 * PAGE, 3);
      f.mm.cpuWriteU32(p + 5 * PAGE, 3);
      b.ptr = p + 2 * PAGE;
      expect(hmmDmirrorCmd(f.fd1, HMM_DMIRROR_MIGRATE_TO_DEV, b, 4)).toBe(0);
      expect(b.cpages).toBe(4);
      // page 5 belongs to device 1: SELECT_SYSTEM does not take it, device 0 maps nothing
      b.ptr = p + 5 * PAGE;
      expect(hmmDmirrorCmd(f.fd0, HMM_DMIRROR_MIGRATE_TO_DEV, b, 1)).toBe(ENOENT);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.anon_teardown", () => {
      // the racing thread's munmap of the second half, at every point the kernel lets it run:
      // before the ioctl (also with buffer->ptr already NULL), before each fault chunk, between
      // each chunk's walk and its commit, and after the ioctl
      type Point = { kind: "before" | "before-null" | "after" } | { kind: "chunk" | "walk"; k: number };
      const points: Point[] = [{ kind: "before" }, { kind: "before-null" }, { kind: "after" }];
      for (let k = 0; k < npages / 64; k++) points.push({ kind: "chunk", k }, { kind: "walk", k });
      const f = setup(profile, variant);
      let successes = 0;
      let failures = 0;
      points.forEach((pt, c) => {
        const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: ANON }), size);
        cpuInit(f.mm, b.ptr, size, (i) => i + c);
        let done = false;
        const unmap = (): void => {
          if (done) return;
          done = true;
          f.mm.munmap(b.ptr + size / 2, size / 2);
        };
        let n = 0;
        let w = 0;
        f.fd.hooks.beforeChunk = () => {
          if (pt.kind === "chunk" && n++ === pt.k) unmap();
        };
        f.fd.hooks.afterWalk = () => {
          if (pt.kind === "walk" && w++ === pt.k) unmap();
        };
        if (pt.kind === "before") unmap();
        const addr = pt.kind === "before-null" ? (unmap(), 0) : b.ptr;
        const rc = hmmDmirrorCmd(f.fd, HMM_DMIRROR_READ, b, npages, addr);
        if (rc === 0) {
          successes++;
          expect(b.cpages).toBe(npages);
          expect(b.faults).toBe(1);
          expect(mirrorMismatch(b, (i) => i + c)).toBe(-1);
        } else {
          failures++;
        }
        unmap();
        f.fd.hooks.beforeChunk = undefined;
        f.fd.hooks.afterWalk = undefined;
        f.mm.munmap(b.ptr, size);
      });
      // both outcomes happen: the unmap after the read, or in the first half's chunks, lets it succeed
      expect(successes).toBeGreaterThan(0);
      expect(failures).toBeGreaterThan(0);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm2.snapshot", () => {
      const f = setup(profile, variant);
      const n = 7;
      const p = f.mm.mmap({ length: n * PAGE, prot: PROT_NONE, flags: ANON });
      const b = buffer(p, n * PAGE);
      f.mm.munmap(p + PAGE, PAGE);
      f.mm.mprotect(p + 2 * PAGE, PAGE, PROT_READ);
      expect(f.mm.cpuReadU32(p + 2 * PAGE) + 3).toBe(3);
      f.mm.mprotect(p + 3 * PAGE, PAGE, RW);
      f.mm.cpuWriteU32(p + 3 * PAGE, 3);
      f.mm.mprotect(p + 3 * PAGE, PAGE, PROT_READ);
      f.mm.mprotect(p + 4 * PAGE, 3 * PAGE, RW);
      f.mm.cpuWriteU32(p + 4 * PAGE, 3);
      b.ptr = p + 5 * PAGE;
      expect(hmmDmirrorCmd(f.fd0, HMM_DMIRROR_MIGRATE_TO_DEV, b, 1)).toBe(0);
      expect(b.cpages).toBe(1);
      b.ptr = p + 6 * PAGE;
      expect(hmmDmirrorCmd(f.fd1, HMM_DMIRROR_MIGRATE_TO_DEV, b, 1)).toBe(0);
      expect(b.cpages).toBe(1);
      b.ptr = p;
      expect(hmmDmirrorCmd(f.fd0, HMM_DMIRROR_SNAPSHOT, b, n)).toBe(0);
      expect(b.cpages).toBe(n);
      const m = [...b.mirror.subarray(0, n)];
      expect(m.slice(0, 5)).toEqual([
        HMM_DMIRROR_PROT_ERROR,
        HMM_DMIRROR_PROT_ERROR,
        HMM_DMIRROR_PROT_ZERO | HMM_DMIRROR_PROT_READ,
        HMM_DMIRROR_PROT_READ,
        HMM_DMIRROR_PROT_WRITE,
      ]);
      if (!coherent) {
        expect(m.slice(5)).toEqual([
          HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE,
          HMM_DMIRROR_PROT_NONE,
        ]);
      } else {
        expect(m.slice(5)).toEqual([
          HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL | HMM_DMIRROR_PROT_WRITE,
          HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE | HMM_DMIRROR_PROT_WRITE,
        ]);
      }
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.compound", () => {
      const f = setup(profile, variant);
      f.engine.setHugetlbPages(21, 1);
      const n = PMD / PAGE;
      const b = buffer(f.mm.mmap({ length: PMD, prot: RW, flags: ANON | MAP_HUGETLB }), PMD, n);
      cpuInit(f.mm, b.ptr, PMD, (i) => i);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_SNAPSHOT, b, n)).toBe(0);
      expect(b.cpages).toBe(n);
      expect(b.mirror.every((x) => x === (HMM_DMIRROR_PROT_WRITE | HMM_DMIRROR_PROT_PMD))).toBe(true);
      f.mm.mprotect(b.ptr, PMD, PROT_READ);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_SNAPSHOT, b, n)).toBe(0);
      expect(b.cpages).toBe(n);
      expect(b.mirror.every((x) => x === (HMM_DMIRROR_PROT_READ | HMM_DMIRROR_PROT_PMD))).toBe(true);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm2.double_map", () => {
      const f = setup(profile, variant);
      const n = 6;
      const b = buffer(f.mm.mmap({ length: n * PAGE, prot: RW, flags: ANON }), n * PAGE);
      cpuInit(f.mm, b.ptr, n * PAGE, (i) => i);
      f.mm.mprotect(b.ptr, n * PAGE, PROT_READ);
      for (const fd of [f.fd0, f.fd1]) {
        expect(hmmDmirrorCmd(fd, HMM_DMIRROR_READ, b, n)).toBe(0);
        expect(b.cpages).toBe(n);
        expect(b.faults).toBe(1);
        expect(mirrorMismatch(b, (i) => i)).toBe(-1);
      }
      expect(hmmDmirrorCmd(f.fd1, HMM_DMIRROR_MIGRATE_TO_DEV, b, n)).toBe(0);
      expect(b.cpages).toBe(n);
      expect(mirrorMismatch(b, (i) => i)).toBe(-1);
      b.mirror.fill(0);
      expect(hmmDmirrorCmd(f.fd0, HMM_DMIRROR_READ, b, n)).toBe(0);
      expect(b.cpages).toBe(n);
      expect(b.faults).toBe(1);
      expect(mirrorMismatch(b, (i) => i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.exclusive", () => {
      const f = setup(profile, variant);
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: ANON }), size);
      cpuInit(f.mm, b.ptr, size, (i) => i);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_EXCLUSIVE, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      expect(mirrorMismatch(b, (i) => i)).toBe(-1);
      expect(incrementAll(f.mm, b.ptr, size)).toBe(-1);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_CHECK_EXCLUSIVE, b, npages)).toBe(0);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.exclusive_mprotect", () => {
      const f = setup(profile, variant);
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: ANON }), size);
      cpuInit(f.mm, b.ptr, size, (i) => i);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_EXCLUSIVE, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      expect(mirrorMismatch(b, (i) => i)).toBe(-1);
      f.mm.mprotect(b.ptr, size, PROT_READ);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_WRITE, b, npages)).toBe(EPERM);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.exclusive_cow", () => {
      const f = setup(profile, variant);
      const b = buffer(f.mm.mmap({ length: size, prot: RW, flags: ANON }), size);
      cpuInit(f.mm, b.ptr, size, (i) => i);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_EXCLUSIVE, b, npages)).toBe(0);
      expect(b.cpages).toBe(npages);
      const child = fork(f.mm);
      // both processes run the checks (the seed test's bare fork)
      expect(incrementAll(child, b.ptr, size)).toBe(-1);
      child.exit();
      expect(incrementAll(f.mm, b.ptr, size)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.hmm_gup_test", () => {
      const f = setup(profile, variant);
      const n = 4;
      const b = buffer(f.mm.mmap({ length: n * PAGE, prot: RW, flags: ANON }), n * PAGE);
      cpuInit(f.mm, b.ptr, n * PAGE, (i) => i);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, n)).toBe(0);
      expect(b.cpages).toBe(n);
      expect(mirrorMismatch(b, (i) => i)).toBe(-1);
      // gup_test: GUP_BASIC_TEST, GUP_FAST_BENCHMARK, PIN_FAST_BENCHMARK | FOLL_LONGTERM,
      // PIN_LONGTERM_BENCHMARK, one page each, every call with FOLL_WRITE; pages released after
      const g0 = getUserPages(f.mm, b.ptr, 1, FOLL_WRITE);
      expect(g0.ret).toBe(1);
      putUserPages(f.mm, g0.pages);
      const g1 = getUserPages(f.mm, b.ptr + PAGE, 1, FOLL_WRITE);
      expect(g1.ret).toBe(1);
      putUserPages(f.mm, g1.pages);
      const g2 = pinUserPages(f.mm, b.ptr + 2 * PAGE, 1, FOLL_WRITE | FOLL_LONGTERM);
      expect(g2.ret).toBe(1);
      unpinUserPages(f.mm, g2.pages);
      const g3 = pinUserPages(f.mm, b.ptr + 3 * PAGE, 1, FOLL_WRITE | FOLL_LONGTERM);
      expect(g3.ret).toBe(1);
      unpinUserPages(f.mm, g3.pages);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_SNAPSHOT, b, n)).toBe(0);
      expect(b.cpages).toBe(n);
      const m = [...b.mirror.subarray(0, n)];
      if (coherent) {
        const local = HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL | HMM_DMIRROR_PROT_WRITE;
        expect(m).toEqual([local, local, HMM_DMIRROR_PROT_WRITE, HMM_DMIRROR_PROT_WRITE]);
      } else {
        expect(m).toEqual([2, 2, 2, 2].map(() => HMM_DMIRROR_PROT_WRITE));
      }
      expect(cpuMismatch(f.mm, b.ptr, n * PAGE, (i) => i)).toBe(-1);
      expect(teardown(f)).toEqual([0, 0]);
    });

    it("hmm.hmm_cow_in_device", () => {
      const f = setup(profile, variant);
      const n = 4;
      const b = buffer(f.mm.mmap({ length: n * PAGE, prot: RW, flags: ANON }), n * PAGE);
      cpuInit(f.mm, b.ptr, n * PAGE, (i) => i);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, n)).toBe(0);
      expect(b.cpages).toBe(n);
      // the child spins until killed; the parent writes every page (COW, after migrate_to_ram)
      const child = fork(f.mm);
      cpuInit(f.mm, b.ptr, n * PAGE, (i) => i);
      child.exit();
      expect(child.exited).toBe(true);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_SNAPSHOT, b, n)).toBe(0);
      expect(b.cpages).toBe(n);
      expect([...b.mirror.subarray(0, n)]).toEqual([0, 0, 0, 0].map(() => HMM_DMIRROR_PROT_WRITE));
      expect(teardown(f)).toEqual([0, 0]);
    });
  });
});
