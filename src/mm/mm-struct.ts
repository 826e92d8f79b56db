// An address space (struct mm_struct): VMAs, the page table in the engine, the mmap lock, the
// interval-notifier subscriptions, and the operations that change them.
import type { Engine } from "../engine/engine.js";
import { ArgumentTypeError, ErrnoError, EngineError, LockStateError, OutOfEngineMemoryError, SimulationDeadlock, UseAfterFreeError } from "../engine/errors.js";
import { argBool, argEnum, argOptions, argULong } from "../engine/validate.js";
import type { SimFile } from "./file.js";
import { ERRNO, FRAME, MEM, PAGE_SHIFT, PAGE_SIZE, PHYS, PTE_LO as PTE_BITS, VA_BITS_L4, VA_BITS_L5, PMD_SIZE, PUD_SIZE, PTRS_PER_TABLE, levelSize, levelPages } from "../engine/layout.js";
import {
  MMU_NOTIFY_CLEAR, MMU_NOTIFY_UNMAP,
  MmuNotifierSubscriptions, type MmuNotifierEvent, type MmuIntervalNotifier, type MmuIntervalNotifierOps,
} from "./notifier.js";
import { PROFILES, type Profile, profileBits } from "../engine/profile.js";
import * as pte from "../engine/pte.js";
import type { Entry } from "../engine/pte.js";
import type { SwapDevice } from "../engine/swap.js";
import { type ThpPolicy, type Vma, type VmaDevice, hex } from "./vma.js";
import { type MachineState, deferCallbackError, machineState, runOp } from "./machine.js";
import { StateHasher } from "../engine/digest.js";
import type { SimFile as SimFileT } from "./file.js";

/** Options of `new Mm()`: paging levels, kernel profile, THP policy, huge zero page, NUMA balancing. */
export interface MmOptions {
  /** Paging levels: 4 (48-bit, default) or 5 (57-bit). */
  levels?: 4 | 5;
  /** Kernel behaviour to follow: "v6.1" (SEED, default), "v6.16" or "v6.19". */
  profile?: Profile;
  /** THP policy for anonymous memory (default "madvise"). */
  thp?: ThpPolicy;
  /** Use the huge zero page for read faults on THP-eligible ranges (default true). */
  hugeZeroPage?: boolean;
  /**
   * NUMA balancing: a hinting fault on a 4 KiB anonymous page moves it to a new frame ("another
   * node") inside MMU_NOTIFY_CLEAR over the page (default false: the page stays where it is).
   */
  numaMigrateOnFault?: boolean;
}

/** Arguments of mmap(2) (Mm.mmap): address hint, length in bytes, PROT_* and MAP_* bits, file and offset. */
export interface MmapOptions {
  /** Hint or, with MAP_FIXED, the exact address. */
  addr?: number;
  /** Length in bytes (rounded up to whole 4 KiB pages; 0 fails with -EINVAL). */
  length: number;
  /** PROT_* bits (PROT_READ | PROT_WRITE | PROT_EXEC, or PROT_NONE). */
  prot: number;
  /** MAP_* bits: exactly one of MAP_PRIVATE / MAP_SHARED, plus MAP_ANONYMOUS, MAP_FIXED, MAP_POPULATE, MAP_HUGETLB... */
  flags: number;
  /** The file to map (omit with MAP_ANONYMOUS). */
  file?: SimFile;
  /** Byte offset into the file (page aligned). */
  offset?: number;
  /** For device mappings (see Device.mmap): the device behind a VM_IO/PFNMAP/MIXEDMAP VMA. */
  device?: VmaDevice;
  /** Extra vm_flags (VM_IO, VM_PFNMAP, VM_MIXEDMAP, VM_HUGEPAGE, ...). */
  vmFlags?: number;
}

/**
 * Hooks that let a simulation run page-lock-only work at the points the kernel could race.
 * Both run inside hmmRangeFault while the caller holds the mmap READ lock, so they may only do
 * what another thread could do concurrently without the write lock: page migration
 * (ops.migratePages / startMigration), reclaim / swap-out (ops.reclaimPages), KSM (ops.ksmMerge),
 * NUMA hinting scans (numaHintingScan), truncate / hole punch (ops.truncateFile / punchHole), a CPU
 * write that breaks COW (cpuWrite), device migration. Write-lock operations (munmap, mprotect,
 * mmap, mremap, brk, fork, MADV_COLLAPSE) throw SimulationDeadlock there, as they would block
 * forever. An invalidation raised from a hook bumps the subscription's sequence: the walk then
 * returns -EBUSY at its next check (the driver retries, docs/semantics.md §4.3).
 */
export interface MmHooks {
  /** Called by hmmRangeFault before every walk pass after the first (pass >= 1). */
  betweenPasses?: (info: { pass: number; last: number }) => void;
  /** Called by hmmRangeFault before each page it faults (handle_mm_fault), after the first of a chunk. */
  betweenFaults?: (info: { addr: number; index: number }) => void;
}

