// An address space (struct mm_struct): VMAs, the page table in the engine, the mmap lock, the
// interval-notifier subscriptions, and the operations that change them.
import { Engine } from "./engine.js";
import { ErrnoError, EngineError, SimulationDeadlock } from "./errors.js";
import type { SimFile } from "./file.js";
import { SimFile as File } from "./file.js";
import {
  ERRNO, FRAME, P4D_SHIFT, PAGE_SHIFT, PAGE_SIZE, PMD_SHIFT, PUD_SHIFT, PHYS, PTE_LO as PTE_BITS, SWP, VA_BITS_L4,
  VA_BITS_L5, VM,
} from "./layout.js";
import {
  MMU_NOTIFY_CLEAR, MMU_NOTIFY_PROTECTION_VMA, MMU_NOTIFY_UNMAP,
  MmuNotifierSubscriptions, type MmuNotifierEvent, type MmuIntervalNotifier, type MmuIntervalNotifierOps,
} from "./notifier.js";
import { type Profile, profileBits, profileInfo } from "./profile.js";
import * as pte from "./pte.js";
import { type Entry } from "./pte.js";
import { SwapDevice } from "./swap.js";
import {
  MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_HUGETLB, MAP_HUGE_SHIFT, MAP_POPULATE, MAP_PRIVATE,
  MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE, type ThpPolicy, Vma, hex, protToVmFlags, vmFlagsFor,
} from "./vma.js";
import { FAULT_FLAG_USER, FAULT_FLAG_WRITE, VM_FAULT_ERROR, handleMmFault, vmFaultString } from "./fault.js";
import type { Device } from "./device.js";

export interface MmOptions {
  /** Paging levels: 4 (48-bit, default) or 5 (57-bit). */
  levels?: 4 | 5;
  /** Kernel behaviour to follow: "v6.1" (SEED, default) or "v6.16". */
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

export interface MmapOptions {
  /** Hint or, with MAP_FIXED, the exact address. */
  addr?: number;
  length: number;
  prot: number;
  flags: number;
  file?: SimFile;
  /** Byte offset into the file (page aligned). */
  offset?: number;
  /** For device mappings (see Device.mmap): the device behind a VM_IO/PFNMAP/MIXEDMAP VMA. */
  device?: Device;
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
 * returns -EBUSY at its next check (the driver retries, spec §4.3).
 */
export interface MmHooks {
  /** Called by hmmRangeFault before every walk pass after the first (pass >= 1). */
  betweenPasses?: (info: { pass: number; last: number }) => void;
  /** Called by hmmRangeFault before each page it faults (handle_mm_fault), after the first of a chunk. */
  betweenFaults?: (info: { addr: number; index: number }) => void;
}

/** A migration in flight: a page whose PTEs are migration entries until `finish` runs. */
export interface PendingMigration {
  finish(): void;
}

let nextMmId = 1;
const mmOfSubscriptions = new WeakMap<MmuNotifierSubscriptions, Mm>();
const mmsOfEngine = new WeakMap<Engine, Set<WeakRef<Mm>>>();

/** The live (not exited) Mms created on an engine: the "rmap" of file truncation and friends. */
export function liveMms(engine: Engine): Mm[] {
  const set = mmsOfEngine.get(engine);
  if (!set) return [];
  const out: Mm[] = [];
  for (const r of set) {
    const mm = r.deref();
    if (!mm || mm.exited) set.delete(r);
    else out.push(mm);
  }
  return out.sort((a, b) => a.id - b.id);
}

/** The Mm a notifier subscription belongs to. */
export function mmOfNotifier(sub: MmuIntervalNotifier): Mm {
  const mm = mmOfSubscriptions.get(sub.subscriptions);
  if (!mm) throw new TypeError("notifier does not belong to any Mm");
  return mm;
}

const PAGE = PAGE_SIZE;
const PMD_SIZE = 2 ** PMD_SHIFT;
const PUD_SIZE = 2 ** PUD_SHIFT;

export class Mm {
  readonly id = nextMmId++;
  readonly ptr: number;
  readonly levels: 4 | 5;
  readonly profile: Profile;
  readonly profileBits: number;
  readonly taskSize: number;
  thp: ThpPolicy;
  hugeZeroPage: boolean;
  numaMigrateOnFault: boolean;
  readonly vmas: Vma[] = [];
  readonly notifiers = new MmuNotifierSubscriptions();
  readonly hooks: MmHooks = {};
  /** Migrations whose entries a fault or walk may have to wait for, by old pfn. */
  readonly pendingMigrations = new Map<number, PendingMigration>();
  private readers = 0;
  private writer = false;
  private dead = false;
  /** Statistics. */
  readonly stats = { faults: 0, walkPasses: 0 };

