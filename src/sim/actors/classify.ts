// What kind of CPU fault a page is about to take (for the cost model and the faults.* counters),
// read from its page-table entry before the fault runs.
import * as pte from "../../engine/pte.js";
import type { MmStruct } from "../../mm/mm-struct.js";
import type { CostKey } from "../cost/index.js";

export type FaultKind = "anon" | "thp" | "cow" | "swapin" | "migrateToRam" | "numa" | "file" | "minor";

export const FAULT_COST: Record<FaultKind, CostKey> = {
  anon: "fault.anonNs",
  thp: "fault.thpNs",
  cow: "fault.cowNs",
  swapin: "fault.swapinNs",
  migrateToRam: "fault.migrateToRamNs",
  numa: "fault.numaNs",
  file: "fault.minorNs",
  minor: "fault.minorNs",
};

/** The fault kind of an access to addr, before handle_mm_fault runs. "thp" is decided after (thpAfter). */
export function classifyFault(mm: MmStruct, addr: number, write: boolean): FaultKind {
  const leaf = mm.leafOf(addr);
  const e = leaf.entry;
  if (leaf.level < 0 || pte.isNone(e)) {
    const v = mm.vmaLookup(addr);
    return v?.isAnonymous && !v.isShared ? "anon" : "file";
  }
  if (pte.isPresent(e)) {
    if (pte.isProtnone(e)) return "numa";
    return write && !pte.isWrite(e) ? "cow" : "minor";
  }
  if (pte.isDevicePrivate(e)) return "migrateToRam";
  if (pte.isRegularSwap(e)) return "swapin";
  return "minor";
}

/** An "anon" fault that left a PMD leaf behind was a THP fault. */
export function thpAfter(mm: MmStruct, addr: number, kind: FaultKind): FaultKind {
  return kind === "anon" && mm.leafOf(addr).level === 1 ? "thp" : kind;
}
