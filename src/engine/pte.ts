// Number-only construction and decoding of page-table entries (the x86-64 encoding drawn in
// assembly/layout.ts). An entry is handled as its two 32-bit halves so that no BigInt is made per
// page; `Entry` bundles them for readability on slow paths.
import { PAGE_SHIFT, PTE, PTE_HI, PTE_LO, SWP } from "./layout.js";

/** A 64-bit entry as two unsigned 32-bit halves. */
export interface Entry {
  /** Low 32 bits of the 64-bit entry (the x86-64 flag bits and the low pfn bits). */
  lo: number;
  /** High 32 bits of the entry (the high pfn bits, NX). */
  hi: number;
}

const TWO20 = 2 ** 20;
const TWO23 = 2 ** 23;
const TWO32 = 2 ** 32;
/** Entry bits 32..51 in the high half: the upper 20 pfn bits. */
const PFN_HI_MASK = Number(PTE.PFN_MASK >> 32n);
/** The flag bits of each half of a present entry (everything but the pfn field). */
export const FLAGS_LO = (2 ** PAGE_SHIFT - 1) >>> 0;
/** Bits of the high word that are flags, not pfn (NX and the software bits). */
export const FLAGS_HI = ~PFN_HI_MASK >>> 0;
/** The bits of a swap entry's low half below its offset (SWP_EXCLUSIVE, soft-dirty, uffd-wp). */
export const SWP_FLAGS_LO = 2 ** SWP.OFFSET_FIRST_BIT - 1;
const SWP_OFF_HI_MASK = (1 << (SWP.TYPE_SHIFT - 32)) - 1; // entry bits 32..58
const SWP_TYPE_HI_SHIFT = SWP.TYPE_SHIFT - 32;
const PFN_LO_SHIFT = PAGE_SHIFT;

/** pte_none(): the empty entry. */
export const NONE: Entry = Object.freeze({ lo: 0, hi: 0 });

/** pte_none(): the entry is empty. */
export function isNone(e: Entry): boolean {
  return e.lo === 0 && e.hi === 0;
}
/** pte_present(): P or PROTNONE. */
export function isPresent(e: Entry): boolean {
  return (e.lo & (PTE_LO.PRESENT | PTE_LO.PROTNONE)) !== 0;
}
/** pte_protnone(): a NUMA-hinting entry (present in hardware terms but not accessible). */
export function isProtnone(e: Entry): boolean {
  return (e.lo & (PTE_LO.PRESENT | PTE_LO.PROTNONE)) === PTE_LO.PROTNONE;
}
/** pte_write(): the RW bit is set. */
export function isWrite(e: Entry): boolean {
  return (e.lo & PTE_LO.RW) !== 0;
}
/** pte_special(): a mapping without a normal struct page (zero page, PFNMAP). */
export function isSpecial(e: Entry): boolean {
  return (e.lo & PTE_LO.SPECIAL) !== 0;
}
/** pte_devmap(): maps ZONE_DEVICE memory (profiles before pte_devmap's removal). */
export function isDevmap(e: Entry): boolean {
  return (e.hi & PTE_HI.DEVMAP) !== 0;
}
/** A PSE leaf at PMD/PUD level (present or protnone). */
export function isHugeLeaf(e: Entry): boolean {
  return (e.lo & PTE_LO.PSE) !== 0 && (e.lo & (PTE_LO.PRESENT | PTE_LO.PROTNONE)) !== 0;
}
/** An upper-level entry pointing to a table. */
export function isTable(e: Entry): boolean {
  return (e.lo & PTE_LO.PRESENT) !== 0 && (e.lo & PTE_LO.PSE) === 0;
}
/** A non-none, non-present entry: a swap entry or one of the "non-swap" kinds. */
export function isSwapLike(e: Entry): boolean {
  return !isNone(e) && (e.lo & (PTE_LO.PRESENT | PTE_LO.PROTNONE)) === 0;
}

