// A device with its own memory (memremap_pages of MEMORY_DEVICE_PRIVATE or _COHERENT): the pgmap
// callbacks (page_free, migrate_to_ram), a free list of device pages, and the driver-side helpers
// that move a range to the device and back (docs/semantics.md §6).
import { reportCallbackError } from "../mm/machine.js";
import { machineOf } from "../mm/mm-struct.js";
import { ArgumentTypeError } from "../engine/errors.js";
import { argBool, argFunction, argInt, argOptions, argULong } from "../engine/validate.js";
import type { Engine } from "../engine/engine.js";
import { ErrnoError } from "../engine/errors.js";
import { ERRNO, FRAME, PAGE_SIZE, PHYS, VM } from "../engine/layout.js";
import { VM_FAULT_OOM, VM_FAULT_SIGBUS, type VmFault } from "../fault/fault.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { MAP_PRIVATE, MAP_SHARED, hex } from "../mm/vma.js";
import {
  MIGRATE_PFN_MIGRATE,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  type MigrateVma,
  hasFlag,
  migrateDeviceRange,
  migratePfn,
  migratePfnToPfn,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
} from "../ops/migrate-device.js";
import { mmap } from "../ops/mmap.js";

const PAGE = PAGE_SIZE;
/** The most pages one Device may have (its free list is a JavaScript array). */
export const DEVICE_PAGES_MAX = 2 ** 24;

/** Options of `new Device()`: pgmap owner, size, memory type and driver callbacks. */
export interface DeviceOptions {
  /** pgmap->owner; defaults to the Device itself. Compared by identity with dev_private_owner. */
  owner?: unknown;
  /** Device-private pages (default 1024). */
  pages?: number;
  /**
   * Replaces the default migrate_to_ram (dmirror's: migrate the faulting page back). A custom one
   * may call `device.defaultMigrateToRam(vmf)` and allocate with `device.allocSystemPage()`.
   */
  migrateToRam?: (vmf: VmFault, device: Device) => number;
  /**
   * Called by the default migrate_to_ram once the system pages are allocated and filled, before
   * migrate_vma_pages(): the driver forgets its own device mappings of the pages moving back
   * (dmirror erases their device page-table entries here). `m.src[i]` has MIGRATE for each page
   * that moves, at `m.start + i * PAGE_SIZE`.
   */
  onMigrateToRam?: (m: MigrateVma, device: Device) => void;
  /** MEMORY_DEVICE_COHERENT instead of MEMORY_DEVICE_PRIVATE: pages the CPU maps directly. */
  coherent?: boolean;
  /** Called when a device page is freed (page_free). */
  pageFree?: (pfn: number) => void;
}

/**
 * A device with its own memory: memremap_pages() of MEMORY_DEVICE_PRIVATE (default) or
 * MEMORY_DEVICE_COHERENT, with the dev_pagemap_ops callbacks and dmirror-like helpers that move
 * ranges to the device and back (docs/semantics.md §6). Page counts are 4 KiB pages; pfns are numbers.
 *
 * @example
 * ```ts
 * const engine = new Engine();
 * const mm = new Mm(engine);
 * const dev = new Device(engine, { pages: 256 });
 * const addr = mm.mmap({ length: 4 * 4096, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
 * mm.cpuWriteU32(addr, 7);
 * dev.migrateToDevice(mm, addr, addr + 4 * 4096);   // 4: pages now device-private
 * mm.cpuReadU32(addr);                               // 7: the CPU fault ran migrate_to_ram
 * ```
 */
export class Device {
  /** pgmap->owner: compared by identity with HmmRange.devPrivateOwner and MigrateVmaArgs.pgmapOwner. */
  readonly owner: unknown;
  /** Index of the device's dev_pagemap in the engine's pgmap table. */
  readonly pgmapIndex: number;
  /** First pfn of the device's memory; its pages are firstPfn .. firstPfn + npages - 1. */
  readonly firstPfn: number;
  /** Device memory size, in 4 KiB pages. */
  readonly npages: number;
  /** MEMORY_DEVICE_COHERENT (the CPU maps the pages directly) rather than MEMORY_DEVICE_PRIVATE. */
  readonly coherent: boolean;
  private readonly freeList: number[] = [];
  /** isFree[pfn - firstPfn]: whether the page is free (the free list is only the order of reuse). */
  private readonly isFree: Uint8Array;
  private nfree: number;
  private readonly userMigrateToRam?: (vmf: VmFault, device: Device) => number;
  private readonly userPageFree?: (pfn: number) => void;
  private readonly userOnMigrateToRam?: (m: MigrateVma, device: Device) => void;
  /** Times migrate_to_ram ran (for tests and tracing). */
  migrateToRamCalls = 0;

