// Cost profiles: the built-ins, validation of a user's profile, and the derived charges
// (transfer time over the link) the actors use.
import { type CostKey, type CostProfile, CostProfileSchema, type CostTable } from "./schema.js";
import { GENERIC_X86_PCIE4 } from "./profiles/generic-x86-pcie4.js";
import { UVMSMART_PCIE3 } from "./profiles/uvmsmart-pcie3.js";

export {
  COST_KEYS,
  CostProfileSchema,
  CostEntrySchema,
  type CostKey,
  type CostEntry,
  type CostProfile,
  type CostProfileInput,
  type CostTable,
} from "./schema.js";

/** The profiles shipped with hmmsim, by name. */
export const BUILTIN_COST_PROFILES: Readonly<Record<string, CostProfile>> = Object.freeze({
  [GENERIC_X86_PCIE4.name]: GENERIC_X86_PCIE4,
  [UVMSMART_PCIE3.name]: UVMSMART_PCIE3,
});

/** Validates a cost profile object (e.g. a parsed profile file); throws a ZodError. */
export function validateCostProfile(obj: unknown): CostProfile {
  return CostProfileSchema.parse(obj);
}

/** The numbers of a profile, flattened for the hot path: each entry's `value`, by key. */
export type Costs = CostTable<number>;

/** What resolveCostProfile() returns: the profile and its numbers. */
export interface ResolvedCostProfile {
  /** The profile itself (a built-in one when resolved by name). */
  profile: CostProfile;
  /** Each entry's value, by key. */
  costs: Costs;
}

/**
 * A profile by built-in name (see BUILTIN_COST_PROFILES) or as given, with its numbers flattened
 * into Costs. Throws RangeError for an unknown name.
 */
export function resolveCostProfile(p: string | CostProfile): ResolvedCostProfile {
  const profile = typeof p === "string" ? BUILTIN_COST_PROFILES[p] : p;
  if (!profile)
    throw new RangeError(
      `unknown cost profile "${String(p)}" (built-in: ${Object.keys(BUILTIN_COST_PROFILES).join(", ")})`,
    );
  const costs = {} as Costs;
  for (const [k, e] of Object.entries(profile.entries)) costs[k as CostKey] = e.value;
  return { profile, costs };
}

/**
 * Time to move `bytes` over the device link in one transfer: the UVMSmart atan curve
 * (bandwidth = 2a/pi * atan(b * KiB)) when the profile sets it, else the flat bandwidth.
 */
export function transferNs(costs: Costs, bytes: number): number {
  if (bytes <= 0) return 0;
  const a = costs["link.atanAGiBps"];
  const b = costs["link.atanBPerKiB"];
  if (a > 0 && b > 0) {
    const gibps = ((2 * a) / Math.PI) * Math.atan(b * (bytes / 1024));
    return (bytes / (gibps * 2 ** 30)) * 1e9;
  }
  return bytes / costs["link.bandwidthGBps"];
}
