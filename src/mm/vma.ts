// Virtual memory areas (struct vm_area_struct) and the mmap uAPI constants.
import { PAGE_SIZE, VM } from "../engine/layout.js";
import type { SimFile } from "./file.js";

export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_HUGETLB = 0x40000;
export const MAP_FIXED_NOREPLACE = 0x100000;
export const MAP_HUGE_SHIFT = 26;
export const MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT;
export const MAP_HUGE_1GB = 30 << MAP_HUGE_SHIFT;

/** Transparent huge page policy (/sys/kernel/mm/transparent_hugepage/enabled). */
export type ThpPolicy = "never" | "madvise" | "always";

/** What a VM_IO / VM_PFNMAP / VM_MIXEDMAP VMA records of the device behind it (a drivers/ Device). */
export interface VmaDevice {
  readonly owner: unknown;
}

export class Vma {
  constructor(
    public start: number,
    public end: number,
    public flags: number,
    /** File offset of `start`, in pages (vm_pgoff). */
    public pgoff: number,
    public file: SimFile | null,
    /** Device whose memory this VM_IO / VM_PFNMAP / VM_MIXEDMAP mapping exposes. */
    public device: VmaDevice | null = null,
    /** log2 of the hugetlb page size (21 or 30), 0 when not hugetlb. */
    public hugeShift = 0,
  ) {}
  /** An anon_vma exists once an anonymous page has been mapped (fork copies such VMAs). */
  anonVma = false;

  get isAnonymous(): boolean {
    return this.file === null && this.device === null;
  }
  get isHugetlb(): boolean {
    return (this.flags & VM.HUGETLB) !== 0;
  }
  get isShared(): boolean {
    return (this.flags & VM.SHARED) !== 0;
  }
  get pages(): number {
    return (this.end - this.start) / PAGE_SIZE;
  }
  /** File page index of addr (linear_page_index). */
  pageIndex(addr: number): number {
    return (addr - this.start) / PAGE_SIZE + this.pgoff;
  }
  clone(start: number, end: number): Vma {
    const v = new Vma(start, end, this.flags, this.pgoff + (start - this.start) / PAGE_SIZE, this.file,
      this.device, this.hugeShift);
    v.anonVma = this.anonVma;
    return v;
  }
  toString(): string {
    return `[${hex(this.start)}-${hex(this.end)} ${vmFlagsString(this.flags)}]`;
  }
}

export function hex(n: number): string {
  return "0x" + n.toString(16);
}

/** "rw-p"-style summary of vm_flags as in /proc/pid/maps. */
export function vmFlagsString(f: number): string {
  return (f & VM.READ ? "r" : "-") + (f & VM.WRITE ? "w" : "-") + (f & VM.EXEC ? "x" : "-") +
    (f & VM.SHARED ? "s" : "p");
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
  return (prot & PROT_READ ? VM.READ : 0) | (prot & PROT_WRITE ? VM.WRITE : 0) |
    (prot & PROT_EXEC ? VM.EXEC : 0);
}
