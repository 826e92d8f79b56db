// The dmirror steps of device-private THP migration (v6.19): allocating and filling the compound
// destination of a compound migration (a device folio of 512 pages, or a system THP on the way
// back), or reporting that the large allocation failed so that the caller splits and falls back
// to small pages.
import type { Engine } from "../../engine/engine.js";
import { FRAME, PMD_ORDER } from "../../engine/layout.js";
import {
  MIGRATE_PFN_COMPOUND,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  type MigrateVma,
  hasFlag,
  migratePfn,
  migratePfnToPfn,
} from "../../ops/migrate-device.js";
import { VM } from "../../engine/layout.js";

const NR = 2 ** PMD_ORDER;

/**
 * dmirror_migrate_alloc_and_copy() for a compound source: `allocFolio` gives the head of 512
 * free device pages (0 on failure); they are filled from the THP or zeroed for a hole, and
 * dst[0] becomes the compound destination. Returns false when the allocation failed.
 */
export function compoundToDevice(eng: Engine, m: MigrateVma, allocFolio: () => number): boolean {
  if (!hasFlag(m.src[0], MIGRATE_PFN_MIGRATE)) return true;
  const dhead = allocFolio();
  if (dhead === 0) return false;
  const shead = migratePfnToPfn(m.src[0]);
  for (let i = 0; i < NR; i++) {
    if (shead) eng.copyFrame(shead + i, dhead + i);
    else eng.clearFrame(dhead + i);
  }
  const w = hasFlag(m.src[0], MIGRATE_PFN_WRITE) || (!shead && (m.vma.flags & VM.WRITE) !== 0);
  m.dst[0] = migratePfn(dhead) + MIGRATE_PFN_COMPOUND + (w ? MIGRATE_PFN_WRITE : 0);
  return true;
}

/**
 * dmirror_devmem_fault_alloc_and_copy() for a compound (device-private PMD) source: a system THP
 * holds the copy. `failOnce` says whether FLAGS(FAIL_ALLOC) makes this large allocation fail.
 * Returns false when it failed (the caller splits and migrates page by page).
 */
export function compoundToSystem(
  eng: Engine,
  m: MigrateVma,
  failOnce: () => boolean,
  erase: (index: number) => void,
): boolean {
  if (!hasFlag(m.src[0], MIGRATE_PFN_MIGRATE)) return true;
  const head = failOnce() ? 0 : eng.allocFrames(PMD_ORDER, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
  if (head === 0) return false;
  const shead = migratePfnToPfn(m.src[0]);
  for (let i = 0; i < NR; i++) {
    eng.copyFrame(shead + i, head + i);
    erase(i);
  }
  m.dst[0] = migratePfn(head) + MIGRATE_PFN_COMPOUND + (hasFlag(m.src[0], MIGRATE_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0);
  return true;
}
