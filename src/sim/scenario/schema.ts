// The scenario format (version 1): one zod schema for YAML and JSON files. A scenario is plain
// JSON-able data, so sweeps can address any field by path (e.g. `devices[0].driver.faultChunk`).
// Every field and its default is documented in docs/scenarios.md.
import { z } from "zod";
import { PAGE_SIZE } from "../../engine/layout.js";
import { CostProfileSchema } from "../cost/schema.js";

const PAGE = PAGE_SIZE;
const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "expected a name of letters, digits, '_', '.', '-'");
const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const ns = z.number().nonnegative();
const ratio = z.number().min(0).max(1);

/** The `machine` section: RAM, page-table levels, kernel profile, THP policy, swap, hugetlb pools, cost profile (docs/scenarios.md). */
export const MachineSchema = z.strictObject({
  /** Frames of system RAM (default: the engine's whole RAM range). */
  ramPages: posInt.optional(),
  /** Page-table levels: 4 (48-bit) or 5 (57-bit, LA57). */
  levels: z.union([z.literal(4), z.literal(5)]).default(4),
  /** Kernel profile the engine reproduces ("v6.1" is the seed kernel; see docs/semantics.md §1). */
  profile: z.enum(["v6.1", "v6.16"]).default("v6.1"),
  /** Transparent-huge-page policy, as /sys/kernel/mm/transparent_hugepage/enabled. */
  thp: z.enum(["always", "madvise", "never"]).default("madvise"),
  /** Swap slots (default: unbounded). */
  swapPages: nonNegInt.optional(),
  /** Reserved hugetlb pools, in huge pages of each size (not 4 KiB pages). */
  hugetlb: z
    .strictObject({
      /** 2 MiB huge pages reserved for MAP_HUGETLB mappings (default 0). */
      pages2M: nonNegInt.default(0),
      /** 1 GiB huge pages reserved for MAP_HUGETLB | MAP_HUGE_1GB mappings (default 0). */
      pages1G: nonNegInt.default(0),
    })
    .default({ pages2M: 0, pages1G: 0 }),
  /** A built-in cost profile name or an inline profile. */
  costProfile: z.union([z.string(), CostProfileSchema]).default("generic-x86-pcie4"),
  /** Page-walk implementation: the WASM walker (default) or the TypeScript reference walker. */
  walker: z.enum(["wasm", "reference"]).optional(),
});

/** One mapping of a process: an mmap() of `pages` 4 KiB pages of the given kind. */
export const MappingSchema = z.strictObject({
  /** Name that other entries of the scenario refer to this one by (letters, digits, '_', '.', '-'). */
  name,
  /** What backs the mapping: anonymous (private or shared), a file (private or shared), hugetlb or device memory. */
  kind: z.enum(["anon", "anon-shared", "file-private", "file-shared", "hugetlb", "device"]).default("anon"),
  /** Length in 4 KiB pages. */
  pages: posInt,
  /** Initial protection: PROT_NONE, PROT_READ, or PROT_READ|PROT_WRITE. */
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

/** One simulated process (an Mm) and its mappings. */
export const ProcessSchema = z.strictObject({
  /** Name that other entries of the scenario refer to this one by (letters, digits, '_', '.', '-'). */
  name,
  /** NUMA balancing moves a page on its hinting fault (MmOptions.numaMigrateOnFault). */
  numaMigrateOnFault: z.boolean().default(false),
  /** Read faults on THP-eligible ranges map the huge zero page (/sys/kernel/mm/transparent_hugepage/use_zero_page). */
  hugeZeroPage: z.boolean().default(true),
  /** The process's mappings, mapped in order at startup. */
  mappings: z.array(MappingSchema).min(1),
});

/** Driver behaviour of a device: fault chunking, batching, retry budget and migration policy. */
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

/** One device with private or coherent device memory and a mirroring driver. */
export const DeviceSchema = z.strictObject({
  /** Name that other entries of the scenario refer to this one by (letters, digits, '_', '.', '-'). */
  name,
  /** MEMORY_DEVICE_PRIVATE (CPU cannot map it) or MEMORY_DEVICE_COHERENT (CPU-addressable). */
  kind: z.enum(["private", "coherent"]).default("private"),
  /** Share the pgmap owner of another device (its pages are then "local" to this one too). */
  owner: name.optional(),
  /** Device memory, in 4 KiB pages. */
  memoryPages: posInt.default(1024),
  /** The mirroring driver's behaviour. */
  driver: DriverSchema.default(DriverSchema.parse({})),
});

const stride = z
  .number()
  .int()
  .positive()
  .refine((v) => v % PAGE === 0, { message: `expected a positive multiple of ${PAGE}` });

/** Access pattern of a device actor, chosen by `kind` (sequential, strided, random, zipf, hot-set, replay). */
export const PatternSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    /** Pages in order, from the first page of the mapping, wrapping at its end. */
    kind: z.literal("sequential"),
  }),
  z.strictObject({
    /** Every `stride` bytes, shifted by one page at each wrap. */
    kind: z.literal("strided"),
    /** Distance between two accesses in bytes (a positive multiple of 4096). */
    stride,
  }),
  z.strictObject({
    /** Uniformly random pages of the mapping. */
    kind: z.literal("random"),
  }),
  z.strictObject({
    /** Zipf-distributed pages: page r has weight 1/(r+1)^theta. */
    kind: z.literal("zipf"),
    /** Skew of the distribution (0 < theta <= 5, default 0.99). */
    theta: z.number().positive().max(5).default(0.99),
  }),
  z.strictObject({
    /** With probability `hotProbability` one of the first `hotPages` pages, else any page of the mapping. */
    kind: z.literal("hot-set"),
    /** Pages in the hot set. */
    hotPages: posInt,
    /** Probability (0..1) that an access goes to the hot set (default 0.9). */
    hotProbability: ratio.default(0.9),
  }),
  z.strictObject({
    /** The listed page indices, in order, repeated. */
    kind: z.literal("replay"),
    /** Page indices (within the mapping) to access, at least one. */
    pages: z.array(nonNegInt).min(1),
  }),
]);