  constructor(readonly engine: Engine, opts: MmOptions = {}) {
    const levels = opts.levels ?? 4;
    if (levels !== 4 && levels !== 5) throw new RangeError(`levels must be 4 or 5, got ${levels}`);
    this.levels = levels;
    this.profile = opts.profile ?? "v6.1";
    this.profileBits = profileBits(this.profile);
    this.thp = opts.thp ?? "madvise";
    this.hugeZeroPage = opts.hugeZeroPage ?? true;
    this.numaMigrateOnFault = opts.numaMigrateOnFault ?? false;
    this.taskSize = 2 ** (levels === 5 ? VA_BITS_L5 : VA_BITS_L4) - PAGE;
    const p = engine.raw.mmCreate(levels) >>> 0;
    if (p === 0) throw new EngineError("out of engine memory creating an mm");
    this.ptr = p;
    mmOfSubscriptions.set(this.notifiers, this);
    let set = mmsOfEngine.get(engine);
    if (!set) mmsOfEngine.set(engine, (set = new Set()));
    set.add(new WeakRef(this));
  }

  get swap(): SwapDevice {
    return this.engine.swap;
  }

  // ---- mmap lock ---------------------------------------------------------------------------

  mmapReadLock(): void {
    if (this.writer) throw new SimulationDeadlock("mmap_read_lock while the mmap write lock is held");
    this.readers++;
  }
  mmapReadUnlock(): void {
    if (this.readers <= 0) throw new Error("mmap_read_unlock without the read lock");
    this.readers--;
  }
  mmapWriteLock(): void {
    if (this.writer || this.readers > 0) {
      throw new SimulationDeadlock("mmap_write_lock while the mmap lock is held (a walk holds the read lock)");
    }
    this.writer = true;
  }
  mmapWriteUnlock(): void {
    if (!this.writer) throw new Error("mmap_write_unlock without the write lock");
    this.writer = false;
  }
  /** mmap_assert_locked(). */
  assertLocked(): void {
    if (!this.writer && this.readers === 0) throw new Error("mmap_assert_locked: the mmap lock is not held");
  }
  get isLocked(): boolean {
    return this.writer || this.readers > 0;
  }
  /** Runs f under the mmap write lock (what munmap/mprotect/mmap do). */
  withWriteLock<T>(f: () => T): T {
    this.mmapWriteLock();
    try {
      return f();
    } finally {
      this.mmapWriteUnlock();
    }
  }
  withReadLock<T>(f: () => T): T {
    this.mmapReadLock();
    try {
      return f();
    } finally {
      this.mmapReadUnlock();
    }
  }

  // ---- notifiers ---------------------------------------------------------------------------

