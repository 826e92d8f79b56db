// A device with its own memory (memremap_pages of MEMORY_DEVICE_PRIVATE or _COHERENT): the pgmap
// callbacks (page_free, migrate_to_ram), a free list of device pages, and the driver-side helpers
// that move a range to the device and back (docs/semantics.md §6).
import { machineOf, reportCallbackError } from "../mm/machine.js";
import { ArgumentTypeError } from "../engine/errors.js";
import { argBool, argFunction, argInt, argOptions, argULong } from "../engine/validate.js";
import type { Engine } from "../engine/engine.js";
import { ErrnoError } from "../engine/errors.js";
import { FRAME, PAGE_SIZE, PHYS, VM } from "../engine/layout.js";
import { VM_FAULT_OOM, VM_FAULT_SIGBUS, type VmFault } from "../fault/fault.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { MAP_SHARED, hex } from "../mm/vma.js";
import {
  MIGRATE_PFN_MIGRATE, MIGRATE_VMA_SELECT_DEVICE_PRIVATE, MIGRATE_VMA_SELECT_SYSTEM, hasFlag, migrateDeviceRange,
  migratePfn, migratePfnToPfn, migrateVmaFinalize, migrateVmaPages, migrateVmaSetup,
} from "../ops/migrate-device.js";
import { mmap } from "../ops/mmap.js";

const PAGE = PAGE_SIZE;
/** The most pages one Device may have (its free list is a JavaScript array). */
export const DEVICE_PAGES_MAX = 2 ** 24;

export interface DeviceOptions {
  /** pgmap->owner; defaults to the Device itself. Compared by identity with dev_private_owner. */
  owner?: unknown;
  /** Device-private pages (default 1024). */
  pages?: number;
  /** Replaces the default migrate_to_ram (dmirror's: migrate the faulting page back). */
  migrateToRam?: (vmf: VmFault, device: Device) => number;
  /** MEMORY_DEVICE_COHERENT instead of MEMORY_DEVICE_PRIVATE: pages the CPU maps directly. */
  coherent?: boolean;
  /** Called when a device page is freed (page_free). */
  pageFree?: (pfn: number) => void;
}

/** A device with device-private memory (MEMORY_DEVICE_PRIVATE). */
export class Device {
  readonly owner: unknown;
  readonly pgmapIndex: number;
  readonly firstPfn: number;
  readonly npages: number;
  readonly coherent: boolean;
  private readonly freeList: number[] = [];
  private readonly userMigrateToRam?: (vmf: VmFault, device: Device) => number;
  private readonly userPageFree?: (pfn: number) => void;
  /** Times migrate_to_ram ran (for tests and tracing). */
  migrateToRamCalls = 0;

  constructor(readonly engine: Engine, options: DeviceOptions = {}) {
    const opts = argOptions<DeviceOptions>("new Device", "options", options);
    if (typeof engine?.registerPgmap !== "function") throw new ArgumentTypeError("new Device", "engine", "must be an Engine", engine);
    this.owner = opts.owner ?? this;
    this.npages = argInt("new Device", "pages", opts.pages ?? 1024, 1, DEVICE_PAGES_MAX);
    this.coherent = argBool("new Device", "coherent", opts.coherent ?? false);
    if (opts.migrateToRam !== undefined) argFunction("new Device", "migrateToRam", opts.migrateToRam);
    if (opts.pageFree !== undefined) argFunction("new Device", "pageFree", opts.pageFree);
    const { index, firstPfn } = engine.registerPgmap(this.owner, this.npages, this.coherent);
    this.pgmapIndex = index;
    this.firstPfn = firstPfn;
    for (let i = this.npages - 1; i >= 0; i--) this.freeList.push(firstPfn + i);
    this.userMigrateToRam = opts.migrateToRam;
    this.userPageFree = opts.pageFree;
    engine.pgmaps.set(index, this);
  }

  /** Allocates a device page (refcount 1); 0 when the device memory is full. */
  allocPage(): number {
    const pfn = this.freeList.pop();
    if (pfn === undefined) return 0;
    this.engine.setRefcount(pfn, 1);
    this.engine.setMapcount(pfn, 0);
    return pfn;
  }
  get freePages(): number {
    return this.freeList.length;
  }
  /** page_free(): the last reference to a device page went away. */
  pageFree(pfn: number): void {
    this.engine.clearFrame(pfn);
    this.freeList.push(pfn);
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
  /** dev_pagemap_ops.migrate_to_ram. */
  migrateToRam(vmf: VmFault): number {
    this.migrateToRamCalls++;
    if (this.userMigrateToRam) {
      const r = this.driverCallback("migrateToRam", () => this.userMigrateToRam!(vmf, this));
      // a callback that threw (or returned something else than VM_FAULT bits) failed the fault
      return typeof r === "number" && Number.isInteger(r) ? r : VM_FAULT_SIGBUS;
    }
    // dmirror_devmem_fault(): migrate just the faulting page back to system memory
    const m = migrateVmaSetup(vmf.mm, {
      start: vmf.address, end: vmf.address + PAGE, pgmapOwner: this.owner,
      flags: MIGRATE_VMA_SELECT_DEVICE_PRIVATE, faultPage: vmf.page,
    });
    if (typeof m === "number") return VM_FAULT_SIGBUS;
    for (let i = 0; i < m.npages; i++) {
      const spfn = migratePfnToPfn(m.src[i]);
      if (!spfn || !hasFlag(m.src[i], MIGRATE_PFN_MIGRATE)) continue;
      const dpfn = this.engine.allocFrames(0, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
      if (dpfn === 0) {
        migrateVmaFinalize(m);
        return VM_FAULT_OOM;
      }
      this.engine.copyFrame(spfn, dpfn);
      m.dst[i] = migratePfn(dpfn);
    }
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

  /** Maps `length` bytes of device address space (VM_IO|VM_PFNMAP, or VM_MIXEDMAP) in mm. */
  mmap(mm: MmStruct, length: number, prot: number, kind: "pfnmap" | "io" | "mixedmap"): number {
    const vmFlags = kind === "mixedmap" ? VM.MIXEDMAP : kind === "io" ? VM.IO | VM.PFNMAP : VM.PFNMAP;
    return mmap(mm, { length, prot, flags: MAP_SHARED, device: this, vmFlags: vmFlags | VM.DONTEXPAND });
  }
}