const runLength = {
  /** Accesses (device) or operations (CPU) or runs (daemon) before the actor ends. */
  count: posInt.optional(),
  /** Or: run until this simulated time. */
  durationNs: ns.optional(),
  /** Simulated time the actor starts at. */
  startNs: ns.default(0),
};

/** A device actor: a stream of device accesses faulted in through hmm_range_fault() by the device's driver. */
export const DeviceActorSchema = z.strictObject({
  /** Discriminator: a device actor. */
  kind: z.literal("device"),
  /** Name that other entries of the scenario refer to this one by (letters, digits, '_', '.', '-'). */
  name,
  /** Name of the device (from `devices`). */
  device: name,
  /** Name of the process (from `processes`). */
  process: name,
  /** Name of the mapping (of the process) the actor works on. */
  mapping: name,
  /** Which pages are accessed, in what order. */
  pattern: PatternSchema.default({ kind: "sequential" }),
  /** Fraction (0..1) of accesses that are writes. */
  writeRatio: ratio.default(0),
  /** Simulated time between two accesses of the stream. */
  thinkNs: ns.default(0),
  ...runLength,
});

const opTarget = {
  /** Name of the mapping (of the process) the actor works on. */
  mapping: name,
  /** First page of the range (default 0), and pages (default: the whole mapping). */
  page: nonNegInt.default(0),
  /** Pages in the range (default: the whole mapping). */
  pages: posInt.optional(),
  /** "random": each time, a random start page such that the range fits (page is then ignored). */
  at: z.enum(["fixed", "random"]).default("fixed"),
};

const opSchedule = {
  /** Relative weight of the op when the actor's mode is "random" (default 1). */
  weight: ns.default(1),
  /** Run the op no earlier than this simulated time; in mode "sequence" such an op runs once instead of repeating. */
  atNs: ns.optional(),
};

/** One operation of a CPU actor, chosen by `op`: an access, munmap, remap, mprotect, madvise, mremap, fork or exit. */
export const CpuOpSchema = z.discriminatedUnion("op", [
  z.strictObject({
    /** Load the first word of each page of the range through the MMU (checked against the last store). */
    op: z.literal("read"),
    ...opTarget,
    ...opSchedule,
  }),
  z.strictObject({
    /** Store to the first word of each page of the range through the MMU. */
    op: z.literal("write"),
    ...opTarget,
    ...opSchedule,
  }),
  z.strictObject({
    /** munmap(2) of the range (the whole mapping by default; `remap` maps it again). */
    op: z.literal("munmap"),
    ...opTarget,
    ...opSchedule,
  }),
  z.strictObject({
    /** Map the whole mapping again at its address (MAP_FIXED), as it was first mapped. */
    op: z.literal("remap"),
    /** Name of the mapping (of the process) to map again. */
    mapping: name,
    ...opSchedule,
  }),
  z.strictObject({
    /** mprotect(2) of the range. */
    op: z.literal("mprotect"),
    ...opTarget,
    /** The new protection: PROT_NONE, PROT_READ, or PROT_READ|PROT_WRITE. */
    prot: z.enum(["none", "r", "rw"]),
    ...opSchedule,
  }),
  z.strictObject({
    /** madvise(2) of the range. */
    op: z.literal("madvise"),
    ...opTarget,
    /** The advice: MADV_DONTNEED, MADV_FREE, MADV_PAGEOUT, MADV_HUGEPAGE, MADV_NOHUGEPAGE or MADV_COLLAPSE. */
    advice: z.enum(["dontneed", "free", "pageout", "hugepage", "nohugepage", "collapse"]),
    ...opSchedule,
  }),
  z.strictObject({
    /** Move the whole mapping to a new 2 MiB-aligned address (MREMAP_MAYMOVE | MREMAP_FIXED). */
    op: z.literal("mremap"),
    /** Name of the mapping (of the process) to move. */
    mapping: name,
    ...opSchedule,
  }),
  z.strictObject({
    /** fork(2): a child address space sharing the pages copy-on-write (it exits at the end of the run). */
    op: z.literal("fork"),
    ...opSchedule,
  }),
  z.strictObject({
    /** The process exits; its actors end. */
    op: z.literal("exit"),
    ...opSchedule,
  }),
]);