/** A migration in flight: a page whose PTEs are migration entries until `finish` runs. */
export interface PendingMigration {
  /** migrate_folio_done(): completes the migration and replaces the migration entries. */
  finish(): void;
}

/**
 * The mm-layer state of `engine` (live Mms, ids, page state without a FRAME bit), created on first
 * use, with its address spaces typed: only MmStruct's constructor registers Mms, so every member
 * of `mms` and every migration location's `mm` is an MmStruct.
 */
export function machineOf(engine: Engine): MachineState<MmStruct> {
  return machineState(engine) as MachineState<MmStruct>;
}

/** The live (not exited) Mms created on an engine, in creation order: the "rmap" of file truncation and friends. */
export function liveMms(engine: Engine): MmStruct[] {
  const set = machineOf(engine).mms;
  const out: MmStruct[] = [];
  for (const mm of set) {
    if (mm.exited) set.delete(mm);
    else out.push(mm);
  }
  return out;
}

/** The Mm a notifier subscription belongs to. */
export function mmOfNotifier(sub: MmuIntervalNotifier): MmStruct {
  const mm = sub.subscriptions.owner;
  if (!(mm instanceof MmStruct)) throw new ArgumentTypeError("mmOfNotifier", "sub", "must be a subscription of an Mm", sub);
  return mm;
}

const PAGE = PAGE_SIZE;

/**
 * struct mm_struct: the VMAs, the page table in the engine, the mmap lock and the notifier
 * subscriptions, with the mechanism every layer above uses (page-table access, zap, huge-page
 * splits, exit). The syscalls and CPU access that change it live in src/ops/; the public `Mm`
 * (src/api/mm.ts) adds them as methods.
 */
export class MmStruct {
  /** Id of this address space, unique within its engine (reports and invariant violations name it). */
  readonly id: number;
  /** @internal */
  readonly ptr: number;
  /** Paging levels: 4 (48-bit addresses) or 5 (57-bit). */
  readonly levels: 4 | 5;
  /** Kernel behaviour this Mm follows ("v6.1" by default; docs/semantics.md §9). */
  readonly profile: Profile;
  /** @internal */
  readonly profileBits: number;
  /** TASK_SIZE: the end of the user address space, in bytes. */
  readonly taskSize: number;
  /** Transparent-huge-page policy for anonymous memory ("never", "madvise", "always"). */
  thp: ThpPolicy;
  /** Read faults on THP-eligible ranges map the huge zero page. */
  hugeZeroPage: boolean;
  /** A NUMA hinting fault moves the page to a new frame (see MmOptions.numaMigrateOnFault). */
  numaMigrateOnFault: boolean;
  /** The VMAs, sorted by address and non-overlapping (read-only for users: change them through the syscalls). */
  readonly vmas: Vma[] = [];
  /** struct mmu_notifier_subscriptions: the interval notifiers of this mm and their sequence counts (docs/semantics.md §4.2). */
  readonly notifiers = new MmuNotifierSubscriptions();
  /** Simulation hooks run inside hmmRangeFault (see MmHooks). */
  readonly hooks: MmHooks = {};
  /** @internal Migrations whose entries a fault or walk may have to wait for, by old pfn. */
  readonly pendingMigrations = new Map<number, PendingMigration>();
  private readers = 0;
  private writer = false;
  protected dead = false;
  /** Cumulative statistics of this address space: pages faulted by hmmRangeFault, walk passes. */
  readonly stats = { faults: 0, walkPasses: 0 };
  /** What the most recent hmmRangeFault call on this Mm did. */
  readonly hmmStats = { passes: 0, faultedPages: 0, migrationWaits: 0 };

  /**
   * @param engine The simulated machine whose memory holds this mm's page table.
   * @param options See MmOptions. Throws ArgumentTypeError / InvalidArgumentError on bad options,
   *   EngineError when engine memory is exhausted.
   */
  constructor(readonly engine: Engine, options: MmOptions = {}) {
    const opts = argOptions<MmOptions>("new Mm", "options", options);
    if (typeof engine?.raw?.mmCreate !== "function") throw new ArgumentTypeError("new Mm", "engine", "must be an Engine", engine);
    this.levels = argEnum("new Mm", "levels", opts.levels ?? 4, [4, 5] as const);
    this.profile = argEnum("new Mm", "profile", opts.profile ?? "v6.1", PROFILES);
    this.profileBits = profileBits(this.profile);
    this.thp = argEnum("new Mm", "thp", opts.thp ?? "madvise", ["never", "madvise", "always"] as const);
    this.hugeZeroPage = argBool("new Mm", "hugeZeroPage", opts.hugeZeroPage ?? true);
    this.numaMigrateOnFault = argBool("new Mm", "numaMigrateOnFault", opts.numaMigrateOnFault ?? false);
    const levels = this.levels;
    this.taskSize = 2 ** (levels === 5 ? VA_BITS_L5 : VA_BITS_L4) - PAGE;
    const p = engine.raw.mmCreate(levels) >>> 0;
    if (p === 0) throw new ErrnoError(-ERRNO.ENOMEM, "out of engine memory creating an mm");
    this.ptr = p;
    const machine = machineOf(engine);
    this.id = machine.allocMmId();
    this.notifiers.owner = this;
    this.notifiers.onCallbackError = (e) => deferCallbackError(engine, "mmu interval notifier invalidate", e);
    machine.mms.add(this);
  }

