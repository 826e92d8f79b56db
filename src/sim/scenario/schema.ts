// The scenario format (version 1): one zod schema for YAML and JSON files. A scenario is plain
// JSON-able data, so sweeps can address any field by path (e.g. `devices[0].driver.faultChunk`).
// Every field and its default is documented in docs/scenarios.md.
import { z } from "zod";
import { CostProfileSchema } from "../cost/schema.js";

const PAGE = 4096;
const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "expected a name of letters, digits, '_', '.', '-'");
const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const ns = z.number().nonnegative();
const ratio = z.number().min(0).max(1);

export const MachineSchema = z.strictObject({
  /** Frames of system RAM (default: the engine's whole RAM range). */
  ramPages: posInt.optional(),
  levels: z.union([z.literal(4), z.literal(5)]).default(4),
  profile: z.enum(["v6.1", "v6.16"]).default("v6.1"),
  thp: z.enum(["always", "madvise", "never"]).default("madvise"),
  /** Swap slots (default: unbounded). */
  swapPages: nonNegInt.optional(),
  hugetlb: z.strictObject({ pages2M: nonNegInt.default(0), pages1G: nonNegInt.default(0) }).default({ pages2M: 0, pages1G: 0 }),
  /** A built-in cost profile name or an inline profile. */
  costProfile: z.union([z.string(), CostProfileSchema]).default("generic-x86-pcie4"),
  walker: z.enum(["wasm", "reference"]).optional(),
});

export const MappingSchema = z.strictObject({
  name,
  kind: z.enum(["anon", "anon-shared", "file-private", "file-shared", "hugetlb", "device"]).default("anon"),
  pages: posInt,
  prot: z.enum(["none", "r", "rw"]).default("rw"),
  /** MADV_HUGEPAGE on the mapping (THP under the "madvise" policy). */
  hugepage: z.boolean().default(false),
  /** Fault every page in after mapping it. */
  populate: z.enum(["none", "read", "write"]).default("none"),
  /** Initial data: "index" writes each page's index into its first 4 bytes (file: the file contents). */
  init: z.enum(["none", "index"]).default("none"),
  /** hugetlb page size. */
  hugeSize: z.enum(["2M", "1G"]).default("2M"),
  /** For kind "device": the device whose memory is mapped. */
  device: name.optional(),
});

export const ProcessSchema = z.strictObject({
  name,
  /** NUMA balancing moves a page on its hinting fault (MmOptions.numaMigrateOnFault). */
  numaMigrateOnFault: z.boolean().default(false),
  hugeZeroPage: z.boolean().default(true),
  mappings: z.array(MappingSchema).min(1),
});

export const DriverSchema = z.strictObject({
  /** Pages per hmm_range_fault call (dmirror: 64). */
  faultChunk: posInt.default(64),
  /** Device accesses collected into one far-fault batch (UVM: 256). */
  faultBatch: posInt.default(1),
  /** Simulated time a driver keeps retrying one fault before giving up with -EBUSY (HMM_RANGE_DEFAULT_TIMEOUT). */
  retryBudgetNs: ns.default(1_000_000_000),
  /** Migrate faulting pages to device memory first ("never", "always", or only for "write" faults). */
  migrateOnFault: z.enum(["never", "always", "write"]).default("never"),
  /** Take a fresh notifierSeq (mmu_interval_read_begin) after -EBUSY; false reproduces the stale-sequence bug. */
  refreshSeqOnBusy: z.boolean().default(true),
});

export const DeviceSchema = z.strictObject({
  name,
  kind: z.enum(["private", "coherent"]).default("private"),
  /** Share the pgmap owner of another device (its pages are then "local" to this one too). */
  owner: name.optional(),
  memoryPages: posInt.default(1024),
  driver: DriverSchema.default(DriverSchema.parse({})),
});

const stride = z.number().int().positive().refine((v) => v % PAGE === 0, { message: "expected a positive multiple of 4096" });

export const PatternSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("sequential") }),
  z.strictObject({ kind: z.literal("strided"), stride }),
  z.strictObject({ kind: z.literal("random") }),
  z.strictObject({ kind: z.literal("zipf"), theta: z.number().positive().max(5).default(0.99) }),
  z.strictObject({ kind: z.literal("hot-set"), hotPages: posInt, hotProbability: ratio.default(0.9) }),
  z.strictObject({ kind: z.literal("replay"), pages: z.array(nonNegInt).min(1) }),
]);

const runLength = {
  /** Accesses (device) or operations (CPU) or runs (daemon) before the actor ends. */
  count: posInt.optional(),
  /** Or: run until this simulated time. */
  durationNs: ns.optional(),
  /** Simulated time the actor starts at. */
  startNs: ns.default(0),
};

export const DeviceActorSchema = z.strictObject({
  kind: z.literal("device"),
  name,
  device: name,
  process: name,
  mapping: name,
  pattern: PatternSchema.default({ kind: "sequential" }),
  writeRatio: ratio.default(0),
  /** Simulated time between two accesses of the stream. */
  thinkNs: ns.default(0),
  ...runLength,
});

