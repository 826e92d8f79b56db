// An address space (struct mm_struct): VMAs, the page table in the engine, the mmap lock, the
// interval-notifier subscriptions, page-table access, the state digest and exit. What changes the
// page table lives beside it: zap.ts (zap_page_range), huge-split.ts (THP/PUD splits),
// vma-list.ts (__split_vma, get_unmapped_area); the syscalls live in src/ops/.
import type { Engine } from "../engine/engine.js";
import {
  ArgumentTypeError,
  ErrnoError,
  LockStateError,
  OutOfEngineMemoryError,
  SimulationDeadlock,
  UseAfterFreeError,
} from "../engine/errors.js";
import { argBool, argEnum, argOptions } from "../engine/validate.js";
import {
  ERRNO,
  FRAME,
  MEM,
  PAGE_SHIFT,
  PAGE_SIZE,
  PTE_LO as PTE_BITS,
  VA_BITS_L4,
  VA_BITS_L5,
  levelSize,
} from "../engine/layout.js";
import {
  MMU_NOTIFY_UNMAP,
  MmuNotifierSubscriptions,
  type MmuNotifierEvent,
  type MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
} from "./notifier.js";
import { PROFILES, type Profile, profileBits } from "../engine/profile.js";
import * as pte from "../engine/pte.js";
import type { SwapDevice } from "../engine/swap.js";
import { type ThpPolicy, type Vma, hex } from "./vma.js";
import { type MachineState, deferCallbackError, machineState, runOp } from "./machine.js";
import { StateHasher } from "../engine/digest.js";
import type { SimFile } from "./file.js";
import type {
  EngineVmaRow,
  HmmStats,
  LeafRef,
  MmHooks,
  MmOptions,
  MmStats,
  PendingMigration,
  Translation,
} from "./mm-types.js";
import { type LeafVisitor, forEachLeaf } from "./leaf-walk.js";
import { zapPageRange } from "./zap.js";

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
  if (!(mm instanceof MmStruct))
    throw new ArgumentTypeError("mmOfNotifier", "sub", "must be a subscription of an Mm", sub);
  return mm;
}

const PAGE = PAGE_SIZE;

