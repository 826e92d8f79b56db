// A plain-TypeScript reference implementation of assembly/walk.ts `hmmWalk`: one pass of
// hmm_range_fault()'s page walk (mm/hmm.c driven by mm/pagewalk.c), over the same linear memory,
// with the same signature, the same effects and the same return codes.
//
// It is the readable oracle of the differential test (test/differential.test.ts): one small method
// per kernel function, named after it, and written for clarity rather than speed. It reads the page
// tables, the VMA table and the pgmap table of the engine directly from linear memory, writes the
// hmm_pfns words and the WALK_CTX outputs there, and mutates the page table in the two places the
// WASM walker does (a bad PGD/P4D entry is cleared by pgd_none_or_clear_bad(); a trans-huge or devmap
// PUD that HMM does not report is cleared by split_huge_pud()).
//
// Arithmetic is number-only: 64-bit entries and hmm_pfns words are handled as their two unsigned
// 32-bit halves (`Entry` from src/pte.ts), addresses inside the walk are page numbers (exact up to
// 2^53), and every request / cpu flag is looked at in the high half of its word, like the WASM walker.
//
// Where the WASM walker and the specification (docs/semantics.md §2-§3) part ways, this file follows
// the WASM walker (it is the oracle of *that* walk) and says so in a "SPEC:" comment.
import type { Engine } from "../engine/engine.js";
import {
  CTX, ERRNO, FRAME, HMM_NEED_ALL_BITS, HMM_NEED_FAULT, HMM_NEED_WRITE_FAULT, HMM_PFN_HI,
  HMM_PFN_ORDER_SHIFT_LATE, HMM_PFN_ORDER_SHIFT_SEED, MEM, PAGE_SHIFT, PHYS, PMD_ORDER, PMD_SHIFT,
  PROFILE_DEVICE_THP, PROFILE_LATE_LAYOUT, PROFILE_NO_DEVMAP, PTE, PTE_HI, PTE_LO, PUD_ORDER, PUD_SHIFT, SWP, VM, META_CHUNK_FRAMES,
} from "../engine/layout.js";
import {
  type Entry, NONE, isDevmap, isNone, isPresent, isProtnone, isSpecial, isTable, isWrite, pfnOf,
  swapOffset, swapType,
} from "../engine/pte.js";

/** The signature of the WASM export `hmmWalk` (pointers u32, page numbers as numbers). */
export type HmmWalkFn = (
  mm: number, pfns: number, startPage: number, lastPage: number, endPage: number,
  defaultFlagsHi: number, pfnFlagsMaskHi: number, ownerId: number, profile: number,
) => number;

/** Thrown where the WebAssembly walker would trap on an out-of-bounds memory access. */
export class ReferenceTrap extends Error {
  override name = "ReferenceTrap";
}

// ---- geometry, derived from the layout constants ------------------------------------------

const TWO32 = 2 ** 32;
const INDEX_BITS = PMD_SHIFT - PAGE_SHIFT; // entries per table = 1 << INDEX_BITS
const ENTRIES_PER_TABLE = 2 ** INDEX_BITS;
const ENTRY_BYTES = 8;
const PMD_PAGES = 2 ** (PMD_SHIFT - PAGE_SHIFT);
const PUD_PAGES = 2 ** (PUD_SHIFT - PAGE_SHIFT);
/** Paging levels: 0 = PTE, 1 = PMD, 2 = PUD, 3 = P4D (the PGD of a 4-level table), 4 = PGD. */
const PMD_LEVEL = 1;
const PUD_LEVEL = 2;
/** Pages mapped by one entry of a table at `level`. */
function pagesPerEntry(level: number): number {
  return 2 ** (INDEX_BITS * level);
}

// ---- entry bits as 32-bit halves (computed once, never per page) -----------------------------

const lo32 = (v: bigint): number => Number(v & 0xffffffffn) >>> 0;
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffffffffn) >>> 0;
const PFN_MASK_LO = lo32(PTE.PFN_MASK);
const PFN_MASK_HI = hi32(PTE.PFN_MASK);
/** Everything that is not pfn: what pmd_flags() / pgd_flags() look at. */
const FLAGS_LO = ~PFN_MASK_LO >>> 0;
const FLAGS_HI = ~PFN_MASK_HI >>> 0;
const TABLE_FLAGS_LO = lo32(PTE.TABLE_FLAGS);
const TABLE_FLAGS_HI = hi32(PTE.TABLE_FLAGS);
const P = PTE_LO.PRESENT;
const PROTNONE = PTE_LO.PROTNONE;
const PSE = PTE_LO.PSE;
const DEVMAP_HI = PTE_HI.DEVMAP;

