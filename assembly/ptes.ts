// Batched PTE-range loops of the mm operations: zap_pte_range() (munmap, exit, the OOM reaper),
// change_pte_range() (mprotect) and copy_pte_range() (fork). Each call runs over a range of one mm
// in address order, handles the entries whose treatment needs no state the host keeps, exactly as
// the host's per-entry code would, and returns the first page it leaves to the host (a swap-like
// or protnone entry, a huge leaf or non-table entry above PTE level, a compound, hugetlb or device
// frame ...). The host handles that one entry and calls again, so the order of every side effect
// (frames freed, refcounts, tables allocated) is the order of the host's own loop.
import {
  FRAME_ANON, FRAME_ANON_EXCLUSIVE, FRAME_DEVICE_PRIVATE, FRAME_HEAD, FRAME_HUGETLB, FRAME_RESERVED,
  FRAME_TAIL, HUGE_ZERO_PFN, MM_LEVELS, MM_ROOT, META_OFF_FLAGS, META_OFF_MAPCOUNT, PAGE_SHIFT,
  PMD_SHIFT, PTE_ACCESSED, PTE_DIRTY, PTE_PFN_MASK, PTE_PRESENT, PTE_PROTNONE, PTE_PSE, PTE_RW,
  PTE_SOFT_DIRTY, PTE_SPECIAL, PTE_UFFD_WP, PTE_USER, PROT_MODE_NONE, PROT_MODE_PRIVATE_WRITE, ZERO_PFN,
} from "./layout";
import { metaPtr, order0FreeCommit, order0FreeHead } from "./frames";
import { entryPtr, isTableEntry, shiftOfLevel, tableOf } from "./pgtable";

const FRAME_NOT_ORDER0: u8 = <u8>(FRAME_HEAD | FRAME_TAIL | FRAME_HUGETLB | FRAME_DEVICE_PRIVATE);

/**
 * zap_pte_range() over [startPage, endPage) of mm, each entry as the host's releaseEntry():
 *   none                                 nothing to do
 *   present, special, or without a
 *   struct page, or a reserved frame     the entry is cleared, no page is touched
 *   present order-0 page of system RAM   mapcount - 1 (not below 0), then put_page(): refcount - 1,
 *                                        or back to the frame allocator at the last reference
 * With `stopAtFree`, an entry whose page would be freed is left to the host as well (the host then
 * deletes the frame's contents). Returns the first page left to the host, endPage when none.
 */
export function zapPtes(mm: usize, startPage: f64, endPage: f64, stopAtFree: bool): f64 {
  // freed frames are linked in front of the order-0 free list here and published once at the end
  freeHead = order0FreeHead();
  freed = 0;
  let r = zapLoop(mm, startPage, endPage, stopAtFree);
  order0FreeCommit(freeHead, freed);
  return r;
}

let freeHead: u32 = 0;
let freed: u32 = 0;

