// One open file of a dmirror device (struct dmirror): mirrors the opener's mm with an interval
// notifier over the whole address space and a device page table; ioctl() is the command entry
// with the driver's preamble; mmap() maps zeroed pages with vm_insert_page; close() unregisters.
import { ErrnoError } from "../../engine/errors.js";
import { ERRNO, PAGE_SIZE } from "../../engine/layout.js";
import type { MmStruct } from "../../mm/mm-struct.js";
import { MMU_NOTIFY_MIGRATE, type MmuIntervalNotifier, type MmuNotifierRange } from "../../mm/notifier.js";
import { insertPage } from "../../ops/insert.js";
import { mmap } from "../../ops/mmap.js";
import { MAP_PRIVATE, MAP_SHARED } from "../../mm/vma.js";
import type { DmirrorContext, DmirrorHooks } from "./context.js";
import type { DmirrorDevice } from "./device.js";
import { dmirrorCheckExclusive, dmirrorExclusive } from "./exclusive.js";
import { type ReadResult, dmirrorRead, dmirrorWrite } from "./fault.js";
import { dmirrorMigrateToDevice, dmirrorMigrateToSystem } from "./migrate.js";
import { DevicePageTable } from "./pt.js";
import { dmirrorSnapshot } from "./snapshot.js";
import {
  DMIRROR_RETRY_BUDGET,
  EBADF,
  MAX_BOUNCE_PAGES,
  type DmirrorRevision,
  HMM_DMIRROR_CHECK_EXCLUSIVE,
  HMM_DMIRROR_EXCLUSIVE,
  HMM_DMIRROR_FLAGS,
  HMM_DMIRROR_FLAG_FAIL_ALLOC,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_RELEASE,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
  type HmmDmirrorCmd,
  dmirrorRevision,
} from "./uapi.js";

const PAGE = PAGE_SIZE;
const U64 = 2n ** 64n;

/** Options of one opened dmirror file. */
export interface DmirrorFileOptions {
  /** Tries before a range fault or snapshot gives up with -EBUSY (default 1000). */
  retryBudget?: number;
}

/** An open dmirror file: `ioctl(HMM_DMIRROR_*, cmd)` returns 0 or a negative errno. */
export class DmirrorFile implements DmirrorContext {
  /** The device page table: page number to device pfn and access tag. */
  readonly pt = new DevicePageTable();
  /** The file's interval notifier over the whole address space. */
  readonly notifier: MmuIntervalNotifier;
  /** The test_hmm.c revision the driver follows (chosen by the profile). */
  readonly revision: DmirrorRevision;
  readonly retryBudget: number;
  /** Every invalidation the file's notifier acted on (not the ignored own migrations), in order. */
  readonly log: MmuNotifierRange[] = [];
  /** Where a simulation runs concurrent work during a command (see DmirrorHooks). */
  readonly hooks: DmirrorHooks = {};
  private held = false;
  private closed = false;

  /**
   * dmirror_fops_open(): a file of `device` mirroring `mm` (DmirrorDriver.open() is the usual way).
   *
   * @param device The dmirror device (minor) the file belongs to.
   * @param mm The address space to mirror.
   */
  constructor(
    readonly device: DmirrorDevice,
    readonly mm: MmStruct,
    opts: DmirrorFileOptions = {},
  ) {
    this.revision = dmirrorRevision(device.profile);
    this.retryBudget = opts.retryBudget ?? DMIRROR_RETRY_BUDGET;
    if (!Number.isInteger(this.retryBudget) || this.retryBudget <= 0)
      throw new RangeError("dmirror: retryBudget must be a positive integer");
    // the kernel subscribes [0, ULONG_MAX & PAGE_MASK): every user address
    this.notifier = mm.intervalNotifierInsert(0, mm.taskSize + PAGE, {
      invalidate: (sub, range, curSeq) => this.invalidate(sub, range, curSeq),
    });
  }

  get mutexHeld(): boolean {
    return this.held;
  }
  withMutex<T>(f: () => T): T {
    if (this.held) throw new Error("dmirror: mutex taken twice");
    this.held = true;
    try {
      return f();
    } finally {
      this.held = false;
    }
  }

