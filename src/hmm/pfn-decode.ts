// hmm.h's helpers on output words (hmm_pfn_to_map_order, hmm_pfn_to_page's pfn) and checkHmm: they
// decode with the layout of the profile the word was produced under (docs/semantics.md §2).
import { ErrnoError, errnoName } from "../engine/errors.js";
import { HMM_PFN_HI, HMM_PFN_ORDER_MASK } from "../engine/layout.js";
import { type Profile, profileInfo } from "../engine/profile.js";

/** A profile, or anything that has one (an Mm): the layout an output word is decoded with. */
export type ProfileOf =
  | Profile
  | {
      /** The kernel profile its words were produced under (e.g. an Mm's). */
      readonly profile: Profile;
    };
const layoutOf = (p: ProfileOf): Profile => (typeof p === "string" ? p : p?.profile);

/**
 * hmm_pfn_to_map_order(): log2 of the pages of the CPU mapping holding this page. The order bits
 * moved in v6.16, so the word's profile (or the Mm it came from) is required.
 */
export function hmmPfnToMapOrder(hmmPfn: bigint, profile: ProfileOf): number {
  return Number(
    (BigInt.asUintN(64, hmmPfn) >> BigInt(profileInfo(layoutOf(profile)).orderShift)) & BigInt(HMM_PFN_ORDER_MASK),
  );
}
/** hmm_pfn_to_page()'s pfn: the pfn field of an output word (hmm_pfn & ~HMM_PFN_FLAGS), as a number. */
export function hmmPfnToPfn(hmmPfn: bigint, profile: ProfileOf): number {
  return Number(BigInt.asUintN(64, hmmPfn) & ~profileInfo(layoutOf(profile)).pfnFlags & 0xffffffffffffffffn);
}

/** Number-only helpers on the high 32 bits of a word (PfnArray.hi(i)). */
export const hmmPfnHi = {
  /** HMM_PFN_VALID is set in the high word. */
  isValid: (hi: number): boolean => (hi & HMM_PFN_HI.VALID) !== 0,
  /** HMM_PFN_WRITE is set in the high word. */
  isWrite: (hi: number): boolean => (hi & HMM_PFN_HI.WRITE) !== 0,
  /** HMM_PFN_ERROR is set in the high word. */
  isError: (hi: number): boolean => (hi & HMM_PFN_HI.ERROR) !== 0,
  /** hmm_pfn_to_map_order() on the high word, under the profile's layout. */
  order: (hi: number, profile: ProfileOf): number =>
    (hi >>> (profileInfo(layoutOf(profile)).orderShift - 32)) & HMM_PFN_ORDER_MASK,
};

/** Throws ErrnoError for a non-zero hmmRangeFault result (for callers that prefer exceptions). */
export function checkHmm(ret: number, what = "hmm_range_fault"): void {
  if (ret !== 0) throw new ErrnoError(ret, `${what} returned ${errnoName(ret)}`);
}
