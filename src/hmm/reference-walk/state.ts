// The state of one reference walk (struct hmm_range, struct hmm_vma_walk and struct mm_walk) and
// what every level of the walk shares: the linear-memory accessors, the hmm_pfns output words, the
// request decisions (hmm_pte_need_fault, hmm_range_need_fault), the two ways a pass stops for the
// host (hmm_vma_fault, migration_entry_wait) and the callbacks for holes and skipped VMAs.
import type { Engine } from "../../engine/engine.js";
import {
  CTX,
  ERRNO,
  FRAME,
  HMM_NEED_ALL_BITS,
  HMM_NEED_FAULT,
  HMM_NEED_WRITE_FAULT,
  HMM_PFN_ORDER_SHIFT_SEED,
  MEM,
  PAGE_SHIFT,
  PHYS,
  PTE,
  VM,
  META_CHUNK_FRAMES,
} from "../../engine/layout.js";
import type { Entry } from "../../engine/pte.js";
import {
  TWO32,
  ENTRIES_PER_TABLE,
  ENTRY_BYTES,
  pagesPerEntry,
  lo32,
  VALID_HI,
  WRITE_HI,
  ERROR_HI,
  REQ_FAULT_HI,
  REQ_WRITE_HI,
} from "./entry.js";

/** Thrown where the WebAssembly walker would trap on an out-of-bounds memory access. */
export class ReferenceTrap extends Error {
  override name = "ReferenceTrap";
}

/**
 * One engine's walk state. Like the WASM module, it keeps `walk->vma` from one call to the next;
 * the level files (pte.ts, pmd.ts, upper.ts, hugetlb.ts) take it as their first argument.
 */
export class WalkState {
  // linear memory (refreshed at the start of every walk; a walk never grows memory)
  u8: Uint8Array = new Uint8Array(0);
  u32: Uint32Array = new Uint32Array(0);
  i32: Int32Array = new Int32Array(0);
  f64: Float64Array = new Float64Array(0);
  readonly pmdBadIgnoredLo: number;

  // struct hmm_range
  mm = 0;
  pfns = 0; // hmm_pfns[0] is the word of startPage
  startPage = 0;
  defaultHi = 0;
  maskHi = 0;
  owner = 0; // dev_private_owner id; 0 is NULL and never matches
  orderShiftHi = HMM_PFN_ORDER_SHIFT_SEED - 32; // the order field, within the high half
  inoutHi = 0; // LATE: sticky input bits kept in every output word
  deviceThp = false; // v6.19: absent PMDs are hmm_vma_handle_absent_pmd (M3L)
  noDevmap = false; // v6.19: no devmap exemptions, every leaf PUD reported (U3)
  highestMemmapPfn = 0;

  // struct hmm_vma_walk / struct mm_walk
  last = 0; // page number
  vmaIndex = -1; // walk->vma as an index into the VMA table; -1 is NULL
  vmaFlags = 0;
  pagesWalked = 0;

  constructor(readonly engine: Engine) {
    // pmd_bad() ignores these bits; src/layout.ts does not re-export the constant
    this.pmdBadIgnoredLo = lo32(PTE.PMD_BAD_IGNORED);
  }

  // ---- memory ---------------------------------------------------------------------------------