  /** mmu_interval_notifier_insert(): returns the subscription; throws ErrnoError (-EOVERFLOW). */
  intervalNotifierInsert(start: number, length: number, ops: MmuIntervalNotifierOps): MmuIntervalNotifier {
    const r = this.notifiers.intervalNotifierInsert(start, length, ops);
    if (r.ret !== 0 || !r.sub) throw new ErrnoError(r.ret, `mmu_interval_notifier_insert(${hex(start)}, ${length})`);
    return r.sub;
  }
  /** Runs body inside invalidate_range_start/end of [start, end). */
  invalidate(start: number, end: number, event: MmuNotifierEvent, owner: unknown, body: () => void): void {
    this.notifiers.invalidate(start, end, event, owner, { blockable: true }, body);
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
  /** Copies the VMA list into the engine, where the walker reads it. */
  syncVmas(): void {
    const raw = this.engine.raw;
    if (!raw.vmaReserve(this.ptr, this.vmas.length)) throw new EngineError("out of engine memory for the VMA table");
    this.vmas.forEach((v, i) => raw.vmaSet(this.ptr, i, v.start / PAGE, v.end / PAGE, v.flags, v.hugeShift));
    raw.vmaSetCount(this.ptr, this.vmas.length);
  }
  /** Inserts v in address order (no checks, no syncVmas). */
  insertVma(v: Vma): void {
    const i = this.vmas.findIndex((x) => x.start >= v.end);
    if (i < 0) this.vmas.push(v);
    else this.vmas.splice(i, 0, v);
  }
  /** Splits VMAs so that start and end are VMA boundaries; returns the VMAs inside [start, end). */
  splitAt(start: number, end: number): Vma[] {
    for (const a of [start, end]) {
      const v = this.vmaLookup(a);
      if (v && v.start < a) {
        if (v.isHugetlb && a % 2 ** v.hugeShift !== 0) throw new ErrnoError(-ERRNO.EINVAL, `hugetlb VMA split at unaligned ${hex(a)}`);
        const i = this.vmas.indexOf(v);
        this.vmas.splice(i, 1, v.clone(v.start, a), v.clone(a, v.end));
      }
    }
    return this.vmas.filter((v) => v.start >= start && v.end <= end);
  }

  checkRange(addr: number, length: number, what: string): void {
    // 5-level addresses reach 2^56: page-aligned values above 2^53 are still exact integers
    if (!Number.isInteger(addr) || !Number.isSafeInteger(length)) {
      throw new ErrnoError(-ERRNO.EINVAL, `${what}: address and length must be integers`);
    }
    if (addr % PAGE !== 0) throw new ErrnoError(-ERRNO.EINVAL, `${what}: address ${hex(addr)} is not page aligned`);
    if (length <= 0 || addr + length > this.taskSize + PAGE) {
      throw new ErrnoError(-ERRNO.EINVAL, `${what}: bad length ${length} at ${hex(addr)}`);
    }
  }

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

  /** mmap(): returns the address of the new mapping. Throws ErrnoError like the syscall fails. */
  mmap(o: MmapOptions): number {
    this.checkAlive();
    return this.withWriteLock(() => this.doMmap(o));
  }

  /** mmap() with the mmap write lock already held. */
  doMmap(o: MmapOptions): number {
    const { prot, flags } = o;
    if (!Number.isSafeInteger(o.length) || o.length <= 0) throw new ErrnoError(-ERRNO.EINVAL, `mmap: bad length ${o.length}`);
    if (!(flags & (MAP_SHARED | MAP_PRIVATE)) || (flags & MAP_SHARED && flags & MAP_PRIVATE)) {
      throw new ErrnoError(-ERRNO.EINVAL, "mmap: exactly one of MAP_SHARED or MAP_PRIVATE is required");
    }
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) throw new ErrnoError(-ERRNO.EINVAL, `mmap: bad prot ${prot}`);
    const anon = (flags & MAP_ANONYMOUS) !== 0;
    if (!anon && !o.file && !o.device) throw new ErrnoError(-ERRNO.EINVAL, "mmap: a file mapping needs a file");
    const hugetlb = (flags & MAP_HUGETLB) !== 0;
    const hugeShift = hugetlb ? ((flags >>> MAP_HUGE_SHIFT) & 0x3f) || PMD_SHIFT : 0;
    if (hugetlb && hugeShift !== PMD_SHIFT && hugeShift !== PUD_SHIFT) {
      throw new ErrnoError(-ERRNO.EINVAL, `mmap: unsupported hugetlb page size 2^${hugeShift}`);
    }
    const align = hugetlb ? 2 ** hugeShift : PAGE;
    const length = Math.ceil(o.length / align) * align;
    const offset = o.offset ?? 0;
    if (offset % PAGE !== 0 || offset < 0) throw new ErrnoError(-ERRNO.EINVAL, "mmap: offset must be page aligned");
    let addr: number;
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
      addr = o.addr ?? -1;
      this.checkRange(addr, length, "mmap");
      if (addr % align !== 0) throw new ErrnoError(-ERRNO.EINVAL, "mmap: MAP_FIXED address not aligned");
      const clash = this.vmas.some((v) => v.start < addr + length && v.end > addr);
      if (clash && flags & MAP_FIXED_NOREPLACE) throw new ErrnoError(-ERRNO.EEXIST, "mmap: MAP_FIXED_NOREPLACE over a mapping");
      if (clash) this.doMunmap(addr, length);
    } else {
      addr = this.getUnmappedArea(length, hugetlb ? align : length >= PMD_SIZE && anon ? PMD_SIZE : PAGE);
    }
    let file = o.file ?? null;
    if (anon && flags & MAP_SHARED) file = new File(`shmem@${hex(addr)}`, length, hugetlb ? "hugetlbfs" : "shmem");
    if (anon && hugetlb && flags & MAP_PRIVATE) file = null;
    if (!anon && hugetlb && file && file.kind !== "hugetlbfs") throw new ErrnoError(-ERRNO.EINVAL, "mmap: MAP_HUGETLB on a non-hugetlbfs file");
    const vmFlags = (vmFlagsFor(prot, flags) | (o.vmFlags ?? 0)) >>> 0;
    const vma = new Vma(addr, addr + length, vmFlags, offset / PAGE, file, o.device ?? null, hugeShift);
    this.insertVma(vma);
    this.syncVmas();
    if (flags & MAP_POPULATE) this.populate(addr, length, (prot & PROT_WRITE) !== 0);
    return addr;
  }