const VALID_HI = HMM_PFN_HI.VALID;
const WRITE_HI = HMM_PFN_HI.WRITE;
const ERROR_HI = HMM_PFN_HI.ERROR;
const REQ_FAULT_HI = VALID_HI; // HMM_PFN_REQ_FAULT == HMM_PFN_VALID
const REQ_WRITE_HI = WRITE_HI; // HMM_PFN_REQ_WRITE == HMM_PFN_WRITE

// ---- x86-64 entry predicates (arch/x86/include/asm/pgtable.h as modelled by assembly/pgtable.ts) --

/** pmd_present(): P, PROTNONE or PSE (a huge PMD being split is still present). */
function pmdPresent(e: Entry): boolean {
  return (e.lo & (P | PROTNONE | PSE)) !== 0;
}
/** pmd_trans_huge() / pud_trans_huge(): PSE without DEVMAP. */
function pmdTransHuge(e: Entry): boolean {
  return (e.lo & PSE) !== 0 && (e.hi & DEVMAP_HI) === 0;
}
const pudTransHuge = pmdTransHuge;
/** pmd_devmap() / pud_devmap(). */
const pmdDevmap = isDevmap;
const pudDevmap = isDevmap;
/** The flags of `e` differ from those of a table entry once the `ignoredLo` bits are masked out. */
function flagsDifferFromTable(e: Entry, ignoredLo: number): boolean {
  const lo = (e.lo & FLAGS_LO & ~ignoredLo) >>> 0;
  const hi = (e.hi & FLAGS_HI) >>> 0;
  return lo !== ((TABLE_FLAGS_LO & ~ignoredLo) >>> 0) || hi !== ((TABLE_FLAGS_HI & FLAGS_HI) >>> 0);
}
/** pgd_bad() / p4d_bad(): anything but a table entry once U is ignored. */
function upperBad(e: Entry): boolean {
  return flagsDifferFromTable(e, PTE_LO.USER);
}
/** pud_huge() on x86: non-none and not a plain present table entry (P without PSE). */
function pudHuge(e: Entry): boolean {
  return !isNone(e) && (e.lo & (P | PSE)) !== P;
}
/** pud_present() / p4d_present() / pgd_present(): the P bit. */
function upperPresent(e: Entry): boolean {
  return (e.lo & P) !== 0;
}
/** Linear-memory address of the table an entry points to (the pfn field, truncated to 32 bits). */
function tableOf(e: Entry): number {
  return (e.lo & PFN_MASK_LO) >>> 0;
}
function isMigrationType(t: number): boolean {
  return t >= SWP.MIGRATION_READ && t <= SWP.MIGRATION_WRITE;
}
function isDevicePrivateType(t: number): boolean {
  return t === SWP.DEVICE_WRITE || t === SWP.DEVICE_READ;
}
function isDeviceExclusiveType(t: number): boolean {
  return t === SWP.DEVICE_EXCLUSIVE_WRITE || t === SWP.DEVICE_EXCLUSIVE_READ;
}

/**
 * The reference walker of one engine. Like the WASM module, it keeps `walk->vma` from one call to
 * the next (a walk that fails with -EINVAL before looking at any VMA reports the previous index in
 * CTX_VMA_INDEX), so use one walker per engine and do not interleave it with the WASM walker there.
 */
export function createReferenceWalker(engine: Engine): HmmWalkFn {
  const walk = new ReferenceWalk(engine);
  return (mm, pfns, startPage, lastPage, endPage, defaultFlagsHi, pfnFlagsMaskHi, ownerId, profile) =>
    walk.hmmWalk(mm, pfns, startPage, lastPage, endPage, defaultFlagsHi, pfnFlagsMaskHi, ownerId, profile);
}

class ReferenceWalk {
  // linear memory (refreshed at the start of every walk; a walk never grows memory)
  private u8: Uint8Array = new Uint8Array(0);
  private u32: Uint32Array = new Uint32Array(0);
  private i32: Int32Array = new Int32Array(0);
  private f64: Float64Array = new Float64Array(0);
  private readonly pmdBadIgnoredLo: number;

  // struct hmm_range
  private mm = 0;
  private pfns = 0; // hmm_pfns[0] is the word of startPage
  private startPage = 0;
  private defaultHi = 0;
  private maskHi = 0;
  private owner = 0; // dev_private_owner id; 0 is NULL and never matches
  private orderShiftHi = HMM_PFN_ORDER_SHIFT_SEED - 32; // the order field, within the high half
  private inoutHi = 0; // LATE: sticky input bits kept in every output word
  private deviceThp = false; // v6.19: absent PMDs are hmm_vma_handle_absent_pmd (M3L)
  private noDevmap = false; // v6.19: no devmap exemptions, every leaf PUD reported (U3)
  private highestMemmapPfn = 0;

