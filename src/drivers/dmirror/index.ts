// The dmirror test driver (lib/test_hmm.c) as a public device model: load it on an engine with
// `new DmirrorDriver(engine)`, open a device for an mm, and issue its ioctl commands, exactly as
// tools/testing/selftests/mm/hmm-tests.c does. See docs/drivers.md.
import type { Engine } from "../../engine/engine.js";
import { ErrnoError } from "../../engine/errors.js";
import { ERRNO } from "../../engine/layout.js";
import { type Profile, profileInfo } from "../../engine/profile.js";
import type { MmStruct } from "../../mm/mm-struct.js";
import { DmirrorDevice, type DmirrorDeviceOptions } from "./device.js";
import { DmirrorFile, type DmirrorFileOptions } from "./file.js";
import { ENODEV, HMM_DMIRROR_MEMORY_DEVICE_COHERENT, HMM_DMIRROR_MEMORY_DEVICE_PRIVATE } from "./uapi.js";

export * from "./uapi.js";
export {
  DmirrorDevice,
  DEVMEM_CHUNK_PAGES,
  type DmirrorDeviceOptions,
  type DmirrorDeviceStats,
  type DmirrorPageUser,
} from "./device.js";
export { DmirrorFile, type DmirrorFileOptions } from "./file.js";
export type { DmirrorHooks } from "./context.js";
export { DevicePageTable, DPT_TAG_READ, DPT_TAG_WRITE, DPT_TAG_ATOMIC, type DptEntry } from "./pt.js";

/** Options of DmirrorDriver: the profile, device memory type, chunking and retry budget. */
export interface DmirrorDriverOptions extends DmirrorDeviceOptions, DmirrorFileOptions {
  /** The kernel whose lib/test_hmm.c is modelled (default "v6.1"); only Mms of it can open. */
  profile?: Profile;
  /**
   * Create devices 2 and 3 (device-coherent): the module does only when given spm_addr_dev0/1
   * (default true).
   */
  coherent?: boolean;
}

/**
 * The test_hmm.c module, loaded: devices hmm_dmirror0..3 (0, 1 device-private; 2, 3
 * device-coherent). open() gives a DmirrorFile whose ioctl() takes the HMM_DMIRROR_* commands
 * the kernel selftests (tools/testing/selftests/mm/hmm-tests.c) use, with the same return codes.
 *
 * @example
 * ```ts
 * const engine = new Engine();
 * const mm = new Mm(engine);
 * const driver = new DmirrorDriver(engine);
 * const fd = driver.open(0, mm);                  // hmm_dmirror0; throws ErrnoError(-ENODEV) for a bad minor
 * const addr = mm.mmap({ length: 4 * 4096, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
 * const buf = new Uint8Array(4 * 4096);
 * const cmd: HmmDmirrorCmd = { addr, ptr: buf, npages: 4, cpages: 0, faults: 0 };
 * fd.ioctl(dmirror.HMM_DMIRROR_READ, cmd);       // 0; cmd.cpages === 4, buf holds the pages' bytes
 * fd.close();
 * ```
 */
export class DmirrorDriver {
  /** The driver's devices, by minor number. */
  readonly devices: DmirrorDevice[] = [];
  /** Kernel profile the driver follows (test_hmm.c revision). */
  readonly profile: Profile;
  private readonly fileOpts: DmirrorFileOptions;

  /** @param engine The machine the driver's devices are plugged into. */
  constructor(
    readonly engine: Engine,
    opts: DmirrorDriverOptions = {},
  ) {
    this.profile = opts.profile ?? "v6.1";
    profileInfo(this.profile);
    this.fileOpts = { retryBudget: opts.retryBudget };
    const types = [HMM_DMIRROR_MEMORY_DEVICE_PRIVATE, HMM_DMIRROR_MEMORY_DEVICE_PRIVATE];
    if (opts.coherent ?? true) types.push(HMM_DMIRROR_MEMORY_DEVICE_COHERENT, HMM_DMIRROR_MEMORY_DEVICE_COHERENT);
    types.forEach((t, minor) => this.devices.push(new DmirrorDevice(engine, minor, t, this.profile, opts)));
  }

  /**
   * open("/dev/hmm_dmirror<minor>") from the process owning `mm`: a new file mirroring that mm.
   * A forked child opens its own file to mirror its own mm. -ENODEV for a device not created.
   */
  open(minor: number, mm: MmStruct): DmirrorFile {
    const dev = this.devices[minor];
    if (!Number.isInteger(minor) || !dev) throw new ErrnoError(-ENODEV, `hmm_dmirror${minor}: no such device`);
    if (mm.engine !== this.engine) throw new TypeError("dmirror open: the mm belongs to another engine");
    if (mm.profile !== this.profile) {
      throw new RangeError(`dmirror open: the driver models ${this.profile}, the mm runs ${mm.profile}`);
    }
    if (mm.exited) throw new ErrnoError(-ERRNO.EINVAL, "dmirror open: the mm has exited");
    return new DmirrorFile(dev, mm, this.fileOpts);
  }
}
