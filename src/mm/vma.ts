// Virtual memory areas (struct vm_area_struct) and the mmap uAPI constants.
import { PAGE_SIZE, VM } from "../engine/layout.js";
import type { SimFile } from "./file.js";

/** PROT_NONE: no access (mmap(2), mprotect(2)). */
export const PROT_NONE = 0x0;
/** PROT_READ: readable. */
export const PROT_READ = 0x1;
/** PROT_WRITE: writable. */
export const PROT_WRITE = 0x2;
/** PROT_EXEC: executable. */
export const PROT_EXEC = 0x4;
/** MAP_SHARED: writes are shared with other mappings of the object (no COW). */
export const MAP_SHARED = 0x01;
/** MAP_PRIVATE: copy-on-write private mapping. */
export const MAP_PRIVATE = 0x02;
/** MAP_FIXED: map exactly at `addr`, replacing what is there. */
export const MAP_FIXED = 0x10;
/** MAP_ANONYMOUS: not backed by a file; pages start zero-filled. */
export const MAP_ANONYMOUS = 0x20;
/** MAP_NORESERVE: no swap / hugetlb reservation. */
export const MAP_NORESERVE = 0x4000;
/** MAP_POPULATE: fault every page in at mmap time. */
export const MAP_POPULATE = 0x8000;
/** MAP_HUGETLB: back the mapping with hugetlb pages (size from MAP_HUGE_2MB / MAP_HUGE_1GB). */
export const MAP_HUGETLB = 0x40000;
/** MAP_FIXED_NOREPLACE: map exactly at `addr`, failing with -EEXIST if something is there. */
export const MAP_FIXED_NOREPLACE = 0x100000;
/** Bit position of the hugetlb page-size log2 in the MAP_* flags. */
export const MAP_HUGE_SHIFT = 26;
/** MAP_HUGE_2MB: with MAP_HUGETLB, 2 MiB pages. */
export const MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT;
/** MAP_HUGE_1GB: with MAP_HUGETLB, 1 GiB pages. */
export const MAP_HUGE_1GB = 30 << MAP_HUGE_SHIFT;

/** Transparent huge page policy (/sys/kernel/mm/transparent_hugepage/enabled). */
export type ThpPolicy = "never" | "madvise" | "always";

/** What a VM_IO / VM_PFNMAP / VM_MIXEDMAP VMA records of the device behind it (a drivers/ Device). */
export interface VmaDevice {
  /** The device's pgmap owner (what HmmRange.devPrivateOwner is compared with). */
  readonly owner: unknown;
}

/** struct vm_area_struct: one mapping [start, end) of an Mm with its VM_* flags, file and offset (docs/semantics.md §3.2). */
export class Vma {
  constructor(
    /** First byte address (page-aligned). */
    public start: number,
    /** End byte address, exclusive (page-aligned). */
    public end: number,
    /** VM_* flags (see VM). */
    public flags: number,
    /** File offset of `start`, in pages (vm_pgoff). */
    public pgoff: number,
    /** The mapped file, or null for anonymous memory. */
    public file: SimFile | null,
    /** Device whose memory this VM_IO / VM_PFNMAP / VM_MIXEDMAP mapping exposes. */
    public device: VmaDevice | null = null,
    /** log2 of the hugetlb page size (21 or 30), 0 when not hugetlb. */
    public hugeShift = 0,
  ) {}
  /** An anon_vma exists once an anonymous page has been mapped (fork copies such VMAs). */
  anonVma = false;

  /** vma_is_anonymous(): no file behind it. */
  get isAnonymous(): boolean {
    return this.file === null && this.device === null;
  }
  /** is_vm_hugetlb_page(): VM_HUGETLB is set. */
  get isHugetlb(): boolean {
    return (this.flags & VM.HUGETLB) !== 0;
  }
  /** VM_SHARED is set (MAP_SHARED mapping). */
  get isShared(): boolean {
    return (this.flags & VM.SHARED) !== 0;
  }
  /** Length in 4 KiB pages. */
  get pages(): number {
    return (this.end - this.start) / PAGE_SIZE;
  }
  /** File page index of addr (linear_page_index). */
  pageIndex(addr: number): number {
    return (addr - this.start) / PAGE_SIZE + this.pgoff;
  }
  /** A copy covering [start, end) with the file offset adjusted (what a VMA split produces). */
  clone(start: number, end: number): Vma {
    const v = new Vma(
      start,
      end,
      this.flags,
      this.pgoff + (start - this.start) / PAGE_SIZE,
      this.file,
      this.device,
      this.hugeShift,
    );
    v.anonVma = this.anonVma;
    return v;
  }
  /** A one-line description (range, flags), for messages and reports. */
  toString(): string {
    return `[${hex(this.start)}-${hex(this.end)} ${vmFlagsString(this.flags)}]`;
  }
}

export function hex(n: number): string {
  return "0x" + n.toString(16);
}

/** "rw-p"-style summary of vm_flags as in /proc/pid/maps. */
export function vmFlagsString(f: number): string {
  return (
    (f & VM.READ ? "r" : "-") + (f & VM.WRITE ? "w" : "-") + (f & VM.EXEC ? "x" : "-") + (f & VM.SHARED ? "s" : "p")
  );
}

/** calc_vm_prot_bits() | calc_vm_flag_bits() | the VM_MAY* defaults. */
export function vmFlagsFor(prot: number, mapFlags: number): number {
  let f = 0;
  if (prot & PROT_READ) f |= VM.READ;
  if (prot & PROT_WRITE) f |= VM.WRITE;
  if (prot & PROT_EXEC) f |= VM.EXEC;
  f |= VM.MAYREAD | VM.MAYWRITE | VM.MAYEXEC;
  if (mapFlags & MAP_SHARED) f |= VM.SHARED | VM.MAYSHARE;
  if (mapFlags & MAP_HUGETLB) f |= VM.HUGETLB | VM.DONTEXPAND;
  if (mapFlags & MAP_NORESERVE) f |= VM.NORESERVE;
  return f >>> 0;
}

export function protToVmFlags(prot: number): number {
  return (prot & PROT_READ ? VM.READ : 0) | (prot & PROT_WRITE ? VM.WRITE : 0) | (prot & PROT_EXEC ? VM.EXEC : 0);
}