/**
 * struct mm_struct: the VMAs, the page table in the engine, the mmap lock and the notifier
 * subscriptions, with the accessors every layer above uses (page-table access, state digest,
 * exit). Zapping, huge-page splits and VMA-list changes are free functions over it (src/mm/zap.ts,
 * huge-split.ts, vma-list.ts); the syscalls and CPU access live in src/ops/, and the public `Mm`
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
  /** Cumulative statistics of this address space: page faults, hmmRangeFault walk passes (see MmStats). */
  readonly stats: MmStats = { faults: 0, walkPasses: 0 };
  /** What the most recent hmmRangeFault call on this Mm did. */
  readonly hmmStats: HmmStats = { passes: 0, faultedPages: 0, migrationWaits: 0 };

  /**
   * @param engine The simulated machine whose memory holds this mm's page table.
   * @param options See MmOptions. Throws ArgumentTypeError / InvalidArgumentError on bad options,
   *   EngineError when engine memory is exhausted.
   */
  constructor(
    readonly engine: Engine,
    options: MmOptions = {},
  ) {
    const opts = argOptions<MmOptions>("new Mm", "options", options);
    if (typeof engine?.raw?.mmCreate !== "function")
      throw new ArgumentTypeError("new Mm", "engine", "must be an Engine", engine);
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
    if (!raw.vmaReserve(this.ptr, this.vmas.length))
      throw new OutOfEngineMemoryError("out of engine memory for the VMA table");
    this.vmas.forEach((v, i) => raw.vmaSet(this.ptr, i, v.start / PAGE, v.end / PAGE, v.flags, v.hugeShift));
    raw.vmaSetCount(this.ptr, this.vmas.length);
  }
  /** The engine's copy of the VMA table (what the walker reads), for consistency checks. */
  engineVmaTable(): EngineVmaRow[] {
    const { u32 } = this.engine.mem();
    const base = u32[(this.ptr + MEM.MM_VMAS) >>> 2];
    const count = u32[(this.ptr + MEM.MM_VMA_COUNT) >>> 2] | 0;
    const out: EngineVmaRow[] = [];
    for (let i = 0; i < count && base !== 0; i++) {
      const w = (base + i * MEM.VMA_BYTES) >>> 2;
      const at = (off: number): number => u32[w + off / 4] + u32[w + off / 4 + 1] * 2 ** 32;
      out.push({
        start: at(MEM.VMA_START),
        end: at(MEM.VMA_END),
        flags: u32[w + MEM.VMA_FLAGS / 4],
        hugeShift: u32[w + MEM.VMA_HUGE_SHIFT / 4] | 0,
      });
    }
    return out;
  }

  // ---- page-table access, CPU translation, migration entries --------------------------------

  /** @internal Pointer to the entry at `level` (0 PTE, 1 PMD, 2 PUD, 3 P4D/PGD, 4 PGD) mapping addr. */
  entryPtr(addr: number, level: number, alloc: boolean): number {
    const p = this.engine.raw.entryPtr(this.ptr, addr / PAGE, level, alloc ? 1 : 0) >>> 0;
    if (p === 0 && alloc && this.engine.raw.entryPtrStopLevel() < 0)
      throw new OutOfEngineMemoryError("out of engine memory for page tables");
    return p;
  }
  /** The leaf entry mapping addr and its level, or level -1 when nothing maps it. */
  leafOf(addr: number): LeafRef {
    const raw = this.engine.raw;
    const p = raw.entryPtr(this.ptr, addr / PAGE, 0, 0) >>> 0;
    if (p !== 0) return { level: 0, ptr: p, entry: this.engine.readEntry(p) };
    const lv = raw.entryPtrStopLevel();
    const up = raw.entryPtr(this.ptr, addr / PAGE, lv, 0) >>> 0;
    const e = this.engine.readEntry(up);
    if (pte.isNone(e)) return { level: -1, ptr: up, entry: e };
    return { level: lv, ptr: up, entry: e };
  }
  /** @internal Calls f for every non-none leaf entry in [start, end) (PTEs, huge leaves, swap-like entries), in address order. */
  forEachLeaf(start: number, end: number, f: LeafVisitor): void {
    forEachLeaf(this, start, end, f);
  }
  /** Number of page-table pages this mm owns. */
  get pageTables(): number {
    return this.engine.raw.mmTables(this.ptr);
  }

  /** The frame and offset behind addr if the CPU could access it now without a fault. */
  translate(addr: number, write: boolean): Translation | null {
    const leaf = this.leafOf(addr);
    if (leaf.level < 0) return null;
    const e = leaf.entry;
    if ((e.lo & PTE_BITS.PRESENT) === 0) return null;
    if (write && !pte.isWrite(e)) return null;
    const span = levelSize(leaf.level);
    const inLeaf = addr % span;
    return { pfn: pte.pfnOf(e) + Math.floor(inLeaf / PAGE), offset: addr % PAGE };
  }

  /** migration_entry_wait(): completes the migration of the page behind a migration entry. */
  waitMigration(addr: number): void {
    const leaf = this.leafOf(addr);
    if (!pte.isMigration(leaf.entry)) return;
    const pfn = pte.swapOffset(leaf.entry);
    const m = this.pendingMigrations.get(pfn) ?? this.engine.pendingMigrations.get(pfn);
    if (!m)
      throw new SimulationDeadlock(
        `migration entry for pfn ${pfn} at ${hex(addr)} has no migration in flight to wait for`,
      );
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
    h.str("mm")
      .num(this.id)
      .num(this.levels)
      .str(this.profile)
      .str(this.thp)
      .bool(this.hugeZeroPage)
      .bool(this.numaMigrateOnFault)
      .bool(this.dead)
      .num(this.readers)
      .bool(this.writer);
    const files = new Set<SimFile>();
    h.str("vmas").num(this.vmas.length);
    for (const v of this.vmas) {
      h.num(v.start)
        .num(v.end)
        .num(v.flags)
        .num(v.pgoff)
        .num(v.hugeShift)
        .bool(v.anonVma)
        .str(v.file ? `${v.file.kind}:${v.file.name}` : "")
        .num(v.device ? this.engine.ownerId(v.device.owner) : 0);
      if (v.file) files.add(v.file);
    }
    if (!this.dead) {
      const table = this.engineVmaTable();
      h.str("vmatable").num(table.length);
      for (const t of table) h.num(t.start).num(t.end).num(t.flags).num(t.hugeShift);
      h.str("entries");
      this.forEachLeaf(
        0,
        this.taskSize + PAGE,
        (addr, level, _ptr, e) => void h.num(addr).num(level).u32(e.lo).u32(e.hi),
      );
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
      throw new LockStateError(
        `${what} on mm ${this.id} from inside ${inNotifier ? "an mmu notifier invalidate" : "a device driver"} callback is not allowed`,
      );
    }
  }

  /**
   * The last unmap of an anonymous shared mapping's file (MAP_SHARED|MAP_ANONYMOUS) frees it and
   * its page cache: once no VMA of a live Mm maps it (fork shares it), every cached page loses the
   * cache's reference (hugetlb pages return to their pool).
   */
  releaseOrphanFiles(gone: readonly Vma[]): void {
    const files = new Set<SimFile>();
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
      throw new LockStateError(
        `exit_mmap: mm ${this.id} is in use (its mmap lock is held or an invalidation is running)`,
      );
    }
    this.runOp(() => {
      this.notifiers.release();
      this.invalidate(0, Infinity, MMU_NOTIFY_UNMAP, null, () => {
        for (const v of this.vmas) zapPageRange(this, v, v.start, v.end);
      });
      const gone = this.vmas.splice(0);
      this.syncVmas();
      this.engine.raw.mmDestroy(this.ptr);
      this.dead = true;
      this.releaseOrphanFiles(gone);
    });
  }
}
