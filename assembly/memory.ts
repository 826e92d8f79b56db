// Block allocator for everything the simulator keeps in linear memory (see the memory map in
// layout.ts). Sizes are powers of two times BLOCK_SIZE; freed blocks go to a free list per size
// class and are reused before the heap grows.
//
// Page tables have an arena of their own: they are cut from slabs that hold nothing but tables,
// so that the tables of an address space populated in address order sit next to each other in
// address order, instead of alternating with the frame-metadata chunks and hmm_pfns arrays that
// are allocated between them. A walk then streams through contiguous memory (fewer cache and TLB
// misses once the tables no longer fit in the caches). Once freed, a table and a 4 KiB block are
// interchangeable: each kind is reused for the other before the heap grows.
//
// Growth: linear memory doubles while it is small (a long simulation pays for growth a logarithmic
// number of times), then grows by 1/64 (at least GROW_STEP_MIN) so that a large populated space
// carries at most ~1.6% of its memory as headroom (a quarter of a byte per populated 4 KiB page,
// whose floor is 16 B). Smaller steps are not free: a memory.grow cost 1.6-2.8 ms on this project's
// 2-core measuring VM whatever its size (Node 20), so 1/64 means ~230 of them on the way to 4 GiB
// (1/256 would be ~900, 1/16 ~70). The pages themselves are paid for when first touched.
import { BLOCK_SIZE, HEAP_BASE } from "./layout";

const SIZE_CLASSES: i32 = 21; // 4 KiB .. 4 GiB
/** Below this size linear memory doubles; above it grows by 1/64, at least GROW_STEP_MIN. */
const DOUBLING_LIMIT: u64 = 64 << 20;
const GROW_STEP_MIN: u64 = 4 << 20;
const MAX_PAGES: i32 = 65536; // 4 GiB of 64 KiB WebAssembly pages
/** Slabs of the table arena start at 16 tables and double up to 64 tables (256 KiB). */
const SLAB_FIRST: usize = 16 * BLOCK_SIZE;
const SLAB_MAX: usize = 64 * BLOCK_SIZE;

let heapTop: usize = HEAP_BASE;
// the most 64 KiB pages linear memory may grow to (the engine's memory cap); MAX_PAGES = 4 GiB
let pageLimit: i32 = MAX_PAGES;
let blocksInUse: i64 = 0;
// free list heads, one per size class, stored in globals as a small static array
const freeHeads = memory.data(SIZE_CLASSES * 4);
// the table arena: the slab tables are cut from, and the free list of tables given back
let slabCursor: usize = 0;
let slabEnd: usize = 0;
let slabNext: usize = SLAB_FIRST;
let tableFreeHead: u32 = 0;

@inline function classOf(bytes: usize): i32 {
  if (bytes <= <usize>BLOCK_SIZE) return 0;
  return 32 - clz<u32>(<u32>((bytes - 1) >> 12));
}

/** Makes sure linear memory reaches `limit` (see the growth policy above). False when it cannot. */
function ensureMemory(limit: u64): bool {
  // 64-bit: at 4 GiB a 32-bit size would wrap to 0 and make every allocation call memory.grow(0)
  let have = <u64>memory.size() << 16;
  if (limit <= have) return true;
  let step = have < DOUBLING_LIMIT ? have : max<u64>(have >> 6, GROW_STEP_MIN);
  let want = max<u64>(limit, have + step);
  let pages = <i64>((want + 0xffff) >> 16);
  if (pages > pageLimit) pages = pageLimit;
  if ((<u64>pages << 16) < limit) return false;
  return memory.grow(<i32>(pages - <i64>memory.size())) >= 0;
}

/**
 * A block-aligned region of `size` bytes (a power of two times BLOCK_SIZE) from its free list or
 * the top of the heap, zero-filled; not counted in blocksInUse. 0 when memory is exhausted.
 */
function rawAlloc(cls: i32, size: usize): usize {
  let head = load<u32>(freeHeads + (cls << 2));
  if (head != 0) {
    let p = <usize>head;
    store<u32>(freeHeads + (cls << 2), load<u32>(p));
    memory.fill(p, 0, size);
    return p;
  }
  if (cls == 0 && tableFreeHead != 0) {
    // a freed table serves as a 4 KiB block before the heap grows (and a freed block as a table)
    let p = <usize>tableFreeHead;
    tableFreeHead = load<u32>(p);
    memory.fill(p, 0, size);
    return p;
  }
  let end = <u64>heapTop + <u64>size;
  if (end > 0xffff_f000) return 0;
  if (!ensureMemory(end)) return 0;
  // above heapTop memory has never been written since memory.grow() zeroed it: no second fill
  let p = heapTop;
  heapTop = <usize>end;
  return p;
}

