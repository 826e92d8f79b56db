// Kernel behaviour profiles. "v6.1" is the seed revision (v5.19 .. v6.1); "v6.16" switches on the
// late differences implemented so far; "v6.19" adds device-private THP (PMD-level device-private
// entries in the walk, compound device migration), the devmap removal and leaf-PUD reporting. A new difference is a new PROFILE_* bit in assembly/layout.ts
// (for the walker) or a field here (for the host), enabled in the profiles that have it.
import {
  HMM_PFN_FLAGS_LATE,
  HMM_PFN_FLAGS_SEED,
  HMM_PFN_ORDER_SHIFT_LATE,
  HMM_PFN_ORDER_SHIFT_SEED,
  PROFILE_DEVICE_THP,
  PROFILE_LATE_LAYOUT,
  PROFILE_NO_DEVMAP,
} from "./layout.js";

/** A kernel whose behaviour an Mm reproduces: "v6.1" (the seed, default), "v6.16", "v6.19" (docs/semantics.md §9). */
export type Profile = "v6.1" | "v6.16" | "v6.19";
/** Every supported profile, oldest first. */
export const PROFILES: readonly Profile[] = ["v6.1", "v6.16", "v6.19"];

/** What a profile changes: the hmm_pfns layout and the behaviour switches (docs/semantics.md §9.1). */
export interface ProfileInfo {
  /** The profile. */
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
  /** Device-private THP (v6.19): PMD-level device-private entries, MIGRATE_VMA_SELECT_COMPOUND. */
  deviceThp: boolean;
}

const INFO: Record<Profile, ProfileInfo> = {
  "v6.1": {
    name: "v6.1",
    walkerBits: 0,
    orderShift: HMM_PFN_ORDER_SHIFT_SEED,
    pfnFlags: HMM_PFN_FLAGS_SEED,
    exclusiveRestoreClear: false,
    swapinWritableOnRead: false,
    mprotectNotifierAtPud: false,
    deviceThp: false,
  },
  "v6.16": {
    name: "v6.16",
    walkerBits: PROFILE_LATE_LAYOUT,
    orderShift: HMM_PFN_ORDER_SHIFT_LATE,
    pfnFlags: HMM_PFN_FLAGS_LATE,
    exclusiveRestoreClear: true,
    swapinWritableOnRead: true,
    mprotectNotifierAtPud: true,
    deviceThp: false,
  },
  "v6.19": {
    name: "v6.19",
    walkerBits: PROFILE_LATE_LAYOUT | PROFILE_DEVICE_THP | PROFILE_NO_DEVMAP,
    orderShift: HMM_PFN_ORDER_SHIFT_LATE,
    pfnFlags: HMM_PFN_FLAGS_LATE,
    exclusiveRestoreClear: true,
    swapinWritableOnRead: true,
    mprotectNotifierAtPud: true,
    deviceThp: true,
  },
};

/** The layout and switches of a profile. Throws InvalidArgumentError for an unknown profile name. */
export function profileInfo(p: Profile): ProfileInfo {
  const i = INFO[p];
  if (!i) throw new RangeError(`unknown profile ${JSON.stringify(p)}; expected one of ${PROFILES.join(", ")}`);
  return i;
}
export function profileBits(p: Profile): number {
  return profileInfo(p).walkerBits;
}
