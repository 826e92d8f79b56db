// mmap(2) (do_mmap / mmap_region): creating a VMA, with MAP_FIXED replacing what was there and
// MAP_POPULATE faulting the range in. docs/semantics.md §7.
import { ArgumentTypeError, ErrnoError, InvalidArgumentError } from "../engine/errors.js";
import { argBits, argOptions, argULong } from "../engine/validate.js";
import { ERRNO, PAGE_SIZE, PMD_SHIFT, PMD_SIZE, PUD_SHIFT } from "../engine/layout.js";
import { SimFile as File } from "../mm/file.js";
import type { MmStruct } from "../mm/mm-struct.js";
import type { MmapOptions } from "../mm/mm-types.js";
import { getUnmappedArea, vmaLink } from "../mm/vma-list.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_HUGETLB,
  MAP_HUGE_SHIFT,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  Vma,
  hex,
  vmFlagsFor,
} from "../mm/vma.js";
import { populate } from "./access.js";
import { doMunmap } from "./munmap.js";

const PAGE = PAGE_SIZE;

/** mmap(): returns the address of the new mapping. Throws ErrnoError like the syscall fails. */
export function mmap(mm: MmStruct, o: MmapOptions): number {
  checkMmapArgs(mm, o);
  return mm.withWriteLock(() => doMmap(mm, o));
}

/** The types of mmap's arguments (the kernel's own checks, with their errnos, follow in doMmap). */
function checkMmapArgs(mm: MmStruct, o: MmapOptions): void {
  const fn = "mmap";
  argOptions(fn, "options", o);
  if (o === undefined) throw new ArgumentTypeError(fn, "options", "must be an object", o);
  mm.checkAlive(fn);
  argULong(fn, "length", o.length);
  argBits(fn, "prot", o.prot);
  argBits(fn, "flags", o.flags);
  if (o.addr !== undefined) argULong(fn, "addr", o.addr);
  if (o.offset !== undefined) argULong(fn, "offset", o.offset);
  if (o.vmFlags !== undefined) argBits(fn, "vmFlags", o.vmFlags);
  if (o.file !== undefined && !(o.file instanceof File))
    throw new ArgumentTypeError(fn, "file", "must be a SimFile", o.file);
  if (o.device !== undefined && (typeof o.device !== "object" || o.device === null))
    throw new ArgumentTypeError(fn, "device", "must be a Device", o.device);
  if ((o.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0 && o.addr === undefined) {
    throw new InvalidArgumentError(fn, "addr", "is required with MAP_FIXED / MAP_FIXED_NOREPLACE");
  }
}

/** mmap() with the mmap write lock already held. */
export function doMmap(mm: MmStruct, o: MmapOptions): number {
  checkMmapArgs(mm, o);
  mm.assertWriteLocked("mmap");
  const { prot, flags } = o;
  if (o.length <= 0) throw new ErrnoError(-ERRNO.EINVAL, `mmap: bad length ${o.length}`);
  if (o.length > mm.taskSize) throw new ErrnoError(-ERRNO.ENOMEM, `mmap: length ${o.length} exceeds the address space`);
  if (!(flags & (MAP_SHARED | MAP_PRIVATE)) || (flags & MAP_SHARED && flags & MAP_PRIVATE)) {
    throw new ErrnoError(-ERRNO.EINVAL, "mmap: exactly one of MAP_SHARED or MAP_PRIVATE is required");
  }
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) throw new ErrnoError(-ERRNO.EINVAL, `mmap: bad prot ${prot}`);
  const anon = (flags & MAP_ANONYMOUS) !== 0;
  if (!anon && !o.file && !o.device) throw new ErrnoError(-ERRNO.EINVAL, "mmap: a file mapping needs a file");
  const hugetlb = (flags & MAP_HUGETLB) !== 0;
  const hugeShift = hugetlb ? (flags >>> MAP_HUGE_SHIFT) & 0x3f || PMD_SHIFT : 0;
  if (hugetlb && hugeShift !== PMD_SHIFT && hugeShift !== PUD_SHIFT) {
    throw new ErrnoError(-ERRNO.EINVAL, `mmap: unsupported hugetlb page size 2^${hugeShift}`);
  }
  const align = hugetlb ? 2 ** hugeShift : PAGE;
  const length = Math.ceil(o.length / align) * align;
  const offset = o.offset ?? 0;
  if (offset % PAGE !== 0 || offset < 0) throw new ErrnoError(-ERRNO.EINVAL, "mmap: offset must be page aligned");
  let addr: number;
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    addr = o.addr!;
    if (addr % align !== 0) throw new ErrnoError(-ERRNO.EINVAL, "mmap: MAP_FIXED address not aligned");
    // get_unmapped_area(): a fixed range beyond TASK_SIZE is -ENOMEM
    if (addr + length > mm.taskSize)
      throw new ErrnoError(-ERRNO.ENOMEM, `mmap: [${hex(addr)}, +${length}) is beyond the address space`);
    const clash = mm.vmas.some((v) => v.start < addr + length && v.end > addr);
    if (clash && flags & MAP_FIXED_NOREPLACE)
      throw new ErrnoError(-ERRNO.EEXIST, "mmap: MAP_FIXED_NOREPLACE over a mapping");
    if (clash) doMunmap(mm, addr, length);
  } else {
    addr = getUnmappedArea(mm, length, hugetlb ? align : length >= PMD_SIZE && anon ? PMD_SIZE : PAGE);
  }
  let file = o.file ?? null;
  if (anon && flags & MAP_SHARED) {
    file = new File(`shmem@${hex(addr)}`, length, hugetlb ? "hugetlbfs" : "shmem");
    file.internal = true;
  }
  if (anon && hugetlb && flags & MAP_PRIVATE) file = null;
  if (!anon && hugetlb && file && file.kind !== "hugetlbfs")
    throw new ErrnoError(-ERRNO.EINVAL, "mmap: MAP_HUGETLB on a non-hugetlbfs file");
  const vmFlags = (vmFlagsFor(prot, flags) | (o.vmFlags ?? 0)) >>> 0;
  const vma = new Vma(addr, addr + length, vmFlags, offset / PAGE, file, o.device ?? null, hugeShift);
  vmaLink(mm, vma);
  try {
    mm.syncVmas();
  } catch (e) {
    // no engine memory for the VMA table: the mapping is undone, mmap fails with -ENOMEM
    mm.vmas.splice(mm.vmas.indexOf(vma), 1);
    mm.syncVmas();
    throw new ErrnoError(-ERRNO.ENOMEM, "mmap: out of engine memory for the VMA table", { cause: e });
  }
  // mm_populate() failures are ignored by mmap (the pages fault in later, or never)
  if (flags & MAP_POPULATE) {
    try {
      populate(mm, addr, length, (prot & PROT_WRITE) !== 0);
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
    }
  }
  return addr;
}
