// A plain-TypeScript reference implementation of assembly/walk.ts `hmmWalk`: one pass of
// hmm_range_fault()'s page walk (mm/hmm.c driven by mm/pagewalk.c), over the same linear memory,
// with the same signature, the same effects and the same return codes.
//
// It is the readable oracle of the differential test (test/differential.test.ts): one small
// function (or method of the walk state) per kernel function, named after it, and written for
// clarity rather than speed. It reads the page
// tables, the VMA table and the pgmap table of the engine directly from linear memory, writes the
// hmm_pfns words and the WALK_CTX outputs there, and mutates the page table in the two places the
// WASM walker does (a bad PGD/P4D entry is cleared by pgd_none_or_clear_bad(); a trans-huge or devmap
// PUD that HMM does not report is cleared by split_huge_pud()).
//
// Arithmetic is number-only: 64-bit entries and hmm_pfns words are handled as their two unsigned
// 32-bit halves (`Entry` from src/pte.ts), addresses inside the walk are page numbers (exact up to
// 2^53), and every request / cpu flag is looked at in the high half of its word, like the WASM walker.
//
// Where the WASM walker and the specification (docs/semantics.md §2-§3) part ways, this file follows
// the WASM walker (it is the oracle of *that* walk) and says so in a "SPEC:" comment.
//
// The walk is split by level: reference-walk/state.ts holds the walk state and what every level
// shares (memory, output words, requests, holes), then pte.ts, pmd.ts, upper.ts (PUD, P4D, PGD)
// and hugetlb.ts, with the entry predicates in entry.ts; this file is the entry point and
// walk_page_range().
import type { Engine } from "../engine/engine.js";
import {
  CTX,
  ERRNO,
  HMM_PFN_HI,
  HMM_PFN_ORDER_SHIFT_LATE,
  HMM_PFN_ORDER_SHIFT_SEED,
  MEM,
  PROFILE_DEVICE_THP,
  PROFILE_LATE_LAYOUT,
  PROFILE_NO_DEVMAP,
  VM,
} from "../engine/layout.js";
import { walkHugetlbRange } from "./reference-walk/hugetlb.js";
import { WalkState } from "./reference-walk/state.js";
import { walkPgdRange } from "./reference-walk/upper.js";

export { ReferenceTrap } from "./reference-walk/state.js";

/** The signature of the WASM export `hmmWalk` (pointers u32, page numbers as numbers). */
export type HmmWalkFn = (
  mm: number,
  pfns: number,
  startPage: number,
  lastPage: number,
  endPage: number,
  defaultFlagsHi: number,
  pfnFlagsMaskHi: number,
  ownerId: number,
  profile: number,
) => number;

/**
 * The reference walker of one engine. Like the WASM module, it keeps `walk->vma` from one call to
 * the next (a walk that fails with -EINVAL before looking at any VMA reports the previous index in
 * CTX_VMA_INDEX), so use one walker per engine and do not interleave it with the WASM walker there.
 */
export function createReferenceWalker(engine: Engine): HmmWalkFn {
  const w = new WalkState(engine);
  return (mm, pfns, startPage, lastPage, endPage, defaultFlagsHi, pfnFlagsMaskHi, ownerId, profile) =>
    hmmWalk(w, mm, pfns, startPage, lastPage, endPage, defaultFlagsHi, pfnFlagsMaskHi, ownerId, profile);
}

/** One pass of the walk: loads the range into the walk state, walks it, stores the WALK_CTX outputs. */
function hmmWalk(
  w: WalkState,
  mm: number,
  pfns: number,
  startPage: number,
  lastPage: number,
  endPage: number,
  defaultFlagsHi: number,
  pfnFlagsMaskHi: number,
  ownerId: number,
  profile: number,
): number {
  const views = w.engine.mem();
  w.u8 = views.u8;
  w.u32 = views.u32;
  w.i32 = views.i32;
  w.f64 = views.f64;
  if (pfns % 4 !== 0) throw new RangeError(`reference walker: hmm_pfns pointer ${pfns} is not 4-byte aligned`);
  w.mm = mm >>> 0;
  w.pfns = pfns >>> 0;
  w.startPage = Math.trunc(startPage);
  w.defaultHi = defaultFlagsHi >>> 0;
  w.maskHi = pfnFlagsMaskHi >>> 0;
  w.owner = ownerId >>> 0;
  const late = ((profile | 0) & PROFILE_LATE_LAYOUT) !== 0;
  w.orderShiftHi = (late ? HMM_PFN_ORDER_SHIFT_LATE : HMM_PFN_ORDER_SHIFT_SEED) - 32;
  w.inoutHi = late ? HMM_PFN_HI.INOUT_LATE : 0;
  w.deviceThp = ((profile | 0) & PROFILE_DEVICE_THP) !== 0;
  w.noDevmap = ((profile | 0) & PROFILE_NO_DEVMAP) !== 0;
  w.highestMemmapPfn = w.engine.highestMemmapPfn();
  w.last = Math.trunc(lastPage);
  w.pagesWalked = 0;
  w.vmaIndex = -1;
  w.storeCtxI32(CTX.ACTION, CTX.ACTION_NONE);

  const r = walkPageRange(w, w.last, Math.trunc(endPage));

  w.f64[(MEM.WALK_CTX + CTX.LAST) >>> 3] = w.last;
  w.storeCtxI32(CTX.VMA_INDEX, w.vmaIndex);
  w.storeCtxI32(CTX.PAGES_WALKED, w.pagesWalked | 0);
  return r;
}

// ---- walk_page_range() (mm/pagewalk.c) ------------------------------------------------------

/** find_vma(): index of the first VMA whose end is above `page`, or the VMA count. */
function findVma(w: WalkState, page: number): number {
  let lo = 0;
  let hi = w.i32[(w.mm + MEM.MM_VMA_COUNT) >>> 2];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (w.vmaEndPage(mid) <= page) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** walk_page_range(): the VMAs and the gaps between them over [start, end). */
function walkPageRange(w: WalkState, start: number, end: number): number {
  if (start >= end) return -ERRNO.EINVAL;
  const count = w.i32[(w.mm + MEM.MM_VMA_COUNT) >>> 2];
  let vi = findVma(w, start);
  for (let page = start; page < end; ) {
    let next: number;
    let err: number;
    if (vi >= count || page < w.vmaStartPage(vi)) {
      // a gap before a VMA or after the last one: walk.vma = NULL, V1
      w.vmaIndex = -1;
      w.vmaFlags = 0;
      next = vi >= count ? end : Math.min(end, w.vmaStartPage(vi));
      err = w.hmmVmaWalkHole(page, next);
    } else {
      w.vmaIndex = vi;
      w.vmaFlags = w.u32[(w.vmaPtr(vi) + MEM.VMA_FLAGS) >>> 2];
      next = Math.min(end, w.vmaEndPage(vi));
      const hugeShift = w.i32[(w.vmaPtr(vi) + MEM.VMA_HUGE_SHIFT) >>> 2];
      vi++;
      err = w.hmmVmaWalkTest(page, next);
      if (err > 0)
        err = 0; // V2/V3: skipped
      else if (err === 0) {
        err =
          (w.vmaFlags & VM.HUGETLB) !== 0 ? walkHugetlbRange(w, page, next, hugeShift) : walkPgdRange(w, page, next);
      }
    }
    if (err !== 0) return err;
    page = next;
  }
  return 0;
}
