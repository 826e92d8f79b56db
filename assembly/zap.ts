// A batched zap_pte_range() for the host's zap (munmap, exit, the OOM reaper): one call clears a
// run of PTEs and drops what each one holds, exactly as the host's releaseEntry() would, for the
// entries that need nothing the host keeps (contents, swap slots, device pages, folio splitting):
//   none                                  nothing to do
//   present, special or without a struct
//   page, or a reserved frame             the entry is cleared, no page is touched
//   present order-0 page of system RAM    mapcount - 1 (not below 0), then put_page(): refcount - 1,
//                                         or the frame goes back to the allocator at the last one
// and stops at the first entry that needs anything else (a swap-like or protnone entry, a huge
// leaf or non-table entry above PTE level, a compound / hugetlb / device frame, a free frame),
// which the host then handles through releaseEntry() before calling again. Entries are visited in
// address order, so frames are freed in the same order as by the host's loop.
import {
  FRAME_DEVICE_PRIVATE, FRAME_HEAD, FRAME_HUGETLB, FRAME_RESERVED, FRAME_TAIL, MM_LEVELS, MM_ROOT,
  META_OFF_FLAGS, META_OFF_MAPCOUNT, PAGE_SHIFT, PMD_SHIFT, PTE_PFN_MASK, PTE_PRESENT, PTE_SPECIAL,
} from "./layout";
import { frameFree, metaPtr } from "./frames";
import { isTableEntry, shiftOfLevel, tableOf } from "./pgtable";

const FRAME_NOT_ORDER0: u8 = <u8>(FRAME_HEAD | FRAME_TAIL | FRAME_HUGETLB | FRAME_DEVICE_PRIVATE);

/**
 * Zaps [startPage, endPage) of mm as described above. With `stopAtFree`, an entry whose page
 * would be freed is left to the host as well (the host then deletes the frame's contents).
 * Returns the first page it did not handle, endPage when it handled them all.
 */
export function zapPtes(mm: usize, startPage: f64, endPage: f64, stopAtFree: bool): f64 {
  let va = <u64>startPage << PAGE_SHIFT;
  let end = <u64>endPage << PAGE_SHIFT;
  let top = load<i32>(mm + MM_LEVELS) - 1;
  let root = <usize>load<u32>(mm + MM_ROOT);
  while (va < end) {
    let t = pteTableOf(root, top, va);
    if (t == 0) {
      // nothing below the upper entry at skipLevel: skip its whole span
      if (skipLevel < 0) return <f64>(va >> PAGE_SHIFT);
      let sh = shiftOfLevel(skipLevel);
      va = ((va >> sh) + 1) << sh;
      continue;
    }
    let stop = ((va >> PMD_SHIFT) + 1) << PMD_SHIFT;
    if (stop > end || stop == 0) stop = end;
    let p = t + (<usize>((va >> PAGE_SHIFT) & 511) << 3);
    for (; va < stop; va += 4096, p += 8) {
      let e = load<u64>(p);
      if (e == 0) continue;
      if ((e & PTE_PRESENT) == 0) return <f64>(va >> PAGE_SHIFT);
      if ((e & PTE_SPECIAL) == 0) {
        let pfn = <u32>((e & PTE_PFN_MASK) >> PAGE_SHIFT);
        let m = metaPtr(pfn);
        if (m != 0) {
          let flags = load<u8>(m + META_OFF_FLAGS);
          if ((flags & <u8>FRAME_RESERVED) == 0) {
            if ((flags & FRAME_NOT_ORDER0) != 0) return <f64>(va >> PAGE_SHIFT);
            let rc = load<u32>(m);
            if (rc == 0 || (rc == 1 && stopAtFree)) return <f64>(va >> PAGE_SHIFT);
            let mc = load<u16>(m + META_OFF_MAPCOUNT);
            store<u16>(m + META_OFF_MAPCOUNT, mc > 0 ? mc - 1 : 0);
            if (rc == 1) frameFree(pfn, 0); else store<u32>(m, rc - 1);
          }
        }
      }
      store<u64>(p, 0);
    }
  }
  return endPage;
}

/**
 * Level of the entry pteTableOf() stopped at when it returned 0: an empty entry whose span can
 * be skipped, or -1 for an entry that is not a table (a huge leaf or swap-like entry: the host's).
 */
let skipLevel: i32 = 0;

/** The PTE table mapping va, or 0 (see skipLevel). */
function pteTableOf(root: usize, top: i32, va: u64): usize {
  let t = root;
  for (let lv = top; lv > 0; lv--) {
    let e = load<u64>(t + (<usize>((va >> shiftOfLevel(lv)) & 511) << 3));
    if (e == 0) {
      skipLevel = lv;
      return 0;
    }
    if (!isTableEntry(e)) {
      skipLevel = -1;
      return 0;
    }
    t = tableOf(e);
  }
  return t;
}