  /** The engine's swap device, where reclaim writes this mm's anonymous pages. */
  get swap(): SwapDevice {
    return this.engine.swap;
  }

  // ---- mmap lock ---------------------------------------------------------------------------

  /** mmap_read_lock(). Throws SimulationDeadlock while the write lock is held (a single-threaded simulation would block forever). */
  mmapReadLock(): void {
    if (this.writer) throw new SimulationDeadlock("mmap_read_lock while the mmap write lock is held");
    this.readers++;
  }
  /** mmap_read_unlock(). Throws LockStateError without the read lock. */
  mmapReadUnlock(): void {
    if (this.readers <= 0) throw new LockStateError("mmap_read_unlock without the read lock");
    this.readers--;
  }
  /** mmap_write_lock(). Throws SimulationDeadlock while any mmap lock is held or from inside a notifier callback. */
  mmapWriteLock(): void {
    this.checkNotInCallback("mmap_write_lock");
    if (this.writer || this.readers > 0) {
      throw new SimulationDeadlock("mmap_write_lock while the mmap lock is held (a walk holds the read lock)");
    }
    this.writer = true;
  }
  /** mmap_write_unlock(). Throws LockStateError without the write lock. */
  mmapWriteUnlock(): void {
    if (!this.writer) throw new LockStateError("mmap_write_unlock without the write lock");
    this.writer = false;
  }
  /** mmap_assert_locked(). */
  assertLocked(): void {
    if (!this.writer && this.readers === 0) throw new LockStateError("mmap_assert_locked: the mmap lock is not held");
  }
  /** mmap_assert_write_locked(). */
  assertWriteLocked(what: string): void {
    if (!this.writer) throw new LockStateError(`${what}: the mmap write lock is not held`);
  }
  /** Whether the mmap lock is held (read or write). */
  get isLocked(): boolean {
    return this.writer || this.readers > 0;
  }
  /** Runs f under the mmap write lock (what munmap/mprotect/mmap do), as one kernel operation (runOp). */
  withWriteLock<T>(f: () => T): T {
    this.mmapWriteLock();
    try {
      return this.runOp(f);
    } finally {
      this.mmapWriteUnlock();
    }
  }
  /** Runs f under the mmap read lock (what a driver does around hmmRangeFault), as one kernel operation (runOp). */
  withReadLock<T>(f: () => T): T {
    this.mmapReadLock();
    try {
      return this.runOp(f);
    } finally {
      this.mmapReadUnlock();
    }
  }
  /**
   * Runs one kernel operation: an exception a user callback throws inside it is rethrown (as
   * CallbackError with the original as `cause`) only after the operation has completed.
   */
  runOp<T>(f: () => T): T {
    return runOp(this.engine, f);
  }

  // ---- notifiers ---------------------------------------------------------------------------

  /** mmu_interval_notifier_insert(): returns the subscription; throws ErrnoError (-EOVERFLOW). */
  intervalNotifierInsert(start: number, length: number, ops: MmuIntervalNotifierOps): MmuIntervalNotifier {
    this.checkAlive("mmu_interval_notifier_insert");
    const r = this.notifiers.intervalNotifierInsert(start, length, ops);
    if (r.ret !== 0 || !r.sub) throw new ErrnoError(r.ret, `mmu_interval_notifier_insert(${hex(start)}, ${length})`);
    return r.sub;
  }
  /** @internal Runs body inside invalidate_range_start/end of [start, end). */
  invalidate(start: number, end: number, event: MmuNotifierEvent, owner: unknown, body: () => void): void {
    // as one operation at least: a throwing callback is rethrown after the body has run
    runOp(this.engine, () => this.notifiers.invalidate(start, end, event, owner, { blockable: true }, body));
  }

  // ---- VMAs --------------------------------------------------------------------------------