const opTarget = {
  mapping: name,
  /** First page of the range (default 0), and pages (default: the whole mapping). */
  page: nonNegInt.default(0),
  pages: posInt.optional(),
  /** "random": each time, a random start page such that the range fits (page is then ignored). */
  at: z.enum(["fixed", "random"]).default("fixed"),
};

export const CpuOpSchema = z.discriminatedUnion("op", [
  z.strictObject({ op: z.literal("read"), ...opTarget, weight: ns.default(1), atNs: ns.optional() }),
  z.strictObject({ op: z.literal("write"), ...opTarget, weight: ns.default(1), atNs: ns.optional() }),
  z.strictObject({ op: z.literal("munmap"), ...opTarget, weight: ns.default(1), atNs: ns.optional() }),
  z.strictObject({ op: z.literal("remap"), mapping: name, weight: ns.default(1), atNs: ns.optional() }),
  z.strictObject({ op: z.literal("mprotect"), ...opTarget, prot: z.enum(["none", "r", "rw"]), weight: ns.default(1), atNs: ns.optional() }),
  z.strictObject({
    op: z.literal("madvise"), ...opTarget,
    advice: z.enum(["dontneed", "free", "pageout", "hugepage", "nohugepage", "collapse"]), weight: ns.default(1), atNs: ns.optional(),
  }),
  z.strictObject({ op: z.literal("mremap"), mapping: name, weight: ns.default(1), atNs: ns.optional() }),
  z.strictObject({ op: z.literal("fork"), weight: ns.default(1), atNs: ns.optional() }),
  z.strictObject({ op: z.literal("exit"), weight: ns.default(1), atNs: ns.optional() }),
]);

export const CpuActorSchema = z.strictObject({
  kind: z.literal("cpu"),
  name,
  process: name,
  /** "sequence": the ops in order (repeated); "random": weighted choice each time. */
  mode: z.enum(["sequence", "random"]).default("sequence"),
  ops: z.array(CpuOpSchema).min(1),
  /** Simulated time between two operations. */
  periodNs: ns.default(10_000),
  ...runLength,
});

export const DaemonActorSchema = z.strictObject({
  kind: z.literal("daemon"),
  name,
  daemon: z.enum(["numa-balancing", "kswapd", "khugepaged", "compaction", "ksm"]),
  process: name,
  /** The mapping it scans (default: every mapping of the process, in order). */
  mapping: name.optional(),
  periodNs: ns.default(1_000_000),
  /** Pages per run (the scan window advances and wraps). */
  scanPages: posInt.default(256),
  ...runLength,
});

export const ActorSchema = z.discriminatedUnion("kind", [DeviceActorSchema, CpuActorSchema, DaemonActorSchema]);

export const RunSchema = z.strictObject({
  seed: z.number().int().nonnegative().max(0xffffffff).default(1),
  strategy: z.enum(["random", "pct", "dfs"]).default("random"),
  pctDepth: posInt.default(3),
  /** A schedule string recorded by an earlier run. */
  replay: z.string().optional(),
  /** Simulated time limit of the whole run. */
  durationNs: ns.optional(),
  /** Scheduling-step limit (a safety net; default 1,000,000). */
  maxSteps: posInt.default(1_000_000),
  check: z.enum(["every-step", "end", "off"]).default("end"),
  /** An actor that makes no progress for this long is reported as livelocked. */
  livelockNs: ns.default(100_000_000),
  /** Actors whose clocks are within this window of the earliest may be scheduled next. */
  timeWindowNs: ns.default(50_000),
  /** Yield between the faults of a chunk ("fault") or only between walk passes ("pass"). */
  interleave: z.enum(["fault", "pass"]).default("fault"),
  /** Bounded exhaustive enumeration: at most this many runs. */
  dfsMaxRuns: posInt.default(1000),
});

export const ScenarioSchema = z.strictObject({
  version: z.literal(1),
  name: name.default("scenario"),
  description: z.string().default(""),
  machine: MachineSchema.default(MachineSchema.parse({})),
  processes: z.array(ProcessSchema).min(1),
  devices: z.array(DeviceSchema).default([]),
  actors: z.array(ActorSchema).min(1).max(52),
  run: RunSchema.default(RunSchema.parse({})),
});

export type Scenario = z.output<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;
export type MachineSpec = Scenario["machine"];
export type ProcessSpec = Scenario["processes"][number];
export type MappingSpec = ProcessSpec["mappings"][number];
export type DeviceSpec = Scenario["devices"][number];
export type DriverSpec = DeviceSpec["driver"];
export type ActorSpec = Scenario["actors"][number];
export type DeviceActorSpec = z.output<typeof DeviceActorSchema>;
export type CpuActorSpec = z.output<typeof CpuActorSchema>;
export type DaemonActorSpec = z.output<typeof DaemonActorSchema>;
export type CpuOpSpec = z.output<typeof CpuOpSchema>;
export type PatternSpec = z.output<typeof PatternSchema>;