  /** munmap(): raises MMU_NOTIFY_UNMAP over [addr, addr+length) even where nothing is mapped. */
  munmap(addr: number, length: number): void {
    this.checkAlive();
    this.checkRange(addr, length, "munmap");
    this.withWriteLock(() => this.doMunmap(addr, Math.ceil(length / PAGE) * PAGE));
  }

  /** munmap() with the mmap write lock already held (length page aligned). */
  doMunmap(addr: number, length: number): void {
    const end = addr + length;
    if (!this.vmas.some((v) => v.start < end && v.end > addr)) return;
    for (const v of this.vmas) {
      if (v.isHugetlb && v.start < end && v.end > addr) {
        const sz = 2 ** v.hugeShift;
        if ((Math.max(addr, v.start) % sz) !== 0 || (Math.min(end, v.end) % sz) !== 0) {
          throw new ErrnoError(-ERRNO.EINVAL, "munmap: hugetlb range not huge-page aligned");
        }
      }
    }
    // partial THPs at the edges are split before the VMAs are (split_huge_pmd on vma_adjust)
    this.splitHugeAt(addr);
    this.splitHugeAt(end);
    const gone = this.splitAt(addr, end);
    this.invalidate(addr, end, MMU_NOTIFY_UNMAP, null, () => {
      for (const v of gone) this.zapRange(v, v.start, v.end);
    });
    for (const v of gone) this.vmas.splice(this.vmas.indexOf(v), 1);
    this.syncVmas();
    this.engine.raw.pruneTables(this.ptr, addr / PAGE, end / PAGE);
  }