  // struct hmm_vma_walk / struct mm_walk
  private last = 0; // page number
  private vmaIndex = -1; // walk->vma as an index into the VMA table; -1 is NULL
  private vmaFlags = 0;
  private pagesWalked = 0;

  constructor(private readonly engine: Engine) {
    // pmd_bad() ignores these bits; src/layout.ts does not re-export the constant
    this.pmdBadIgnoredLo = lo32(PTE.PMD_BAD_IGNORED);
  }

  hmmWalk(
    mm: number, pfns: number, startPage: number, lastPage: number, endPage: number,
    defaultFlagsHi: number, pfnFlagsMaskHi: number, ownerId: number, profile: number,
  ): number {
    const views = this.engine.mem();
    this.u8 = views.u8;
    this.u32 = views.u32;
    this.i32 = views.i32;
    this.f64 = views.f64;
    if (pfns % 4 !== 0) throw new RangeError(`reference walker: hmm_pfns pointer ${pfns} is not 4-byte aligned`);
    this.mm = mm >>> 0;
    this.pfns = pfns >>> 0;
    this.startPage = Math.trunc(startPage);
    this.defaultHi = defaultFlagsHi >>> 0;
    this.maskHi = pfnFlagsMaskHi >>> 0;
    this.owner = ownerId >>> 0;
    const late = ((profile | 0) & PROFILE_LATE_LAYOUT) !== 0;
    this.orderShiftHi = (late ? HMM_PFN_ORDER_SHIFT_LATE : HMM_PFN_ORDER_SHIFT_SEED) - 32;
    this.inoutHi = late ? HMM_PFN_HI.INOUT_LATE : 0;
    this.deviceThp = ((profile | 0) & PROFILE_DEVICE_THP) !== 0;
    this.noDevmap = ((profile | 0) & PROFILE_NO_DEVMAP) !== 0;
    this.highestMemmapPfn = this.engine.highestMemmapPfn();
    this.last = Math.trunc(lastPage);
    this.pagesWalked = 0;
    this.vmaIndex = -1;
    this.storeCtxI32(CTX.ACTION, CTX.ACTION_NONE);

    const r = this.walkPageRange(this.last, Math.trunc(endPage));

    this.f64[(MEM.WALK_CTX + CTX.LAST) >>> 3] = this.last;
    this.storeCtxI32(CTX.VMA_INDEX, this.vmaIndex);
    this.storeCtxI32(CTX.PAGES_WALKED, this.pagesWalked | 0);
    return r;
  }

  // ---- memory ---------------------------------------------------------------------------------

  private load64(ptr: number): Entry {
    if (ptr + ENTRY_BYTES > this.u32.byteLength) {
      throw new ReferenceTrap(`memory access out of bounds: load of 8 bytes at 0x${ptr.toString(16)}`);
    }
    const i = ptr >>> 2;
    return { lo: this.u32[i], hi: this.u32[i + 1] };
  }
  private store64(ptr: number, e: Entry): void {
    const i = ptr >>> 2;
    this.u32[i] = e.lo;
    this.u32[i + 1] = e.hi;
  }
  private storeCtxI32(off: number, v: number): void {
    this.i32[(MEM.WALK_CTX + off) >>> 2] = v;
  }
  /** Address of the entry for `page` in the table at `table`, which sits at paging `level`. */
  private entrySlot(table: number, level: number, page: number): number {
    const index = Math.floor(page / pagesPerEntry(level)) % ENTRIES_PER_TABLE;
    return (table + index * ENTRY_BYTES) >>> 0;
  }
  /** Address of hmm_pfns[page - start] (u32 arithmetic, like the WASM pointer). */
  private pfnSlot(page: number): number {
    const p = (this.pfns + (page - this.startPage) * ENTRY_BYTES) >>> 0;
    if (p + ENTRY_BYTES > this.u32.byteLength) {
      throw new ReferenceTrap(`memory access out of bounds: hmm_pfns word at 0x${p.toString(16)}`);
    }
    return p;
  }
  /** The high half of hmm_pfns[page]: where every request bit lives. */
  private requestHi(page: number): number {
    return this.u32[(this.pfnSlot(page) >>> 2) + 1];
  }
  private vmaPtr(i: number): number {
    return (this.u32[(this.mm + MEM.MM_VMAS) >>> 2] + i * MEM.VMA_BYTES) >>> 0;
  }
  /** VMA bounds are stored as u64 byte addresses; returned as page numbers. */
  private vmaStartPage(i: number): number {
    return this.bytesToPage(this.vmaPtr(i) + MEM.VMA_START);
  }
  private vmaEndPage(i: number): number {
    return this.bytesToPage(this.vmaPtr(i) + MEM.VMA_END);
  }
  private bytesToPage(ptr: number): number {
    const e = this.load64(ptr);
    return e.hi * 2 ** (32 - PAGE_SHIFT) + (e.lo >>> PAGE_SHIFT);
  }

