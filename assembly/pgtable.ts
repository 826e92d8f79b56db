// Page tables in linear memory and the x86-64 entry predicates the walker and the host share.
import {
  MM_BYTES, MM_LEVELS, MM_ROOT, MM_TABLES, MM_VMAS, MM_VMA_CAP, MM_VMA_COUNT, PAGE_SHIFT,
  PMD_BAD_IGNORED, PTE_DEVMAP, PTE_USER, PTE_PFN_MASK, PTE_PRESENT, PTE_PROTNONE, PTE_PSE, PTE_RW,
  PTE_SPECIAL, PTE_TABLE_FLAGS, SWP_OFFSET_BITS, SWP_OFFSET_FIRST_BIT, SWP_TYPE_SHIFT, VMA_BYTES,
  VMA_END, VMA_FLAGS, VMA_HUGE_SHIFT, VMA_START,
} from "./layout";
import { blockAlloc, blockFree, tableAlloc, tableFree } from "./memory";

// ---- entry predicates (arch/x86/include/asm/pgtable.h) -------------------------------------

@inline export function pteNone(v: u64): bool { return v == 0; }
/** pte_present(): P or PROTNONE. */
@inline export function ptePresent(v: u64): bool { return (v & (PTE_PRESENT | PTE_PROTNONE)) != 0; }
@inline export function pteProtnone(v: u64): bool {
  return (v & (PTE_PRESENT | PTE_PROTNONE)) == PTE_PROTNONE;
}
@inline export function pteWrite(v: u64): bool { return (v & PTE_RW) != 0; }
@inline export function pteSpecial(v: u64): bool { return (v & PTE_SPECIAL) != 0; }
@inline export function pteDevmap(v: u64): bool { return (v & PTE_DEVMAP) != 0; }
/** pte_pfn(): non-present non-zero entries hold their pfn inverted. */
@inline export function ptePfn(v: u64): u64 {
  let x = v != 0 && (v & PTE_PRESENT) == 0 ? ~v : v;
  return (x & PTE_PFN_MASK) >> PAGE_SHIFT;
}
/** pmd_present(): P, PROTNONE or PSE (a huge PMD being split is still present). */
@inline export function pmdPresent(v: u64): bool {
  return (v & (PTE_PRESENT | PTE_PROTNONE | PTE_PSE)) != 0;
}
/** pmd_trans_huge(): PSE without DEVMAP. */
@inline export function pmdTransHuge(v: u64): bool { return (v & (PTE_PSE | PTE_DEVMAP)) == PTE_PSE; }
@inline export function pmdDevmap(v: u64): bool { return (v & PTE_DEVMAP) != 0; }
/** pmd_bad(): anything that is not exactly a table entry once U and A are ignored. */
@inline export function pmdBad(v: u64): bool {
  return (v & ~PTE_PFN_MASK & ~PMD_BAD_IGNORED) != (PTE_TABLE_FLAGS & ~PMD_BAD_IGNORED);
}
/** pud_huge() on x86: non-none and not a plain present table entry (P without PSE). */
@inline export function pudHuge(v: u64): bool {
  return v != 0 && (v & (PTE_PRESENT | PTE_PSE)) != PTE_PRESENT;
}
/** pud_trans_huge(): PSE without DEVMAP. */
@inline export function pudTransHuge(v: u64): bool { return (v & (PTE_PSE | PTE_DEVMAP)) == PTE_PSE; }
/** pud_present() / pgd_present() / p4d_present(): the P bit. */
@inline export function upperPresent(v: u64): bool { return (v & PTE_PRESENT) != 0; }
/** pgd_bad() / p4d_bad(): anything but a table entry once U is ignored. */
@inline export function upperBad(v: u64): bool {
  return (v & ~PTE_PFN_MASK & ~PTE_USER) != (PTE_TABLE_FLAGS & ~PTE_USER);
}
/** Address of the table an upper-level entry points to. */
@inline export function tableOf(v: u64): usize { return <usize>(v & PTE_PFN_MASK); }
/** An entry at PGD..PMD level that points to a next-level table. */
@inline export function isTableEntry(v: u64): bool {
  return (v & PTE_PRESENT) != 0 && (v & PTE_PSE) == 0;
}

// ---- swap entries ------------------------------------------------------------------------