  /** mprotect(): PROTECTION_VMA from the first populated PMD of each PUD chunk. */
  mprotect(addr: number, length: number, prot: number): void {
    this.checkAlive();
    this.withWriteLock(() => this.doMprotect(addr, length, prot));
  }

  /** mprotect() with the mmap write lock already held. */
  doMprotect(addr: number, length: number, prot: number): void {
    this.checkRange(addr, length, "mprotect");
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) throw new ErrnoError(-ERRNO.EINVAL, `mprotect: bad prot ${prot}`);
    const end = addr + Math.ceil(length / PAGE) * PAGE;
    // every page of the range must be mapped (ENOMEM otherwise), checked before anything changes
    let cur = addr;
    for (const v of this.vmas) {
      if (v.end <= cur || v.start >= end) continue;
      if (v.start > cur) break;
      if ((prot & PROT_WRITE) && !(v.flags & VM.MAYWRITE)) throw new ErrnoError(-ERRNO.EACCES, "mprotect: no VM_MAYWRITE");
      cur = v.end;
    }
    if (cur < end) throw new ErrnoError(-ERRNO.ENOMEM, `mprotect: ${hex(cur)} is not mapped`);
    this.splitHugeAt(addr);
    this.splitHugeAt(end);
    const vmas = this.splitAt(addr, end);
    const newBits = protToVmFlags(prot);
    for (const v of vmas) {
      v.flags = ((v.flags & ~(VM.READ | VM.WRITE | VM.EXEC)) | newBits) >>> 0;
      this.changeProtection(v, v.start, v.end);
    }
    this.syncVmas();
  }

  /** change_protection(): rewrites entries for v's new flags; one event per PUD chunk with tables. */
  changeProtection(v: Vma, start: number, end: number, numa = false): void {
    // SEED starts the notifier lazily at the first populated PMD of each PUD chunk
    // (change_pmd_range); v6.12+ at the first populated PUD of each P4D chunk (change_pud_range)
    if (v.isHugetlb && !numa) {
      // hugetlb_change_protection(): one event over the whole range, populated or not
      this.invalidate(start, end, MMU_NOTIFY_PROTECTION_VMA, null, () => {
        this.forEachLeaf(start, end, (addr, level, ptr, e) => {
          const ne = this.protectEntry(v, addr, level, e);
          if (ne.lo !== e.lo || ne.hi !== e.hi) this.engine.writeEntry(ptr, ne);
        });
      });
      return;
    }
    const atPud = profileInfo(this.profile).mprotectNotifierAtPud;
    const chunk = atPud ? 2 ** P4D_SHIFT : PUD_SIZE;
    for (let a = start; a < end;) {
      const chunkEnd = Math.min(end, (Math.floor(a / chunk) + 1) * chunk);
      const first = this.firstPopulated(a, chunkEnd, atPud ? 2 : 1);
      if (first >= 0) {
        this.invalidate(first, chunkEnd, MMU_NOTIFY_PROTECTION_VMA, null, () => {
          this.forEachLeaf(first, chunkEnd, (addr, level, ptr, e) => {
            const ne = numa ? this.numaEntry(e, level) : this.protectEntry(v, addr, level, e);
            if (ne.lo !== e.lo || ne.hi !== e.hi) this.engine.writeEntry(ptr, ne);
          });
        });
      }
      a = chunkEnd;
    }
  }

  /** Start of the first non-none slot at `level` (1 PMD, 2 PUD) in [a, b), -1 if none. */
  private firstPopulated(a: number, b: number, level: number): number {
    const raw = this.engine.raw;
    const size = 2 ** (PAGE_SHIFT + 9 * level);
    for (let x = a; x < b;) {
      const next = Math.min(b, (Math.floor(x / size) + 1) * size);
      const p = raw.entryPtr(this.ptr, x / PAGE, level, 0) >>> 0;
      if (p !== 0 && !pte.isNone(this.engine.readEntry(p))) return x;
      if (p === 0 && raw.entryPtrStopLevel() > level) {
        const up = raw.entryPtr(this.ptr, x / PAGE, raw.entryPtrStopLevel(), 0) >>> 0;
        if (up !== 0 && !pte.isNone(this.engine.readEntry(up))) return x;
      }
      x = next;
    }
    return -1;
  }