  // ---- output words ----------------------------------------------------------------------------

  /** OUT(x): SEED overwrites the word; LATE keeps the sticky input bits (HMM_PFN_INOUT_FLAGS). */
  private out(p: number, lo: number, hi: number): void {
    const i = p >>> 2;
    if (this.inoutHi !== 0) hi = (hi | (this.u32[i + 1] & this.inoutHi)) >>> 0;
    this.u32[i] = lo >>> 0;
    this.u32[i + 1] = hi >>> 0;
  }
  /** OUT(pfn | flags) where flagsHi holds VALID/WRITE/ERROR/order bits of the high half. */
  private outPfn(p: number, pfn: number, flagsHi: number): void {
    this.out(p, pfn % TWO32, (Math.floor(pfn / TWO32) | flagsHi) >>> 0);
  }
  /** hmm_pfn_flags_order(): the order field, as high-half bits. */
  private order(o: number): number {
    return (o << this.orderShiftHi) >>> 0;
  }

  /** hmm_pfns_fill(): OUT(flagsHi << 32) for every page of [addr, end). */
  private hmmPfnsFill(addr: number, end: number, flagsHi: number): number {
    for (let page = addr; page < end; page++) this.out(this.pfnSlot(page), 0, flagsHi);
    this.pagesWalked += end - addr;
    return 0;
  }

  // ---- requests ---------------------------------------------------------------------------------

  /** hmm_pte_need_fault(): what fault one page's request needs given the cpu flags (high halves). */
  private hmmPteNeedFault(reqHi: number, cpuHi: number): number {
    const req = ((reqHi & this.maskHi) | this.defaultHi) >>> 0;
    if ((req & REQ_FAULT_HI) === 0) return 0; // REQ_WRITE alone is ignored
    if ((req & REQ_WRITE_HI) !== 0 && (cpuHi & WRITE_HI) === 0) return HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT;
    if ((cpuHi & VALID_HI) === 0) return HMM_NEED_FAULT;
    return 0;
  }

  /** hmm_range_need_fault(): the union over [addr, end) (QUIRK: one page decides for the chunk). */
  private hmmRangeNeedFault(addr: number, end: number, cpuHi: number): number {
    if (((this.defaultHi | this.maskHi) & REQ_FAULT_HI) === 0) return 0; // fast path
    let required = 0;
    for (let page = addr; page < end; page++) {
      required |= this.hmmPteNeedFault(this.requestHi(page), cpuHi);
      if (required === HMM_NEED_ALL_BITS) break;
    }
    return required;
  }

  /** hmm_vma_fault(): records the fault of [addr, end) for the host, which runs handle_mm_fault(). */
  private hmmVmaFault(addr: number, end: number, required: number): number {
    this.last = addr;
    if ((required & HMM_NEED_WRITE_FAULT) !== 0 && (this.vmaFlags & VM.WRITE) === 0) return -ERRNO.EPERM;
    this.storeCtxI32(CTX.ACTION, CTX.ACTION_FAULT);
    this.f64[(MEM.WALK_CTX + CTX.FAULT_END) >>> 3] = end;
    this.storeCtxI32(CTX.NEED, required);
    return -ERRNO.EBUSY;
  }

  /** migration_entry_wait() / pmd_migration_entry_wait(): the host finishes the migration. */
  private migrationEntryWait(addr: number): number {
    this.last = addr;
    this.storeCtxI32(CTX.ACTION, CTX.ACTION_WAIT_MIGRATION);
    // SPEC: CTX_NEED is left as it was; CTX_FAULT_END is addr + 1 page even for a PMD migration entry.
    this.f64[(MEM.WALK_CTX + CTX.FAULT_END) >>> 3] = addr + 1;
    return -ERRNO.EBUSY;
  }

  // ---- callbacks (mm/hmm.c) ---------------------------------------------------------------------

  /** hmm_vma_walk_hole(): no table below this point (U1, M1, H1), or no VMA at all (V1). */
  private hmmVmaWalkHole(addr: number, end: number): number {
    const required = this.hmmRangeNeedFault(addr, end, 0);
    if (this.vmaIndex < 0) {
      if (required !== 0) return -ERRNO.EFAULT;
      return this.hmmPfnsFill(addr, end, ERROR_HI);
    }
    if (required !== 0) return this.hmmVmaFault(addr, end, required);
    return this.hmmPfnsFill(addr, end, 0);
  }

