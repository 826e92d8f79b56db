// Kernel behaviour profiles. "v6.1" is the seed revision (v5.19 .. v6.1); "v6.16" switches on the
// late differences implemented so far. A new difference is a new PROFILE_* bit in assembly/layout.ts
// (for the walker) or a field here (for the host), enabled in the profiles that have it.
import { HMM_PFN_FLAGS_LATE, HMM_PFN_FLAGS_SEED, HMM_PFN_ORDER_SHIFT_LATE, HMM_PFN_ORDER_SHIFT_SEED, PROFILE_LATE_LAYOUT } from "./layout.js";

export type Profile = "v6.1" | "v6.16";
export const PROFILES: readonly Profile[] = ["v6.1", "v6.16"];

export interface ProfileInfo {
  name: Profile;
  /** Bits passed to the walker. */
  walkerBits: number;
  /** HMM_PFN_ORDER_SHIFT of this profile. */
  orderShift: number;
  /** HMM_PFN_FLAGS of this profile (the pfn is everything below). */
  pfnFlags: bigint;
  /** CPU access to a device-exclusive entry raises CLEAR (late) instead of EXCLUSIVE (seed). */
  exclusiveRestoreClear: boolean;
  /** Swap-in of an exclusive page maps it writable on a read fault when VM_WRITE (late). */
  swapinWritableOnRead: boolean;
  /** mprotect's PROTECTION_VMA starts at the first populated PUD of each P4D chunk (v6.12+). */
  mprotectNotifierAtPud: boolean;
}

const INFO: Record<Profile, ProfileInfo> = {
  "v6.1": {
    name: "v6.1", walkerBits: 0, orderShift: HMM_PFN_ORDER_SHIFT_SEED, pfnFlags: HMM_PFN_FLAGS_SEED,
    exclusiveRestoreClear: false, swapinWritableOnRead: false, mprotectNotifierAtPud: false,
  },
  "v6.16": {
    name: "v6.16", walkerBits: PROFILE_LATE_LAYOUT, orderShift: HMM_PFN_ORDER_SHIFT_LATE,
    pfnFlags: HMM_PFN_FLAGS_LATE, exclusiveRestoreClear: true, swapinWritableOnRead: true, mprotectNotifierAtPud: true,
  },
};

export function profileInfo(p: Profile): ProfileInfo {
  const i = INFO[p];
  if (!i) throw new RangeError(`unknown profile ${JSON.stringify(p)}; expected one of ${PROFILES.join(", ")}`);
  return i;
}
export function profileBits(p: Profile): number {
  return profileInfo(p).walkerBits;
}