@inline export function swpType(v: u64): i32 { return <i32>(v >> SWP_TYPE_SHIFT); }
@inline export function swpOffset(v: u64): u64 {
  return (~v >> SWP_OFFSET_FIRST_BIT) & ((<u64>1 << SWP_OFFSET_BITS) - 1);
}
/** __swp_entry(type, offset) as a PTE value (flag bits such as SWP_EXCLUSIVE are OR-ed on top). */
@inline export function mkSwp(type: i32, offset: u64): u64 {
  return ((~offset << 14) >> 5) | (<u64>type << SWP_TYPE_SHIFT);
}

// ---- address spaces -----------------------------------------------------------------------

/** Creates an empty address space with `levels` (4 or 5) paging levels; 0 if out of memory. */
export function mmCreate(levels: i32): usize {
  let mm = blockAlloc(MM_BYTES);
  if (mm == 0) return 0;
  let root = tableAlloc();
  if (root == 0) { blockFree(mm, MM_BYTES); return 0; }
  store<u32>(mm + MM_ROOT, <u32>root);
  store<i32>(mm + MM_LEVELS, levels);
  store<i32>(mm + MM_TABLES, 1);
  return mm;
}

function freeTree(t: usize, level: i32): i32 {
  // level: 1 = the table holds PTEs; higher levels hold table or leaf entries
  let n = 1;
  if (level > 1) {
    for (let i = 0; i < 512; i++) {
      let e = load<u64>(t + (<usize>i << 3));
      if (isTableEntry(e)) n += freeTree(tableOf(e), level - 1);
    }
  }
  tableFree(t);
  return n;
}

/** Frees every page table and the mm itself. Frames must have been released by the host. */
export function mmDestroy(mm: usize): void {
  freeTree(<usize>load<u32>(mm + MM_ROOT), load<i32>(mm + MM_LEVELS));
  let vmas = <usize>load<u32>(mm + MM_VMAS);
  if (vmas != 0) blockFree(vmas, <usize>load<i32>(mm + MM_VMA_CAP) * VMA_BYTES);
  blockFree(mm, MM_BYTES);
}

export function mmTables(mm: usize): i32 { return load<i32>(mm + MM_TABLES); }
export function mmRoot(mm: usize): u32 { return load<u32>(mm + MM_ROOT); }
export function mmLevels(mm: usize): i32 { return load<i32>(mm + MM_LEVELS); }

@inline export function shiftOfLevel(level: i32): i32 {
  // level 0 = PTE, 1 = PMD, 2 = PUD, 3 = P4D, 4 = PGD (5-level only; 4-level PGD is level 3)
  return PAGE_SHIFT + 9 * level;
}

/** Level at which the last entryPtr() call stopped (meaningful when it returned the slot of a leaf). */
let stopLevel: i32 = 0;
export function entryPtrStopLevel(): i32 { return stopLevel; }

/**
 * Pointer to the entry at `level` (0 = PTE .. 3/4 = PGD) that maps page `page`. With `alloc`,
 * missing tables on the way are created. Returns 0 when the path is missing (without alloc),
 * when memory is exhausted, or when an entry above `level` is not a table (a leaf or a swap-like
 * entry): then entryPtrStopLevel() tells the level of that entry, and entryPtr(mm, page, that
 * level, false) reaches it.
 */
export function entryPtr(mm: usize, page: f64, level: i32, alloc: bool): usize {
  let va = <u64>page << PAGE_SHIFT;
  let lv = load<i32>(mm + MM_LEVELS) - 1;
  let t = <usize>load<u32>(mm + MM_ROOT);
  while (true) {
    let slot = t + (<usize>((va >> shiftOfLevel(lv)) & 511) << 3);
    if (lv == level) return slot;
    let e = load<u64>(slot);
    if (e == 0) {
      if (!alloc) { stopLevel = lv; return 0; }
      let nt = tableAlloc();
      if (nt == 0) { stopLevel = -1; return 0; }
      store<u64>(slot, <u64>nt | PTE_TABLE_FLAGS);
      store<i32>(mm + MM_TABLES, load<i32>(mm + MM_TABLES) + 1);
      e = load<u64>(slot);
    } else if (!isTableEntry(e)) {
      stopLevel = lv;
      return 0;
    }
    t = tableOf(e);
    lv--;
  }
}

/**
 * First page >= `page` and < `endPage` whose entry at some level is non-zero and not a table,
 * skipping empty tables whole; returns endPage when there is none. entryPtrStopLevel() tells the
 * level of the entry found.
 */
