// Cost profiles: every simulated-time charge is a named entry {value, unit, source, confidence},
// so every latency a report shows can be traced to where its number came from
// (docs/cost-profiles.md lists each entry and its source).
import { z } from "zod";

export const COST_KEYS = [
  "hmm.callNs", "walk.pageNs",
  "fault.anonNs", "fault.cowNs", "fault.thpNs", "fault.swapinNs", "fault.migrateToRamNs", "fault.numaNs", "fault.minorNs",
  "invalidate.perNotifierNs", "invalidate.deviceTlbNs",
  "cpu.accessNs", "cpu.syscallNs", "cpu.tlbFlushPageNs",
  "migrate.perPageNs", "link.bandwidthGBps", "link.atanAGiBps", "link.atanBPerKiB",
  "gpu.farFaultBatchNs", "gpu.accessNs",
  "retry.backoffNs", "daemon.scanPageNs", "khugepaged.collapseNs",
] as const;
export type CostKey = (typeof COST_KEYS)[number];

export const CostEntrySchema = z.strictObject({
  value: z.number().nonnegative(),
  unit: z.string().min(1),
  source: z.string().min(1),
  confidence: z.enum(["high", "medium", "low", "unknown", "measured"]),
});
export type CostEntry = z.output<typeof CostEntrySchema>;

const entriesShape = Object.fromEntries(COST_KEYS.map((k) => [k, CostEntrySchema])) as Record<CostKey, typeof CostEntrySchema>;

export const CostProfileSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().default(""),
  entries: z.strictObject(entriesShape),
});
export type CostProfile = z.output<typeof CostProfileSchema>;