/** Caps linear memory at `pages` 64 KiB pages (at least what is in use already); returns the cap. */
export function memorySetLimit(pages: i32): i32 {
  let have = <i32>memory.size();
  pageLimit = pages < have ? have : pages > MAX_PAGES ? MAX_PAGES : pages;
  return pageLimit;
}

/** Allocates a zeroed, block-aligned region of at least `bytes`; 0 when memory is exhausted. */
export function blockAlloc(bytes: usize): usize {
  let cls = classOf(bytes);
  let size: usize = <usize>BLOCK_SIZE << cls;
  let p = rawAlloc(cls, size);
  if (p == 0) return 0;
  assert((p & (<usize>BLOCK_SIZE - 1)) == 0 && p >= <usize>HEAP_BASE && p + size <= heapTop, "blockAlloc: block outside the heap");
  blocksInUse += <i64>(size >> 12);
  return p;
}

/** Returns a region from blockAlloc(bytes) to its free list. */
export function blockFree(p: usize, bytes: usize): void {
  assert((p & (<usize>BLOCK_SIZE - 1)) == 0 && p >= <usize>HEAP_BASE && p < heapTop, "blockFree: not a heap block");
  // the unused tail of the table slab was never handed out: freeing it would hand it out twice
  assert(!inSlabTail(p), "blockFree: a block that was never allocated");
  if (inSlabTail(p)) return;
  let cls = classOf(bytes);
  store<u32>(p, load<u32>(freeHeads + (cls << 2)));
  store<u32>(freeHeads + (cls << 2), <u32>p);
  blocksInUse -= <i64>((<usize>BLOCK_SIZE << cls) >> 12);
  assert(blocksInUse >= 0, "blockFree: more blocks freed than allocated");
}

/** Whether p lies in the part of the current table slab not handed out yet. */
@inline function inSlabTail(p: usize): bool {
  return p >= slabCursor && p < slabEnd;
}

/** A zeroed 4 KiB page table from the table arena; 0 when memory is exhausted. */
export function tableAlloc(): usize {
  let p: usize;
  if (tableFreeHead != 0) {
    p = <usize>tableFreeHead;
    tableFreeHead = load<u32>(p);
    memory.fill(p, 0, BLOCK_SIZE);
  } else if (load<u32>(freeHeads) != 0) {
    // a freed 4 KiB block before a new slab: blocks and tables are interchangeable once freed
    p = <usize>load<u32>(freeHeads);
    store<u32>(freeHeads, load<u32>(p));
    memory.fill(p, 0, BLOCK_SIZE);
  } else {
    if (slabCursor == slabEnd) {
      let size = slabNext;
      let s = rawAlloc(classOf(size), size);
      // close to the memory limit a large slab may not fit where one table still does
      if (s == 0) {
        size = BLOCK_SIZE;
        s = rawAlloc(0, size);
        if (s == 0) return 0;
      } else if (slabNext < SLAB_MAX) {
        slabNext <<= 1;
      }
      slabCursor = s;
      slabEnd = s + size;
    }
    p = slabCursor;
    slabCursor += BLOCK_SIZE;
  }
  assert((p & (<usize>BLOCK_SIZE - 1)) == 0 && p >= <usize>HEAP_BASE && p + BLOCK_SIZE <= heapTop, "tableAlloc: table outside the heap");
  blocksInUse += 1;
  return p;
}

/** Gives a table from tableAlloc() back to the arena. */
export function tableFree(p: usize): void {
  assert((p & (<usize>BLOCK_SIZE - 1)) == 0 && p >= <usize>HEAP_BASE && p < heapTop, "tableFree: not a heap block");
  assert(!inSlabTail(p), "tableFree: a table that was never allocated");
  if (inSlabTail(p)) return;
  store<u32>(p, tableFreeHead);
  tableFreeHead = <u32>p;
  blocksInUse -= 1;
  assert(blocksInUse >= 0, "tableFree: more blocks freed than allocated");
}

/** 4 KiB blocks currently handed out (page tables, metadata chunks, arrays). */
export function blocksUsed(): f64 {
  return <f64>blocksInUse;
}

/** Bytes of linear memory the heap has reached. */
export function heapBytes(): f64 {
  return <f64>heapTop;
}

/** Grows memory so that the fixed regions of the memory map exist. */
export function memoryInit(): bool {
  return ensureMemory(HEAP_BASE);
}
