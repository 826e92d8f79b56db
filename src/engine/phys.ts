// The fixed physical frames a driver compares against: the shared zero page and the huge zero
// page (is_zero_pfn() / is_huge_zero_pfn()), read from the engine's layout.
import { PHYS } from "./layout.js";

/** pfn of the 4 KiB zero page every read fault of an untouched anonymous page maps (my_zero_pfn). */
export const ZERO_PFN: number = PHYS.ZERO_PFN;
/** Head pfn of the 2 MiB huge zero page (read faults of THP-eligible untouched ranges). */
export const HUGE_ZERO_PFN: number = PHYS.HUGE_ZERO_PFN;