  load64(ptr: number): Entry {
    if (ptr + ENTRY_BYTES > this.u32.byteLength) {
      throw new ReferenceTrap(`memory access out of bounds: load of 8 bytes at 0x${ptr.toString(16)}`);
    }
    const i = ptr >>> 2;
    return { lo: this.u32[i], hi: this.u32[i + 1] };
  }
  store64(ptr: number, e: Entry): void {
    const i = ptr >>> 2;
    this.u32[i] = e.lo;
    this.u32[i + 1] = e.hi;
  }
  storeCtxI32(off: number, v: number): void {
    this.i32[(MEM.WALK_CTX + off) >>> 2] = v;
  }
  /** Address of the entry for `page` in the table at `table`, which sits at paging `level`. */
  entrySlot(table: number, level: number, page: number): number {
    const index = Math.floor(page / pagesPerEntry(level)) % ENTRIES_PER_TABLE;
    return (table + index * ENTRY_BYTES) >>> 0;
  }
  /** Address of hmm_pfns[page - start] (u32 arithmetic, like the WASM pointer). */
  pfnSlot(page: number): number {
    const p = (this.pfns + (page - this.startPage) * ENTRY_BYTES) >>> 0;
    if (p + ENTRY_BYTES > this.u32.byteLength) {
      throw new ReferenceTrap(`memory access out of bounds: hmm_pfns word at 0x${p.toString(16)}`);
    }
    return p;
  }
  /** The high half of hmm_pfns[page]: where every request bit lives. */
  requestHi(page: number): number {
    return this.u32[(this.pfnSlot(page) >>> 2) + 1];
  }
  vmaPtr(i: number): number {
    return (this.u32[(this.mm + MEM.MM_VMAS) >>> 2] + i * MEM.VMA_BYTES) >>> 0;
  }
  /** VMA bounds are stored as u64 byte addresses; returned as page numbers. */
  vmaStartPage(i: number): number {
    return this.bytesToPage(this.vmaPtr(i) + MEM.VMA_START);
  }
  vmaEndPage(i: number): number {
    return this.bytesToPage(this.vmaPtr(i) + MEM.VMA_END);
  }
  bytesToPage(ptr: number): number {
    const e = this.load64(ptr);
    return e.hi * 2 ** (32 - PAGE_SHIFT) + (e.lo >>> PAGE_SHIFT);
  }

  // ---- output words ----------------------------------------------------------------------------

  /** OUT(x): SEED overwrites the word; LATE keeps the sticky input bits (HMM_PFN_INOUT_FLAGS). */
  out(p: number, lo: number, hi: number): void {
    const i = p >>> 2;
    if (this.inoutHi !== 0) hi = (hi | (this.u32[i + 1] & this.inoutHi)) >>> 0;
    this.u32[i] = lo >>> 0;
    this.u32[i + 1] = hi >>> 0;
  }
  /** OUT(pfn | flags) where flagsHi holds VALID/WRITE/ERROR/order bits of the high half. */
  outPfn(p: number, pfn: number, flagsHi: number): void {
    this.out(p, pfn % TWO32, (Math.floor(pfn / TWO32) | flagsHi) >>> 0);
  }
  /** hmm_pfn_flags_order(): the order field, as high-half bits. */
  order(o: number): number {
    return (o << this.orderShiftHi) >>> 0;
  }

  /** hmm_pfns_fill(): OUT(flagsHi << 32) for every page of [addr, end). */
  hmmPfnsFill(addr: number, end: number, flagsHi: number): number {
    for (let page = addr; page < end; page++) this.out(this.pfnSlot(page), 0, flagsHi);
    this.pagesWalked += end - addr;
    return 0;
  }

  // ---- requests ---------------------------------------------------------------------------------

  /** hmm_pte_need_fault(): what fault one page's request needs given the cpu flags (high halves). */
  hmmPteNeedFault(reqHi: number, cpuHi: number): number {
    const req = ((reqHi & this.maskHi) | this.defaultHi) >>> 0;
    if ((req & REQ_FAULT_HI) === 0) return 0; // REQ_WRITE alone is ignored
    if ((req & REQ_WRITE_HI) !== 0 && (cpuHi & WRITE_HI) === 0) return HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT;
    if ((cpuHi & VALID_HI) === 0) return HMM_NEED_FAULT;
    return 0;
  }

