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

/**
 * access_ok() and the alignment checks of a syscall taking [addr, addr+length): returns nothing;
 * throws ArgumentTypeError / InvalidArgumentError for a non-integer argument, UseAfterFreeError
 * once the mm has exited, ErrnoError -EINVAL for an unaligned address or a length that is not
 * positive or reaches beyond TASK_SIZE (length is taken as given: the caller rounds it).
 */
export function checkRange(mm: MmStruct, addr: number, length: number, what: string): void {
  // 5-level addresses reach 2^56: page-aligned values above 2^53 are still exact integers
  argULong(what, "address", addr);
  argULong(what, "length", length);
  mm.checkAlive(what);
  if (addr % PAGE !== 0) throw new ErrnoError(-ERRNO.EINVAL, `${what}: address ${hex(addr)} is not page aligned`);
  if (length <= 0 || addr + length > mm.taskSize + PAGE) {
    throw new ErrnoError(-ERRNO.EINVAL, `${what}: bad length ${length} at ${hex(addr)}`);
  }
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
  isNormalPage,
  folioAt,
  folioExclusiveTo,
  lazyFreeSet,
  ksmStable,
  contentsKey,
  migrationLocs,
  addMigrationLoc,
  takeMigrationLocs,
  type FolioMapping,
  type FolioView,
  type MigrationLoc,
  type TakenLoc,
} from "../mm/folio.js";