  /** hmm_vma_walk_test(): 0 = walk the VMA, 1 = skipped it (V2/V3 filled with ERROR), <0 = error. */
  private hmmVmaWalkTest(addr: number, end: number): number {
    const f = this.vmaFlags;
    if ((f & (VM.IO | VM.PFNMAP)) === 0 && (f & VM.READ) !== 0) return 0;
    // no struct pages (VM_IO / VM_PFNMAP) or not readable: a hard failure if faulting, else ERROR
    if (this.hmmRangeNeedFault(addr, end, 0) !== 0) return -ERRNO.EFAULT;
    this.hmmPfnsFill(addr, end, ERROR_HI);
    return 1;
  }

  /** The owner id of the pgmap behind a device-private pfn (page_pgmap(page)->owner); 0 if none. */
  private pgmapOwner(pfn: number): number {
    const meta = this.metaPtr(pfn >>> 0); // the WASM walker passes the pfn as a u32
    if (meta === 0 || (this.u8[meta + PHYS.META_OFF_FLAGS] & FRAME.DEVICE_PRIVATE) === 0) return 0;
    return this.u32[(MEM.PGMAP_TABLE >>> 2) + this.u8[meta + PHYS.META_OFF_AUX]];
  }
  /** Address of the 8-byte frame metadata of `pfn` (struct page), 0 if it has none. */
  private metaPtr(pfn: number): number {
    if (pfn >= PHYS.PFN_LIMIT) return 0;
    const chunk = this.u32[(MEM.META_DIR_BASE >>> 2) + Math.floor(pfn / META_CHUNK_FRAMES)];
    if (chunk === 0) return 0;
    return (chunk + (pfn % META_CHUNK_FRAMES) * PHYS.META_BYTES) >>> 0;
  }

  /** hmm_vma_handle_pte(): one page; `end` is the end of the PMD chunk (faults go up to it). */
  private hmmVmaHandlePte(addr: number, end: number, pte: Entry, p: number): number {
    const reqHi = this.u32[(p >>> 2) + 1];

    // P1: pte_none_mostly(): none, or a PTE marker (SEED)
    if (isNone(pte)) return this.hmmPteNone(addr, end, reqHi, p);
    if (!isPresent(pte)) {
      const type = swapType(pte);
      if (type === SWP.PTE_MARKER) return this.hmmPteNone(addr, end, reqHi, p);

      // P2: a device-private entry of the range's owner is reported, never faulted
      if (isDevicePrivateType(type)) {
        const pfn = swapOffset(pte);
        if (this.owner !== 0 && this.pgmapOwner(pfn) === this.owner) {
          this.outPfn(p, pfn, type === SWP.DEVICE_WRITE ? VALID_HI | WRITE_HI : VALID_HI);
          return 0;
        }
      }
      // P3: anything else without a request is "faultable"
      const required = this.hmmPteNeedFault(reqHi, 0);
      if (required === 0) {
        this.out(p, 0, 0);
        return 0;
      }
      if (type < SWP.MAX_SWAPFILES) return this.hmmVmaFault(addr, end, required); // P4 swap
      if (isDevicePrivateType(type)) return this.hmmVmaFault(addr, end, required); // P5 other owner
      if (isDeviceExclusiveType(type)) return this.hmmVmaFault(addr, end, required); // P6
      if (isMigrationType(type)) return this.migrationEntryWait(addr); // P7
      return -ERRNO.EFAULT; // P8 hwpoison and the rest
    }

    // present (or protnone): P9 .. P14
    const cpuHi = isProtnone(pte) ? 0 : isWrite(pte) ? (VALID_HI | WRITE_HI) >>> 0 : VALID_HI;
    const required = this.hmmPteNeedFault(reqHi, cpuHi);
    if (required !== 0) return this.hmmVmaFault(addr, end, required);
    const pfn = pfnOf(pte);
    // vm_normal_page() is NULL for special entries and for pfns without a struct page
    const normal = !isSpecial(pte) && pfn <= this.highestMemmapPfn;
    // SPEC: the !pte_devmap() exemption (P13) applies in both profiles (LATE is only a layout here)
    if (!normal && (this.noDevmap || !isDevmap(pte)) && pfn !== PHYS.ZERO_PFN) {
      if (this.hmmPteNeedFault(reqHi, 0) !== 0) return -ERRNO.EFAULT; // P14
      this.out(p, 0, ERROR_HI);
      return 0;
    }
    this.outPfn(p, pfn, cpuHi);
    return 0;
  }
  /** The pte_none() branch of hmm_vma_handle_pte(). */
  private hmmPteNone(addr: number, end: number, reqHi: number, p: number): number {
    const required = this.hmmPteNeedFault(reqHi, 0);
    if (required !== 0) return this.hmmVmaFault(addr, end, required);
    this.out(p, 0, 0);
    return 0;
  }

