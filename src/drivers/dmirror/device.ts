// One dmirror device (struct dmirror_device): device memory allocated on demand in chunks (each a
// memremap_pages() region, here a Device), the free list of device pages, which open file migrated
// each page (the page's zone_device_data), migrate_to_ram and RELEASE's eviction.
import type { Engine } from "../../engine/engine.js";
import { ERRNO, FRAME, PAGE_SIZE, PMD_ORDER, PTRS_PER_TABLE } from "../../engine/layout.js";
import * as pte from "../../engine/pte.js";
import { type MmStruct, liveMms } from "../../mm/mm-struct.js";
import { splitHugePmd } from "../../mm/huge-split.js";
import { MMU_NOTIFY_CLEAR } from "../../mm/notifier.js";
import type { Profile } from "../../engine/profile.js";
import {
  type MigrateVma,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_VMA_SELECT_COMPOUND,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  hasFlag,
  migrateDeviceRange,
  migratePfnToPfn,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
  migrateVmaSplitCompound,
} from "../../ops/migrate-device.js";
import { profileInfo } from "../../engine/profile.js";
import { VM_FAULT_SIGBUS, type VmFault } from "../../fault/fault.js";
import { compoundToSystem } from "./thp.js";
import { Device } from "../device.js";
import { HMM_DMIRROR_MEMORY_DEVICE_COHERENT, HMM_DMIRROR_MEMORY_DEVICE_PRIVATE } from "./uapi.js";

/** Pages of one device memory chunk (DEVMEM_CHUNK_SIZE, 256 MiB). */
export const DEVMEM_CHUNK_PAGES = (256 << 20) / PAGE_SIZE;
/** The most chunks one device allocates (DEVMEM_CHUNKS_RESERVE grows without a hard limit in the kernel). */
export const DEVMEM_MAX_CHUNKS = 16;

/** Who erases a device page's device page-table entry when the page moves back (a DmirrorFile). */
export interface DmirrorPageUser {
  /** Forgets the device page-table entry of the page at `addr` (xa_erase). */
  erase(addr: number): void;
}

/** Options of a dmirror device: chunk size and count. */
export interface DmirrorDeviceOptions {
  /** Pages per chunk (default DEVMEM_CHUNK_PAGES). */
  chunkPages?: number;
  /** Chunk limit (default DEVMEM_MAX_CHUNKS): allocation fails beyond it. */
  maxChunks?: number;
}

/** Counters of a DmirrorDevice's pages (DmirrorDevice.stats), in 4 KiB pages. */
export interface DmirrorDeviceStats {
  /** Device pages allocated (a THP migration counts 512). */
  allocated: number;
  /** Device pages freed (their last reference went away). */
  freed: number;
  /** Device pages migrated back to system RAM by a CPU fault (a THP counts 512). */
  migratedToRam: number;
}

/** A dmirror device: the `mdevice` every file of it uses as owner (pgmap->owner, dev_private_owner). */
export class DmirrorDevice {
  /** The device-memory chunks allocated so far (dmirror_allocate_chunk), each a Device. */
  readonly chunks: Device[] = [];
  /** Pages per chunk, in 4 KiB pages (test_hmm.c: 256 MiB). */
  readonly chunkPages: number;
  /** Most chunks the device may allocate. */
  readonly maxChunks: number;
  /** The file that migrated each in-use device page (rpage->zone_device_data). */
  private readonly users = new Map<number, DmirrorPageUser>();
  /** Set by FLAGS(FAIL_ALLOC): the next allocation of a migration fails once. */
  failNextAlloc = false;
  /** Pages this device ever allocated and freed (counters of the kernel's debugfs-less driver, for tests). */
  readonly stats: DmirrorDeviceStats = { allocated: 0, freed: 0, migratedToRam: 0 };

  constructor(
    /** The machine the device is plugged into. */
    readonly engine: Engine,
    /** Device number 0..3 (the node hmm_dmirror<N>). */
    readonly minor: number,
    /** HMM_DMIRROR_MEMORY_DEVICE_PRIVATE or _COHERENT. */
    readonly zoneDeviceType: number,
    /** Kernel profile: selects the test_hmm.c revision. */
    readonly profile: Profile,
    opts: DmirrorDeviceOptions = {},
  ) {
    if (zoneDeviceType !== HMM_DMIRROR_MEMORY_DEVICE_PRIVATE && zoneDeviceType !== HMM_DMIRROR_MEMORY_DEVICE_COHERENT) {
      throw new RangeError(`dmirror: zoneDeviceType must be 1 (private) or 2 (coherent), got ${zoneDeviceType}`);
    }
    this.chunkPages = opts.chunkPages ?? DEVMEM_CHUNK_PAGES;
    this.maxChunks = opts.maxChunks ?? DEVMEM_MAX_CHUNKS;
    if (!Number.isInteger(this.chunkPages) || this.chunkPages <= 0)
      throw new RangeError("dmirror: chunkPages must be a positive integer");
    if (!Number.isInteger(this.maxChunks) || this.maxChunks <= 0)
      throw new RangeError("dmirror: maxChunks must be a positive integer");
  }