/** pte_pfn(): undoes the inversion of non-present entries. */
export function pfnOf(e: Entry): number {
  let lo = e.lo;
  let hi = e.hi;
  if ((lo !== 0 || hi !== 0) && (lo & PTE_LO.PRESENT) === 0) {
    lo = ~lo >>> 0;
    hi = ~hi >>> 0;
  }
  return (lo >>> PFN_LO_SHIFT) + (hi & PFN_HI_MASK) * TWO20;
}

/** pfn_pte(pfn, prot): `flagsLo`/`flagsHi` are PTE bits; PROTNONE entries get the pfn inverted. */
export function mkPfnEntry(pfn: number, flagsLo: number, flagsHi = 0): Entry {
  let pl = pfn % TWO20;
  let ph = Math.floor(pfn / TWO20);
  if ((flagsLo & (PTE_LO.PRESENT | PTE_LO.PROTNONE)) === PTE_LO.PROTNONE) {
    pl = ~pl & (TWO20 - 1);
    ph = ~ph & PFN_HI_MASK;
  }
  return { lo: ((pl << PFN_LO_SHIFT) | flagsLo) >>> 0, hi: (ph | flagsHi) >>> 0 };
}

/** __swp_entry(type, offset) with optional swap-PTE bits (SWP_EXCLUSIVE, ...) in the low half. */
export function mkSwapEntry(type: number, offset: number, bitsLo = 0): Entry {
  const ol = offset % TWO23;
  const oh = Math.floor(offset / TWO23);
  const lo = (((~ol & (TWO23 - 1)) << SWP.OFFSET_FIRST_BIT) | bitsLo) >>> 0;
  const hi = ((~oh & SWP_OFF_HI_MASK) | (type << SWP_TYPE_HI_SHIFT)) >>> 0;
  return { lo, hi };
}
/** swp_type(): the swap type field of a non-present entry. */
export function swapType(e: Entry): number {
  return e.hi >>> SWP_TYPE_HI_SHIFT;
}
/** swp_offset(): the offset field of a non-present entry (the pfn for migration and device entries). */
export function swapOffset(e: Entry): number {
  const lo = (~e.lo >>> SWP.OFFSET_FIRST_BIT) & (TWO23 - 1);
  const hi = ~e.hi & SWP_OFF_HI_MASK;
  return lo + hi * TWO23;
}
/** is_migration_entry(): the page is being migrated; faults and walks wait. */
export function isMigration(e: Entry): boolean {
  if (!isSwapLike(e)) return false;
  const t = swapType(e);
  return t >= SWP.MIGRATION_READ && t <= SWP.MIGRATION_WRITE;
}
/** is_device_private_entry(): the page lives in device-private memory. */
export function isDevicePrivate(e: Entry): boolean {
  if (!isSwapLike(e)) return false;
  const t = swapType(e);
  return t === SWP.DEVICE_WRITE || t === SWP.DEVICE_READ;
}
/** is_device_exclusive_entry(): a device holds exclusive access (make_device_exclusive_range). */
export function isDeviceExclusive(e: Entry): boolean {
  if (!isSwapLike(e)) return false;
  const t = swapType(e);
  return t === SWP.DEVICE_EXCLUSIVE_WRITE || t === SWP.DEVICE_EXCLUSIVE_READ;
}
/** non_swap_entry() is false: the page is in the swap device. */
export function isRegularSwap(e: Entry): boolean {
  return isSwapLike(e) && swapType(e) < SWP.MAX_SWAPFILES;
}
/** is_hwpoison_entry(): a poisoned page. */
export function isHwpoison(e: Entry): boolean {
  return isSwapLike(e) && swapType(e) === SWP.HWPOISON;
}
/** is_pte_marker(): a PTE marker (uffd-wp, swap-in error). */
export function isMarker(e: Entry): boolean {
  return isSwapLike(e) && swapType(e) === SWP.PTE_MARKER;
}
/** A writable migration / device-private / device-exclusive entry. */
export function isWritableSwapLike(e: Entry): boolean {
  const t = swapType(e);
  return isSwapLike(e) && (t === SWP.MIGRATION_WRITE || t === SWP.DEVICE_WRITE || t === SWP.DEVICE_EXCLUSIVE_WRITE);
}