export function nextPopulated(mm: usize, page: f64, endPage: f64): f64 {
  let va = <u64>page << PAGE_SHIFT;
  let end = <u64>endPage << PAGE_SHIFT;
  let top = load<i32>(mm + MM_LEVELS) - 1;
  let root = <usize>load<u32>(mm + MM_ROOT);
  while (va < end) {
    let t = root;
    let lv = top;
    let advanced = false;
    while (true) {
      let sh = shiftOfLevel(lv);
      let e = load<u64>(t + (<usize>((va >> sh) & 511) << 3));
      if (e == 0) {
        va = ((va >> sh) + 1) << sh;
        advanced = true;
        break;
      }
      if (lv == 0 || !isTableEntry(e)) {
        stopLevel = lv;
        return <f64>(va >> PAGE_SHIFT);
      }
      t = tableOf(e);
      lv--;
    }
    if (!advanced) break;
  }
  return endPage;
}

function pruneLevel(mm: usize, t: usize, lv: i32, va: u64, lo: u64, hi: u64): bool {
  // returns true when table t has become empty
  let sh = shiftOfLevel(lv);
  let empty = true;
  for (let i = 0; i < 512; i++) {
    let slot = t + (<usize>i << 3);
    let e = load<u64>(slot);
    if (e == 0) continue;
    let base = va | (<u64>i << sh);
    let top = base + (<u64>1 << sh);
    if (lv > 0 && isTableEntry(e) && base < hi && top > lo) {
      if (pruneLevel(mm, tableOf(e), lv - 1, base, lo, hi)) {
        tableFree(tableOf(e));
        store<u64>(slot, 0);
        store<i32>(mm + MM_TABLES, load<i32>(mm + MM_TABLES) - 1);
        continue;
      }
    }
    empty = false;
  }
  return empty;
}

/** free_pgtables(): releases every table below the root that holds no entry and overlaps [start, end). */
export function pruneTables(mm: usize, startPage: f64, endPage: f64): void {
  let top = load<i32>(mm + MM_LEVELS) - 1;
  pruneLevel(mm, <usize>load<u32>(mm + MM_ROOT), top, 0, <u64>startPage << PAGE_SHIFT,
    <u64>endPage << PAGE_SHIFT);
}

// ---- the VMA table the walker reads (kept in address order by the host) -------------------

/** Makes room for `count` VMAs; returns false when out of memory. */
export function vmaReserve(mm: usize, count: i32): bool {
  let cap = load<i32>(mm + MM_VMA_CAP);
  if (count <= cap) return true;
  let ncap = cap == 0 ? 64 : cap;
  while (ncap < count) ncap *= 2;
  let nt = blockAlloc(<usize>ncap * VMA_BYTES);
  if (nt == 0) return false;
  let old = <usize>load<u32>(mm + MM_VMAS);
  if (old != 0) {
    memory.copy(nt, old, <usize>load<i32>(mm + MM_VMA_COUNT) * VMA_BYTES);
    blockFree(old, <usize>cap * VMA_BYTES);
  }
  store<u32>(mm + MM_VMAS, <u32>nt);
  store<i32>(mm + MM_VMA_CAP, ncap);
  return true;
}

export function vmaSet(mm: usize, i: i32, startPage: f64, endPage: f64, flags: u32, hugeShift: i32): void {
  let p = <usize>load<u32>(mm + MM_VMAS) + <usize>i * VMA_BYTES;
  store<u64>(p + VMA_START, <u64>startPage << PAGE_SHIFT);
  store<u64>(p + VMA_END, <u64>endPage << PAGE_SHIFT);
  store<u32>(p + VMA_FLAGS, flags);
  store<i32>(p + VMA_HUGE_SHIFT, hugeShift);
}

export function vmaSetCount(mm: usize, count: i32): void {
  store<i32>(mm + MM_VMA_COUNT, count);
}

/** Replaces the entry at slot with a fresh, empty next-level table (used to split huge entries). */
export function installTable(mm: usize, slot: usize): usize {
  assert((slot & 7) == 0 && !isTableEntry(load<u64>(slot)), "installTable: the slot already holds a table");
  let nt = tableAlloc();
  if (nt == 0) return 0;
  store<u64>(slot, <u64>nt | PTE_TABLE_FLAGS);
  store<i32>(mm + MM_TABLES, load<i32>(mm + MM_TABLES) + 1);
  return nt;
}