  /** hmm_range_need_fault(): the union over [addr, end) (QUIRK: one page decides for the chunk). */
  hmmRangeNeedFault(addr: number, end: number, cpuHi: number): number {
    if (((this.defaultHi | this.maskHi) & REQ_FAULT_HI) === 0) return 0; // fast path
    let required = 0;
    for (let page = addr; page < end; page++) {
      required |= this.hmmPteNeedFault(this.requestHi(page), cpuHi);
      if (required === HMM_NEED_ALL_BITS) break;
    }
    return required;
  }

  /** hmm_vma_fault(): records the fault of [addr, end) for the host, which runs handle_mm_fault(). */
  hmmVmaFault(addr: number, end: number, required: number): number {
    this.last = addr;
    if ((required & HMM_NEED_WRITE_FAULT) !== 0 && (this.vmaFlags & VM.WRITE) === 0) return -ERRNO.EPERM;
    this.storeCtxI32(CTX.ACTION, CTX.ACTION_FAULT);
    this.f64[(MEM.WALK_CTX + CTX.FAULT_END) >>> 3] = end;
    this.storeCtxI32(CTX.NEED, required);
    return -ERRNO.EBUSY;
  }

  /** migration_entry_wait() / pmd_migration_entry_wait(): the host finishes the migration. */
  migrationEntryWait(addr: number): number {
    this.last = addr;
    this.storeCtxI32(CTX.ACTION, CTX.ACTION_WAIT_MIGRATION);
    // SPEC: CTX_NEED is left as it was; CTX_FAULT_END is addr + 1 page even for a PMD migration entry.
    this.f64[(MEM.WALK_CTX + CTX.FAULT_END) >>> 3] = addr + 1;
    return -ERRNO.EBUSY;
  }

  // ---- callbacks (mm/hmm.c) ---------------------------------------------------------------------

  /** hmm_vma_walk_hole(): no table below this point (U1, M1, H1), or no VMA at all (V1). */
  hmmVmaWalkHole(addr: number, end: number): number {
    const required = this.hmmRangeNeedFault(addr, end, 0);
    if (this.vmaIndex < 0) {
      if (required !== 0) return -ERRNO.EFAULT;
      return this.hmmPfnsFill(addr, end, ERROR_HI);
    }
    if (required !== 0) return this.hmmVmaFault(addr, end, required);
    return this.hmmPfnsFill(addr, end, 0);
  }

  /** hmm_vma_walk_test(): 0 = walk the VMA, 1 = skipped it (V2/V3 filled with ERROR), <0 = error. */
  hmmVmaWalkTest(addr: number, end: number): number {
    const f = this.vmaFlags;
    if ((f & (VM.IO | VM.PFNMAP)) === 0 && (f & VM.READ) !== 0) return 0;
    // no struct pages (VM_IO / VM_PFNMAP) or not readable: a hard failure if faulting, else ERROR
    if (this.hmmRangeNeedFault(addr, end, 0) !== 0) return -ERRNO.EFAULT;
    this.hmmPfnsFill(addr, end, ERROR_HI);
    return 1;
  }

  /** The owner id of the pgmap behind a device-private pfn (page_pgmap(page)->owner); 0 if none. */
  pgmapOwner(pfn: number): number {
    const meta = this.metaPtr(pfn >>> 0); // the WASM walker passes the pfn as a u32
    if (meta === 0 || (this.u8[meta + PHYS.META_OFF_FLAGS] & FRAME.DEVICE_PRIVATE) === 0) return 0;
    return this.u32[(MEM.PGMAP_TABLE >>> 2) + this.u8[meta + PHYS.META_OFF_AUX]];
  }
  /** Address of the 8-byte frame metadata of `pfn` (struct page), 0 if it has none. */
  metaPtr(pfn: number): number {
    if (pfn >= PHYS.PFN_LIMIT) return 0;
    const chunk = this.u32[(MEM.META_DIR_BASE >>> 2) + Math.floor(pfn / META_CHUNK_FRAMES)];
    if (chunk === 0) return 0;
    return (chunk + (pfn % META_CHUNK_FRAMES) * PHYS.META_BYTES) >>> 0;
  }
}
