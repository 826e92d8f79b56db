// MIGRATE_TO_DEV and MIGRATE_TO_SYS (dmirror_migrate_to_device / _to_system): migrate_vma_* over
// the range, VMA by VMA in chunks, with the driver's allocate-and-copy and map steps; the device
// page table then holds the device pages (docs/semantics.md §6.2).
import { ERRNO, FRAME, PAGE_SIZE, PHYS, VM } from "../../engine/layout.js";
import {
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_VALID,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  MIGRATE_VMA_SELECT_COMPOUND,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  type MigrateVma,
  hasFlag,
  migratePfn,
  migratePfnToPfn,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
  migrateVmaSplitCompound,
} from "../../ops/migrate-device.js";
import { compoundToDevice, compoundToSystem } from "./thp.js";
import type { DmirrorContext } from "./context.js";
import { type ReadResult, dmirrorDoRead } from "./fault.js";
import { DPT_TAG_WRITE } from "./pt.js";
import { MAX_BOUNCE_PAGES } from "./uapi.js";
import { userBuffer } from "./context.js";

const PAGE = PAGE_SIZE;

/**
 * MIGRATE_VMA_SELECT_COMPOUND where the profile's driver migrates THPs (v6.19). Device-coherent
 * THPs are not modelled: coherent devices migrate page by page.
 */
const compoundFlag = (ctx: DmirrorContext): number =>
  ctx.revision.flags && !ctx.device.coherent ? MIGRATE_VMA_SELECT_COMPOUND : 0;

/**
 * Runs `step` on every chunk of [start, end): VMA by VMA (a missing VMA or one without VM_READ is
 * -EINVAL), at most `chunk` pages per migrate_vma call, under the mmap read lock.
 */
function forEachMigrateChunk(
  ctx: DmirrorContext,
  start: number,
  end: number,
  flags: number,
  step: (m: MigrateVma) => number,
): number {
  const { mm } = ctx;
  if (mm.exited) return -ERRNO.EINVAL;
  const chunk = ctx.revision.migrateChunk * PAGE;
  return mm.withReadLock(() => {
    for (let addr = start; addr < end; ) {
      const vma = mm.vmaLookup(addr);
      if (!vma || !(vma.flags & VM.READ)) return -ERRNO.EINVAL;
      const next = Math.min(end, addr + chunk, vma.end);
      const m = migrateVmaSetup(mm, { start: addr, end: next, pgmapOwner: ctx.device, flags });
      if (typeof m === "number") return m;
      const r = step(m);
      if (r) return r;
      addr = next;
    }
    return 0;
  });
}

/** dmirror_migrate_alloc_and_copy(): a device page per collected page, filled from its source. */
function allocAndCopyToDevice(ctx: DmirrorContext, m: MigrateVma): void {
  const eng = ctx.mm.engine;
  for (let i = 0; i < m.npages; i++) {
    if (!hasFlag(m.src[i], MIGRATE_PFN_MIGRATE)) continue;
    const spfn = migratePfnToPfn(m.src[i]);
    // a page already in device memory is never migrated again (the kernel WARNs)
    if (spfn && eng.hasStructPage(spfn) && eng.frameFlags(spfn) & FRAME.DEVICE_PRIVATE) continue;
    const dpfn = ctx.device.allocPage(ctx);
    if (dpfn === 0) continue;
    if (spfn && spfn !== PHYS.ZERO_PFN) eng.copyFrame(spfn, dpfn);
    let dst = migratePfn(dpfn);
    if (hasFlag(m.src[i], MIGRATE_PFN_WRITE) || (!spfn && m.vma.flags & VM.WRITE)) dst += MIGRATE_PFN_WRITE;
    m.dst[i] = dst;
  }
}

/** dmirror_migrate_finalize_and_map(): the migrated pages enter the device page table. */
function finalizeAndMap(ctx: DmirrorContext, m: MigrateVma): void {
  ctx.withMutex(() => {
    if (m.compound) {
      // every page of the device folio enters the table
      const head = migratePfnToPfn(m.dst[0]);
      if (!hasFlag(m.src[0], MIGRATE_PFN_MIGRATE) || !head) return;
      const tag = hasFlag(m.dst[0], MIGRATE_PFN_WRITE) ? DPT_TAG_WRITE : 0;
      for (let i = 0; i < m.npages; i++) ctx.pt.set(m.start / PAGE + i, head + i, tag);
      return;
    }
    for (let i = 0; i < m.npages; i++) {
      if (!hasFlag(m.src[i], MIGRATE_PFN_MIGRATE)) continue;
      const dpfn = migratePfnToPfn(m.dst[i]);
      if (!dpfn) continue;
      ctx.pt.set(m.start / PAGE + i, dpfn, hasFlag(m.dst[i], MIGRATE_PFN_WRITE) ? DPT_TAG_WRITE : 0);
    }
  });
}

