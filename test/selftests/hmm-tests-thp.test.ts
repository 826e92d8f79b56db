// tools/testing/selftests/mm/hmm-tests.c, part 3: the device-private THP tests of v6.19
// (migrate_anon_huge_*, migrate_partial_unmap_fault, migrate_remap_fault, the FAIL_ALLOC
// fallbacks, benchmark_thp_migration without its timings), in the "v6.19" profile, both fixture
// variants (coherent devices migrate page by page: device-coherent THP is not modelled).
import { describe, expect, it } from "vitest";
import {
  MADV_COLLAPSE,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PM_PRESENT,
  PM_SWAP,
  PROT_READ,
  PROT_WRITE,
  madvise,
  mremap,
  pagemapRead,
} from "../../src/index.js";
import {
  HMM_DMIRROR_FLAGS,
  HMM_DMIRROR_FLAG_FAIL_ALLOC,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_SNAPSHOT,
} from "../../src/drivers/dmirror/index.js";
import {
  ALIGN,
  PAGE,
  PMD,
  VARIANTS,
  buffer,
  cpuInit,
  cpuMismatch,
  hmmDmirrorCmd,
  mirrorMismatch,
  setup,
  teardown,
  type Fixture,
} from "./harness.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const npages = PMD / PAGE;

/** mmap(2 * PMD) and the PMD-aligned address inside it. */
function hugeArea(f: Fixture, prot: number): { ptr: number; map: number } {
  const ptr = f.mm.mmap({ length: 2 * PMD, prot, flags: ANON });
  return { ptr, map: ALIGN(ptr, PMD) };
}