  private protectEntry(v: Vma, addr: number, level: number, e: Entry): Entry {
    if (pte.isSwapLike(e)) {
      // writable migration / device-private / device-exclusive entries become readable
      if (!pte.isWritableSwapLike(e)) return e;
      const t = pte.swapType(e);
      const off = pte.swapOffset(e);
      const rt = t === SWP.MIGRATION_WRITE ? SWP.MIGRATION_READ : t === SWP.DEVICE_WRITE ? SWP.DEVICE_READ : SWP.DEVICE_EXCLUSIVE_READ;
      return pte.mkSwapEntry(rt, off, e.lo & pte.SWP_FLAGS_LO);
    }
    if (!pte.isPresent(e)) return e;
    const pfn = pte.pfnOf(e);
    const keepLo = e.lo & (PTE_BITS.SPECIAL | PTE_BITS.DIRTY | PTE_BITS.ACCESSED | PTE_BITS.PSE | PTE_BITS.SOFT_DIRTY | PTE_BITS.UFFD_WP);
    if (!(v.flags & VM.READ) && !(v.flags & VM.WRITE) && !(v.flags & VM.EXEC)) {
      return pte.mkPfnEntry(pfn, PTE_BITS.PROTNONE | PTE_BITS.USER | keepLo, e.hi & pte.FLAGS_HI);
    }
    let write = false;
    // a uffd-wp protected entry stays read-only until userfaultfd lifts the protection
    if (v.flags & VM.WRITE && !(e.lo & PTE_BITS.UFFD_WP)) {
      if (v.isShared) {
        write = !(v.file?.wantsWriteNotify ?? false) || (e.lo & PTE_BITS.DIRTY) !== 0;
      } else if (!(e.lo & PTE_BITS.SPECIAL) && this.engine.hasStructPage(pfn)) {
        const f = this.engine.frameFlags(pfn);
        write = (f & FRAME.ANON) !== 0 && (f & FRAME.ANON_EXCLUSIVE) !== 0;
      }
    }
    return pte.mkPfnEntry(pfn, PTE_BITS.PRESENT | PTE_BITS.USER | keepLo | (write ? PTE_BITS.RW : 0), e.hi & pte.FLAGS_HI);
  }

  private numaEntry(e: Entry, _level: number): Entry {
    if (!pte.isPresent(e) || pte.isProtnone(e) || (e.lo & PTE_BITS.SPECIAL)) return e;
    const pfn = pte.pfnOf(e);
    const keepLo = e.lo & (PTE_BITS.RW | PTE_BITS.DIRTY | PTE_BITS.ACCESSED | PTE_BITS.PSE | PTE_BITS.SOFT_DIRTY | PTE_BITS.UFFD_WP);
    return pte.mkPfnEntry(pfn, PTE_BITS.PROTNONE | PTE_BITS.USER | keepLo, e.hi & pte.FLAGS_HI);
  }

