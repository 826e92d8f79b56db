// Physical frames: a pfn allocator for system RAM, device-private ranges, and the 8-byte metadata
// of every frame that has been handed out (layout.ts, "Per-frame metadata").
import {
  DEVICE_PFN_BASE, FIRST_RAM_PFN, FRAME_DEVICE_PRIVATE, FRAME_HEAD, FRAME_RESERVED, FRAME_TAIL,
  HUGE_ZERO_PFN, META_BYTES, META_DIR_BASE, META_OFF_AUX, META_OFF_FLAGS, META_OFF_MAPCOUNT,
  PFN_LIMIT, PMD_ORDER, ZERO_PFN,
} from "./layout";
import { blockAlloc } from "./memory";

const MAX_ORDER_LISTS: i32 = 19; // orders 0..18
const freeHeads = memory.data(MAX_ORDER_LISTS * 4);
const freeCounts = memory.data(MAX_ORDER_LISTS * 4);

let ramNext: u32 = FIRST_RAM_PFN; // next unused 512-aligned chunk of RAM
let ramLimit: u32 = DEVICE_PFN_BASE; // configurable size of system RAM
let smallCursor: u32 = 0; // order-0 frames are cut from this chunk...
let smallEnd: u32 = 0; // ...up to here
let deviceNext: u32 = DEVICE_PFN_BASE;
let framesInUse: i64 = 0;
/** highest_memmap_pfn: pfns above it have no struct page (vm_normal_page() fails). */
export let highestMemmapPfn: u32 = FIRST_RAM_PFN - 1;

/** Address of the metadata of `pfn`, or 0 when its chunk has never been handed out. */
export function metaPtr(pfn: u32): usize {
  if (pfn >= PFN_LIMIT) return 0;
  let chunk = load<u32>(<usize>META_DIR_BASE + ((<usize>pfn >> 9) << 2));
  if (chunk == 0) return 0;
  return <usize>chunk + ((<usize>pfn & 511) << 3);
}

function ensureMeta(pfn: u32, count: u32): bool {
  let last = pfn + count - 1;
  for (let c = pfn >> 9; c <= last >> 9; c++) {
    let slot = <usize>META_DIR_BASE + (<usize>c << 2);
    if (load<u32>(slot) == 0) {
      let p = blockAlloc(512 * META_BYTES);
      if (p == 0) return false;
      store<u32>(slot, <u32>p);
    }
  }
  if (last > highestMemmapPfn) highestMemmapPfn = last;
  return true;
}
@inline function setMeta(pfn: u32, refcount: u32, flags: u32, aux: u32): void {
  let p = metaPtr(pfn);
  assert(p != 0, "setMeta: frame without metadata");
  store<u32>(p, refcount);
  store<u16>(p + META_OFF_MAPCOUNT, 0);
  store<u8>(p + META_OFF_FLAGS, <u8>flags);
  store<u8>(p + META_OFF_AUX, <u8>aux);
}

/** Sets up the zero page and the huge zero folio; called once per engine. */
export function framesInit(): bool {
  if (!ensureMeta(ZERO_PFN, 1) || !ensureMeta(HUGE_ZERO_PFN, 512)) return false;
  setMeta(ZERO_PFN, 1, FRAME_RESERVED, 0);
  setMeta(HUGE_ZERO_PFN, 1, FRAME_RESERVED | FRAME_HEAD, PMD_ORDER);
  for (let i: u32 = 1; i < 512; i++) setMeta(HUGE_ZERO_PFN + i, 0, FRAME_RESERVED | FRAME_TAIL, 0);
  return true;
}

/** Limits system RAM to `frames` frames above FIRST_RAM_PFN (for out-of-memory scenarios). */
export function framesSetRamLimit(frames: f64): void {
  let lim = <u64>FIRST_RAM_PFN + <u64>frames;
  ramLimit = lim > <u64>DEVICE_PFN_BASE ? DEVICE_PFN_BASE : <u32>lim;
}

function takeChunks(count: u32, alignPfns: u32): u32 {
  let start = (ramNext + alignPfns - 1) & ~(alignPfns - 1);
  if (<u64>start + <u64>count > <u64>ramLimit) return 0;
  // chunks skipped for alignment are not lost: they feed the order-9 list
  for (let p = ramNext; p < start; p += 512) pushFree(p, PMD_ORDER);
  ramNext = start + count;
  return start;
}

@inline function pushFree(pfn: u32, order: i32): void {
  // the free frame's refcount word links the list (pfn + 1, 0 ends it)
  if (!ensureMeta(pfn, 1)) return;
  let p = metaPtr(pfn);
  store<u32>(p, load<u32>(freeHeads + (order << 2)));
  store<u8>(p + META_OFF_FLAGS, 0);
  store<u32>(freeHeads + (order << 2), pfn + 1);
  store<u32>(freeCounts + (order << 2), load<u32>(freeCounts + (order << 2)) + 1);
}

function popFree(order: i32): u32 {
  let head = load<u32>(freeHeads + (order << 2));
  if (head == 0) return 0;
  let pfn = head - 1;
  assert(metaPtr(pfn) != 0 && load<u8>(metaPtr(pfn) + META_OFF_FLAGS) == 0, "popFree: a free-list frame is in use");
  store<u32>(freeHeads + (order << 2), load<u32>(metaPtr(pfn)));
  store<u32>(freeCounts + (order << 2), load<u32>(freeCounts + (order << 2)) - 1);
  return pfn;
}