  /** pgmap->owner of every chunk (and the VMA device of an mmap of the device file). */
  get owner(): unknown {
    return this;
  }

  /** MEMORY_DEVICE_COHERENT rather than MEMORY_DEVICE_PRIVATE. */
  get coherent(): boolean {
    return this.zoneDeviceType === HMM_DMIRROR_MEMORY_DEVICE_COHERENT;
  }

  /** dmirror_allocate_chunk(): one more region of device memory, owned by this device. */
  private allocateChunk(): Device | null {
    if (this.chunks.length >= this.maxChunks) return null;
    const chunk = new Device(this.engine, {
      owner: this,
      pages: this.chunkPages,
      coherent: this.coherent,
      pageFree: (pfn) => this.pageFree(pfn),
      onMigrateToRam: (m) => this.eraseUsers(m),
      migrateToRam: profileInfo(this.profile).deviceThp ? (vmf, dev) => this.migrateFolioToRam(vmf, dev) : undefined,
    });
    this.chunks.push(chunk);
    return chunk;
  }

  /**
   * dmirror_devmem_alloc_page(): a free device page (zeroed content), allocating a chunk when
   * none is free; `user` is the file the page is migrated for. 0 when out of device memory.
   * FLAGS(FAIL_ALLOC) fails the next allocation once, and the driver's fallback for a failed
   * allocation is a small page: for a small page the flag is just consumed.
   */
  allocPage(user: DmirrorPageUser): number {
    this.failNextAlloc = false;
    let pfn = 0;
    for (const c of this.chunks) if ((pfn = c.allocPage()) !== 0) break;
    if (pfn === 0) pfn = this.allocateChunk()?.allocPage() ?? 0;
    if (pfn === 0) return 0;
    this.engine.clearFrame(pfn);
    this.users.set(pfn, user);
    this.stats.allocated++;
    return pfn;
  }