  /**
   * memremap_pages(): registers `opts.pages` device pages with the engine.
   * Throws RangeError unless pages is a positive integer, EngineError when no pfn range is left.
   *
   * @param engine The machine the device is plugged into.
   */
  constructor(
    readonly engine: Engine,
    options: DeviceOptions = {},
  ) {
    const opts = argOptions<DeviceOptions>("new Device", "options", options);
    if (typeof engine?.registerPgmap !== "function")
      throw new ArgumentTypeError("new Device", "engine", "must be an Engine", engine);
    this.owner = opts.owner ?? this;
    this.npages = argInt("new Device", "pages", opts.pages ?? 1024, 1, DEVICE_PAGES_MAX);
    this.coherent = argBool("new Device", "coherent", opts.coherent ?? false);
    if (opts.migrateToRam !== undefined) argFunction("new Device", "migrateToRam", opts.migrateToRam);
    if (opts.pageFree !== undefined) argFunction("new Device", "pageFree", opts.pageFree);
    const { index, firstPfn } = engine.registerPgmap(this.owner, this.npages, this.coherent);
    this.pgmapIndex = index;
    this.firstPfn = firstPfn;
    for (let i = this.npages - 1; i >= 0; i--) this.freeList.push(firstPfn + i);
    this.isFree = new Uint8Array(this.npages).fill(1);
    this.nfree = this.npages;
    this.userMigrateToRam = opts.migrateToRam;
    this.userPageFree = opts.pageFree;
    this.userOnMigrateToRam = opts.onMigrateToRam;
    engine.pgmaps.set(index, this);
  }