/**
 * Hands out 1 << order contiguous RAM frames (order 0, 9 or 18) with refcount 1 on the head and
 * the given flags; returns the first pfn, or 0 when RAM (or linear memory) is exhausted.
 */
export function frameAlloc(order: i32, flags: u32): u32 {
  let count: u32 = 1 << order;
  let pfn = popFree(order);
  if (pfn == 0) {
    if (order == 0) {
      if (smallCursor == smallEnd) {
        let c = popFree(PMD_ORDER);
        if (c == 0) c = takeChunks(512, 512);
        if (c == 0) return 0;
        smallCursor = c;
        smallEnd = c + 512;
      }
      pfn = smallCursor++;
    } else if (order == PMD_ORDER) {
      pfn = takeChunks(512, 512);
    } else {
      pfn = takeChunks(count, count);
    }
    if (pfn == 0) return 0;
  }
  if (!ensureMeta(pfn, count)) return 0;
  if (order == 0) {
    setMeta(pfn, 1, flags, 0);
  } else {
    setMeta(pfn, 1, flags | FRAME_HEAD, <u32>order);
    for (let i: u32 = 1; i < count; i++) setMeta(pfn + i, 0, flags | FRAME_TAIL, 0);
  }
  framesInUse += <i64>count;
  return pfn;
}

/** Gives 1 << order frames starting at `pfn` back to the allocator. */
export function frameFree(pfn: u32, order: i32): void {
  let count: u32 = 1 << order;
  // debug build: a free of something frameAlloc() never handed out corrupts the free lists
  assert(pfn >= FIRST_RAM_PFN && pfn < ramLimit && (pfn & (count - 1)) == 0 && metaPtr(pfn) != 0,
    "frameFree: not a RAM frame of this order");
  assert(order == 0 || ((load<u8>(metaPtr(pfn) + META_OFF_FLAGS) & <u8>FRAME_HEAD) != 0 &&
    <i32>load<u8>(metaPtr(pfn) + META_OFF_AUX) == order), "frameFree: not the head of a folio of this order");
  assert(framesInUse >= <i64>count, "frameFree: more frames freed than allocated");
  for (let i: u32 = 1; i < count; i++) store<u8>(metaPtr(pfn + i) + META_OFF_FLAGS, 0);
  pushFree(pfn, order);
  framesInUse -= <i64>count;
}

/**
 * frameAlloc(0, flags) for a caller that allocates many order-0 frames in a row (fault.ts): the
 * frame at the head of the order-0 free list is taken and set up here directly (its metadata
 * exists: it was allocated before); otherwise frameAlloc() runs. Same frame, same metadata, same
 * counts as frameAlloc(0, flags). lastMeta is the new frame's metadata pointer.
 */
export let lastMeta: usize = 0;
@inline export function frameAllocOrder0(flags: u32): u32 {
  let head = load<u32>(freeHeads);
  if (head == 0) {
    let pfn = frameAlloc(0, flags);
    lastMeta = pfn == 0 ? 0 : metaPtr(pfn);
    return pfn;
  }
  let pfn = head - 1;
  let m = metaPtr(pfn);
  assert(m != 0 && load<u8>(m + META_OFF_FLAGS) == 0, "frameAllocOrder0: a free-list frame is in use");
  store<u32>(freeHeads, load<u32>(m));
  store<u32>(freeCounts, load<u32>(freeCounts) - 1);
  store<u32>(m, 1);
  store<u16>(m + META_OFF_MAPCOUNT, 0);
  store<u8>(m + META_OFF_FLAGS, <u8>flags);
  store<u8>(m + META_OFF_AUX, 0);
  framesInUse += 1;
  lastMeta = m;
  return pfn;
}

/**
 * The order-0 free list for a caller that frees many order-0 frames in a row (ptes.ts zapPtes):
 * it links each freed frame in front of order0FreeHead() itself (the refcount word holds the next
 * pfn + 1, flags 0, exactly as frameFree() does), then order0FreeCommit() publishes the new head
 * and the count, so the list is the one frameFree() calls in the same order would have built.
 */
export function order0FreeHead(): u32 {
  return load<u32>(freeHeads);
}
export function order0FreeCommit(head: u32, freed: u32): void {
  store<u32>(freeHeads, head);
  store<u32>(freeCounts, load<u32>(freeCounts) + freed);
  framesInUse -= <i64>freed;
  assert(framesInUse >= 0, "order0FreeCommit: more frames freed than allocated");
}

/** Reserves `count` device-private pfns for pgmap `pgmap`; returns the first, 0 if none left. */
export function deviceRangeAlloc(count: u32, pgmap: u32): u32 {
  if (<u64>deviceNext + <u64>count > <u64>PFN_LIMIT) return 0;
  let first = deviceNext;
  if (!ensureMeta(first, count)) return 0;
  for (let i: u32 = 0; i < count; i++) setMeta(first + i, 0, FRAME_DEVICE_PRIVATE, pgmap);
  deviceNext += count;
  return first;
}

export function framesUsed(): f64 {
  return <f64>framesInUse;
}

export function ramFramesLeft(): f64 {
  let left = <f64>(ramLimit - ramNext) + <f64>(smallEnd - smallCursor);
  for (let o = 0; o < MAX_ORDER_LISTS; o++) left += <f64>load<u32>(freeCounts + (o << 2)) * <f64>(1 << o);
  return left;
}

export function highestMemmapPfnValue(): u32 {
  return highestMemmapPfn;
}
