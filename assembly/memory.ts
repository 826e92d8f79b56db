// Block allocator for everything the simulator keeps in linear memory (see the memory map in
// layout.ts). Sizes are powers of two times BLOCK_SIZE; freed blocks go to a free list per size
// class and are reused before the heap grows. Memory grows by doubling so that a long simulation
// pays for growth a logarithmic number of times.
import { BLOCK_SIZE, HEAP_BASE } from "./layout";

const SIZE_CLASSES: i32 = 21; // 4 KiB .. 4 GiB
let heapTop: usize = HEAP_BASE;
let blocksInUse: i64 = 0;
// the most 64 KiB pages linear memory may grow to (the engine's memory cap); 65536 = 4 GiB
let pageLimit: i32 = 65536;
// free list heads, one per size class, stored in globals as a small static array
const freeHeads = memory.data(SIZE_CLASSES * 4);

@inline function classOf(bytes: usize): i32 {
  if (bytes <= <usize>BLOCK_SIZE) return 0;
  return 32 - clz<u32>(<u32>((bytes - 1) >> 12));
}

/** Makes sure linear memory reaches `limit`, doubling its size. Returns false when it cannot. */
function ensureMemory(limit: usize): bool {
  // 64-bit: at 4 GiB a 32-bit size would wrap to 0 and make every allocation call memory.grow(0)
  let have = <u64>memory.size() << 16;
  if (<u64>limit <= have) return true;
  let pages = <i32>memory.size();
  let want = pages;
  while ((<usize>want << 16) < limit) {
    want = want * 2;
    if (want > pageLimit) want = pageLimit;
    if (want == pageLimit) break;
  }
  if ((<u64>want << 16) < <u64>limit || want <= pages) return false;
  return memory.grow(want - pages) >= 0;
}

/** Caps linear memory at `pages` 64 KiB pages (at least what is in use already); returns the cap. */
export function memorySetLimit(pages: i32): i32 {
  let have = <i32>memory.size();
  pageLimit = pages < have ? have : pages > 65536 ? 65536 : pages;
  return pageLimit;
}

/** Allocates a zeroed, block-aligned region of at least `bytes`; 0 when memory is exhausted. */
export function blockAlloc(bytes: usize): usize {
  let cls = classOf(bytes);
  let size: usize = <usize>BLOCK_SIZE << cls;
  let head = load<u32>(freeHeads + (cls << 2));
  let p: usize;
  if (head != 0) {
    p = <usize>head;
    store<u32>(freeHeads + (cls << 2), load<u32>(p));
  } else {
    // keep large blocks aligned to their own size so that page tables stay 4 KiB aligned
    let aligned = (heapTop + <usize>BLOCK_SIZE - 1) & ~(<usize>BLOCK_SIZE - 1);
    let end = <u64>aligned + <u64>size;
    if (end > 0xffff_f000) return 0;
    if (!ensureMemory(<usize>end)) return 0;
    p = aligned;
    heapTop = <usize>end;
  }
  memory.fill(p, 0, size);
  blocksInUse += <i64>(size >> 12);
  return p;
}

/** Returns a region from blockAlloc(bytes) to its free list. */
export function blockFree(p: usize, bytes: usize): void {
  let cls = classOf(bytes);
  store<u32>(p, load<u32>(freeHeads + (cls << 2)));
  store<u32>(freeHeads + (cls << 2), <u32>p);
  blocksInUse -= <i64>((<usize>BLOCK_SIZE << cls) >> 12);
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