  /** change_prot_numa(): makes the populated entries of [start, end) protnone (NUMA hinting). */
  numaHintingScan(start: number, end: number): void {
    this.checkAlive();
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end || v.isHugetlb || !v.isAnonymous) continue;
      this.changeProtection(v, Math.max(start, v.start), Math.min(end, v.end), true);
    }
  }

  // ---- page-table access -------------------------------------------------------------------

  /** Pointer to the entry at `level` (0 PTE, 1 PMD, 2 PUD, 3 P4D/PGD, 4 PGD) mapping addr. */
  entryPtr(addr: number, level: number, alloc: boolean): number {
    const p = this.engine.raw.entryPtr(this.ptr, addr / PAGE, level, alloc ? 1 : 0) >>> 0;
    if (p === 0 && alloc && this.engine.raw.entryPtrStopLevel() < 0) throw new EngineError("out of engine memory for page tables");
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
  /** Calls f for every non-none leaf entry in [start, end) (PTEs, huge leaves, swap-like entries). */
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
      page = (Math.floor(page / 2 ** (9 * level)) + 1) * 2 ** (9 * level);
    }
  }
  /** Number of page-table pages this mm owns. */
  get pageTables(): number {
    return this.engine.raw.mmTables(this.ptr);
  }

  // ---- tearing down mappings ---------------------------------------------------------------

  /** Drops whatever maps [start, end) of v (zap_page_range) without events; huge leaves must fit. */
  zapRange(v: Vma, start: number, end: number): void {
    this.forEachLeaf(start, end, (addr, level, ptr, e) => {
      this.releaseEntry(v, addr, level, e);
      this.engine.writeEntry(ptr, pte.NONE);
    });
  }

  /** Releases what one leaf entry holds: a page reference, a swap slot, a device page. */
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
    const leaf = this.leafOf(addr);
    if (leaf.level === 2 && pte.isHugeLeaf(leaf.entry)) this.splitHugePud(addr);
    else if (addr % PMD_SIZE !== 0 && leaf.level === 1 && pte.isHugeLeaf(leaf.entry)) this.splitHugePmd(v, addr);
  }

  /** __split_huge_pmd(): the PMD leaf becomes a table of 512 PTEs, inside a CLEAR over 2 MiB. */
  splitHugePmd(v: Vma, addr: number): void {
    const haddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
    this.invalidate(haddr, haddr + PMD_SIZE, MMU_NOTIFY_CLEAR, null, () => this.splitHugePmdLocked(v, haddr));
  }

  /** The split itself, for callers that already run inside an invalidation. */
  splitHugePmdLocked(v: Vma, haddr: number): void {
    const eng = this.engine;
    const slot = this.entryPtr(haddr, 1, false);
    if (slot === 0) return;
    const e = eng.readEntry(slot);
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
    for (let i = 0; i < 512; i++) {
      const ne = isZero ? pte.mk.zero(PHYS.ZERO_PFN) : pte.mkPfnEntry(pfn + i, PTE_BITS.USER | keepLo);
      eng.writeEntry(table + i * 8, ne);
    }
    if (!isZero) {
      eng.setRefcount(pfn, eng.refcount(pfn) + 511);
      const mc = eng.mapcount(pfn);
      // every subpage inherits the head's mapcount and AnonExclusive state
      const excl = eng.frameFlags(pfn) & FRAME.ANON_EXCLUSIVE;
      for (let i = 0; i < 512; i++) {
        eng.setMapcount(pfn + i, mc);
        eng.setFrameFlags(pfn + i, (eng.frameFlags(pfn + i) & ~FRAME.ANON_EXCLUSIVE) | excl);
      }
    }
  }

  // ---- CPU access --------------------------------------------------------------------------

  /** Makes addr accessible to the CPU (read or write), faulting like a user access would. */
  private cpuFault(addr: number, write: boolean): { pfn: number; offset: number } {
    this.checkAlive();
    const v = this.vmaLookup(addr);
    if (!v) throw new ErrnoError(-ERRNO.EFAULT, `SIGSEGV: no mapping at ${hex(addr)}`);
    if (write ? !(v.flags & VM.WRITE) : !(v.flags & (VM.READ | VM.WRITE | VM.EXEC))) {
      throw new ErrnoError(-ERRNO.EFAULT, `SIGSEGV: ${write ? "write" : "read"} access to ${v} at ${hex(addr)}`);
    }
    for (let tries = 0; tries < 16; tries++) {
      const t = this.translate(addr, write);
      if (t) return t;
      const r = handleMmFault(this, v, addr - (addr % PAGE), write ? FAULT_FLAG_WRITE | FAULT_FLAG_USER : FAULT_FLAG_USER);
      if (r & VM_FAULT_ERROR) {
        throw new ErrnoError(-ERRNO.EFAULT, `${vmFaultString(r)}: CPU ${write ? "write" : "read"} at ${hex(addr)}`);
      }
    }
    throw new SimulationDeadlock(`CPU access at ${hex(addr)} keeps faulting`);
  }

  /** The frame and offset behind addr if the CPU could access it now without a fault. */
  translate(addr: number, write: boolean): { pfn: number; offset: number } | null {
    const leaf = this.leafOf(addr);
    if (leaf.level < 0) return null;
    const e = leaf.entry;
    if ((e.lo & PTE_BITS.PRESENT) === 0) return null;
    if (write && !pte.isWrite(e)) return null;
    const span = 2 ** (PAGE_SHIFT + 9 * leaf.level);
    const inLeaf = addr % span;
    return { pfn: pte.pfnOf(e) + Math.floor(inLeaf / PAGE), offset: addr % PAGE };
  }

  /** Reads bytes as the CPU would (faulting pages in). */
  cpuRead(addr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let done = 0; done < length;) {
      const a = addr + done;
      const n = Math.min(length - done, PAGE - (a % PAGE));
      const { pfn, offset } = this.cpuFault(a, false);
      this.engine.readFrame(pfn, offset, out.subarray(done, done + n));
      done += n;
    }
    return out;
  }
  /** Writes bytes as the CPU would (faulting pages in, breaking COW). */
  cpuWrite(addr: number, data: Uint8Array): void {
    for (let done = 0; done < data.length;) {
      const a = addr + done;
      const n = Math.min(data.length - done, PAGE - (a % PAGE));
      const { pfn, offset } = this.cpuFault(a, true);
      this.markDirty(a);
      this.engine.writeFrame(pfn, offset, data.subarray(done, done + n));
      done += n;
    }
  }
  /** What the MMU does on a write through a writable entry: sets its A and D bits. */
  private markDirty(addr: number): void {
    const leaf = this.leafOf(addr);
    if (leaf.level < 0 || !pte.isPresent(leaf.entry)) return;
    const lo = (leaf.entry.lo | PTE_BITS.ACCESSED | PTE_BITS.DIRTY) >>> 0;
    if (lo !== leaf.entry.lo) this.engine.writeEntry(leaf.ptr, { lo, hi: leaf.entry.hi });
  }
  cpuReadU32(addr: number): number {
    const b = this.cpuRead(addr, 4);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }
  cpuWriteU32(addr: number, value: number): void {
    this.cpuWrite(addr, new Uint8Array([value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff]));
  }
  /** A data-less CPU access: faults the page in for read or write. */
  touch(addr: number, write: boolean): void {
    this.cpuFault(addr, write);
  }
  /** MAP_POPULATE / mm_populate(). */
  populate(addr: number, length: number, write: boolean): void {
    for (let a = addr; a < addr + length; a += PAGE) this.touch(a, write);
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

  // ---- lifetime ----------------------------------------------------------------------------

  private checkAlive(): void {
    if (this.dead) throw new ErrnoError(-ERRNO.EINVAL, "the mm has exited");
  }
  get exited(): boolean {
    return this.dead;
  }

  /** exit_mmap(): RELEASE to every subscription, then UNMAP over everything, then frees all. */
  exit(): void {
    if (this.dead) return;
    this.notifiers.release();
    this.invalidate(0, Infinity, MMU_NOTIFY_UNMAP, null, () => {
      for (const v of this.vmas) this.zapRange(v, v.start, v.end);
    });
    this.vmas.length = 0;
    this.syncVmas();
    this.engine.raw.mmDestroy(this.ptr);
    this.dead = true;
  }
}