  /**
   * dmirror_interval_invalidate(): own-device migrations are ignored (no set_seq, the migration
   * code updates the table itself); anything else sets the sequence and erases the entries of
   * pages start>>12 .. end>>12 INCLUSIVE, i.e. also the page just past the range (the kernel's
   * off-by-one, kept).
   */
  private invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number): boolean {
    if (range.event === MMU_NOTIFY_MIGRATE && range.owner === this.device) return true;
    if (!range.blockable && this.held) return false;
    this.log.push({ ...range });
    this.mm.notifiers.setSeq(sub, curSeq);
    const last = Number.isFinite(range.end) ? Math.floor(range.end / PAGE) : Infinity;
    this.pt.eraseRange(Math.floor(range.start / PAGE), last);
    return true;
  }

  /** DmirrorPageUser: migrate_to_ram erases the entry of a page moving back. */
  erase(addr: number): void {
    this.pt.erase(addr / PAGE);
  }

  /**
   * dmirror_fops_unlocked_ioctl(): the preamble (-EINVAL for an unaligned addr, or when
   * addr + npages * 4096 does not exceed addr in u64 arithmetic: npages 0 or overflow), the
   * command, and on success cmd.cpages / cmd.faults written back. An unknown command (or one
   * the profile's driver does not have) is -EINVAL.
   */
  ioctl(request: number, cmd: HmmDmirrorCmd): number {
    if (this.closed) return -EBADF;
    if (!cmd || typeof cmd !== "object") return -ERRNO.EFAULT;
    let addr: bigint;
    let npages: bigint;
    try {
      addr = BigInt.asUintN(64, BigInt(cmd.addr));
      npages = BigInt.asUintN(64, BigInt(cmd.npages));
    } catch {
      return -ERRNO.EFAULT;
    }
    if (addr % BigInt(PAGE) !== 0n) return -ERRNO.EINVAL;
    if (this.revision.npagesLimit && npages > (U64 - 1n) >> 12n) return -ERRNO.EINVAL;
    if (addr >= (addr + ((npages << 12n) % U64)) % U64) return -ERRNO.EINVAL;
    const a = Number(addr);
    const n = Number(npages);
    // the bounce buffer (vmalloc of npages pages) of READ, WRITE and EXCLUSIVE fails for huge
    // counts before anything happens; MIGRATE_TO_DEV allocates it after migrating (readBack)
    const bounced = request === HMM_DMIRROR_READ || request === HMM_DMIRROR_WRITE || request === HMM_DMIRROR_EXCLUSIVE;
    if (bounced && n > MAX_BOUNCE_PAGES) return -ERRNO.ENOMEM;
    let r: ReadResult | { ret: number; cpages?: number; faults?: number };
    switch (request) {
      case HMM_DMIRROR_READ:
        r = dmirrorRead(this, a, n, cmd.ptr);
        break;
      case HMM_DMIRROR_WRITE:
        r = dmirrorWrite(this, a, n, cmd.ptr);
        break;
      case HMM_DMIRROR_MIGRATE_TO_DEV:
        r = dmirrorMigrateToDevice(this, a, n, cmd.ptr);
        break;
      case HMM_DMIRROR_MIGRATE_TO_SYS:
        r = dmirrorMigrateToSystem(this, a, n);
        break;
      case HMM_DMIRROR_SNAPSHOT:
        r = dmirrorSnapshot(this, a, n, cmd.ptr);
        break;
      case HMM_DMIRROR_EXCLUSIVE:
        r = dmirrorExclusive(this, a, n, cmd.ptr);
        break;
      case HMM_DMIRROR_CHECK_EXCLUSIVE:
        r = { ret: dmirrorCheckExclusive(this, a, n) };
        break;
      case HMM_DMIRROR_RELEASE:
        if (!this.revision.release) return -ERRNO.EINVAL;
        r = { ret: this.device.evictAll() };
        break;
      case HMM_DMIRROR_FLAGS:
        if (!this.revision.flags) return -ERRNO.EINVAL;
        this.device.failNextAlloc = (n & HMM_DMIRROR_FLAG_FAIL_ALLOC) !== 0;
        r = { ret: 0 };
        break;
      default:
        return -ERRNO.EINVAL;
    }
    if (r.ret) return r.ret;
    cmd.cpages = r.cpages ?? 0;
    cmd.faults = r.faults ?? 0;
    return 0;
  }

  /**
   * mmap of the device file (dmirror_fops_mmap): a new VMA whose every page is a freshly
   * allocated zeroed page inserted with vm_insert_page (the VMA becomes VM_MIXEDMAP; a private
   * mapping maps the pages read-only). Returns the address; throws ErrnoError like mmap(2).
   */
  mmap(length: number, prot: number, flags: number = MAP_SHARED): number {
    if (flags !== MAP_SHARED && flags !== MAP_PRIVATE)
      throw new ErrnoError(-ERRNO.EINVAL, `dmirror mmap: flags must be MAP_SHARED or MAP_PRIVATE`);
    const eng = this.mm.engine;
    const addr = mmap(this.mm, { length, prot, flags, device: this.device });
    const v = this.mm.vmaLookup(addr)!;
    for (let a = v.start; a < v.end; a += PAGE) {
      const pfn = eng.allocFrames(0, 0);
      if (pfn === 0) throw new ErrnoError(-ERRNO.ENOMEM, "dmirror mmap: out of memory");
      eng.clearFrame(pfn);
      insertPage(this.mm, a, pfn);
      // the driver's own reference goes; the mapping keeps the page
      eng.putPage(pfn);
    }
    return addr;
  }

  /**
   * close(): removes the notifier and forgets the device page table (v6.19: also evicts the
   * device's memory). Returns 0, like close(2).
   */
  close(): number {
    if (this.closed) return -EBADF;
    this.closed = true;
    this.mm.notifiers.intervalNotifierRemove(this.notifier);
    this.pt.clear();
    if (this.revision.closeEvicts) this.device.evictAll();
    return 0;
  }
}