  /** hmm_vma_handle_pmd(): a present huge PMD (THP, huge zero page, devmap), M4. */
  private hmmVmaHandlePmd(addr: number, end: number, pmd: Entry): number {
    // pmd_to_hmm_pfn_flags(): protnone gives 0 (no flags and no order)
    const cpuHi = isProtnone(pmd) ? 0 :
      ((isWrite(pmd) ? VALID_HI | WRITE_HI : VALID_HI) | this.order(PMD_ORDER)) >>> 0;
    const required = this.hmmRangeNeedFault(addr, end, cpuHi);
    if (required !== 0) return this.hmmVmaFault(addr, end, required);
    // SPEC: pte_pfn() of the entry (x86 pmd_pfn() would also drop pfn bits 0..8 of a PSE entry)
    const pfn = pfnOf(pmd) + (addr % PMD_PAGES);
    for (let page = addr; page < end; page++) this.outPfn(this.pfnSlot(page), pfn + (page - addr), cpuHi);
    this.pagesWalked += end - addr;
    return 0;
  }

  /**
   * hmm_vma_handle_absent_pmd() (v6.19, M3L): (a) a device-private PMD of the range's owner is
   * reported with order 9 whatever the request; (b) another owner's is ERROR without a request,
   * faulted with one; (c) anything else absent is ERROR / -EFAULT.
   */
  private hmmVmaHandleAbsentPmd(addr: number, end: number, pmd: Entry): number {
    const type = swapType(pmd);
    const devicePrivate = isDevicePrivateType(type);
    if (devicePrivate && this.owner !== 0 && this.pgmapOwner(swapOffset(pmd)) === this.owner) {
      const cpuHi = ((type === SWP.DEVICE_WRITE ? VALID_HI | WRITE_HI : VALID_HI) | this.order(PMD_ORDER)) >>> 0;
      const pfn = swapOffset(pmd) + (addr % PMD_PAGES);
      for (let page = addr; page < end; page++) this.outPfn(this.pfnSlot(page), pfn + (page - addr), cpuHi);
      this.pagesWalked += end - addr;
      return 0;
    }
    const required = this.hmmRangeNeedFault(addr, end, 0);
    if (required !== 0) return devicePrivate ? this.hmmVmaFault(addr, end, required) : -ERRNO.EFAULT;
    return this.hmmPfnsFill(addr, end, ERROR_HI);
  }

  /** hmm_vma_walk_pmd(): the PMD entry at pmdp covers [addr, end); M1 .. M6. */
  private hmmVmaWalkPmd(pmdp: number, addr: number, end: number): number {
    const pmd = this.load64(pmdp);
    if (isNone(pmd)) return this.hmmVmaWalkHole(addr, end); // M1
    if (!pmdPresent(pmd) && isMigrationType(swapType(pmd))) { // M2
      if (this.hmmRangeNeedFault(addr, end, 0) !== 0) return this.migrationEntryWait(addr);
      return this.hmmPfnsFill(addr, end, 0);
    }
    if (!pmdPresent(pmd)) { // M3 (SEED) / M3L (v6.19)
      if (this.deviceThp) return this.hmmVmaHandleAbsentPmd(addr, end, pmd);
      if (this.hmmRangeNeedFault(addr, end, 0) !== 0) return -ERRNO.EFAULT;
      return this.hmmPfnsFill(addr, end, ERROR_HI);
    }
    if (pmdDevmap(pmd) || pmdTransHuge(pmd)) return this.hmmVmaHandlePmd(addr, end, pmd); // M4
    if (this.pmdBad(pmd)) { // M5
      if (this.hmmRangeNeedFault(addr, end, 0) !== 0) return -ERRNO.EFAULT;
      return this.hmmPfnsFill(addr, end, ERROR_HI);
    }
    // M6: a PTE table
    const table = tableOf(pmd);
    for (let page = addr; page < end; page++) {
      const pte = this.load64(this.entrySlot(table, 0, page));
      const r = this.hmmVmaHandlePte(page, end, pte, this.pfnSlot(page));
      if (r !== 0) return r;
    }
    this.pagesWalked += end - addr;
    return 0;
  }
  /** pmd_bad(): anything that is not exactly a table entry once U and A are ignored. */
  private pmdBad(pmd: Entry): boolean {
    return flagsDifferFromTable(pmd, this.pmdBadIgnoredLo);
  }

