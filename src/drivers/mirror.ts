// A device page-table mirror driven exactly like a driver drives HMM (docs/semantics.md §4.3, dmirror):
// an interval notifier whose invalidate callback tears device entries down, and a fault path that
// loops readBegin → mmap read lock → hmmRangeFault → driver lock → readRetry → commit.
import { ArgumentTypeError, ErrnoError, InvalidArgumentError, UseAfterFreeError } from "../engine/errors.js";
import { argBool, argBudget, argEnum, argOptions, argULong } from "../engine/validate.js";
import {
  EBUSY,
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmPfnToMapOrder,
  hmmPfnToPfn,
  hmmRangeFault,
  type WalkEngine,
} from "../hmm/range-fault.js";
import { PAGE_SIZE, PHYS } from "../engine/layout.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { MMU_NOTIFY_MIGRATE, type MmuIntervalNotifier, type MmuNotifierRange } from "../mm/notifier.js";
import { PFN_ARRAY_MAX, PfnArray } from "../hmm/pfns.js";

/** dmirror snapshot bytes (lib/test_hmm_uapi.h). */
export const HMM_DMIRROR_PROT_ERROR = 0xff;
/** Snapshot byte: nothing mapped. */
export const HMM_DMIRROR_PROT_NONE = 0x00;
/** Snapshot bit: mapped readable. */
export const HMM_DMIRROR_PROT_READ = 0x01;
/** Snapshot bit: mapped writable. */
export const HMM_DMIRROR_PROT_WRITE = 0x02;
/** Snapshot bit: mapped by a PMD-sized (2 MiB) CPU mapping. */
export const HMM_DMIRROR_PROT_PMD = 0x04;
/** Snapshot bit: mapped by a PUD-sized (1 GiB) CPU mapping. */
export const HMM_DMIRROR_PROT_PUD = 0x08;
/** Snapshot bit: the page is the (huge) zero page. */
export const HMM_DMIRROR_PROT_ZERO = 0x10;
/** Snapshot value: device-private page of this mirror's device. */
export const HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL = 0x20;
/** Snapshot value: device-private page of another device. */
export const HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE = 0x30;
/** Snapshot value: device-coherent page of this mirror's device. */
export const HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL = 0x40;
/** Snapshot value: device-coherent page of another device. */
export const HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE = 0x50;

/** Options of `new Mirror()`: pgmap owner, mirrored interval, walker and retry budget. */
export interface MirrorOptions {
  /** dev_private_owner of this mirror's walks (its device's pgmap owner); default none. */
  owner?: unknown;
  /** Interval to subscribe to (default: the whole user address space). */
  start?: number;
  /** Length of the interval in bytes (with `start`). */
  length?: number;
  /** Walker to use (default: the engine's `walker` option). */
  engine?: WalkEngine;
  /** Gives up with -EBUSY after this many external retries (dmirror: 1000 ms; here a count). */
  maxRetries?: number;
}

/** What Mirror.verify() returns. */
export interface MirrorVerifyResult {
  /** Every committed device entry matches the CPU page table (mismatches === 0). */
  ok: boolean;
  /** Committed entries whose pfn or flags differ from a fresh walk, or that keep WRITE the CPU entry lost. */
  mismatches: number;
}

/** Counters of a Mirror since it was created. */
export interface MirrorStats {
  /** fault() calls. */
  faults: number;
  /** hmmRangeFault() calls repeated after -EBUSY. */
  retries: number;
  /** Invalidation callbacks received. */
  invalidations: number;
  /** Pages committed to the device page table. */
  committedPages: number;
}

/**
 * A mirrored device page table in the style of lib/test_hmm.c's dmirror: page address -> hmm
 * output word (only VALID entries are kept), kept coherent by an mmu interval notifier and filled
 * by hmmRangeFault() with the retry protocol of docs/semantics.md §4.3.
 *
 * @example
 * ```ts
 * const mirror = new Mirror(mm, { owner: dev.owner });     // subscribes to the whole address space
 * const ret = mirror.fault(addr, addr + 16 * 4096, true);  // 0, or a negative errno (EFAULT, EBUSY...)
 * mirror.entries.get(addr / 4096);                         // the committed HMM word of the first page
 * mm.munmap(addr, 16 * 4096);                              // the notifier drops the device entries
 * mirror.verify().ok;                                      // true
 * mirror.release();
 * ```
 */
