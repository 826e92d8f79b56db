// VM_FAULT_* results, FAULT_FLAG_* flags and struct vm_fault: the vocabulary of the fault path.
import type { MmStruct } from "../mm/mm-struct.js";
import type { Vma } from "../mm/vma.js";

// include/linux/mm_types.h (v6.1)
/** VM_FAULT_OOM: no memory for the page or a page table. */
export const VM_FAULT_OOM = 0x000001;
/** VM_FAULT_SIGBUS: the access cannot be satisfied (e.g. beyond the end of a file, hugetlb pool empty). */
export const VM_FAULT_SIGBUS = 0x000002;
/** VM_FAULT_MAJOR: the fault needed I/O (swap-in). */
export const VM_FAULT_MAJOR = 0x000004;
/** VM_FAULT_HWPOISON: the page is poisoned (memory failure). */
export const VM_FAULT_HWPOISON = 0x000010;
/** VM_FAULT_HWPOISON_LARGE: a poisoned huge page. */
export const VM_FAULT_HWPOISON_LARGE = 0x000020;
/** VM_FAULT_SIGSEGV: no valid mapping for the access. */
export const VM_FAULT_SIGSEGV = 0x000040;
export const VM_FAULT_NOPAGE = 0x000100;
export const VM_FAULT_LOCKED = 0x000200;
export const VM_FAULT_RETRY = 0x000400;
/** VM_FAULT_FALLBACK: a huge-page fault fell back to base pages. */
export const VM_FAULT_FALLBACK = 0x000800;
export const VM_FAULT_DONE_COW = 0x001000;
export const VM_FAULT_COMPLETED = 0x004000;
/** VM_FAULT_ERROR: the bits that make a fault fail (hmm_range_fault then returns -EFAULT; docs/semantics.md §5.7). */
export const VM_FAULT_ERROR =
  VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE | VM_FAULT_FALLBACK;

/** FAULT_FLAG_WRITE: a write fault. */
export const FAULT_FLAG_WRITE = 0x01;
export const FAULT_FLAG_MKWRITE = 0x02;
export const FAULT_FLAG_ALLOW_RETRY = 0x04;
/** FAULT_FLAG_USER: the fault came from user space. */
export const FAULT_FLAG_USER = 0x40;
/** FAULT_FLAG_REMOTE: the fault is on behalf of another mm (what hmm_range_fault sets). */
export const FAULT_FLAG_REMOTE = 0x80;

const NAMES: [number, string][] = [
  [VM_FAULT_OOM, "VM_FAULT_OOM"],
  [VM_FAULT_SIGBUS, "VM_FAULT_SIGBUS"],
  [VM_FAULT_MAJOR, "VM_FAULT_MAJOR"],
  [VM_FAULT_HWPOISON, "VM_FAULT_HWPOISON"],
  [VM_FAULT_HWPOISON_LARGE, "VM_FAULT_HWPOISON_LARGE"],
  [VM_FAULT_SIGSEGV, "VM_FAULT_SIGSEGV"],
  [VM_FAULT_NOPAGE, "VM_FAULT_NOPAGE"],
  [VM_FAULT_FALLBACK, "VM_FAULT_FALLBACK"],
  [VM_FAULT_DONE_COW, "VM_FAULT_DONE_COW"],
];
/** "VM_FAULT_SIGBUS|..." for a result, "0" for success. */
export function vmFaultString(r: number): string {
  const s = NAMES.filter(([b]) => r & b).map(([, n]) => n);
  return s.length ? s.join("|") : "0";
}

/** What a device's migrateToRam callback receives (struct vm_fault). */
export interface VmFault {
  /** The address space that faulted. */
  mm: MmStruct;
  /** The VMA containing the address. */
  vma: Vma;
  /** The faulting byte address (page-aligned). */
  address: number;
  /** FAULT_FLAG_* bits. */
  flags: number;
  /** The device-private page that was touched. */
  page: number;
}
