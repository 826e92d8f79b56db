// EXCLUSIVE and CHECK_EXCLUSIVE (dmirror_exclusive / dmirror_check_atomic): the device takes
// atomic access to pages (device-exclusive entries in the CPU table, docs/semantics.md §6.3)
// and later checks that every such mapping was revoked by a CPU access.
import { ERRNO, PAGE_SIZE } from "../../engine/layout.js";
import { makeDeviceExclusiveRangePages } from "../../ops/migrate-device.js";
import type { DmirrorContext } from "./context.js";
import type { ReadResult } from "./fault.js";
import { readBack } from "./migrate.js";
import { DMIRROR_CHUNK_PAGES } from "./uapi.js";
import { DPT_TAG_ATOMIC } from "./pt.js";

const PAGE = PAGE_SIZE;

/** dmirror_atomic_map(): the pages made exclusive enter the device table tagged ATOMIC. */
function atomicMap(ctx: DmirrorContext, start: number, pages: number[]): number {
  return ctx.withMutex(() => {
    let mapped = 0;
    pages.forEach((pfn, i) => {
      if (!pfn) return;
      ctx.pt.set(start / PAGE + i, pfn, DPT_TAG_ATOMIC);
      mapped++;
    });
    return mapped;
  });
}

/**
 * HMM_DMIRROR_EXCLUSIVE. Seed: make_device_exclusive_range() per 64-page chunk, mapped only if
 * every page of the chunk was converted, -EBUSY when fewer pages were mapped than the chunk has.
 * v6.15+: make_device_exclusive() page by page, its error returned as is. Then the data is read
 * back through the device page table.
 */
export function dmirrorExclusive(
  ctx: DmirrorContext,
  addr: number,
  npages: number,
  ptr: Uint8Array | null,
): ReadResult {
  const { mm } = ctx;
  if (mm.exited) return { ret: -ERRNO.EINVAL, cpages: 0, faults: 0 };
  const end = addr + npages * PAGE;
  const ret = mm.withReadLock(() => {
    const step = ctx.revision.exclusivePerPage ? PAGE : DMIRROR_CHUNK_PAGES * PAGE;
    for (let a = addr; a < end; ) {
      const next = Math.min(a + step, end);
      // dmirror passes a NULL owner: its own notifier sees (and handles) the EXCLUSIVE event
      const r = makeDeviceExclusiveRangePages(mm, a, next, null);
      if (ctx.revision.exclusivePerPage && r.ret < 0) return r.ret;
      const want = (next - a) / PAGE;
      const mapped = r.ret === want ? atomicMap(ctx, a, r.pages) : 0;
      if (mapped < want) return -ERRNO.EBUSY;
      a = next;
    }
    return 0;
  });
  if (ret) return { ret, cpages: 0, faults: 0 };
  return readBack(ctx, addr, npages, ptr);
}

/** HMM_DMIRROR_CHECK_EXCLUSIVE: -EPERM while any page of the range is still mapped ATOMIC. */
export function dmirrorCheckExclusive(ctx: DmirrorContext, addr: number, npages: number): number {
  const first = addr / PAGE;
  if (npages > ctx.pt.size) {
    // a range larger than the table: look at the entries instead of every index
    for (const p of ctx.pt.pages())
      if (p >= first && p < first + npages && ctx.pt.get(p)!.tag === DPT_TAG_ATOMIC) return -ERRNO.EPERM;
    return 0;
  }
  for (let p = first; p < first + npages; p++) if (ctx.pt.get(p)?.tag === DPT_TAG_ATOMIC) return -ERRNO.EPERM;
  return 0;
}
