// SNAPSHOT (dmirror_snapshot): what the device would see without faulting, one protection byte
// per page (dmirror_mkentry), through a temporary interval notifier over each 64-page chunk.
import { ERRNO, HMM_PFN_HI, PAGE_SIZE, PHYS } from "../../engine/layout.js";
import { hmmRangeFault } from "../../hmm/range-fault.js";
import { PfnArray } from "../../hmm/pfns.js";
import { type DmirrorContext, userBuffer } from "./context.js";
import {
  DMIRROR_CHUNK_PAGES,
  HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL,
  HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE,
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_PUD,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
} from "./uapi.js";

const PAGE = PAGE_SIZE;

/** dmirror_mkentry(): the snapshot byte of word i of `pfns` (ERROR first, then !VALID). */
export function dmirrorMkentry(ctx: DmirrorContext, pfns: PfnArray, i: number): number {
  const hi = pfns.hi(i);
  if (hi & HMM_PFN_HI.ERROR) return HMM_DMIRROR_PROT_ERROR;
  if (!(hi & HMM_PFN_HI.VALID)) return HMM_DMIRROR_PROT_NONE;
  const eng = ctx.mm.engine;
  const pfn = pfns.pfn(i);
  let prot = 0;
  const owner = eng.hasStructPage(pfn) ? eng.pgmapOwnerId(pfn) : 0;
  if (owner !== 0) {
    const local = owner === eng.ownerId(ctx.device);
    prot = eng.isDeviceCoherent(pfn)
      ? local
        ? HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL
        : HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE
      : local
        ? HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL
        : HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
  } else if (pfn === PHYS.ZERO_PFN) {
    // is_zero_pfn(): the 4 KiB zero page only, not the huge zero page
    prot = HMM_DMIRROR_PROT_ZERO;
  }
  prot |= hi & HMM_PFN_HI.WRITE ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ;
  const order = pfns.order(i);
  if (order === 9) prot |= HMM_DMIRROR_PROT_PMD;
  else if (order === 18) prot |= HMM_DMIRROR_PROT_PUD;
  return prot;
}

/** dmirror_range_snapshot(): one chunk, its own notifier, bytes into `perm`. */
function dmirrorRangeSnapshot(
  ctx: DmirrorContext,
  start: number,
  end: number,
  pfns: PfnArray,
  perm: Uint8Array,
): number {
  const { mm } = ctx;
  const sub = mm.intervalNotifierInsert(start, end - start, {
    // any invalidation of the interval spoils the whole snapshot: only the sequence moves
    invalidate: (s, range, curSeq) => {
      if (!range.blockable && ctx.mutexHeld) return false;
      mm.notifiers.setSeq(s, curSeq);
      return true;
    },
  });
  try {
    for (let tries = 0; ; tries++) {
      if (tries >= ctx.retryBudget) return -ERRNO.EBUSY;
      const seq = mm.notifiers.readBegin(sub);
      const ret = mm.withReadLock(() =>
        hmmRangeFault({
          notifier: sub,
          notifierSeq: seq,
          start,
          end,
          hmmPfns: pfns,
          defaultFlags: 0n,
          pfnFlagsMask: 0n,
          devPrivateOwner: ctx.device,
        }),
      );
      ctx.hooks.afterWalk?.({ start, end, ret });
      if (ret === -ERRNO.EBUSY) continue;
      if (ret !== 0) return ret;
      const done = ctx.withMutex(() => {
        if (mm.notifiers.readRetry(sub, seq)) return false;
        for (let i = 0; i < (end - start) / PAGE; i++) perm[i] = dmirrorMkentry(ctx, pfns, i);
        return true;
      });
      if (done) return 0;
    }
  } finally {
    mm.notifiers.intervalNotifierRemove(sub);
  }
}

/** HMM_DMIRROR_SNAPSHOT: npages protection bytes into `ptr`; cpages counts the bytes copied. */
export function dmirrorSnapshot(
  ctx: DmirrorContext,
  addr: number,
  npages: number,
  ptr: Uint8Array | null,
): { ret: number; cpages: number } {
  if (ctx.mm.exited) return { ret: -ERRNO.EINVAL, cpages: 0 };
  const end = addr + npages * PAGE;
  const pfns = new PfnArray(ctx.mm, DMIRROR_CHUNK_PAGES);
  const perm = new Uint8Array(DMIRROR_CHUNK_PAGES);
  let cpages = 0;
  try {
    for (let a = addr; a < end; ) {
      const next = Math.min(a + DMIRROR_CHUNK_PAGES * PAGE, end);
      const ret = dmirrorRangeSnapshot(ctx, a, next, pfns, perm);
      if (ret) return { ret, cpages };
      const n = (next - a) / PAGE;
      const out = userBuffer(ptr, cpages + n);
      if (!out) return { ret: -ERRNO.EFAULT, cpages };
      out.set(perm.subarray(0, n), cpages);
      cpages += n;
      a = next;
    }
    return { ret: 0, cpages };
  } finally {
    pfns.free();
  }
}
