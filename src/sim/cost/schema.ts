// Cost profiles: every simulated-time charge is a named entry {value, unit, source, confidence},
// so every latency a report shows can be traced to where its number came from
// (docs/cost-profiles.md lists each entry and its source).
import { z } from "zod";

/** Names of every cost entry a profile must define; docs/cost-profiles.md gives each one's meaning and source. */
export const COST_KEYS = [
  "hmm.callNs", "walk.pageNs",
  "fault.anonNs", "fault.cowNs", "fault.thpNs", "fault.swapinNs", "fault.migrateToRamNs", "fault.numaNs", "fault.minorNs",
  "invalidate.perNotifierNs", "invalidate.deviceTlbNs",
  "cpu.accessNs", "cpu.syscallNs", "cpu.tlbFlushPageNs",
  "migrate.perPageNs", "link.bandwidthGBps", "link.atanAGiBps", "link.atanBPerKiB",
  "gpu.farFaultBatchNs", "gpu.accessNs",
  "retry.backoffNs", "daemon.scanPageNs", "khugepaged.collapseNs",
] as const;
/** One cost entry name, e.g. "fault.anonNs" (the suffix gives the unit: Ns nanoseconds, GBps gigabytes per second). */
export type CostKey = (typeof COST_KEYS)[number];

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

const entriesShape = Object.fromEntries(COST_KEYS.map((k) => [k, CostEntrySchema])) as Record<CostKey, typeof CostEntrySchema>;

/** Schema of a cost profile: a name, a description and one entry per CostKey. */
export const CostProfileSchema = z.strictObject({
  /** Profile name (e.g. "generic-x86-pcie4"). */
  name: z.string().min(1),
  /** Free text. */
  description: z.string().default(""),
  /** One entry per CostKey (all are required). */
  entries: z.strictObject(entriesShape),
});
/** A cost profile: the simulated-time price of every modelled operation. */
export type CostProfile = z.output<typeof CostProfileSchema>;