describe.each(VARIANTS)("v6.19 hmm $name", (variant) => {
  const profile = "v6.19" as const;
  const coherent = variant.name === "device_coherent";

  it("hmm.migrate_anon_huge_empty", () => {
    const f = setup(profile, variant);
    const { map } = hugeArea(f, PROT_READ);
    madvise(f.mm, map, PMD, MADV_HUGEPAGE);
    const b = buffer(map, PMD);
    b.mirror.fill(0xff);
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
    expect(b.cpages).toBe(npages);
    expect(mirrorMismatch(b, () => 0)).toBe(-1);
    expect(teardown(f)).toEqual([0, 0]);
  });

  it("hmm.migrate_anon_huge_zero", () => {
    const f = setup(profile, variant);
    const { map } = hugeArea(f, PROT_READ);
    madvise(f.mm, map, PMD, MADV_HUGEPAGE);
    const b = buffer(map, PMD);
    b.mirror.fill(0xff);
    // the huge zero page
    expect(f.mm.cpuReadU32(map)).toBe(0);
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
    expect(b.cpages).toBe(npages);
    expect(mirrorMismatch(b, () => 0)).toBe(-1);
    // fault the device THP back
    expect(cpuMismatch(f.mm, map, PMD, () => 0)).toBe(-1);
    expect(teardown(f)).toEqual([0, 0]);
  });

  it("hmm.migrate_anon_huge_free", () => {
    const f = setup(profile, variant);
    const { map } = hugeArea(f, RW);
    madvise(f.mm, map, PMD, MADV_HUGEPAGE);
    const b = buffer(map, PMD);
    cpuInit(f.mm, map, PMD, (i) => i);
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
    expect(b.cpages).toBe(npages);
    expect(mirrorMismatch(b, (i) => i)).toBe(-1);
    expect(() => madvise(f.mm, map, PMD, MADV_FREE)).not.toThrow();
    expect(teardown(f)).toEqual([0, 0]);
  });

  it("hmm.migrate_anon_huge_fault", () => {
    const f = setup(profile, variant);
    const { map } = hugeArea(f, RW);
    const b = buffer(map, PMD);
    cpuInit(f.mm, map, PMD, (i) => i);
    expect(() => madvise(f.mm, map, PMD, MADV_COLLAPSE)).not.toThrow();
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
    expect(b.cpages).toBe(npages);
    expect(mirrorMismatch(b, (i) => i)).toBe(-1);
    if (!coherent) {
      const s = buffer(map, PMD, npages);
      expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_SNAPSHOT, s, npages)).toBe(0);
      expect(s.cpages).toBe(npages);
      const want = HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE | HMM_DMIRROR_PROT_PMD;
      expect(want).toBe(0x26);
      expect(s.mirror.findIndex((x) => x !== want)).toBe(-1);
      // /proc/self/pagemap: device-private entries are swap entries, never present
      const pm = pagemapRead(f.mm, map, npages);
      expect(pm.findIndex((w) => (w & PM_SWAP) === 0n || (w & PM_PRESENT) !== 0n)).toBe(-1);
    }
    expect(cpuMismatch(f.mm, map, PMD, (i) => i)).toBe(-1);
    expect(teardown(f)).toEqual([0, 0]);
  });

  it("hmm.migrate_partial_unmap_fault", () => {
    for (const useThp of [false, true]) {
      for (const offset of [0, PMD / 4, PMD / 2]) {
        const f = setup(profile, variant);
        const { map } = hugeArea(f, RW);
        madvise(f.mm, map, PMD, useThp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
        const b = buffer(map, PMD);
        cpuInit(f.mm, map, PMD, (i) => i);
        expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
        expect(b.cpages).toBe(npages);
        expect(mirrorMismatch(b, (i) => i)).toBe(-1);
        f.mm.munmap(map + offset, PMD / 2);
        // every int outside the unmapped part still reads i
        if (offset > 0) expect(cpuMismatch(f.mm, map, offset, (i) => i)).toBe(-1);
        const after = offset + PMD / 2;
        if (after < PMD) expect(cpuMismatch(f.mm, map + after, PMD - after, (i) => i, after / 4)).toBe(-1);
        expect(teardown(f)).toEqual([0, 0]);
      }
    }
  });

  it("hmm.migrate_anon_huge_err", () => {
    const f = setup(profile, variant);
    let { ptr, map } = hugeArea(f, RW);
    madvise(f.mm, map, PMD, MADV_HUGEPAGE);
    const b = buffer(map, PMD);
    cpuInit(f.mm, map, PMD, (i) => i);
    // migrate to the device but make the THP allocation fail: small pages instead
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_FLAGS, b, HMM_DMIRROR_FLAG_FAIL_ALLOC)).toBe(0);
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
    expect(b.cpages).toBe(npages);
    expect(mirrorMismatch(b, (i) => i)).toBe(-1);
    // fault back a single page
    expect(f.mm.cpuReadU32(map + 2048 * 4)).toBe(2048);
    // start again: a device THP, and a failing THP allocation on the way back
    f.mm.munmap(ptr, 2 * PMD);
    ({ ptr, map } = hugeArea(f, RW));
    madvise(f.mm, map, PMD, MADV_HUGEPAGE);
    b.ptr = map;
    cpuInit(f.mm, map, PMD, (i) => i);
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
    expect(b.cpages).toBe(npages);
    expect(mirrorMismatch(b, (i) => i)).toBe(-1);
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_FLAGS, b, HMM_DMIRROR_FLAG_FAIL_ALLOC)).toBe(0);
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_SYS, b, npages)).toBe(0);
    expect(f.mm.cpuReadU32(map + 2048 * 4)).toBe(2048);
    expect(teardown(f)).toEqual([0, 0]);
  });

  it("hmm.migrate_anon_huge_zero_err", () => {
    const f = setup(profile, variant);
    let { ptr, map } = hugeArea(f, PROT_READ);
    madvise(f.mm, map, PMD, MADV_HUGEPAGE);
    const b = buffer(map, PMD);
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_FLAGS, b, HMM_DMIRROR_FLAG_FAIL_ALLOC)).toBe(0);
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
    expect(b.cpages).toBe(npages);
    expect(mirrorMismatch(b, () => 0)).toBe(-1);
    expect(f.mm.cpuReadU32(map + 2048 * 4)).toBe(0);
    f.mm.munmap(ptr, 2 * PMD);
    ({ ptr, map } = hugeArea(f, PROT_READ));
    madvise(f.mm, map, PMD, MADV_HUGEPAGE);
    b.ptr = map;
    // the huge zero page
    expect(f.mm.cpuReadU32(map)).toBe(0);
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_FLAGS, b, HMM_DMIRROR_FLAG_FAIL_ALLOC)).toBe(0);
    expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
    expect(b.cpages).toBe(npages);
    expect(cpuMismatch(f.mm, map, PMD, () => 0)).toBe(-1);
    expect(teardown(f)).toEqual([0, 0]);
  });

  it("hmm.migrate_remap_fault", () => {
    for (const before of [false, true]) {
      for (const dontUnmap of [false, true]) {
        for (const useThp of [false, true]) {
          for (const offset of [0, PMD / 4, PMD / 2]) {
            const f = setup(profile, variant);
            const ptr = f.mm.mmap({ length: 8 * PMD, prot: RW, flags: ANON });
            const map = ALIGN(ptr, PMD);
            madvise(f.mm, map, PMD, useThp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
            // room for the destination
            f.mm.munmap(map + PMD, 2 * PMD);
            cpuInit(f.mm, map, PMD, (i) => i);
            const flags = MREMAP_MAYMOVE | MREMAP_FIXED | (dontUnmap ? MREMAP_DONTUNMAP : 0);
            const dest = map + PMD + offset;
            const b = buffer(map, PMD);
            if (before) {
              expect(mremap(f.mm, map, PMD, PMD, flags, dest)).toBe(dest);
              b.ptr = dest;
            }
            expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages)).toBe(0);
            expect(b.cpages).toBe(npages);
            expect(mirrorMismatch(b, (i) => i)).toBe(-1);
            if (!before) expect(mremap(f.mm, map, PMD, PMD, flags, dest)).toBe(dest);
            expect(cpuMismatch(f.mm, dest, PMD, (i) => i)).toBe(-1);
            expect(teardown(f)).toEqual([0, 0]);
          }
        }
      }
    }
  });

  it("hmm.benchmark_thp_migration", () => {
    // the kernel test's ioctl sequence without its timings (bench/thp-migration.ts has those):
    // every run migrates every page both ways and returns 0
    for (const size of [PMD / 4, PMD / 2, PMD, 2 * PMD]) {
      for (const useThp of [true, false]) {
        const f = setup(profile, variant);
        const raw = f.mm.mmap({ length: size + PMD, prot: RW, flags: ANON });
        const map = ALIGN(raw, PMD);
        madvise(f.mm, map, size, useThp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
        cpuInit(f.mm, map, size, (i) => i);
        const b = buffer(map, size);
        const n = size / PAGE;
        for (let round = 0; round < 6; round++) {
          expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, n)).toBe(0);
          expect(b.cpages).toBe(n);
          expect(hmmDmirrorCmd(f.fd, HMM_DMIRROR_MIGRATE_TO_SYS, b, n)).toBe(0);
          expect(b.cpages).toBe(n);
        }
        expect(cpuMismatch(f.mm, map, size, (i) => i)).toBe(-1);
        expect(teardown(f)).toEqual([0, 0]);
      }
    }
  });
});