  /** find_vma(): the first VMA ending above addr. */
  findVma(addr: number): Vma | undefined {
    let lo = 0;
    let hi = this.vmas.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.vmas[mid].end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return this.vmas[lo];
  }
  /** vma_lookup(): the VMA containing addr. */
  vmaLookup(addr: number): Vma | undefined {
    const v = this.findVma(addr);
    return v && v.start <= addr ? v : undefined;
  }
  /** @internal Copies the VMA list into the engine, where the walker reads it. */
  syncVmas(): void {
    const raw = this.engine.raw;
    if (!raw.vmaReserve(this.ptr, this.vmas.length)) throw new OutOfEngineMemoryError("out of engine memory for the VMA table");
    this.vmas.forEach((v, i) => raw.vmaSet(this.ptr, i, v.start / PAGE, v.end / PAGE, v.flags, v.hugeShift));
    raw.vmaSetCount(this.ptr, this.vmas.length);
  }
  /** The engine's copy of the VMA table (what the walker reads), for consistency checks. */
  engineVmaTable(): { start: number; end: number; flags: number; hugeShift: number }[] {
    const { u32 } = this.engine.mem();
    const base = u32[(this.ptr + MEM.MM_VMAS) >>> 2];
    const count = u32[(this.ptr + MEM.MM_VMA_COUNT) >>> 2] | 0;
    const out: { start: number; end: number; flags: number; hugeShift: number }[] = [];
    for (let i = 0; i < count && base !== 0; i++) {
      const w = (base + i * MEM.VMA_BYTES) >>> 2;
      const at = (off: number): number => u32[w + off / 4] + u32[w + off / 4 + 1] * 2 ** 32;
      out.push({ start: at(MEM.VMA_START), end: at(MEM.VMA_END), flags: u32[w + MEM.VMA_FLAGS / 4], hugeShift: u32[w + MEM.VMA_HUGE_SHIFT / 4] | 0 });
    }
    return out;
  }
  /** Inserts v in address order (no checks, no syncVmas). */
  insertVma(v: Vma): void {
    const i = this.vmas.findIndex((x) => x.start >= v.end);
    if (i < 0) this.vmas.push(v);
    else this.vmas.splice(i, 0, v);
  }
  /**
   * @internal Splits VMAs so that start and end are VMA boundaries (__split_vma); returns the VMAs inside
   * [start, end). Both boundaries are checked before anything changes (-EINVAL inside a hugetlb
   * page); a THP mapped across a boundary is split first (vma_adjust_trans_huge), and the engine's
   * VMA table is updated, so a caller failing afterwards leaves a consistent, merely split, list.
   */
  splitAt(start: number, end: number): Vma[] {
    for (const a of [start, end]) {
      const v = this.vmaLookup(a);
      if (v && v.start < a && v.isHugetlb && a % 2 ** v.hugeShift !== 0) {
        throw new ErrnoError(-ERRNO.EINVAL, `hugetlb VMA split at unaligned ${hex(a)}`);
      }
    }
    // the engine's VMA table must have room for the pieces before anything is split (-ENOMEM)
    if (!this.engine.raw.vmaReserve(this.ptr, this.vmas.length + 2)) throw new ErrnoError(-ERRNO.ENOMEM, "out of engine memory for the VMA table");
    let split = false;
    for (const a of [start, end]) {
      const v = this.vmaLookup(a);
      if (v && v.start < a) {
        this.splitHugeAt(a);
        const i = this.vmas.indexOf(v);
        this.vmas.splice(i, 1, v.clone(v.start, a), v.clone(a, v.end));
        split = true;
      }
    }
    if (split) this.syncVmas();
    return this.vmas.filter((v) => v.start >= start && v.end <= end);
  }

  /** @internal */
  checkRange(addr: number, length: number, what: string): void {
    // 5-level addresses reach 2^56: page-aligned values above 2^53 are still exact integers
    argULong(what, "address", addr);
    argULong(what, "length", length);
    this.checkAlive(what);
    if (addr % PAGE !== 0) throw new ErrnoError(-ERRNO.EINVAL, `${what}: address ${hex(addr)} is not page aligned`);
    if (length <= 0 || addr + length > this.taskSize + PAGE) {
      throw new ErrnoError(-ERRNO.EINVAL, `${what}: bad length ${length} at ${hex(addr)}`);
    }
  }

  /** @internal */
  getUnmappedArea(length: number, align: number): number {
    // top-down from just below the top of the address space, like the default mmap layout
    let top = Math.floor(Math.min(this.taskSize, 2 ** 46) / align) * align;
    for (let i = this.vmas.length - 1; i >= -1; i--) {
      const gapEnd = Math.min(top, i >= 0 ? Infinity : top);
      const prevEnd = i >= 0 ? this.vmas[i].end : PAGE * 16;
      const candidate = Math.floor((gapEnd - length) / align) * align;
      if (candidate >= prevEnd) return candidate;
      if (i >= 0) top = Math.min(top, this.vmas[i].start);
    }
    throw new ErrnoError(-ERRNO.ENOMEM, `no free area of ${length} bytes`);
  }

  // ---- page-table access -------------------------------------------------------------------

