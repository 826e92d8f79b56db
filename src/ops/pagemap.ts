// /proc/pid/pagemap (fs/proc/task_mmu.c pagemap_read): one 64-bit word per page telling whether
// the page is present (with its pfn), swapped or otherwise non-present (PM_SWAP, with the swap
// type and offset), file-backed or exclusively mapped. HMM tests read it to check that
// device-private entries (PTE or PMD level) are reported as swap entries, never as present.
import { PAGE_SIZE, PMD_SHIFT } from "../engine/layout.js";
import * as pte from "../engine/pte.js";
import type { MmStruct } from "../mm/mm-struct.js";

/** /proc/PID/pagemap bit 55 (bigint): the PTE is soft-dirty. */
export const PM_SOFT_DIRTY = 1n << 55n;
/** pagemap bit 56 (bigint): the page is mapped by this mm only. */
export const PM_MMAP_EXCLUSIVE = 1n << 56n;
/** pagemap bit 61 (bigint): a file page or shared anonymous page. */
export const PM_FILE = 1n << 61n;
/** pagemap bit 62 (bigint): the page is swapped (the low bits hold type and offset). */
export const PM_SWAP = 1n << 62n;
/** pagemap bit 63 (bigint): the page is present (the low bits hold the pfn). */
export const PM_PRESENT = 1n << 63n;
/** pagemap bits 0-54 (bigint): the pfn, or the swap type and offset. */
export const PM_PFRAME_MASK = (1n << 55n) - 1n;
const SWAP_TYPE_BITS = 5n;

/** pagemap_read() of npages pages from addr (page aligned): the words a reader of the file sees. */
export function pagemapRead(mm: MmStruct, addr: number, npages: number): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < npages; i++) {
    const a = addr + i * PAGE_SIZE;
    const v = mm.vmaLookup(a);
    const leaf = mm.leafOf(a);
    if (!v || leaf.level < 0 || pte.isNone(leaf.entry)) {
      out.push(0n);
      continue;
    }
    const e = leaf.entry;
    // the subpage of a huge entry
    const sub = leaf.level === 0 ? 0 : Math.floor((a % 2 ** (PMD_SHIFT + 9 * (leaf.level - 1))) / PAGE_SIZE);
    let w = 0n;
    if (pte.isPresent(e) || pte.isProtnone(e)) {
      w = PM_PRESENT | (BigInt(pte.pfnOf(e) + sub) & PM_PFRAME_MASK);
      if (v.file && !v.isAnonymous) w |= PM_FILE;
    } else {
      // swap-format entries: type in the low bits, offset above (device-private: the pfn)
      const offset = BigInt(pte.swapOffset(e) + sub);
      w = PM_SWAP | ((BigInt(pte.swapType(e)) | (offset << SWAP_TYPE_BITS)) & PM_PFRAME_MASK);
    }
    out.push(w);
  }
  return out;
}
