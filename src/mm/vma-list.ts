// Changes to an address space's VMA list that the syscalls share (__split_vma, vma_link,
// get_unmapped_area). Each leaves MmStruct.vmas sorted and non-overlapping; the engine's copy of
// the table (MmStruct.syncVmas) is updated by splitVma itself and by the callers of vmaLink.
import { ErrnoError } from "../engine/errors.js";
import { ERRNO, PAGE_SIZE } from "../engine/layout.js";
import { splitHugePmdAddress } from "./huge-split.js";
import type { MmStruct } from "./mm-struct.js";
import { type Vma, hex } from "./vma.js";

/**
 * What __split_vma() refuses, checked before anything changes, for callers that split at
 * `boundaries` (at most two) and must not fail halfway: a boundary inside a hugetlb page
 * (hugetlb_vm_op_split: ErrnoError -EINVAL), and no engine memory for the two rows the splits add
 * to the engine's VMA table (-ENOMEM). Returns nothing.
 */
export function checkVmaSplit(mm: MmStruct, boundaries: readonly number[]): void {
  for (const a of boundaries) {
    const v = mm.vmaLookup(a);
    if (v && v.start < a && v.isHugetlb && a % 2 ** v.hugeShift !== 0) {
      throw new ErrnoError(-ERRNO.EINVAL, `hugetlb VMA split at unaligned ${hex(a)}`);
    }
  }
  if (!mm.engine.raw.vmaReserve(mm.ptr, mm.vmas.length + 2))
    throw new ErrnoError(-ERRNO.ENOMEM, "out of engine memory for the VMA table");
}

/**
 * __split_vma() at start and at end: splits VMAs so that both are VMA boundaries. Both boundaries
 * are checked before anything changes; a THP mapped across a boundary is split first
 * (vma_adjust_trans_huge), and the engine's VMA table is updated, so a caller failing afterwards
 * leaves a consistent, merely split, list. Returns the VMAs inside [start, end), in address
 * order. Throws ErrnoError -EINVAL for a boundary inside a hugetlb page, -ENOMEM when engine
 * memory cannot hold the table's two extra rows.
 */
export function splitVma(mm: MmStruct, start: number, end: number): Vma[] {
  checkVmaSplit(mm, [start, end]);
  let split = false;
  for (const a of [start, end]) {
    const v = mm.vmaLookup(a);
    if (v && v.start < a) {
      splitHugePmdAddress(mm, a);
      const i = mm.vmas.indexOf(v);
      mm.vmas.splice(i, 1, v.clone(v.start, a), v.clone(a, v.end));
      split = true;
    }
  }
  if (split) mm.syncVmas();
  return mm.vmas.filter((v) => v.start >= start && v.end <= end);
}

/**
 * vma_link(): inserts v into the VMA list in address order. No checks (the caller found the
 * range free) and no syncVmas (the caller syncs once it is done). Returns nothing; throws nothing.
 */
export function vmaLink(mm: MmStruct, v: Vma): void {
  const i = mm.vmas.findIndex((x) => x.start >= v.end);
  if (i < 0) mm.vmas.push(v);
  else mm.vmas.splice(i, 0, v);
}

/**
 * get_unmapped_area(): a free range of `length` bytes aligned to `align`, searched top-down from
 * just below the top of the address space (at most 2^46) like the default mmap layout, never
 * below the 16th page. Returns its start address; throws ErrnoError -ENOMEM when no gap is large
 * enough.
 */
export function getUnmappedArea(mm: MmStruct, length: number, align: number): number {
  const vmas = mm.vmas;
  let top = Math.floor(Math.min(mm.taskSize, 2 ** 46) / align) * align;
  for (let i = vmas.length - 1; i >= -1; i--) {
    const gapEnd = Math.min(top, i >= 0 ? Infinity : top);
    const prevEnd = i >= 0 ? vmas[i].end : PAGE_SIZE * 16;
    const candidate = Math.floor((gapEnd - length) / align) * align;
    if (candidate >= prevEnd) return candidate;
    if (i >= 0) top = Math.min(top, vmas[i].start);
  }
  throw new ErrnoError(-ERRNO.ENOMEM, `no free area of ${length} bytes`);
}
