// CPU access to user memory: what a load or store does through the MMU, faulting through
// handle_mm_fault() like a user access (docs/semantics.md §5), and mm_populate().
import { InvalidArgumentError } from "../engine/errors.js";
import { argBool, argBytes, argInt, argULong } from "../engine/validate.js";
import { runOp } from "../mm/machine.js";
import { ErrnoError, SimulationDeadlock } from "../engine/errors.js";
import { ERRNO, PAGE_SIZE, PTE_LO as PTE_BITS, VM } from "../engine/layout.js";
import * as pte from "../engine/pte.js";
import { FAULT_FLAG_USER, FAULT_FLAG_WRITE, VM_FAULT_ERROR, handleMmFault, vmFaultString } from "../fault/fault.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { hex } from "../mm/vma.js";

const PAGE = PAGE_SIZE;
/** The most bytes one cpuRead copies out (a JavaScript array of it is allocated). */
const MAX_ACCESS = 2 ** 30;

/** Makes addr accessible to the CPU (read or write), faulting like a user access would. */
function cpuFault(mm: MmStruct, addr: number, write: boolean): { pfn: number; offset: number } {
  mm.checkAlive("CPU access");
  const v = mm.vmaLookup(addr);
  if (!v) throw new ErrnoError(-ERRNO.EFAULT, `SIGSEGV: no mapping at ${hex(addr)}`);
  if (write ? !(v.flags & VM.WRITE) : !(v.flags & (VM.READ | VM.WRITE | VM.EXEC))) {
    throw new ErrnoError(-ERRNO.EFAULT, `SIGSEGV: ${write ? "write" : "read"} access to ${v} at ${hex(addr)}`);
  }
  for (let tries = 0; tries < 16; tries++) {
    const t = mm.translate(addr, write);
    if (t) return t;
    const r = handleMmFault(mm, v, addr - (addr % PAGE), write ? FAULT_FLAG_WRITE | FAULT_FLAG_USER : FAULT_FLAG_USER);
    if (r & VM_FAULT_ERROR) {
      throw new ErrnoError(-ERRNO.EFAULT, `${vmFaultString(r)}: CPU ${write ? "write" : "read"} at ${hex(addr)}`);
    }
  }
  throw new SimulationDeadlock(`CPU access at ${hex(addr)} keeps faulting`);
}

/** Reads bytes as the CPU would (faulting pages in). */
export function cpuRead(mm: MmStruct, addr: number, length: number): Uint8Array {
  argULong("cpuRead", "addr", addr);
  argInt("cpuRead", "length", length, 0, MAX_ACCESS);
  return runOp(mm.engine, () => {
    const out = new Uint8Array(length);
    for (let done = 0; done < length; ) {
      const a = addr + done;
      const n = Math.min(length - done, PAGE - (a % PAGE));
      const { pfn, offset } = cpuFault(mm, a, false);
      mm.engine.readFrame(pfn, offset, out.subarray(done, done + n));
      done += n;
    }
    return out;
  });
}
/** Writes bytes as the CPU would (faulting pages in, breaking COW). */
export function cpuWrite(mm: MmStruct, addr: number, data: Uint8Array): void {
  argULong("cpuWrite", "addr", addr);
  argBytes("cpuWrite", "data", data);
  return runOp(mm.engine, () => {
    for (let done = 0; done < data.length; ) {
      const a = addr + done;
      const n = Math.min(data.length - done, PAGE - (a % PAGE));
      const { pfn, offset } = cpuFault(mm, a, true);
      markDirty(mm, a);
      mm.engine.writeFrame(pfn, offset, data.subarray(done, done + n));
      done += n;
    }
  });
}
/** What the MMU does on a write through a writable entry: sets its A and D bits. */
function markDirty(mm: MmStruct, addr: number): void {
  const leaf = mm.leafOf(addr);
  if (leaf.level < 0 || !pte.isPresent(leaf.entry)) return;
  const lo = (leaf.entry.lo | PTE_BITS.ACCESSED | PTE_BITS.DIRTY) >>> 0;
  if (lo !== leaf.entry.lo) mm.engine.writeEntry(leaf.ptr, { lo, hi: leaf.entry.hi });
}
export function cpuReadU32(mm: MmStruct, addr: number): number {
  const b = cpuRead(mm, addr, 4);
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}
export function cpuWriteU32(mm: MmStruct, addr: number, value: number): void {
  argInt("cpuWriteU32", "value", value, -(2 ** 31), 2 ** 32 - 1);
  cpuWrite(
    mm,
    addr,
    new Uint8Array([value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff]),
  );
}
/** A data-less CPU access: faults the page in for read or write. */
export function touch(mm: MmStruct, addr: number, write: boolean): void {
  argULong("touch", "addr", addr);
  argBool("touch", "write", write);
  return runOp(mm.engine, () => {
    cpuFault(mm, addr, write);
  });
}
/** MAP_POPULATE / mm_populate(). */
export function populate(mm: MmStruct, addr: number, length: number, write: boolean): void {
  argULong("populate", "addr", addr);
  argULong("populate", "length", length);
  argBool("populate", "write", write);
  if (length > mm.taskSize)
    throw new InvalidArgumentError("populate", "length", "must not exceed the address space", length);
  return runOp(mm.engine, () => {
    for (let a = addr; a < addr + length; a += PAGE) touch(mm, a, write);
  });
}