  /** @internal Pointer to the entry at `level` (0 PTE, 1 PMD, 2 PUD, 3 P4D/PGD, 4 PGD) mapping addr. */
  entryPtr(addr: number, level: number, alloc: boolean): number {
    const p = this.engine.raw.entryPtr(this.ptr, addr / PAGE, level, alloc ? 1 : 0) >>> 0;
    if (p === 0 && alloc && this.engine.raw.entryPtrStopLevel() < 0) throw new OutOfEngineMemoryError("out of engine memory for page tables");
    return p;
  }
  /** The leaf entry mapping addr and its level, or level -1 when nothing maps it. */
  leafOf(addr: number): { level: number; ptr: number; entry: Entry } {
    const raw = this.engine.raw;
    const p = raw.entryPtr(this.ptr, addr / PAGE, 0, 0) >>> 0;
    if (p !== 0) return { level: 0, ptr: p, entry: this.engine.readEntry(p) };
    const lv = raw.entryPtrStopLevel();
    const up = raw.entryPtr(this.ptr, addr / PAGE, lv, 0) >>> 0;
    const e = this.engine.readEntry(up);
    if (pte.isNone(e)) return { level: -1, ptr: up, entry: e };
    return { level: lv, ptr: up, entry: e };
  }
  /** @internal Calls f for every non-none leaf entry in [start, end) (PTEs, huge leaves, swap-like entries). */
  forEachLeaf(start: number, end: number, f: (addr: number, level: number, ptr: number, e: Entry) => void): void {
    const raw = this.engine.raw;
    let page = start / PAGE;
    const endPage = end / PAGE;
    while (page < endPage) {
      page = raw.nextPopulated(this.ptr, page, endPage);
      if (page >= endPage) break;
      const level = raw.entryPtrStopLevel();
      const ptr = raw.entryPtr(this.ptr, page, level, 0) >>> 0;
      const addr = page * PAGE;
      f(addr, level, ptr, this.engine.readEntry(ptr));
      page = (Math.floor(page / levelPages(level)) + 1) * levelPages(level);
    }
  }
  /** Number of page-table pages this mm owns. */
  get pageTables(): number {
    return this.engine.raw.mmTables(this.ptr);
  }

  // ---- tearing down mappings ---------------------------------------------------------------

  /**
   * @internal forEachLeaf() with a batched engine loop in front: `batch(page, endPage)` handles a run of
   * entries itself and returns the first page it leaves to the host (endPage when none); that
   * leaf goes to f, then the batch resumes after it. Leaves reach f in the order forEachLeaf()
   * would give them.
   */
  forEachLeafBatched(start: number, end: number, batch: (page: number, endPage: number) => number,
    f: (addr: number, level: number, ptr: number, e: Entry) => void): void {
    const raw = this.engine.raw;
    const endPage = end / PAGE;
    let page = start / PAGE;
    while (page < endPage) {
      page = batch(page, endPage);
      if (page >= endPage) break;
      page = raw.nextPopulated(this.ptr, page, endPage);
      if (page >= endPage) break;
      const level = raw.entryPtrStopLevel();
      const ptr = raw.entryPtr(this.ptr, page, level, 0) >>> 0;
      f(page * PAGE, level, ptr, this.engine.readEntry(ptr));
      page = (Math.floor(page / levelPages(level)) + 1) * levelPages(level);
    }
  }

  /**
   * @internal Drops whatever maps [start, end) of v (zap_page_range) without events; huge leaves must fit.
   * The engine's zapPtes() clears runs of PTEs whose release needs no host state (order-0 pages,
   * special entries); the others go through releaseEntry() here.
   */
  zapRange(v: Vma, start: number, end: number): void {
    const raw = this.engine.raw;
    // A frame the engine frees bypasses putPage(): its materialised contents and the machine's
    // page state (MADV_FREE folios, the KSM stable tree, which putPage's free listeners forget)
    // would outlive it. While any of those exist, pages at their last reference go to putPage().
    const m = machineOf(this.engine);
    const stopAtFree = this.engine.materialisedFrames() > 0 || m.lazyFree.size > 0 || m.ksmStable.size > 0 ? 1 : 0;
    this.forEachLeafBatched(start, end, (page, endPage) => raw.zapPtes(this.ptr, page, endPage, stopAtFree), (addr, level, ptr, e) => {
      this.releaseEntry(v, addr, level, e);
      this.engine.writeEntry(ptr, pte.NONE);
    });
  }