  /**
   * dmirror_devmem_alloc_page() of a large (order-9) folio: 512 free device pages starting at a
   * 512-aligned pfn of one chunk (a new chunk when none has such a run), all given to `user`.
   * 0 when out of device memory or when FLAGS(FAIL_ALLOC) asked this allocation to fail.
   */
  allocFolio(user: DmirrorPageUser): number {
    if (this.failNextAlloc) {
      this.failNextAlloc = false;
      return 0;
    }
    let head = 0;
    for (const c of this.chunks) if ((head = c.allocFolio(PMD_ORDER)) !== 0) break;
    if (head === 0) head = this.allocateChunk()?.allocFolio(PMD_ORDER) ?? 0;
    if (head === 0) return 0;
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      this.engine.clearFrame(head + i);
      this.users.set(head + i, user);
    }
    this.stats.allocated += PTRS_PER_TABLE;
    return head;
  }

  /** Consumes FLAGS(FAIL_ALLOC) for an allocation outside the device (the system THP going back). */
  takeFailAlloc(): boolean {
    const f = this.failNextAlloc;
    this.failNextAlloc = false;
    return f;
  }

  /** dmirror_devmem_free(): the last reference to a device page went away. */
  private pageFree(pfn: number): void {
    this.users.delete(pfn);
    this.stats.freed++;
  }

  /**
   * dmirror_devmem_fault() of v6.19: a PMD-mapped device folio moves back whole (a system THP,
   * or page by page after a split when that allocation fails); a PTE-mapped page alone.
   */
  private migrateFolioToRam(vmf: VmFault, dev: Device): number {
    const leaf = vmf.mm.leafOf(vmf.address);
    // PTE-mapped, or PMD-mapped by several mms after fork: the faulting page alone
    if (leaf.level !== 1 || !pte.isDevicePrivate(leaf.entry) || this.engine.mapcount(pte.swapOffset(leaf.entry)) > 1) {
      return dev.defaultMigrateToRam(vmf);
    }
    const haddr = vmf.address - (vmf.address % (512 * PAGE_SIZE));
    const m = migrateVmaSetup(vmf.mm, {
      start: haddr,
      end: haddr + 512 * PAGE_SIZE,
      pgmapOwner: this,
      flags: MIGRATE_VMA_SELECT_DEVICE_PRIVATE | MIGRATE_VMA_SELECT_COMPOUND,
      faultPage: vmf.page,
    });
    if (typeof m === "number") return VM_FAULT_SIGBUS;
    if (!m.compound) {
      migrateVmaFinalize(m);
      return dev.defaultMigrateToRam(vmf);
    }
    const head = pte.swapOffset(leaf.entry);
    const ok = compoundToSystem(
      this.engine,
      m,
      () => this.takeFailAlloc(),
      (i) => this.users.get(head + i)?.erase(haddr + i * PAGE_SIZE),
    );
    if (!ok) {
      const r = migrateVmaSplitCompound(m);
      if (typeof r === "number") return VM_FAULT_SIGBUS;
      migrateVmaFinalize(r);
      return dev.defaultMigrateToRam(vmf);
    }
    this.stats.migratedToRam += PTRS_PER_TABLE;
    migrateVmaPages(m);
    migrateVmaFinalize(m);
    return 0;
  }

  /** The migrate_to_ram step that erases the migrating file's own device entries. */
  private eraseUsers(m: MigrateVma): void {
    for (let i = 0; i < m.npages; i++) {
      if (!hasFlag(m.src[i], MIGRATE_PFN_MIGRATE)) continue;
      const pfn = migratePfnToPfn(m.src[i]);
      this.users.get(pfn)?.erase(m.start + i * 4096);
      this.stats.migratedToRam++;
    }
  }

  /** Device pages in use (allocated and not yet freed). */
  get pagesInUse(): number {
    return this.users.size;
  }

  /**
   * RELEASE (dmirror_device_evict_chunk, v6.2+): every in-use device page is migrated back to
   * system memory by pfn (migrate_device_range), chunk by chunk. 0 or -ENOMEM.
   */
  evictAll(): number {
    if (this.coherent) return this.evictCoherent();
    this.splitDevicePmds();
    for (const c of this.chunks) {
      const r = migrateDeviceRange(this.engine, c.firstPfn, c.npages);
      if (r < 0) return r;
    }
    return 0;
  }

  /** Device-private PMDs of this device are split first: eviction works page by page. */
  private splitDevicePmds(): void {
    const eng = this.engine;
    const mine = eng.ownerId(this);
    for (const mm of liveMms(eng)) {
      const found: number[] = [];
      for (const v of mm.vmas) {
        mm.forEachLeaf(v.start, v.end, (addr, level, _ptr, e) => {
          if (level === 1 && pte.isDevicePrivate(e) && eng.pgmapOwnerId(pte.swapOffset(e)) === mine) found.push(addr);
        });
      }
      for (const addr of found) splitHugePmd(mm, mm.vmaLookup(addr)!, addr);
    }
  }

  /**
   * migrate_device_range() over device-coherent memory: its pages are mapped by ordinary present
   * PTEs, each replaced (inside MMU_NOTIFY_CLEAR over the page, try_to_migrate) by a copy in a
   * new system page, writable iff the PTE was.
   */
  private evictCoherent(): number {
    const eng = this.engine;
    const inUse = new Set(this.users.keys());
    const hits: { mm: MmStruct; addr: number; pfn: number }[] = [];
    for (const mm of liveMms(eng)) {
      for (const v of mm.vmas) {
        mm.forEachLeaf(v.start, v.end, (addr, level, _ptr, e) => {
          if (level === 0 && pte.isPresent(e) && inUse.has(pte.pfnOf(e))) hits.push({ mm, addr, pfn: pte.pfnOf(e) });
        });
      }
    }
    const copies = new Map<number, number>();
    for (const h of hits) {
      let dpfn = copies.get(h.pfn);
      if (dpfn === undefined) {
        dpfn = eng.allocFrames(0, FRAME.ANON);
        if (dpfn === 0) return -ERRNO.ENOMEM;
        eng.copyFrame(h.pfn, dpfn);
        copies.set(h.pfn, dpfn);
      } else {
        eng.getPage(dpfn);
      }
      const d = dpfn;
      h.mm.invalidate(h.addr, h.addr + PAGE_SIZE, MMU_NOTIFY_CLEAR, null, () => {
        const leaf = h.mm.leafOf(h.addr);
        eng.writeEntry(leaf.ptr, pte.mk.page(d, pte.isWrite(leaf.entry)));
        eng.setMapcount(d, eng.mapcount(d) + 1);
        eng.setMapcount(h.pfn, Math.max(0, eng.mapcount(h.pfn) - 1));
        eng.putPage(h.pfn);
      });
    }
    // a page mapped once is exclusive to that mapping again
    for (const d of copies.values())
      if (eng.mapcount(d) === 1) eng.setFrameFlags(d, eng.frameFlags(d) | FRAME.ANON_EXCLUSIVE);
    return 0;
  }
}
