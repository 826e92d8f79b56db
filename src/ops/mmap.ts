// mmap(2) (do_mmap / mmap_region): creating a VMA, with MAP_FIXED replacing what was there and
// MAP_POPULATE faulting the range in. docs/semantics.md §7.
import { ErrnoError } from "../engine/errors.js";
import { ERRNO, PAGE_SIZE, PMD_SHIFT, PUD_SHIFT, PMD_SIZE } from "../engine/layout.js";
import { SimFile as File } from "../mm/file.js";
import type { MmapOptions, MmStruct } from "../mm/mm-struct.js";
import {
  MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_HUGETLB, MAP_HUGE_SHIFT, MAP_POPULATE, MAP_PRIVATE,
  MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE, Vma, hex, vmFlagsFor,
} from "../mm/vma.js";
import { populate } from "./access.js";
import { doMunmap } from "./munmap.js";

const PAGE = PAGE_SIZE;

/** mmap(): returns the address of the new mapping. Throws ErrnoError like the syscall fails. */
export function mmap(mm: MmStruct, o: MmapOptions): number {
  mm.checkAlive();
  return mm.withWriteLock(() => doMmap(mm, o));
}

/** mmap() with the mmap write lock already held. */
export function doMmap(mm: MmStruct, o: MmapOptions): number {
  const { prot, flags } = o;
  if (!Number.isSafeInteger(o.length) || o.length <= 0) throw new ErrnoError(-ERRNO.EINVAL, `mmap: bad length ${o.length}`);
  if (!(flags & (MAP_SHARED | MAP_PRIVATE)) || (flags & MAP_SHARED && flags & MAP_PRIVATE)) {
    throw new ErrnoError(-ERRNO.EINVAL, "mmap: exactly one of MAP_SHARED or MAP_PRIVATE is required");
  }
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) throw new ErrnoError(-ERRNO.EINVAL, `mmap: bad prot ${prot}`);
  const anon = (flags & MAP_ANONYMOUS) !== 0;
  if (!anon && !o.file && !o.device) throw new ErrnoError(-ERRNO.EINVAL, "mmap: a file mapping needs a file");
  const hugetlb = (flags & MAP_HUGETLB) !== 0;
  const hugeShift = hugetlb ? ((flags >>> MAP_HUGE_SHIFT) & 0x3f) || PMD_SHIFT : 0;
  if (hugetlb && hugeShift !== PMD_SHIFT && hugeShift !== PUD_SHIFT) {
    throw new ErrnoError(-ERRNO.EINVAL, `mmap: unsupported hugetlb page size 2^${hugeShift}`);
  }
  const align = hugetlb ? 2 ** hugeShift : PAGE;
  const length = Math.ceil(o.length / align) * align;
  const offset = o.offset ?? 0;
  if (offset % PAGE !== 0 || offset < 0) throw new ErrnoError(-ERRNO.EINVAL, "mmap: offset must be page aligned");
  let addr: number;
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    addr = o.addr ?? -1;
    mm.checkRange(addr, length, "mmap");
    if (addr % align !== 0) throw new ErrnoError(-ERRNO.EINVAL, "mmap: MAP_FIXED address not aligned");
    const clash = mm.vmas.some((v) => v.start < addr + length && v.end > addr);
    if (clash && flags & MAP_FIXED_NOREPLACE) throw new ErrnoError(-ERRNO.EEXIST, "mmap: MAP_FIXED_NOREPLACE over a mapping");
    if (clash) doMunmap(mm, addr, length);
  } else {
    addr = mm.getUnmappedArea(length, hugetlb ? align : length >= PMD_SIZE && anon ? PMD_SIZE : PAGE);
  }
  let file = o.file ?? null;
  if (anon && flags & MAP_SHARED) {
    file = new File(`shmem@${hex(addr)}`, length, hugetlb ? "hugetlbfs" : "shmem");
    file.internal = true;
  }
  if (anon && hugetlb && flags & MAP_PRIVATE) file = null;
  if (!anon && hugetlb && file && file.kind !== "hugetlbfs") throw new ErrnoError(-ERRNO.EINVAL, "mmap: MAP_HUGETLB on a non-hugetlbfs file");
  const vmFlags = (vmFlagsFor(prot, flags) | (o.vmFlags ?? 0)) >>> 0;
  const vma = new Vma(addr, addr + length, vmFlags, offset / PAGE, file, o.device ?? null, hugeShift);
  mm.insertVma(vma);
  mm.syncVmas();
  if (flags & MAP_POPULATE) populate(mm, addr, length, (prot & PROT_WRITE) !== 0);
  return addr;
}