/** Entry constructors for every kind the simulator knows (see layout.ts). */
export const mk = {
  /** A present user page: P|U|A, plus RW and D when writable. */
  page(pfn: number, write: boolean, extraLo = 0, extraHi = 0): Entry {
    const w = write ? PTE_LO.RW | PTE_LO.DIRTY : 0;
    return mkPfnEntry(pfn, PTE_LO.PRESENT | PTE_LO.USER | PTE_LO.ACCESSED | w | extraLo, extraHi);
  },
  /** The shared zero page: special, read-only. */
  zero(zeroPfn: number): Entry {
    return mkPfnEntry(zeroPfn, PTE_LO.PRESENT | PTE_LO.USER | PTE_LO.ACCESSED | PTE_LO.SPECIAL);
  },
  /** A PMD or PUD leaf (PSE). */
  huge(pfn: number, write: boolean, extraLo = 0, extraHi = 0): Entry {
    return mk.page(pfn, write, PTE_LO.PSE | extraLo, extraHi);
  },
  /** A NUMA-hinting entry: PROTNONE instead of P; RW kept as the saved write bit. */
  protnone(pfn: number, savedWrite: boolean, extraLo = 0): Entry {
    return mkPfnEntry(pfn, PTE_LO.PROTNONE | PTE_LO.USER | PTE_LO.ACCESSED | (savedWrite ? PTE_LO.RW : 0) | extraLo);
  },
  /** swp_entry() as a PTE: a page in the swap device (offset = slot). */
  swap(type: number, offset: number, exclusive = false): Entry {
    return mkSwapEntry(type, offset, exclusive ? Number(SWP.EXCLUSIVE) : 0);
  },
  /** make_migration_entry(): a migration entry for pfn (readable, writable or exclusive). */
  migration(pfn: number, write: boolean, exclusive = false): Entry {
    const t = write ? SWP.MIGRATION_WRITE : exclusive ? SWP.MIGRATION_READ_EXCLUSIVE : SWP.MIGRATION_READ;
    return mkSwapEntry(t, pfn);
  },
  /** make_device_private_entry(): a non-present entry for a device-private page. */
  devicePrivate(pfn: number, write: boolean): Entry {
    return mkSwapEntry(write ? SWP.DEVICE_WRITE : SWP.DEVICE_READ, pfn);
  },
  /** make_device_exclusive_entry(): a non-present entry for a page the device holds exclusively. */
  deviceExclusive(pfn: number, write: boolean): Entry {
    return mkSwapEntry(write ? SWP.DEVICE_EXCLUSIVE_WRITE : SWP.DEVICE_EXCLUSIVE_READ, pfn);
  },
  /** make_hwpoison_entry(): a poisoned page. */
  hwpoison(pfn: number): Entry {
    return mkSwapEntry(SWP.HWPOISON, pfn);
  },
  /** make_pte_marker(): a PTE marker with the given marker bits. */
  marker(bits: number): Entry {
    return mkSwapEntry(SWP.PTE_MARKER, bits);
  },
};

/** The entry as an unsigned 64-bit bigint (for display and tests, never on hot paths). */
export function toBigInt(e: Entry): bigint {
  return (BigInt(e.hi) << 32n) | BigInt(e.lo);
}
/** An Entry from its 64-bit value. */
export function fromBigInt(v: bigint): Entry {
  const u = BigInt.asUintN(64, v);
  return { lo: Number(u & 0xffffffffn), hi: Number(u >> 32n) };
}
/** A number made of a high and a low half (exact below 2^53). */
export function join64(hi: number, lo: number): number {
  return hi * TWO32 + lo;
}
