// The dmirror test driver's user interface (lib/test_hmm_uapi.h of the modelled kernel): the
// command numbers, the command block every ioctl takes, the snapshot byte encoding and the FLAGS
// bits. Numbers are the v6.0+ ones (the seed profile's kernel, v6.1, and every later one).
import { PAGE_SIZE, PTRS_PER_TABLE } from "../../engine/layout.js";
import type { Profile } from "../../engine/profile.js";

/** The ioctl commands, by their kernel names (the request's number byte, _IOWR('H', n, ...)). */
export const HMM_DMIRROR_READ = 0x00;
/** HMM_DMIRROR_WRITE: fault the range in writable on the device and write `ptr` into it. */
export const HMM_DMIRROR_WRITE = 0x01;
/** HMM_DMIRROR_MIGRATE_TO_DEV: migrate the range to device memory (migrate_vma_*). */
export const HMM_DMIRROR_MIGRATE_TO_DEV = 0x02;
/** HMM_DMIRROR_MIGRATE_TO_SYS: migrate the range's device pages back to system memory. */
export const HMM_DMIRROR_MIGRATE_TO_SYS = 0x03;
/** HMM_DMIRROR_SNAPSHOT: one HMM_DMIRROR_PROT_* byte per page into `ptr`, without faulting. */
export const HMM_DMIRROR_SNAPSHOT = 0x04;
/** HMM_DMIRROR_EXCLUSIVE: take exclusive (atomic) device access to the range (make_device_exclusive_range). */
export const HMM_DMIRROR_EXCLUSIVE = 0x05;
/** HMM_DMIRROR_CHECK_EXCLUSIVE: -EPERM unless every page of the range is still device-exclusive. */
export const HMM_DMIRROR_CHECK_EXCLUSIVE = 0x06;
/** v6.2+: evict all device memory back to system memory. */
export const HMM_DMIRROR_RELEASE = 0x07;
/** v6.19 (THP migration series): `npages` carries HMM_DMIRROR_FLAG_* bits. */
export const HMM_DMIRROR_FLAGS = 0x08;
/** FLAGS bit: the next device allocation of a migration fails once. */
export const HMM_DMIRROR_FLAG_FAIL_ALLOC = 1;

/** errnos the driver returns that the page-table engine has no use for (Linux values). */
export const EBADF = 9;
/** ENODEV (19): no such device (open() of a minor the driver does not have). */
export const ENODEV = 19;

/** Which kind of device memory a dmirror device has (its zone_device_type). */
export const HMM_DMIRROR_MEMORY_DEVICE_PRIVATE = 1;
/** Device memory type: MEMORY_DEVICE_COHERENT. */
export const HMM_DMIRROR_MEMORY_DEVICE_COHERENT = 2;

export {
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_PUD,
  HMM_DMIRROR_PROT_ZERO,
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE,
  HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL,
  HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE,
} from "../mirror.js";

/**
 * struct hmm_dmirror_cmd. `addr` is the user address the device accesses, `ptr` the user buffer
 * the data (READ/WRITE/MIGRATE/EXCLUSIVE: npages * 4096 bytes) or the snapshot bytes (npages) go
 * through. `cpages` and `faults` are written back only when the command succeeds.
 * `addr` and `npages` may be bigints to express the kernel's u64 arithmetic (overflow checks).
 */
export interface HmmDmirrorCmd {
  /** User byte address the device accesses (page-aligned). */
  addr: number | bigint;
  /** The user buffer (data, or the snapshot bytes). */
  ptr: Uint8Array | null;
  /** Pages in the range (for HMM_DMIRROR_FLAGS: the flag bits). */
  npages: number | bigint;
  /** Out: pages the command handled (copied, migrated, snapshotted). */
  cpages: number;
  /** Out: device faults the command took. */
  faults: number;
}

/** What changed in lib/test_hmm.c between the kernels the profiles model. */
export interface DmirrorRevision {
  /** HMM_DMIRROR_RELEASE exists (v6.2). */
  release: boolean;
  /** HMM_DMIRROR_FLAGS exists and migration handles THPs (v6.19). */
  flags: boolean;
  /** The preamble also refuses npages > ULONG_MAX >> PAGE_SHIFT (THP series). */
  npagesLimit: boolean;
  /** Pages per migrate_vma call in MIGRATE_TO_DEV / TO_SYS (64, PTRS_PER_PTE in v6.19). */
  migrateChunk: number;
  /** EXCLUSIVE uses the one-page make_device_exclusive() (v6.15 rework) instead of the range call. */
  exclusivePerPage: boolean;
  /** Closing a file evicts the device's memory (v6.19). */
  closeEvicts: boolean;
}

const REVISIONS: Record<Profile, DmirrorRevision> = {
  "v6.1": {
    release: false,
    flags: false,
    npagesLimit: false,
    migrateChunk: 64,
    exclusivePerPage: false,
    closeEvicts: false,
  },
  "v6.16": {
    release: true,
    flags: false,
    npagesLimit: false,
    migrateChunk: 64,
    exclusivePerPage: true,
    closeEvicts: false,
  },
  "v6.19": {
    release: true,
    flags: true,
    npagesLimit: true,
    migrateChunk: PTRS_PER_TABLE, // HPAGE_PMD_NR
    exclusivePerPage: true,
    closeEvicts: true,
  },
};

/** The dmirror revision of a profile's kernel. */
export function dmirrorRevision(profile: Profile): DmirrorRevision {
  const r = REVISIONS[profile];
  if (!r) throw new RangeError(`dmirror: no driver revision for profile ${JSON.stringify(profile)}`);
  return r;
}

/** The largest bounce buffer the simulated vmalloc() gives (1 GiB): beyond it -ENOMEM. */
export const MAX_BOUNCE_PAGES = (1 << 30) / PAGE_SIZE;

/** Pages per device page-table fault and per snapshot pass (the pfns[64] arrays of the driver). */
export const DMIRROR_CHUNK_PAGES = 64;
/** Tries of one range fault / snapshot before -EBUSY (the driver's 1000 ms deadline as a budget). */
export const DMIRROR_RETRY_BUDGET = 1000;