  /** walk_pmd_range(): PMD chunks of [addr, end) in the PMD table at `table`. */
  private walkPmdRange(table: number, addr: number, end: number): number {
    for (let page = addr; page < end;) {
      const next = Math.min((Math.floor(page / PMD_PAGES) + 1) * PMD_PAGES, end);
      const r = this.hmmVmaWalkPmd(this.entrySlot(table, PMD_LEVEL, page), page, next);
      if (r !== 0) return r;
      page = next;
    }
    return 0;
  }

  /**
   * hmm_vma_walk_pud() together with what walk_pud_range() does around it for one PUD entry
   * covering [addr, end): U1 .. U5.
   */
  private hmmVmaWalkPud(pudp: number, addr: number, end: number): number {
    const pud = this.load64(pudp);
    if (isNone(pud)) return this.hmmVmaWalkHole(addr, end); // U1
    if (pudTransHuge(pud) || pudDevmap(pud) || (this.noDevmap && pudHuge(pud))) {
      // pud_trans_huge_lock() succeeded: HMM looks at the entry itself
      if (pudHuge(pud) && (this.noDevmap || pudDevmap(pud))) {
        if (!upperPresent(pud)) return this.hmmVmaWalkHole(addr, end); // U4
        // U3 (SEED: devmap leaves only; v6.19: every leaf)
        const cpuHi = ((isWrite(pud) ? VALID_HI | WRITE_HI : VALID_HI) | this.order(PUD_ORDER)) >>> 0;
        const required = this.hmmRangeNeedFault(addr, end, cpuHi);
        if (required !== 0) return this.hmmVmaFault(addr, end, required);
        const pfn = pfnOf(pud) + (addr % PUD_PAGES);
        for (let page = addr; page < end; page++) this.outPfn(this.pfnSlot(page), pfn + (page - addr), cpuHi);
        this.pagesWalked += end - addr;
        return 0;
      }
      // U5: ACTION_SUBTREE on a trans-huge (or non-huge devmap) PUD: split_huge_pud() zaps it
      // inside MMU_NOTIFY_CLEAR; the host does that and resumes the walk here, which then finds a
      // hole (walk_pud_range()'s "goto again").
      this.last = addr;
      this.storeCtxI32(CTX.ACTION, CTX.ACTION_SPLIT_PUD);
      this.f64[(MEM.WALK_CTX + CTX.FAULT_END) >>> 3] = end;
      return -ERRNO.EBUSY;
    }
    if (!isTable(pud)) {
      // SPEC: no row; a PUD that is neither a table nor a leaf HMM knows is reported like a bad PMD
      if (this.hmmRangeNeedFault(addr, end, 0) !== 0) return -ERRNO.EFAULT;
      return this.hmmPfnsFill(addr, end, ERROR_HI);
    }
    return this.walkPmdRange(tableOf(pud), addr, end); // U2
  }

  /**
   * walk_pgd_range() / walk_p4d_range() / walk_pud_range(): the chunks of [addr, end) in the table
   * at `table`, which sits at paging `level` (4 = PGD of a 5-level table, 3 = P4D or 4-level PGD,
   * 2 = PUD).
   */
  private walkUpperRange(table: number, level: number, addr: number, end: number): number {
    const span = pagesPerEntry(level);
    for (let page = addr; page < end;) {
      const next = Math.min((Math.floor(page / span) + 1) * span, end);
      const slot = this.entrySlot(table, level, page);
      let r: number;
      if (level === PUD_LEVEL) {
        r = this.hmmVmaWalkPud(slot, page, next);
      } else {
        let e = this.load64(slot);
        if (!isNone(e) && upperBad(e)) {
          // pgd_none_or_clear_bad() / p4d_none_or_clear_bad(): cleared and walked as a hole
          this.store64(slot, NONE);
          e = NONE;
        }
        r = isNone(e) ? this.hmmVmaWalkHole(page, next) : this.walkUpperRange(tableOf(e), level - 1, page, next);
      }
      if (r !== 0) return r;
      page = next;
    }
    return 0;
  }
  private walkPgdRange(addr: number, end: number): number {
    const root = this.u32[(this.mm + MEM.MM_ROOT) >>> 2];
    const levels = this.i32[(this.mm + MEM.MM_LEVELS) >>> 2];
    return this.walkUpperRange(root, levels - 1, addr, end);
  }