/**
 * HMM_DMIRROR_MIGRATE_TO_DEV: system pages (and holes of anonymous VMAs) of [addr, +npages)
 * move to this device; the data is then read back through the device page table without
 * faulting (a page the device does not map: -ENOENT).
 */
export function dmirrorMigrateToDevice(
  ctx: DmirrorContext,
  addr: number,
  npages: number,
  ptr: Uint8Array | null,
): ReadResult {
  const end = addr + npages * PAGE;
  const ret = forEachMigrateChunk(ctx, addr, end, MIGRATE_VMA_SELECT_SYSTEM | compoundFlag(ctx), (m0) => {
    let m = m0;
    if (m.compound && !compoundToDevice(ctx.mm.engine, m, () => ctx.device.allocFolio(ctx))) {
      // no device folio: split the source and migrate it page by page
      const r = migrateVmaSplitCompound(m);
      if (typeof r === "number") return r;
      m = r;
    }
    if (!m.compound) allocAndCopyToDevice(ctx, m);
    migrateVmaPages(m);
    finalizeAndMap(ctx, m);
    migrateVmaFinalize(m);
    return 0;
  });
  if (ret) return { ret, cpages: 0, faults: 0 };
  return readBack(ctx, addr, npages, ptr);
}

/** The read-back that MIGRATE_TO_DEV and EXCLUSIVE end with: dmirror_do_read without faults. */
export function readBack(ctx: DmirrorContext, addr: number, npages: number, ptr: Uint8Array | null): ReadResult {
  if (npages > MAX_BOUNCE_PAGES) return { ret: -ERRNO.ENOMEM, cpages: 0, faults: 0 };
  const size = npages * PAGE;
  const bounce = new Uint8Array(size);
  const counter = { cpages: 0 };
  let ret = ctx.withMutex(() => dmirrorDoRead(ctx, addr, addr, addr + size, bounce, counter));
  if (ret === 0) {
    const out = userBuffer(ptr, size);
    if (out) out.set(bounce);
    else ret = -ERRNO.EFAULT;
  }
  return { ret, cpages: counter.cpages, faults: 0 };
}

/**
 * dmirror_devmem_fault_alloc_and_copy(): a system page for every device page of this device
 * that moves back; its device page-table entry is erased.
 */
export function allocAndCopyToSystem(ctx: DmirrorContext, m: MigrateVma): void {
  const eng = ctx.mm.engine;
  for (let i = 0; i < m.npages; i++) {
    const spfn = migratePfnToPfn(m.src[i]);
    if (!spfn || !hasFlag(m.src[i], MIGRATE_PFN_MIGRATE)) continue;
    const dpfn = eng.allocFrames(0, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
    if (dpfn === 0) continue;
    ctx.withMutex(() => ctx.pt.erase(m.start / PAGE + i));
    eng.copyFrame(spfn, dpfn);
    m.dst[i] = migratePfn(dpfn) + (hasFlag(m.src[i], MIGRATE_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0);
  }
}

/** HMM_DMIRROR_MIGRATE_TO_SYS: this device's pages in [addr, +npages) move back to system memory. */
export function dmirrorMigrateToSystem(ctx: DmirrorContext, addr: number, npages: number): ReadResult {
  let cpages = 0;
  const select = ctx.device.coherent ? MIGRATE_VMA_SELECT_DEVICE_COHERENT : MIGRATE_VMA_SELECT_DEVICE_PRIVATE;
  const ret = forEachMigrateChunk(ctx, addr, addr + npages * PAGE, select | compoundFlag(ctx), (m0) => {
    let m = m0;
    const erase = (i: number): void => ctx.withMutex(() => ctx.pt.erase(m0.start / PAGE + i));
    if (m.compound && !compoundToSystem(ctx.mm.engine, m, () => ctx.device.takeFailAlloc(), erase)) {
      const r = migrateVmaSplitCompound(m);
      if (typeof r === "number") return r;
      m = r;
    }
    if (!m.compound) allocAndCopyToSystem(ctx, m);
    migrateVmaPages(m);
    // dmirror_successful_migrated_pages(): a compound entry counts all its pages
    for (let i = 0; i < m.npages; i++) {
      if (hasFlag(m.src[i], MIGRATE_PFN_VALID) && hasFlag(m.src[i], MIGRATE_PFN_MIGRATE))
        cpages += m.compound ? m.npages : 1;
    }
    migrateVmaFinalize(m);
    return 0;
  });
  return { ret, cpages, faults: 0 };
}
