// Cost profiles: every simulated-time charge is a named entry {value, unit, source, confidence},
// so every latency a report shows can be traced to where its number came from
// (docs/cost-profiles.md lists each entry and its source).
import { z } from "zod";

/**
 * The charges a cost profile prices, one member per modelled operation: the member's name is
 * the entry's key (the suffix gives the unit: Ns nanoseconds, GBps gigabytes per second, GiBps
 * gibibytes per second, PerKiB per kibibyte). `T` is what each member holds: a {@link CostEntry}
 * in a {@link CostProfile}, the bare number in {@link Costs}. docs/cost-profiles.md says where
 * each one is charged and where the built-in profiles' numbers come from.
 */
export interface CostTable<T> {
  /** Fixed part of one hmm_range_fault() call, charged to the device actor once per call (ns). */
  "hmm.callNs": T;
  /** Walking one page in a walk pass of hmm_range_fault(), charged per page the pass goes over (ns/page). */
  "walk.pageNs": T;
  /** Anonymous page fault (a fresh zeroed page), per faulted page (ns). */
  "fault.anonNs": T;
  /** Write fault on a present read-only page (copy-on-write: a private copy), per faulted page (ns). */
  "fault.cowNs": T;
  /** Transparent-huge-page fault (2 MiB zeroing), once per THP, not per 4 KiB page (ns). */
  "fault.thpNs": T;
  /** Fault that reads a page back from swap, per faulted page (ns). */
  "fault.swapinNs": T;
  /** Fault on a device-private page that migrates it back to system RAM, per faulted page (ns). */
  "fault.migrateToRamNs": T;
  /** NUMA hinting fault (PROT_NONE by NUMA balancing), per faulted page (ns). */
  "fault.numaNs": T;
  /** Minor fault: a file mapping's first touch (its page-cache page) or any other fault that needs no new page, per faulted page (ns). */
  "fault.minorNs": T;
  /** Running one mmu interval notifier's invalidate callback, per mirror whose sequence changed (ns). */
  "invalidate.perNotifierNs": T;
  /** Device TLB shootdown after an invalidation, per mirror whose sequence changed (ns). */
  "invalidate.deviceTlbNs": T;
  /** One CPU load or store to a page, charged to the CPU actor per page accessed (ns). */
  "cpu.accessNs": T;
  /** Entering and leaving the kernel for one mm operation (munmap, mprotect, madvise, mremap, fork, exit, remap) (ns). */
  "cpu.syscallNs": T;
  /** Flushing one page from the CPU TLB after munmap/mprotect, for at most 33 pages per operation (ns/page). */
  "cpu.tlbFlushPageNs": T;
  /** Fixed work of migrating one page to device memory or back to RAM, besides the transfer time (ns/page). */
  "migrate.perPageNs": T;
  /** Flat device-link bandwidth per direction, used when the atan curve is off (GB/s). */
  "link.bandwidthGBps": T;
  /** Asymptotic bandwidth `a` of the UVMSmart transfer curve bw = 2a/pi * atan(b * KiB); 0 turns the curve off (GiB/s). */
  "link.atanAGiBps": T;
  /** Slope `b` of the UVMSmart transfer curve per KiB transferred; 0 turns the curve off (1/KiB). */
  "link.atanBPerKiB": T;
  /** One device far-fault batch with at least one miss (the GPU's fault-handling round trip) (ns). */
  "gpu.farFaultBatchNs": T;
  /** One device access that hits a committed mirror entry (ns). */
  "gpu.accessNs": T;
  /** Back-off before a driver's external retry (after -EBUSY or a failed read-retry check) (ns). */
  "retry.backoffNs": T;
  /** A kernel daemon scanning one page of its window (ns/page). */
  "daemon.scanPageNs": T;
  /** khugepaged collapsing one 2 MiB range into a THP (ns). */
  "khugepaged.collapseNs": T;
}

/** One cost entry name, e.g. "fault.anonNs": a key of {@link CostTable}. */
export type CostKey = keyof CostTable<unknown>;

// Every key once, in the table's order: the object literal's type makes the compiler reject a
// missing or unknown key, so COST_KEYS cannot drift from CostTable.
const KEY_ORDER: CostTable<null> = {
  "hmm.callNs": null,
  "walk.pageNs": null,
  "fault.anonNs": null,
  "fault.cowNs": null,
  "fault.thpNs": null,
  "fault.swapinNs": null,
  "fault.migrateToRamNs": null,
  "fault.numaNs": null,
  "fault.minorNs": null,
  "invalidate.perNotifierNs": null,
  "invalidate.deviceTlbNs": null,
  "cpu.accessNs": null,
  "cpu.syscallNs": null,
  "cpu.tlbFlushPageNs": null,
  "migrate.perPageNs": null,
  "link.bandwidthGBps": null,
  "link.atanAGiBps": null,
  "link.atanBPerKiB": null,
  "gpu.farFaultBatchNs": null,
  "gpu.accessNs": null,
  "retry.backoffNs": null,
  "daemon.scanPageNs": null,
  "khugepaged.collapseNs": null,
};

/** Names of every cost entry a profile must define (the keys of {@link CostTable}, in its order). */
export const COST_KEYS: readonly CostKey[] = Object.keys(KEY_ORDER) as CostKey[];

/** Schema of one cost entry. */
export const CostEntrySchema = z.strictObject({
  /** The number, in `unit`. */
  value: z.number().nonnegative(),
  /** Unit of `value`, e.g. "ns" or "GB/s". */
  unit: z.string().min(1),
  /** Where the number comes from (a measurement, paper or datasheet). */
  source: z.string().min(1),
  /** How much the number can be trusted ("measured" when calibrate() produced it). */
  confidence: z.enum(["high", "medium", "low", "unknown", "measured"]),
});
/** One named cost: {value, unit, source, confidence}. */
export type CostEntry = z.output<typeof CostEntrySchema>;

/** A cost profile: the simulated-time price of every modelled operation. */
export interface CostProfile {
  /** Profile name (e.g. "generic-x86-pcie4"). */
  name: string;
  /** Free text. */
  description: string;
  /** One entry per CostKey (all are required). */
  entries: CostTable<CostEntry>;
}

/** A cost profile as written in a file or a scenario: `description` may be left out (it defaults to ""). */
export interface CostProfileInput {
  /** Profile name (e.g. "generic-x86-pcie4"). */
  name: string;
  /** Free text (default ""). */
  description?: string;
  /** One entry per CostKey (all are required). */
  entries: CostTable<CostEntry>;
}

const entriesShape = Object.fromEntries(COST_KEYS.map((k) => [k, CostEntrySchema])) as Record<
  CostKey,
  typeof CostEntrySchema
>;

/**
 * Schema of a cost profile: a name, a description and one entry per CostKey. Typed by the
 * documented interfaces (the compiler checks the schema produces a {@link CostProfile}).
 */
export const CostProfileSchema: z.ZodType<CostProfile, CostProfileInput> = z.strictObject({
  name: z.string().min(1),
  description: z.string().default(""),
  entries: z.strictObject(entriesShape),
});
