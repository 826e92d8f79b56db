// The page-fault model: handle_mm_fault() and the paths hmm_range_fault() can reach (docs/semantics.md §5).
// Each path changes the page table the way the kernel does and raises the notifier the kernel
// raises (CLEAR for a COW break or zero-page upgrade, EXCLUSIVE/CLEAR for exclusive restore, none
// for faults that only populate).
// The room is split by path (codes, handle, anon, file, wp, huge, swap, numa, hugetlb); this module
// is its public face.
export * from "./codes.js";
export { handleMmFault } from "./handle.js";