  /** @internal Releases what one leaf entry holds: a page reference, a swap slot, a device page. */
  releaseEntry(_v: Vma, _addr: number, _level: number, e: Entry): void {
    const eng = this.engine;
    if (pte.isPresent(e)) {
      const pfn = pte.pfnOf(e);
      if ((e.lo & PTE_BITS.SPECIAL) || !eng.hasStructPage(pfn)) return;
      if ((eng.frameFlags(pfn) & FRAME.RESERVED) !== 0) return;
      eng.setMapcount(pfn, Math.max(0, eng.mapcount(pfn) - 1));
      if (eng.frameFlags(pfn) & FRAME.HUGETLB) {
        // a hugetlb page goes back to its pool, not to the page allocator
        const { order } = eng.folioOf(pfn);
        eng.putHugetlbPage(pfn, order + PAGE_SHIFT);
      } else {
        eng.putPage(pfn);
      }
      return;
    }
    if (pte.isRegularSwap(e)) {
      this.swap.free(pte.swapOffset(e));
      return;
    }
    if (pte.isDevicePrivate(e) && _level === 1) {
      // a PMD-level device-private entry (v6.19) maps 512 device pages, each holding a reference
      for (let i = 0; i < 512; i++) this.releaseEntry(_v, _addr, 0, pte.mk.devicePrivate(pte.swapOffset(e) + i, false));
      return;
    }
    if (pte.isDevicePrivate(e) || pte.isDeviceExclusive(e) || pte.isMigration(e)) {
      const pfn = pte.swapOffset(e);
      if (!eng.hasStructPage(pfn)) return;
      eng.setMapcount(pfn, Math.max(0, eng.mapcount(pfn) - 1));
      if (pte.isDevicePrivate(e)) {
        eng.devicePagePut(pfn);
      } else if (!pte.isMigration(e)) {
        eng.putPage(pfn);
      }
    }
  }

  /**
   * split_huge_pud() of a leaf PUD the walk does not report (U5): it is zapped inside
   * MMU_NOTIFY_CLEAR over its 1 GiB, after which the range is a hole.
   */
  splitHugePud(addr: number): void {
    const haddr = addr - (addr % PUD_SIZE);
    const slot = this.entryPtr(haddr, 2, false);
    if (slot === 0) return;
    this.invalidate(haddr, haddr + PUD_SIZE, MMU_NOTIFY_CLEAR, null, () => {
      const e = this.engine.readEntry(slot);
      if (pte.isPresent(e) && !(e.lo & PTE_BITS.SPECIAL) && this.engine.hasStructPage(pte.pfnOf(e)) && !pte.isDevmap(e)) {
        const v = this.vmaLookup(haddr);
        if (v) this.releaseEntry(v, haddr, 2, e);
      }
      this.engine.writeEntry(slot, pte.NONE);
    });
  }

  /**
   * split_huge_pmd() of the THP mapping addr, if addr falls strictly inside one (CLEAR 2 MiB);
   * split_huge_pud() of a (devmap) PUD leaf addr falls strictly inside (CLEAR 1 GiB).
   */
  splitHugeAt(addr: number): void {
    if (addr % PMD_SIZE === 0 && addr % PUD_SIZE === 0) return;
    const v = this.vmaLookup(addr);
    if (!v || v.isHugetlb) return;
    if (addr % PMD_SIZE !== 0) this.settlePmdMigration(addr);
    const leaf = this.leafOf(addr);
    if (leaf.level === 2 && pte.isHugeLeaf(leaf.entry)) this.splitHugePud(addr);
    else if (addr % PMD_SIZE !== 0 && leaf.level === 1 && (pte.isHugeLeaf(leaf.entry) || pte.isDevicePrivate(leaf.entry))) this.splitHugePmd(v, addr);
  }

  /**
   * Splits every THP PMD leaf that [start, end) covers only partly (what change_pmd_range does
   * before changing PTEs), each inside its own CLEAR over 2 MiB; hugetlb leaves are left alone.
   */
  splitPartialThps(start: number, end: number): void {
    const partial: number[] = [];
    for (const a of [start, end]) if (a % PMD_SIZE !== 0 && !this.vmaLookup(a)?.isHugetlb) this.settlePmdMigration(a);
    this.forEachLeaf(start, end, (addr, level, _ptr, e) => {
      if (level !== 1 || !pte.isHugeLeaf(e)) return;
      const h = addr - (addr % PMD_SIZE);
      if (h < start || h + PMD_SIZE > end) partial.push(h);
    });
    for (const h of partial) {
      const v = this.vmaLookup(h);
      if (v && !v.isHugetlb) this.splitHugePmd(v, h);
    }
  }

  /**
   * A THP whose PMD is a migration entry cannot be split into PTE migration entries here (the
   * pending migration tracks it as one PMD): the migration is completed first, as if it had
   * finished just before the split, which then splits the new THP. No event is lost: completing
   * a migration raises none.
   */
  settlePmdMigration(addr: number): void {
    const leaf = this.leafOf(addr);
    if (leaf.level === 1 && pte.isMigration(leaf.entry)) this.waitMigration(addr);
  }

