/**
 * hmmsim public API: a simulated machine (Engine), address spaces (Mm), mmu interval notifiers,
 * hmmRangeFault() and the device-memory model. Names follow the kernel's, in camelCase.
 * Runs in any JavaScript host; the batch simulation layer (scenarios, runScenario) is here too.
 *
 * @module hmmsim
 */
export { Engine, type EngineOptions } from "./engine/engine.js";
export { Mm, type MmOptions, type MmapOptions, type MmHooks, mmOfNotifier } from "./api/mm.js";
export { MmStruct } from "./mm/mm-struct.js";
export {
  hmmRangeFault,
  hmmRangeFaultBegin,
  HMM_STEP_PASS,
  HMM_STEP_FAULT,
  type HmmRangeFaultStepper,
  hmmPfnToMapOrder,
  hmmPfnToPfn,
  hmmPfnHi,
  checkHmm,
  lastHmmStats,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_ORDER_SHIFT,
  HMM_RANGE_DEFAULT_TIMEOUT,
  EBUSY,
  EFAULT,
  EPERM,
  EINVAL,
  ENOENT,
  type HmmRange,
  type ProfileOf,
  type HmmRangeFaultOptions,
  type HmmRangeFaultStats,
  type HmmRangeFaultResult,
  type WalkEngine,
} from "./hmm/range-fault.js";
export {
  HMM_PFN_DMA_MAPPED,
  HMM_PFN_P2PDMA,
  HMM_PFN_P2PDMA_BUS,
  HMM_PFN_ORDER_SHIFT_SEED,
  HMM_PFN_ORDER_SHIFT_LATE,
  HMM_PFN_FLAGS_SEED,
  HMM_PFN_FLAGS_LATE,
  HMM_PFN_INOUT_FLAGS_LATE,
  VM,
  ERRNO,
  PAGE_SIZE,
  PAGE_SHIFT,
  FRAME,
} from "./engine/layout.js";
export { ZERO_PFN, HUGE_ZERO_PFN } from "./engine/phys.js";
export { PfnArray } from "./hmm/pfns.js";
export * from "./mm/notifier.js";
export {
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_FIXED,
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_HUGETLB,
  MAP_FIXED_NOREPLACE,
  MAP_HUGE_2MB,
  MAP_HUGE_1GB,
  Vma,
  type ThpPolicy,
} from "./mm/vma.js";
export { SimFile, type FileKind } from "./mm/file.js";
export { SwapDevice } from "./engine/swap.js";
export { Device, type DeviceOptions } from "./drivers/device.js";
export {
  migrateVmaSetup,
  migrateVmaPages,
  migrateVmaFinalize,
  makeDeviceExclusiveRange,
  makeDeviceExclusiveRangePages,
  migrateDeviceRange,
  migratePfn,
  migratePfnToPfn,
  migratePfnFlags,
  migratePfnHasFlag,
  migratePfnWithFlag,
  migratePfnWithoutFlag,
  MIGRATE_PFN_VALID,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_PFN_SHIFT,
  MIGRATE_VMA_SELECT_SYSTEM,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  type MigrateVma,
  type MigrateVmaArgs,
  type DeviceExclusiveResult,
  MIGRATE_PFN_COMPOUND,
  MIGRATE_VMA_SELECT_COMPOUND,
  migrateVmaSplitCompound,
} from "./ops/migrate-device.js";
export { insertPfn, insertPage } from "./ops/insert.js";
export {
  handleMmFault,
  vmFaultString,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
  VM_FAULT_HWPOISON,
  VM_FAULT_HWPOISON_LARGE,
  VM_FAULT_FALLBACK,
  VM_FAULT_ERROR,
  FAULT_FLAG_WRITE,
  FAULT_FLAG_REMOTE,
  FAULT_FLAG_USER,
  type VmFault,
} from "./fault/fault.js";
export { type Profile, PROFILES, profileInfo } from "./engine/profile.js";
export {
  HmmsimError,
  ErrnoError,
  InvalidArgumentError,
  ArgumentTypeError,
  UseAfterFreeError,
  LockStateError,
  CallbackError,
  EngineError,
  OutOfEngineMemoryError,
  SimulationDeadlock,
  errnoName,
} from "./engine/errors.js";
export * as pte from "./engine/pte.js";
export { createReferenceWalker } from "./hmm/reference-walk.js";
export { Mirror, type MirrorOptions } from "./drivers/mirror.js";
export * from "./ops/index.js";
export {
  checkInvariants,
  checkTeardown,
  formatViolations,
  type CheckOptions,
  type InvariantViolation,
} from "./sim/check/index.js";
export { StateHasher } from "./engine/digest.js";
export * from "./sim/index.js";
export * as dmirror from "./drivers/dmirror/index.js";
export { DmirrorDriver, DmirrorFile, type HmmDmirrorCmd } from "./drivers/dmirror/index.js";
// Types users meet in the signatures above (type-only: the API reference documents them, no runtime change).
export type { WasmBuild } from "./engine/builds.js";
export type { WasmSource, FolioRef } from "./engine/engine.js";
export type { ProfileInfo } from "./engine/profile.js";
export type { HmmStepResult } from "./hmm/range-fault.js";
export type { HmmWalkFn } from "./hmm/reference-walk.js";
export type { VmaDevice } from "./mm/vma.js";
export type { LeafRef, Translation, EngineVmaRow, HmmStats, MmStats } from "./mm/mm-types.js";
export type { FolioView, FolioMapping } from "./mm/folio.js";
export type { MigrationHit } from "./ops/migrate.js";
export type { MirrorStats, MirrorVerifyResult } from "./drivers/mirror.js";
export type { DmirrorContext } from "./drivers/dmirror/context.js";
export type { CostEntrySchema } from "./sim/cost/schema.js";
export type {
  PatternSchema,
  DeviceActorSchema,
  CpuOpSchema,
  CpuActorSchema,
  DaemonActorSchema,
} from "./sim/scenario/schema.js";
