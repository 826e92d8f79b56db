// READ and WRITE (dmirror_read / dmirror_write): the device accesses user memory through its own
// page table, faulting missing pages in with hmm_range_fault() 64 pages at a time under the
// mmu interval notifier protocol (docs/semantics.md §4.3), and counting the fault passes.
import { ERRNO, HMM_PFN_HI, PAGE_SIZE } from "../../engine/layout.js";
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, hmmRangeFault } from "../../hmm/range-fault.js";
import { PfnArray } from "../../hmm/pfns.js";
import { type DmirrorContext, userBuffer } from "./context.js";
import { DPT_TAG_WRITE } from "./pt.js";
import { DMIRROR_CHUNK_PAGES } from "./uapi.js";

const PAGE = PAGE_SIZE;

/** What a READ-like command returns: an errno and the pages copied. */
export interface ReadResult {
  ret: number;
  cpages: number;
  faults: number;
}

/**
 * dmirror_range_fault(): one chunk through the retry protocol, committed into the device page
 * table under the mutex: each page tagged WRITE iff the word has HMM_PFN_WRITE. A write request
 * answered without WRITE is -EFAULT (the kernel WARNs). -EBUSY when the budget runs out.
 */
export function dmirrorRangeFault(
  ctx: DmirrorContext,
  start: number,
  end: number,
  write: boolean,
  pfns: PfnArray,
): number {
  const { mm, notifier } = ctx;
  const npages = (end - start) / PAGE;
  const defaultFlags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0n);
  for (let tries = 0; ; tries++) {
    if (tries >= ctx.retryBudget) return -ERRNO.EBUSY;
    const seq = mm.notifiers.readBegin(notifier);
    const ret = mm.withReadLock(() =>
      hmmRangeFault({
        notifier,
        notifierSeq: seq,
        start,
        end,
        hmmPfns: pfns,
        defaultFlags,
        pfnFlagsMask: 0n,
        devPrivateOwner: ctx.device,
      }),
    );
    ctx.hooks.afterWalk?.({ start, end, ret });
    if (ret === -ERRNO.EBUSY) continue;
    if (ret !== 0) return ret;
    const r = ctx.withMutex(() => {
      if (mm.notifiers.readRetry(notifier, seq)) return null;
      // dmirror_do_fault()
      for (let i = 0; i < npages; i++) {
        const hi = pfns.hi(i);
        const w = (hi & HMM_PFN_HI.WRITE) !== 0;
        if (write && !w) return -ERRNO.EFAULT;
        ctx.pt.set(start / PAGE + i, pfns.pfn(i), w ? DPT_TAG_WRITE : 0);
      }
      return 0;
    });
    if (r !== null) return r;
  }
}

/** dmirror_fault(): [start, end) in chunks of 64 pages; the first error stops it. */
export function dmirrorFault(ctx: DmirrorContext, start: number, end: number, write: boolean): number {
  // mmget_not_zero() failing: the seed driver reports success without faulting
  if (ctx.mm.exited) return 0;
  const pfns = new PfnArray(ctx.mm, DMIRROR_CHUNK_PAGES);
  try {
    for (let addr = start; addr < end; ) {
      const next = Math.min(addr + DMIRROR_CHUNK_PAGES * PAGE, end);
      ctx.hooks.beforeChunk?.({ start: addr, end: next });
      const ret = dmirrorRangeFault(ctx, addr, next, write, pfns);
      if (ret) return ret;
      addr = next;
    }
    return 0;
  } finally {
    pfns.free();
  }
}

/**
 * dmirror_do_read(): copies [start, end) from the pages the device maps into `bounce` (page i of
 * the command at byte i * 4096), counting each page in cpages; -ENOENT at the first page without
 * an entry.
 */
export function dmirrorDoRead(
  ctx: DmirrorContext,
  cmdAddr: number,
  start: number,
  end: number,
  bounce: Uint8Array,
  counter: { cpages: number },
): number {
  for (let a = start; a < end; a += PAGE) {
    const e = ctx.pt.get(a / PAGE);
    if (!e) return -ERRNO.ENOENT;
    const off = a - cmdAddr;
    ctx.mm.engine.readFrame(e.pfn, 0, bounce.subarray(off, off + PAGE));
    counter.cpages++;
  }
  return 0;
}

/** dmirror_do_write(): like dmirrorDoRead, into the pages, which must be mapped WRITE. */
function dmirrorDoWrite(
  ctx: DmirrorContext,
  cmdAddr: number,
  start: number,
  end: number,
  bounce: Uint8Array,
  counter: { cpages: number },
): number {
  for (let a = start; a < end; a += PAGE) {
    const e = ctx.pt.get(a / PAGE);
    if (!e || e.tag !== DPT_TAG_WRITE) return -ERRNO.ENOENT;
    const off = a - cmdAddr;
    ctx.mm.engine.writeFrame(e.pfn, 0, bounce.subarray(off, off + PAGE));
    counter.cpages++;
  }
  return 0;
}

/** The loop READ and WRITE share: access, and on -ENOENT fault from the first missing page. */
function accessLoop(ctx: DmirrorContext, addr: number, npages: number, bounce: Uint8Array, write: boolean): ReadResult {
  const end = addr + npages * PAGE;
  const counter = { cpages: 0 };
  let faults = 0;
  let ret: number;
  for (;;) {
    const start = addr + counter.cpages * PAGE;
    ret = ctx.withMutex(() => (write ? dmirrorDoWrite : dmirrorDoRead)(ctx, addr, start, end, bounce, counter));
    if (ret !== -ERRNO.ENOENT) break;
    // a fault pass that maps nothing (the mm is gone) would loop for ever in the kernel
    if (faults >= ctx.retryBudget) {
      ret = -ERRNO.EBUSY;
      break;
    }
    ret = dmirrorFault(ctx, addr + counter.cpages * PAGE, end, write);
    if (ret) break;
    faults++;
  }
  return { ret, cpages: counter.cpages, faults };
}

/** HMM_DMIRROR_READ: the device reads npages at addr into `ptr`. */
export function dmirrorRead(ctx: DmirrorContext, addr: number, npages: number, ptr: Uint8Array | null): ReadResult {
  const size = npages * PAGE;
  const bounce = new Uint8Array(size);
  const r = accessLoop(ctx, addr, npages, bounce, false);
  if (r.ret === 0) {
    const out = userBuffer(ptr, size);
    if (!out) return { ...r, ret: -ERRNO.EFAULT };
    out.set(bounce);
  }
  return r;
}

/** HMM_DMIRROR_WRITE: the device writes npages from `ptr` at addr. */
export function dmirrorWrite(ctx: DmirrorContext, addr: number, npages: number, ptr: Uint8Array | null): ReadResult {
  const size = npages * PAGE;
  const src = userBuffer(ptr, size);
  if (!src) return { ret: -ERRNO.EFAULT, cpages: 0, faults: 0 };
  const bounce = src.slice(0, size);
  return accessLoop(ctx, addr, npages, bounce, true);
}