/** A CPU actor: a thread of the process running memory operations. */
export const CpuActorSchema = z.strictObject({
  /** Discriminator: a CPU actor. */
  kind: z.literal("cpu"),
  /** Name that other entries of the scenario refer to this one by (letters, digits, '_', '.', '-'). */
  name,
  /** Name of the process (from `processes`). */
  process: name,
  /** "sequence": the ops in order (repeated); "random": weighted choice each time. */
  mode: z.enum(["sequence", "random"]).default("sequence"),
  /** The operations, at least one. */
  ops: z.array(CpuOpSchema).min(1),
  /** Simulated time between two operations. */
  periodNs: ns.default(10_000),
  ...runLength,
});

/** A kernel daemon actor (NUMA balancing, kswapd, khugepaged, compaction, KSM) scanning a process. */
export const DaemonActorSchema = z.strictObject({
  /** Discriminator: a daemon actor. */
  kind: z.literal("daemon"),
  /** Name that other entries of the scenario refer to this one by (letters, digits, '_', '.', '-'). */
  name,
  /** Which kernel daemon is modelled. */
  daemon: z.enum(["numa-balancing", "kswapd", "khugepaged", "compaction", "ksm"]),
  /** Name of the process (from `processes`). */
  process: name,
  /** The mapping it scans (default: every mapping of the process, in order). */
  mapping: name.optional(),
  /** Simulated nanoseconds between two runs. */
  periodNs: ns.default(1_000_000),
  /** Pages per run (the scan window advances and wraps). */
  scanPages: posInt.default(256),
  ...runLength,
});

/** Any actor, chosen by `kind`. */
export const ActorSchema = z.discriminatedUnion("kind", [DeviceActorSchema, CpuActorSchema, DaemonActorSchema]);

/** The `run` section: seed, scheduling strategy, limits and invariant checking. */
export const RunSchema = z.strictObject({
  /** Seed of the deterministic scheduler (unsigned 32-bit). */
  seed: z.number().int().nonnegative().max(0xffffffff).default(1),
  /** Scheduling strategy: random, PCT (probabilistic concurrency testing) or bounded DFS. */
  strategy: z.enum(["random", "pct", "dfs"]).default("random"),
  /** PCT bug depth (number of priority change points plus one). */
  pctDepth: posInt.default(3),
  /** A schedule string recorded by an earlier run. */
  replay: z.string().optional(),
  /** Simulated time limit of the whole run. */
  durationNs: ns.optional(),
  /** Scheduling-step limit (a safety net; default 1,000,000). */
  maxSteps: posInt.default(1_000_000),
  /** When invariants are checked: after every step, at the end only, or never. */
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

/** The whole scenario file (version 1); parseScenario() and validateScenario() check input against it. */
export const ScenarioSchema = z.strictObject({
  /** Format version; only 1 exists. */
  version: z.literal(1),
  /** Scenario name, shown in reports. */
  name: name.default("scenario"),
  /** Free text shown in reports. */
  description: z.string().default(""),
  /** The simulated machine. */
  machine: MachineSchema.default(MachineSchema.parse({})),
  /** The simulated processes, at least one. */
  processes: z.array(ProcessSchema).min(1),
  /** The devices, none by default. */
  devices: z.array(DeviceSchema).default([]),
  /** The actors (1 to 52; each gets a letter in schedules). */
  actors: z.array(ActorSchema).min(1).max(52),
  /** How the run is scheduled and checked. */
  run: RunSchema.default(RunSchema.parse({})),
});

/**
 * A validated scenario with every default filled in (what parseScenario() returns). An interface
 * rather than an alias so that signatures name it instead of spelling out its whole type.
 */
export interface Scenario extends z.output<typeof ScenarioSchema> {}
/** A scenario as written (defaults optional), what validateScenario() accepts. */
export type ScenarioInput = z.input<typeof ScenarioSchema>;
/** The `machine` section of a validated scenario. */
export type MachineSpec = z.output<typeof MachineSchema>;
/** One entry of `processes`. */
export type ProcessSpec = z.output<typeof ProcessSchema>;
/** One entry of a process's `mappings`. */
export type MappingSpec = z.output<typeof MappingSchema>;
/** One entry of `devices`. */
export type DeviceSpec = z.output<typeof DeviceSchema>;
/** A device's `driver` section. */
export type DriverSpec = z.output<typeof DriverSchema>;
/** One entry of `actors` (device, CPU or daemon). */
export type ActorSpec = z.output<typeof ActorSchema>;
/** A device actor. */
export type DeviceActorSpec = z.output<typeof DeviceActorSchema>;
/** A CPU actor. */
export type CpuActorSpec = z.output<typeof CpuActorSchema>;
/** A daemon actor. */
export type DaemonActorSpec = z.output<typeof DaemonActorSchema>;
/** One operation of a CPU actor. */
export type CpuOpSpec = z.output<typeof CpuOpSchema>;
/** A device actor's access pattern. */
export type PatternSpec = z.output<typeof PatternSchema>;
