// What every dmirror command needs from the open file it runs on (implemented by DmirrorFile):
// the mirrored mm, the device, the device page table, the interval notifier and the driver mutex.
import type { MmStruct } from "../../mm/mm-struct.js";
import type { MmuIntervalNotifier } from "../../mm/notifier.js";
import type { DmirrorDevice, DmirrorPageUser } from "./device.js";
import type { DevicePageTable } from "./pt.js";
import type { DmirrorRevision } from "./uapi.js";

/**
 * Points where another thread could run while a command is in progress (the mmap lock is not
 * held there): simulations put a concurrent munmap, mprotect, fork, ... there (anon_teardown).
 */
export interface DmirrorHooks {
  /** Before each 64-page chunk of a device fault (dmirror_fault's loop). */
  beforeChunk?: (info: { start: number; end: number }) => void;
  /** After hmm_range_fault() returned and the mmap lock was dropped, before the mutex is taken. */
  afterWalk?: (info: { start: number; end: number; ret: number }) => void;
}

export interface DmirrorContext extends DmirrorPageUser {
  /** Simulation hooks run between the driver's chunks and walks. */
  readonly hooks: DmirrorHooks;
  /** The mirrored address space (the mm the file was opened for). */
  readonly mm: MmStruct;
  /** The dmirror device (minor) the file belongs to. */
  readonly device: DmirrorDevice;
  /** The device page table: page number to device pfn and access tag. */
  readonly pt: DevicePageTable;
  /** The file's interval notifier over the whole address space. */
  readonly notifier: MmuIntervalNotifier;
  /** The test_hmm.c revision the driver follows (chosen by the profile). */
  readonly revision: DmirrorRevision;
  /** Tries a range fault or snapshot makes before -EBUSY (the driver's deadline). */
  readonly retryBudget: number;
  /** Whether dmirror->mutex is held (a non-blockable invalidation's trylock then fails). */
  readonly mutexHeld: boolean;
  /** Runs f with dmirror->mutex held (invalidations that cannot block then fail their trylock). */
  withMutex<T>(f: () => T): T;
}

/** A user buffer of at least `bytes` bytes, or null (copy_to_user / copy_from_user would fault). */
export function userBuffer(ptr: Uint8Array | null, bytes: number): Uint8Array | null {
  return ptr instanceof Uint8Array && ptr.byteLength >= bytes ? ptr : null;
}
