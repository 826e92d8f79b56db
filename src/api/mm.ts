// The public address space: struct mm_struct (src/mm/) with the syscalls and CPU accesses of
// src/ops/ as methods, so that a user writes `mm.mmap(...)`, `mm.cpuWrite(...)`. Every method is a
// thin call into the function that models the kernel path; the mechanism stays in the layers below.
import type { Engine } from "../engine/engine.js";
import { MmStruct } from "../mm/mm-struct.js";
import type { MmOptions, MmapOptions } from "../mm/mm-types.js";
import type { Vma } from "../mm/vma.js";

export { mmOfNotifier, liveMms } from "../mm/mm-struct.js";
export type { MmOptions, MmapOptions, MmHooks, PendingMigration } from "../mm/mm-types.js";
import { cpuRead, cpuReadU32, cpuWrite, cpuWriteU32, populate, touch } from "../ops/access.js";
import { doMmap, mmap } from "../ops/mmap.js";
import { changeProtection, doMprotect, mprotect, numaHintingScan } from "../ops/mprotect.js";
import { doMunmap, munmap } from "../ops/munmap.js";
import { splitHugePmd, splitHugePmdAddress, splitHugePud } from "../mm/huge-split.js";

/**
 * A simulated process address space (struct mm_struct) on an {@link Engine}.
 *
 * @example
 * ```ts
 * const engine = new Engine();
 * const mm = new Mm(engine, { levels: 4 });
 * const addr = mm.mmap({ length: 1 << 20, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
 * mm.cpuWriteU32(addr, 42);
 * mm.cpuReadU32(addr); // 42
 * ```
 */
export class Mm extends MmStruct {
  constructor(engine: Engine, opts: MmOptions = {}) {
    super(engine, opts);
  }

  /** mmap(2): returns the address of the new mapping; throws ErrnoError the way the syscall fails. */
  mmap(o: MmapOptions): number {
    return mmap(this, o);
  }
  /** @internal mmap(2) with the mmap write lock already held. */
  doMmap(o: MmapOptions): number {
    return doMmap(this, o);
  }
  /** munmap(2): MMU_NOTIFY_UNMAP over [addr, addr+length) even where nothing is mapped. */
  munmap(addr: number, length: number): void {
    munmap(this, addr, length);
  }
  /** @internal munmap(2) with the mmap write lock already held (length page aligned). */
  doMunmap(addr: number, length: number): void {
    doMunmap(this, addr, length);
  }
  /** mprotect(2): PROTECTION_VMA from the first populated PMD of each PUD chunk (v6.1). */
  mprotect(addr: number, length: number, prot: number): void {
    mprotect(this, addr, length, prot);
  }
  /** @internal mprotect(2) with the mmap write lock already held. */
  doMprotect(addr: number, length: number, prot: number): void {
    doMprotect(this, addr, length, prot);
  }
  /** @internal change_protection(): rewrites the entries of [start, end) of v for its new flags. */
  changeProtection(v: Vma, start: number, end: number, numa = false): void {
    changeProtection(this, v, start, end, numa);
  }
  /** change_prot_numa(): makes the populated entries of [start, end) protnone (NUMA hinting). */
  numaHintingScan(start: number, end: number): void {
    numaHintingScan(this, start, end);
  }
  /** Reads bytes as the CPU would (faulting pages in). */
  cpuRead(addr: number, length: number): Uint8Array {
    return cpuRead(this, addr, length);
  }
  /** Writes bytes as the CPU would (faulting pages in, breaking COW). */
  cpuWrite(addr: number, data: Uint8Array): void {
    cpuWrite(this, addr, data);
  }
  /** Reads a little-endian u32 as the CPU would. */
  cpuReadU32(addr: number): number {
    return cpuReadU32(this, addr);
  }
  /** Writes a little-endian u32 as the CPU would. */
  cpuWriteU32(addr: number, value: number): void {
    cpuWriteU32(this, addr, value);
  }
  /** A data-less CPU access: faults the page in for read or write. */
  touch(addr: number, write: boolean): void {
    touch(this, addr, write);
  }
  /** MAP_POPULATE / mm_populate(). */
  populate(addr: number, length: number, write: boolean): void {
    populate(this, addr, length, write);
  }
  /** __split_huge_pmd(): the THP PMD leaf mapping addr in v becomes 512 PTEs, inside MMU_NOTIFY_CLEAR over 2 MiB. */
  splitHugePmd(v: Vma, addr: number): void {
    splitHugePmd(this, v, addr);
  }
  /** __split_huge_pud(): the PUD leaf mapping addr is zapped inside MMU_NOTIFY_CLEAR over 1 GiB. */
  splitHugePud(addr: number): void {
    splitHugePud(this, addr);
  }
  /** split_huge_pmd_address(): splits the huge PMD or PUD leaf addr falls strictly inside (what a VMA split at addr does). */
  splitHugeAt(addr: number): void {
    splitHugePmdAddress(this, addr);
  }
}