  /** __split_huge_pmd(): the PMD leaf becomes a table of 512 PTEs, inside a CLEAR over 2 MiB. */
  splitHugePmd(v: Vma, addr: number): void {
    const haddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
    this.invalidate(haddr, haddr + PMD_SIZE, MMU_NOTIFY_CLEAR, null, () => this.splitHugePmdLocked(v, haddr));
  }

  /** @internal The split itself, for callers that already run inside an invalidation. */
  splitHugePmdLocked(v: Vma, haddr: number): void {
    const eng = this.engine;
    const slot = this.entryPtr(haddr, 1, false);
    if (slot === 0) return;
    const e = eng.readEntry(slot);
    if (pte.isDevicePrivate(e)) {
      // a device-private PMD (v6.19) becomes 512 device-private PTEs of the same writability;
      // every device page already holds its own reference and mapping
      const table = eng.raw.installTable(this.ptr, slot) >>> 0;
      if (table === 0) throw new EngineError("out of engine memory splitting a device-private PMD");
      const w = pte.isWritableSwapLike(e);
      for (let i = 0; i < 512; i++) eng.writeEntry(table + i * 8, pte.mk.devicePrivate(pte.swapOffset(e) + i, w));
      return;
    }
    if (!pte.isHugeLeaf(e)) return;
    const pfn = pte.pfnOf(e);
    const isZero = pfn === PHYS.HUGE_ZERO_PFN;
    if (!isZero && (!v.isAnonymous || pte.isDevmap(e))) {
      // file / DAX huge mappings are simply zapped; they fault back in as PTEs
      eng.writeEntry(slot, pte.NONE);
      if (eng.hasStructPage(pfn) && !pte.isDevmap(e)) eng.putPage(pfn);
      return;
    }
    const table = eng.raw.installTable(this.ptr, slot) >>> 0;
    if (table === 0) throw new EngineError("out of engine memory splitting a huge PMD");
    const keepLo = e.lo & (PTE_BITS.RW | PTE_BITS.DIRTY | PTE_BITS.ACCESSED | PTE_BITS.SOFT_DIRTY | PTE_BITS.UFFD_WP | PTE_BITS.PROTNONE | PTE_BITS.PRESENT);
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      const ne = isZero ? pte.mk.zero(PHYS.ZERO_PFN) : pte.mkPfnEntry(pfn + i, PTE_BITS.USER | keepLo);
      eng.writeEntry(table + i * 8, ne);
    }
    if (!isZero) {
      eng.setRefcount(pfn, eng.refcount(pfn) + PTRS_PER_TABLE - 1);
      // this PMD mapping (counted on the head) becomes one PTE mapping of every subpage; other
      // mappings of the folio (another Mm's PMD after fork) keep their counts. Every subpage
      // inherits the head's AnonExclusive state.
      const excl = eng.frameFlags(pfn) & FRAME.ANON_EXCLUSIVE;
      for (let i = 0; i < PTRS_PER_TABLE; i++) {
        if (i > 0) eng.setMapcount(pfn + i, eng.mapcount(pfn + i) + 1);
        eng.setFrameFlags(pfn + i, (eng.frameFlags(pfn + i) & ~FRAME.ANON_EXCLUSIVE) | excl);
      }
    }
  }

  // ---- CPU translation -------------------------------------------------------------------

  /** The frame and offset behind addr if the CPU could access it now without a fault. */
  translate(addr: number, write: boolean): { pfn: number; offset: number } | null {
    const leaf = this.leafOf(addr);
    if (leaf.level < 0) return null;
    const e = leaf.entry;
    if ((e.lo & PTE_BITS.PRESENT) === 0) return null;
    if (write && !pte.isWrite(e)) return null;
    const span = levelSize(leaf.level);
    const inLeaf = addr % span;
    return { pfn: pte.pfnOf(e) + Math.floor(inLeaf / PAGE), offset: addr % PAGE };
  }

  // ---- migration entries ---------------------------------------------------------------------

  /** migration_entry_wait(): completes the migration of the page behind a migration entry. */
  waitMigration(addr: number): void {
    const leaf = this.leafOf(addr);
    if (!pte.isMigration(leaf.entry)) return;
    const pfn = pte.swapOffset(leaf.entry);
    const m = this.pendingMigrations.get(pfn) ?? this.engine.pendingMigrations.get(pfn);
    if (!m) throw new SimulationDeadlock(`migration entry for pfn ${pfn} at ${hex(addr)} has no migration in flight to wait for`);
    m.finish();
  }

  // ---- state digest ------------------------------------------------------------------------

  /**
   * A stable fingerprint (16 hex digits) of this address space: its options, VMAs, every
   * page-table entry, the engine's copy of the VMA table, lock and notifier state (sequence,
   * open ranges, subscriptions), pending migrations and the page caches of the files it maps.
   * The frames behind the entries are covered by {@link Engine.stateDigest}.
   */
  stateDigest(): string {
    const h = new StateHasher();
    this.digestInto(h);
    return h.digest();
  }

  /** @internal Feeds this Mm's state into h (see stateDigest). */
  digestInto(h: StateHasher): void {
    h.str("mm").num(this.id).num(this.levels).str(this.profile).str(this.thp).bool(this.hugeZeroPage)
      .bool(this.numaMigrateOnFault).bool(this.dead).num(this.readers).bool(this.writer);
    const files = new Set<SimFileT>();
    h.str("vmas").num(this.vmas.length);
    for (const v of this.vmas) {
      h.num(v.start).num(v.end).num(v.flags).num(v.pgoff).num(v.hugeShift).bool(v.anonVma)
        .str(v.file ? `${v.file.kind}:${v.file.name}` : "").num(v.device ? this.engine.ownerId(v.device.owner) : 0);
      if (v.file) files.add(v.file);
    }
    if (!this.dead) {
      const table = this.engineVmaTable();
      h.str("vmatable").num(table.length);
      for (const t of table) h.num(t.start).num(t.end).num(t.flags).num(t.hugeShift);
      h.str("entries");
      this.forEachLeaf(0, this.taskSize + PAGE, (addr, level, _ptr, e) => void h.num(addr).num(level).u32(e.lo).u32(e.hi));
    }
    h.str("notifiers").num(this.notifiers.invalidateSeq).num(this.notifiers.activeInvalidateRanges);
    for (const sub of this.notifiers.intervals()) h.num(sub.start).num(sub.length).num(sub.invalidateSeq);
    h.str("pending");
    for (const pfn of [...this.pendingMigrations.keys()].sort((a, b) => a - b)) h.num(pfn);
    h.str("files");
    for (const f of files) {
      h.str(f.name).num(f.size);
      for (const [idx, pfn] of [...f.pageCache].sort((a, b) => a[0] - b[0])) h.num(idx).num(pfn);
    }
  }

  // ---- lifetime ----------------------------------------------------------------------------

  /** Throws UseAfterFreeError once the mm has exited. */
  checkAlive(what = "mm"): void {
    if (this.dead) throw new UseAfterFreeError(`${what}: mm ${this.id} has exited`);
  }
  /** Whether exit_mmap() ran: the mm is torn down and every further use throws. */
  get exited(): boolean {
    return this.dead;
  }

  /**
   * Refuses (LockStateError, before anything changes) what the kernel forbids from a notifier
   * callback or a driver callback: taking an mmap write lock or tearing an mm down while some
   * operation on the engine is in the middle of changing page tables.
   */
  checkNotInCallback(what: string): void {
    const inNotifier = liveMms(this.engine).some((m) => m.notifiers.inCallback);
    if (inNotifier || machineOf(this.engine).driverCallbackDepth > 0) {
      throw new LockStateError(`${what} on mm ${this.id} from inside ${inNotifier ? "an mmu notifier invalidate" : "a device driver"} callback is not allowed`);
    }
  }

  /**
   * The last unmap of an anonymous shared mapping's file (MAP_SHARED|MAP_ANONYMOUS) frees it and
   * its page cache: once no VMA of a live Mm maps it (fork shares it), every cached page loses the
   * cache's reference (hugetlb pages return to their pool).
   */
  releaseOrphanFiles(gone: readonly Vma[]): void {
    const files = new Set<SimFileT>();
    for (const v of gone) if (v.file?.internal) files.add(v.file);
    if (files.size === 0) return;
    for (const m of liveMms(this.engine)) for (const v of m.vmas) if (v.file) files.delete(v.file);
    const eng = this.engine;
    for (const f of files) {
      for (const pfn of f.pageCache.values()) {
        if (eng.frameFlags(pfn) & FRAME.HUGETLB) eng.putHugetlbPage(pfn, eng.folioOf(pfn).order + PAGE_SHIFT);
        else eng.putPage(pfn);
      }
      f.pageCache.clear();
    }
  }

  /** exit_mmap(): RELEASE to every subscription, then UNMAP over everything, then frees all. */
  exit(): void {
    if (this.dead) return;
    this.checkNotInCallback("exit_mmap");
    if (this.isLocked || this.notifiers.activeInvalidateRanges > 0) {
      throw new LockStateError(`exit_mmap: mm ${this.id} is in use (its mmap lock is held or an invalidation is running)`);
    }
    this.runOp(() => {
      this.notifiers.release();
      this.invalidate(0, Infinity, MMU_NOTIFY_UNMAP, null, () => {
        for (const v of this.vmas) this.zapRange(v, v.start, v.end);
      });
      const gone = this.vmas.splice(0);
      this.syncVmas();
      this.engine.raw.mmDestroy(this.ptr);
      this.dead = true;
      this.releaseOrphanFiles(gone);
    });
  }
}