  /** huge_pte_offset(): the PUD slot (PUD-sized pages) or PMD slot of a hugetlb page, 0 if none. */
  private hugePteOffset(page: number, hugeShift: number): number {
    const levels = this.i32[(this.mm + MEM.MM_LEVELS) >>> 2];
    let table = this.u32[(this.mm + MEM.MM_ROOT) >>> 2];
    for (let level = levels - 1; level >= PUD_LEVEL; level--) {
      const slot = this.entrySlot(table, level, page);
      if (level === PUD_LEVEL) {
        if (hugeShift === PUD_SHIFT) return slot;
        const pud = this.load64(slot);
        if (!upperPresent(pud) || !isTable(pud)) return 0;
        return this.entrySlot(tableOf(pud), PMD_LEVEL, page);
      }
      const e = this.load64(slot);
      if (!upperPresent(e)) return 0;
      table = tableOf(e);
    }
    return 0;
  }

  /** hmm_vma_walk_hugetlb_entry() for one huge page chunk [addr, end): H2 .. H5. */
  private hmmVmaWalkHugetlbEntry(ptep: number, hugePages: number, hugeOrder: number, addr: number, end: number): number {
    const entry = this.load64(ptep);
    // pte_to_hmm_pfn_flags() | hmm_pfn_flags_order(huge_page_order(h)): the order is always there
    const cpuHi = ((!isPresent(entry) || isProtnone(entry) ? 0 :
      isWrite(entry) ? VALID_HI | WRITE_HI : VALID_HI) | this.order(hugeOrder)) >>> 0;
    // QUIRK: the first page's request decides for the whole huge page
    const required = this.hmmPteNeedFault(this.requestHi(addr), cpuHi);
    if (required !== 0) return this.hmmVmaFault(addr, end, required);
    const pfn = pfnOf(entry) + (addr % hugePages);
    for (let page = addr; page < end; page++) this.outPfn(this.pfnSlot(page), pfn + (page - addr), cpuHi);
    this.pagesWalked += end - addr;
    return 0;
  }

  /** walk_hugetlb_range(): each huge page of [addr, end). */
  private walkHugetlbRange(addr: number, end: number, hugeShift: number): number {
    if (hugeShift < PAGE_SHIFT || hugeShift > 52) {
      throw new RangeError(`reference walker: unsupported hugetlb page shift ${hugeShift}`);
    }
    const hugeOrder = hugeShift - PAGE_SHIFT;
    const hugePages = 2 ** hugeOrder;
    for (let page = addr; page < end;) {
      const base = page - (page % hugePages);
      const next = Math.min(base + hugePages, end);
      const ptep = this.hugePteOffset(base, hugeShift);
      const r = ptep === 0 ? this.hmmVmaWalkHole(page, next) // H1
        : this.hmmVmaWalkHugetlbEntry(ptep, hugePages, hugeOrder, page, next);
      if (r !== 0) return r;
      page = next;
    }
    return 0;
  }

  // ---- walk_page_range() (mm/pagewalk.c) ------------------------------------------------------

  /** find_vma(): index of the first VMA whose end is above `page`, or the VMA count. */
  private findVma(page: number): number {
    let lo = 0;
    let hi = this.i32[(this.mm + MEM.MM_VMA_COUNT) >>> 2];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.vmaEndPage(mid) <= page) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private walkPageRange(start: number, end: number): number {
    if (start >= end) return -ERRNO.EINVAL;
    const count = this.i32[(this.mm + MEM.MM_VMA_COUNT) >>> 2];
    let vi = this.findVma(start);
    for (let page = start; page < end;) {
      let next: number;
      let err: number;
      if (vi >= count || page < this.vmaStartPage(vi)) {
        // a gap before a VMA or after the last one: walk.vma = NULL, V1
        this.vmaIndex = -1;
        this.vmaFlags = 0;
        next = vi >= count ? end : Math.min(end, this.vmaStartPage(vi));
        err = this.hmmVmaWalkHole(page, next);
      } else {
        this.vmaIndex = vi;
        this.vmaFlags = this.u32[(this.vmaPtr(vi) + MEM.VMA_FLAGS) >>> 2];
        next = Math.min(end, this.vmaEndPage(vi));
        const hugeShift = this.i32[(this.vmaPtr(vi) + MEM.VMA_HUGE_SHIFT) >>> 2];
        vi++;
        err = this.hmmVmaWalkTest(page, next);
        if (err > 0) err = 0; // V2/V3: skipped
        else if (err === 0) {
          err = (this.vmaFlags & VM.HUGETLB) !== 0 ? this.walkHugetlbRange(page, next, hugeShift)
            : this.walkPgdRange(page, next);
        }
      }
      if (err !== 0) return err;
      page = next;
    }
    return 0;
  }
}