  /** Allocates a device page (refcount 1); 0 when the device memory is full. */
  allocPage(): number {
    // the free list may hold pages a folio allocation took since (lazily dropped here)
    for (let pfn = this.freeList.pop(); pfn !== undefined; pfn = this.freeList.pop()) {
      if (!this.isFree[pfn - this.firstPfn]) continue;
      this.take(pfn);
      return pfn;
    }
    return 0;
  }
  private take(pfn: number): void {
    this.isFree[pfn - this.firstPfn] = 0;
    this.nfree--;
    this.engine.setRefcount(pfn, 1);
    this.engine.setMapcount(pfn, 0);
  }
  /**
   * 2^order free device pages starting at a 2^order-aligned pfn, each with refcount 1 (every
   * page of a device folio holds its own reference here); 0 when no such run is free.
   */
  allocFolio(order: number): number {
    const n = 2 ** order;
    for (let head = Math.ceil(this.firstPfn / n) * n; head + n <= this.firstPfn + this.npages; head += n) {
      let i = 0;
      while (i < n && this.isFree[head + i - this.firstPfn]) i++;
      if (i < n) continue;
      for (i = 0; i < n; i++) this.take(head + i);
      return head;
    }
    return 0;
  }
  /** Device pages not allocated, in 4 KiB pages. */
  get freePages(): number {
    return this.nfree;
  }
  /** page_free(): the last reference to a device page went away. */
  pageFree(pfn: number): void {
    this.engine.clearFrame(pfn);
    this.freeList.push(pfn);
    this.isFree[pfn - this.firstPfn] = 1;
    this.nfree++;
    if (this.userPageFree) this.driverCallback("pageFree", () => this.userPageFree!(pfn));
  }
  /**
   * Runs a user callback of the driver: the kernel's operation around it continues whatever it
   * throws (the exception is rethrown when that operation completes), and write-lock operations
   * or exit from inside it are refused (LockStateError).
   */
  private driverCallback<T>(what: string, f: () => T): T | undefined {
    const machine = machineOf(this.engine);
    machine.driverCallbackDepth++;
    try {
      return f();
    } catch (e) {
      reportCallbackError(this.engine, `Device ${what} callback`, e);
      return undefined;
    } finally {
      machine.driverCallbackDepth--;
    }
  }
  /**
   * alloc_page_vma() for a page coming back from the device: an anonymous system page, exclusive
   * to its (single) mapping, refcount 1. Returns 0 when system memory is exhausted.
   */
  allocSystemPage(): number {
    return this.engine.allocFrames(0, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
  }
  /** dev_pagemap_ops.migrate_to_ram. */
  migrateToRam(vmf: VmFault): number {
    this.migrateToRamCalls++;
    if (this.userMigrateToRam) {
      const r = this.driverCallback("migrateToRam", () => this.userMigrateToRam!(vmf, this));
      // a callback that threw (or returned something else than VM_FAULT bits) failed the fault
      return typeof r === "number" && Number.isInteger(r) ? r : VM_FAULT_SIGBUS;
    }
    return this.defaultMigrateToRam(vmf);
  }
  /** dmirror_devmem_fault() of the seed: migrate just the faulting page back to system memory. */
  defaultMigrateToRam(vmf: VmFault): number {
    const m = migrateVmaSetup(vmf.mm, {
      start: vmf.address,
      end: vmf.address + PAGE,
      pgmapOwner: this.owner,
      flags: MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
      faultPage: vmf.page,
    });
    if (typeof m === "number") return VM_FAULT_SIGBUS;
    for (let i = 0; i < m.npages; i++) {
      const spfn = migratePfnToPfn(m.src[i]);
      if (!spfn || !hasFlag(m.src[i], MIGRATE_PFN_MIGRATE)) continue;
      const dpfn = this.allocSystemPage();
      if (dpfn === 0) {
        migrateVmaFinalize(m);
        return VM_FAULT_OOM;
      }
      this.engine.copyFrame(spfn, dpfn);
      m.dst[i] = migratePfn(dpfn);
    }
    if (this.userOnMigrateToRam) this.driverCallback("onMigrateToRam", () => this.userOnMigrateToRam!(m, this));
    migrateVmaPages(m);
    migrateVmaFinalize(m);
    return 0;
  }

  /** Migrates [start, end) of mm to device memory (dmirror_migrate_to_device). Returns pages moved. */
  migrateToDevice(mm: MmStruct, start: number, end: number): number {
    argULong("Device.migrateToDevice", "start", start);
    argULong("Device.migrateToDevice", "end", end);
    mm.checkAlive("Device.migrateToDevice");
    const m = migrateVmaSetup(mm, { start, end, pgmapOwner: this.owner, flags: MIGRATE_VMA_SELECT_SYSTEM });
    if (typeof m === "number") throw new ErrnoError(m, `migrate_vma_setup(${hex(start)}, ${hex(end)})`);
    let moved = 0;
    for (let i = 0; i < m.npages; i++) {
      if (!hasFlag(m.src[i], MIGRATE_PFN_MIGRATE)) continue;
      const dpfn = this.allocPage();
      if (dpfn === 0) break;
      const spfn = migratePfnToPfn(m.src[i]);
      if (spfn && spfn !== PHYS.ZERO_PFN) this.engine.copyFrame(spfn, dpfn);
      else this.engine.clearFrame(dpfn);
      m.dst[i] = migratePfn(dpfn);
    }
    migrateVmaPages(m);
    for (let i = 0; i < m.npages; i++) if (m.dst[i] && hasFlag(m.src[i], MIGRATE_PFN_MIGRATE)) moved++;
    migrateVmaFinalize(m);
    return moved;
  }

  /** Evicts every page of this device back to system memory (migrateDeviceRange). */
  evictAll(): number {
    return migrateDeviceRange(this.engine, this.firstPfn, this.npages);
  }

  /**
   * Maps `length` bytes of device address space (VM_IO|VM_PFNMAP, or VM_MIXEDMAP) in mm;
   * `flags` is MAP_SHARED (default) or MAP_PRIVATE (a private mapping of the device file: pages
   * inserted with vm_insert_page are then mapped read-only, copied on write).
   */
  mmap(
    mm: MmStruct,
    length: number,
    prot: number,
    kind: "pfnmap" | "io" | "mixedmap",
    flags: number = MAP_SHARED,
  ): number {
    if (flags !== MAP_SHARED && flags !== MAP_PRIVATE)
      throw new ErrnoError(-ERRNO.EINVAL, `Device.mmap: flags must be MAP_SHARED or MAP_PRIVATE, got ${flags}`);
    const vmFlags = kind === "mixedmap" ? VM.MIXEDMAP : kind === "io" ? VM.IO | VM.PFNMAP : VM.PFNMAP;
    return mmap(mm, { length, prot, flags, device: this, vmFlags: vmFlags | VM.DONTEXPAND });
  }
}
