// Shared helpers of the mm operations in src/ops/: range checks and alignment. The folio helpers
// they use live in src/mm/folio.ts and are re-exported here.
import { ArgumentTypeError } from "../engine/errors.js";
import { argULong } from "../engine/validate.js";
import { ErrnoError } from "../engine/errors.js";
import { ERRNO, PAGE_SIZE, PMD_SIZE } from "../engine/layout.js";
import { MmStruct } from "../mm/mm-struct.js";
import { type Vma, hex } from "../mm/vma.js";

export const PAGE = PAGE_SIZE;
export { PMD_SIZE };

export const alignDown = (a: number, s: number): number => Math.floor(a / s) * s;
export const alignUp = (a: number, s: number): number => Math.ceil(a / s) * s;

/** Validates [addr, addr+len) like the syscalls do; returns the page-aligned end. */
export function checkedEnd(mm: MmStruct, addr: number, len: number, what: string): number {
  argULong(what, "address", addr);
  argULong(what, "length", len);
  mm.checkAlive(what);
  if (addr % PAGE !== 0) throw new ErrnoError(-ERRNO.EINVAL, `${what}: address ${hex(addr)} is not page aligned`);
  const end = addr + alignUp(len, PAGE);
  if (end > mm.taskSize + PAGE) throw new ErrnoError(-ERRNO.EINVAL, `${what}: range beyond the address space`);
  return end;
}

/** An Mm argument: an MmStruct (ArgumentTypeError otherwise), alive (UseAfterFreeError otherwise). */
export function argMm(fn: string, mm: unknown, alive = true): MmStruct {
  if (!(mm instanceof MmStruct)) throw new ArgumentTypeError(fn, "mm", "must be an Mm", mm);
  if (alive) mm.checkAlive(fn);
  return mm;
}

/** The VMAs intersecting [start, end), and whether some page of the range is not mapped. */
export function vmasIn(mm: MmStruct, start: number, end: number): { vmas: Vma[]; hole: boolean } {
  const vmas: Vma[] = [];
  let cur = start;
  let hole = false;
  for (const v of mm.vmas) {
    if (v.end <= start || v.start >= end) continue;
    if (v.start > cur) hole = true;
    vmas.push(v);
    cur = v.end;
  }
  if (cur < end) hole = true;
  return { vmas, hole };
}

export {
  isNormalPage, folioAt, folioExclusiveTo, lazyFreeSet, ksmStable, contentsKey, migrationLocs, addMigrationLoc,
  takeMigrationLocs, type FolioMapping, type FolioView, type MigrationLoc, type TakenLoc,
} from "../mm/folio.js";