function zapLoop(mm: usize, startPage: f64, endPage: f64, stopAtFree: bool): f64 {
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
            if (rc == 1) {
              // frameFree(pfn, 0)
              store<u32>(m, freeHead);
              store<u8>(m + META_OFF_FLAGS, 0);
              freeHead = pfn + 1;
              freed++;
            } else {
              store<u32>(m, rc - 1);
            }
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

/** Bits of a present entry that change_pte_range() keeps; the pfn and bits 52..63 are kept too. */
const PROT_KEEP: u64 = PTE_SPECIAL | PTE_DIRTY | PTE_ACCESSED | PTE_PSE | PTE_SOFT_DIRTY | PTE_UFFD_WP;
const HIGH_FLAGS: u64 = ~((<u64>1 << 52) - 1);
const PFN_FIELD: u64 = (<u64>1 << 40) - 1;

/**
 * change_pte_range() of mprotect over the present PTEs of [startPage, endPage), as the host's
 * protectEntry(): the pfn, bits 52..63 and PROT_KEEP stay; PROT_MODE_NONE makes the entry protnone
 * (pfn stored inverted); otherwise it is P|U, plus RW in PROT_MODE_PRIVATE_WRITE when the entry is
 * not uffd-wp protected and maps an exclusive anonymous page (not special, with a struct page).
 * Non-present entries (swap-like, protnone) and entries above PTE level are left to the host: a
 * writable migration entry's readable type depends on the page (PageAnon keeps it exclusive),
 * which the host's protectEntry() decides, so both paths follow one rule.
 */
export function protectPtes(mm: usize, startPage: f64, endPage: f64, mode: i32): f64 {
  let va = <u64>startPage << PAGE_SHIFT;
  let end = <u64>endPage << PAGE_SHIFT;
  let top = load<i32>(mm + MM_LEVELS) - 1;
  let root = <usize>load<u32>(mm + MM_ROOT);
  let base: u64 = mode == PROT_MODE_NONE ? PTE_PROTNONE | PTE_USER : PTE_PRESENT | PTE_USER;
  while (va < end) {
    let t = pteTableOf(root, top, va);
    if (t == 0) {
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
      let pfn = (e & PTE_PFN_MASK) >> PAGE_SHIFT;
      let n = base | (e & (PROT_KEEP | HIGH_FLAGS));
      if (mode == PROT_MODE_NONE) {
        n |= ((~pfn) & PFN_FIELD) << PAGE_SHIFT;
      } else {
        n |= pfn << PAGE_SHIFT;
        if (mode == PROT_MODE_PRIVATE_WRITE && (e & (PTE_UFFD_WP | PTE_SPECIAL)) == 0) {
          let m = metaPtr(<u32>pfn);
          if (m != 0) {
            let f = <u32>load<u8>(m + META_OFF_FLAGS);
            if ((f & (FRAME_ANON | FRAME_ANON_EXCLUSIVE)) == (FRAME_ANON | FRAME_ANON_EXCLUSIVE)) n |= PTE_RW;
          }
        }
      }
      if (n != e) store<u64>(p, n);
    }
  }
  return endPage;
}

/**
 * copy_pte_range() of fork for the present PTEs of [startPage, endPage) of src, as the host's
 * copyPresent(): an order-0 normal page (not device-coherent: those go to the host) gets a reference and a mapcount more and loses
 * AnonExclusive; with `cow` a writable parent entry loses RW; the child's entry (allocating its
 * tables as it goes) is the parent's without ACCESSED and UFFD_WP, and without DIRTY when `shared`.
 * Returns the first page left to the host (non-present entries, folio pages, entries above PTE
 * level, a child table that cannot be allocated), endPage when none.
 */
export function copyPtes(src: usize, dst: usize, startPage: f64, endPage: f64, cow: bool, shared: bool): f64 {
  let va = <u64>startPage << PAGE_SHIFT;
  let end = <u64>endPage << PAGE_SHIFT;
  let top = load<i32>(src + MM_LEVELS) - 1;
  let root = <usize>load<u32>(src + MM_ROOT);
  let childClear: u64 = PTE_ACCESSED | PTE_UFFD_WP | (shared ? PTE_DIRTY : 0);
  while (va < end) {
    let t = pteTableOf(root, top, va);
    if (t == 0) {
      if (skipLevel < 0) return <f64>(va >> PAGE_SHIFT);
      let sh = shiftOfLevel(skipLevel);
      va = ((va >> sh) + 1) << sh;
      continue;
    }
    let stop = ((va >> PMD_SHIFT) + 1) << PMD_SHIFT;
    if (stop > end || stop == 0) stop = end;
    let p = t + (<usize>((va >> PAGE_SHIFT) & 511) << 3);
    let d: usize = 0; // the child's slot for va, once its PTE table exists
    for (; va < stop; va += 4096, p += 8, d = d != 0 ? d + 8 : 0) {
      let e = load<u64>(p);
      if (e == 0) continue;
      if ((e & PTE_PRESENT) == 0) return <f64>(va >> PAGE_SHIFT);
      let m: usize = 0;
      if ((e & PTE_SPECIAL) == 0) {
        let pfn = <u32>((e & PTE_PFN_MASK) >> PAGE_SHIFT);
        if (pfn != ZERO_PFN && pfn != HUGE_ZERO_PFN) m = metaPtr(pfn);
        if (m != 0) {
          let f = load<u8>(m + META_OFF_FLAGS);
          // device-coherent pages are normal pages that fork references, like the host's
          // copyPresent(); they and folio pages are left to the host
          if ((f & <u8>(FRAME_HEAD | FRAME_TAIL | FRAME_DEVICE_PRIVATE)) != 0) return <f64>(va >> PAGE_SHIFT);
          if ((f & <u8>FRAME_RESERVED) != 0) m = 0;
        }
      }
      if (d == 0) {
        d = entryPtr(dst, <f64>(va >> PAGE_SHIFT), 0, true);
        if (d == 0) return <f64>(va >> PAGE_SHIFT);
      }
      if (m != 0) {
        store<u32>(m, load<u32>(m) + 1);
        store<u16>(m + META_OFF_MAPCOUNT, load<u16>(m + META_OFF_MAPCOUNT) + 1);
        store<u8>(m + META_OFF_FLAGS, load<u8>(m + META_OFF_FLAGS) & ~<u8>FRAME_ANON_EXCLUSIVE);
      }
      let parent = cow ? e & ~PTE_RW : e;
      if (parent != e) store<u64>(p, parent);
      store<u64>(d, parent & ~childClear);
    }
  }
  return endPage;
}