export class Mirror {
  /** The mmu interval notifier subscription the mirror holds. */
  readonly notifier: MmuIntervalNotifier;
  /** dev_private_owner of its walks (device-private pages of this owner are reported, not faulted). */
  readonly owner: unknown;
  /** Device page table: page number -> committed HMM word. */
  readonly entries = new Map<number, bigint>();
  /** Counters (faults, retries, invalidations, committed pages). */
  readonly stats: MirrorStats = { faults: 0, retries: 0, invalidations: 0, committedPages: 0 };
  /** Every invalidation the device saw, in order. */
  readonly log: MmuNotifierRange[] = [];
  private lockHeld = false;
  private readonly engine: WalkEngine | undefined;
  private readonly maxRetries: number;

  /** @param mm The address space to mirror; the interval notifier is inserted into it. */
  constructor(
    readonly mm: MmStruct,
    options: MirrorOptions = {},
  ) {
    const fn = "new Mirror";
    const opts = argOptions<MirrorOptions>(fn, "options", options);
    if (typeof mm?.intervalNotifierInsert !== "function") throw new ArgumentTypeError(fn, "mm", "must be an Mm", mm);
    mm.checkAlive(fn);
    this.owner = opts.owner ?? null;
    this.engine =
      opts.engine === undefined ? undefined : argEnum(fn, "engine", opts.engine, ["wasm", "reference"] as const);
    this.maxRetries = argBudget(fn, "maxRetries", opts.maxRetries === undefined ? 1000 : opts.maxRetries);
    const start = argULong(fn, "start", opts.start === undefined ? 0 : opts.start);
    const length = argULong(fn, "length", opts.length === undefined ? mm.taskSize + PAGE_SIZE - start : opts.length);
    this.notifier = mm.intervalNotifierInsert(start, length, {
      invalidate: (sub, range, curSeq) => this.invalidate(sub, range, curSeq),
    });
  }

  private invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number): boolean {
    // dmirror does not log the migrations its own device starts as invalidations, but it does
    // update its page table for them: it erases the entries of pages moving back to RAM
    // (dmirror_devmem_fault_alloc_and_copy) and remaps those moving to the device. Dropping the
    // entries and bumping the sequence keeps the mirror within the CPU's even when the migration
    // runs in the middle of one of its own faults (a CPU access from mm.hooks).
    const own = range.event === MMU_NOTIFY_MIGRATE && range.owner === this.owner && this.owner !== null;
    if (!own) {
      if (this.lockHeld && !range.blockable) return false;
      this.log.push({ ...range });
      this.stats.invalidations++;
    }
    this.mm.notifiers.setSeq(sub, curSeq);
    const first = Math.floor(range.start / PAGE_SIZE);
    const last = range.end === Infinity ? Infinity : Math.ceil(range.end / PAGE_SIZE);
    if (last - first < this.entries.size) {
      for (let p = first; p < last; p++) this.entries.delete(p);
    } else {
      for (const p of [...this.entries.keys()]) if (p >= first && p < last) this.entries.delete(p);
    }
    return true;
  }

  /**
   * Faults [start, end) into the device page table (dmirror_fault): returns 0 or a negative errno.
   * `write` requests writable mappings (HMM_PFN_REQ_WRITE).
   */
  fault(start: number, end: number, write = false): number {
    this.checkRange("Mirror.fault", start, end);
    argBool("Mirror.fault", "write", write);
    const npages = (end - start) / PAGE_SIZE;
    const pfns = new PfnArray(this.mm.engine, npages);
    try {
      const defaultFlags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0n);
      for (let tries = 0; ; tries++) {
        if (tries > this.maxRetries) return EBUSY;
        const seq = this.mm.notifiers.readBegin(this.notifier);
        this.mm.mmapReadLock();
        let ret: number;
        try {
          ret = hmmRangeFault(
            {
              notifier: this.notifier,
              notifierSeq: seq,
              start,
              end,
              hmmPfns: pfns,
              defaultFlags,
              devPrivateOwner: this.owner ?? undefined,
            },
            { engine: this.engine },
          );
        } finally {
          this.mm.mmapReadUnlock();
        }
        this.stats.faults++;
        if (ret === EBUSY) {
          this.stats.retries++;
          continue;
        }
        if (ret !== 0) return ret;
        this.lockHeld = true;
        try {
          if (this.mm.notifiers.readRetry(this.notifier, seq)) {
            this.stats.retries++;
            continue;
          }
          for (let i = 0; i < npages; i++) {
            const w = pfns.get(i);
            if (w & HMM_PFN_ERROR || !(w & HMM_PFN_VALID))
              throw new ErrnoError(-14, `entry ${i} not valid after a successful fault`);
            if (write && !(w & HMM_PFN_WRITE)) return -14;
            this.entries.set(start / PAGE_SIZE + i, w);
          }
          this.stats.committedPages += npages;
          return 0;
        } finally {
          this.lockHeld = false;
        }
      }
    } finally {
      pfns.free();
    }
  }

  /** dmirror snapshot: one protection byte per page of [start, end) without faulting. */
  snapshot(start: number, end: number): Uint8Array | number {
    this.checkRange("Mirror.snapshot", start, end);
    const npages = (end - start) / PAGE_SIZE;
    const pfns = new PfnArray(this.mm.engine, npages);
    try {
      for (let tries = 0; tries <= this.maxRetries; tries++) {
        pfns.fill(0n);
        const seq = this.mm.notifiers.readBegin(this.notifier);
        const ret = this.mm.withReadLock(() =>
          hmmRangeFault(
            {
              notifier: this.notifier,
              notifierSeq: seq,
              start,
              end,
              hmmPfns: pfns,
              devPrivateOwner: this.owner ?? undefined,
            },
            { engine: this.engine },
          ),
        );
        if (ret === EBUSY) continue;
        if (ret !== 0) return ret;
        if (this.mm.notifiers.readRetry(this.notifier, seq)) continue;
        const out = new Uint8Array(npages);
        for (let i = 0; i < npages; i++) out[i] = this.mkentry(pfns.get(i));
        return out;
      }
      return EBUSY;
    } finally {
      pfns.free();
    }
  }

  /** dmirror_mkentry(): the snapshot byte of one HMM word. */
  mkentry(e: bigint): number {
    if (e & HMM_PFN_ERROR) return HMM_DMIRROR_PROT_ERROR;
    if (!(e & HMM_PFN_VALID)) return HMM_DMIRROR_PROT_NONE;
    const pfn = hmmPfnToPfn(e, this.mm.profile);
    const eng = this.mm.engine;
    let prot = 0;
    if (eng.hasStructPage(pfn) && eng.pgmapOwnerId(pfn) !== 0) {
      const local = eng.pgmapOwnerId(pfn) === eng.ownerId(this.owner);
      prot = eng.isDeviceCoherent(pfn)
        ? local
          ? HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL
          : HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE
        : local
          ? HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL
          : HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
    } else if (pfn === PHYS.ZERO_PFN) {
      prot = HMM_DMIRROR_PROT_ZERO;
    }
    prot |= e & HMM_PFN_WRITE ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ;
    const order = hmmPfnToMapOrder(e, this.mm.profile);
    if (order === 9) prot |= HMM_DMIRROR_PROT_PMD;
    else if (order === 18) prot |= HMM_DMIRROR_PROT_PUD;
    return prot;
  }

  /**
   * Whether every committed device entry matches what a fresh walk of the CPU table reports: the
   * same pfn and flags, and WRITE only where the CPU entry is writable.
   */
  verify(): MirrorVerifyResult {
    let mismatches = 0;
    for (const [page, word] of this.entries) {
      const a = page * PAGE_SIZE;
      const seq = this.mm.notifiers.readBegin(this.notifier);
      const pfns = new BigUint64Array(1);
      const r = this.mm.withReadLock(() =>
        hmmRangeFault({
          notifier: this.notifier,
          notifierSeq: seq,
          start: a,
          end: a + PAGE_SIZE,
          hmmPfns: pfns,
          devPrivateOwner: this.owner ?? undefined,
        }),
      );
      // a committed read mapping may be backed by a page that is now writable (permission may only
      // shrink on the device side), but a committed WRITE needs a writable CPU entry
      const mask = ~HMM_PFN_WRITE & 0xffffffffffffffffn;
      const lostWrite = (word & HMM_PFN_WRITE) !== 0n && (pfns[0] & HMM_PFN_WRITE) === 0n;
      if (r !== 0 || (pfns[0] & mask) !== (word & mask) || lostWrite) mismatches++;
    }
    return { ok: mismatches === 0, mismatches };
  }

  /** Removes the subscription. */
  release(): void {
    if (this.notifier.removed) throw new UseAfterFreeError("Mirror.release: the mirror was already released");
    this.mm.notifiers.intervalNotifierRemove(this.notifier);
    this.entries.clear();
  }

  /** The checks of a device range: page-aligned integers, start < end, at most PFN_ARRAY_MAX pages, a live mirror. */
  private checkRange(fn: string, start: number, end: number): void {
    argULong(fn, "start", start);
    argULong(fn, "end", end);
    if (start % PAGE_SIZE !== 0 || end % PAGE_SIZE !== 0)
      throw new InvalidArgumentError(fn, "start and end", "must be page aligned", [start, end]);
    if (end <= start || (end - start) / PAGE_SIZE > PFN_ARRAY_MAX) {
      throw new InvalidArgumentError(fn, "end", `must be above start by at most ${PFN_ARRAY_MAX} pages`, end);
    }
    if (this.notifier.removed) throw new UseAfterFreeError(`${fn}: the mirror was released`);
    this.mm.checkAlive(fn);
  }
}
