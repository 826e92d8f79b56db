// One simulated machine: a WebAssembly instance holding physical-frame metadata and the page tables
// of every address space created on it, plus the lazily materialised contents of frames.
import { FRAME, MEM, PAGE_SIZE, PHYS, PMD_ORDER } from "./layout.js";
import { ArgumentTypeError, EngineError, engineCall } from "./errors.js";
import { type DigestSource, StateHasher } from "./digest.js";
import { argEnum, argInt, argOptions } from "./validate.js";
import type { Entry } from "./pte.js";
import { SwapDevice } from "./swap.js";
import { type WasmBuild, WASM_BUILDS, compiledBuild, defaultBuild, simdSupported } from "./builds.js";
import { instantiateModule, MemoryViews, type RawExports } from "./wasm.js";

/** Which walker hmmRangeFault runs: the WebAssembly one or the TypeScript reference. */
export type WalkEngine = "wasm" | "reference";

/** Options of `new Engine()` and {@link Engine.create}: which WebAssembly build to run, the default walker, RAM and swap sizes. */
export interface EngineOptions {
  /**
   * Which embedded build to run: "simd" (the default where the host validates SIMD, else
   * "release"), "release" (scalar), or "debug" (assertions on). "simd" falls back to "release"
   * on a host without SIMD.
   */
  build?: WasmBuild;
  /**
   * The engine's WebAssembly instead of an embedded build: its bytes or a compiled module (for
   * example one compiled once and shared with workers). `build` then only names it.
   * {@link Engine.create} also takes a URL or a fetch Response.
   */
  wasm?: BufferSource | WebAssembly.Module;
  /** The walker hmmRangeFault uses for Mms of this engine when the call does not name one (default "wasm"). */
  walker?: WalkEngine;
  /** Frames of system RAM (default: the whole RAM pfn range). Small values simulate OOM. */
  ramFrames?: number;
  /**
   * Cap on the engine's linear memory in bytes (rounded down to 64 KiB pages, at least what the
   * engine needs at start; default 4 GiB). Page tables, VMA tables and frame metadata live there:
   * when the cap is reached, faults fail with VM_FAULT_OOM (hmmRangeFault returns -EFAULT, a CPU
   * access throws ErrnoError -EFAULT), mmap and other VMA changes with -ENOMEM, and the state
   * stays as it was.
   */
  memoryLimit?: number;
  /** Size of the swap device in pages (default: unlimited). A full device fails reclaim like the kernel's. */
  swapPages?: number;
}

/** What {@link Engine.create} accepts as the engine's WebAssembly. */
export type WasmSource = BufferSource | WebAssembly.Module | URL | string | Response | PromiseLike<Response>;

/**
 * The driver callbacks of a device memory region (struct dev_pagemap_ops): `pageFree` when the
 * last reference to one of its pages goes, `migrateToRam` when the CPU faults on a device-private
 * entry (receives the fault layer's VmFault, returns VM_FAULT_* bits).
 */
export interface PgmapOps {
  readonly owner: unknown;
  pageFree(pfn: number): void;
  migrateToRam?(vmf: object): number;
}

/** A folio named by its head frame (what Engine.folioOf returns). */
export interface FolioRef {
  /** Pfn of the folio's head frame (the pfn itself for an order-0 page). */
  head: number;
  /** Folio order: log2 of its 4 KiB pages (0, 9 for a 2 MiB THP, 18 for a 1 GiB hugetlb page). */
  order: number;
}

/** A device-private memory region (struct dev_pagemap), see drivers/device.ts. */
export interface PgmapRecord {
  index: number;
  owner: unknown;
}

/**
 * One simulated machine: a WebAssembly instance holding physical-frame metadata and the page
 * tables of every address space created on it.
 *
 * @example
 * ```ts
 * const engine = new Engine();                          // embedded build, SIMD where supported
 * const small = new Engine({ ramFrames: 1024 });        // 4 MiB of RAM: faults run out (VM_FAULT_OOM)
 * const fromUrl = await Engine.create({ wasm: new URL("./simd.wasm", import.meta.url) });
 * ```
 */
export class Engine {
  /** @internal The raw exports of the engine's instance (numbers only). */
  readonly raw: RawExports;
  /** Which WebAssembly build this engine runs ("release", "simd" or "debug"). */
  readonly build: WasmBuild;
  /** The walker hmmRangeFault uses when a call does not name one. */
  readonly walker: WalkEngine;
  private readonly views: MemoryViews;
  private readonly ownerIds = new Map<unknown, number>();
  private readonly contents = new Map<number, Uint8Array>();
  private pgmapCount = 0;
  /** The machine's swap device. */
  readonly swap: SwapDevice;
  /** @internal Migrations in flight, by the pfn their migration entries carry. */
  readonly pendingMigrations = new Map<number, { finish(): void }>();
  /** @internal Free pages of the hugetlb pools, by page shift (21: 2 MiB, 30: 1 GiB). */
  readonly hugetlbFree = new Map<number, number>([
    [21, 0],
    [30, 0],
  ]);
  /** @internal Device-private pages: the callbacks of each pgmap, by pgmap index. */
  readonly pgmaps = new Map<number, PgmapOps>();
  /** Pages given to each hugetlb pool by setHugetlbPages (the teardown check compares against it). */
  readonly hugetlbTotal = new Map<number, number>([
    [21, 0],
    [30, 0],
  ]);
  private readonly digestSources: DigestSource[] = [];
  private readonly freeListeners: ((head: number, order: number) => void)[] = [];

  constructor(options: EngineOptions = {}) {
    const opts = argOptions<EngineOptions>("new Engine", "options", options);
    let build = opts.build ?? defaultBuild();
    argEnum("new Engine", "build", build, WASM_BUILDS);
    const walker = opts.walker ?? "wasm";
    argEnum("new Engine", "walker", walker, ["wasm", "reference"] as const);
    this.walker = walker;
    let mod: WebAssembly.Module;
    if (opts.wasm !== undefined) {
      mod = opts.wasm instanceof WebAssembly.Module ? opts.wasm : new WebAssembly.Module(opts.wasm);
    } else {
      if (build === "simd" && !simdSupported()) build = "release";
      mod = compiledBuild(build);
    }
    this.build = build;
    this.raw = instantiateModule(mod);
    this.views = new MemoryViews(this.raw.memory);
    if (!this.raw.memoryInit() || !this.raw.framesInit())
      throw new EngineError("engine could not set up its memory map");
    if (opts.ramFrames !== undefined)
      this.raw.framesSetRamLimit(argInt("new Engine", "ramFrames", opts.ramFrames, 0, PHYS.PFN_LIMIT));
    if (opts.memoryLimit !== undefined)
      this.raw.memorySetLimit(Math.floor(argInt("new Engine", "memoryLimit", opts.memoryLimit, 0, 2 ** 32) / 65536));
    this.swap = new SwapDevice(
      0,
      opts.swapPages === undefined ? Number.MAX_SAFE_INTEGER : argInt("new Engine", "swapPages", opts.swapPages),
    );
  }

  /**
   * An engine whose WebAssembly is fetched or compiled asynchronously (the way browsers prefer
   * for large modules): `wasm` may be bytes, a compiled module, a URL, or a fetch Response.
   */
  static async create(opts: Omit<EngineOptions, "wasm"> & { wasm?: WasmSource } = {}): Promise<Engine> {
    const src = await opts.wasm;
    if (src === undefined || src instanceof WebAssembly.Module) return new Engine({ ...opts, wasm: src });
    let bytes: BufferSource;
    if (typeof src === "string" || src instanceof URL) {
      const res = await fetch(src);
      if (!res.ok) throw new EngineError(`fetching the engine's WebAssembly from ${String(src)}: HTTP ${res.status}`);
      bytes = await res.arrayBuffer();
    } else if (typeof Response !== "undefined" && src instanceof Response) {
      bytes = await src.arrayBuffer();
    } else {
      bytes = src as BufferSource;
    }
    // compiled off the main thread's critical path, whatever MIME type a server sent
    return new Engine({ ...opts, wasm: await WebAssembly.compile(bytes) });
  }

  /** @internal Current memory views (never handed to users). */
  mem(): MemoryViews {
    return this.views.fresh();
  }

  // ---- entries --------------------------------------------------------------------------

  /** @internal */
  readEntry(ptr: number): Entry {
    const u32 = this.views.fresh().u32;
    return { lo: u32[ptr >>> 2], hi: u32[(ptr >>> 2) + 1] };
  }
  /** @internal */
  writeEntry(ptr: number, e: Entry): void {
    const u32 = this.views.fresh().u32;
    u32[ptr >>> 2] = e.lo;
    u32[(ptr >>> 2) + 1] = e.hi;
  }

  // ---- frames ---------------------------------------------------------------------------

  /** Allocates 1 << order frames; returns the pfn or 0 when RAM is exhausted. */
  allocFrames(order: number, flags: number): number {
    const pfn = engineCall("frameAlloc", () => this.raw.frameAlloc(order, flags) >>> 0);
    if (pfn !== 0 && pfn + 2 ** order > this.ramHighWater) this.ramHighWater = pfn + 2 ** order;
    return pfn;
  }
  /** One past the highest RAM pfn ever allocated (bounds forEachFrame's scan). */
  private ramHighWater = PHYS.FIRST_RAM_PFN;
  /** The device pfn ranges handed out by registerPgmap. */
  private readonly deviceRanges: { first: number; count: number }[] = [];
  private meta(pfn: number): number {
    const p = this.raw.metaPtr(pfn) >>> 0;
    if (p === 0) throw new EngineError(`pfn ${pfn} has no struct page`);
    return p;
  }
  /** pfn_to_page() succeeds: true when the frame has a struct page (RAM or registered device memory). */
  hasStructPage(pfn: number): boolean {
    return this.raw.metaPtr(pfn) >>> 0 !== 0;
  }
  /** page_ref_count(): the frame's reference count. Throws EngineError when pfn has no struct page. */
  refcount(pfn: number): number {
    return this.views.fresh().u32[this.meta(pfn) >>> 2];
  }
  /** @internal */
  setRefcount(pfn: number, v: number): void {
    this.views.fresh().u32[this.meta(pfn) >>> 2] = v;
  }
  /** page_mapcount(): how many page-table entries map the frame. Throws EngineError when pfn has no struct page. */
  mapcount(pfn: number): number {
    const p = this.meta(pfn) + PHYS.META_OFF_MAPCOUNT;
    const u8 = this.views.fresh().u8;
    return u8[p] | (u8[p + 1] << 8);
  }
  /** @internal */
  setMapcount(pfn: number, v: number): void {
    const p = this.meta(pfn) + PHYS.META_OFF_MAPCOUNT;
    const u8 = this.views.fresh().u8;
    u8[p] = v & 0xff;
    u8[p + 1] = (v >>> 8) & 0xff;
  }
  /** The frame's FRAME.* flag bits (page flags). Throws EngineError when pfn has no struct page. */
  frameFlags(pfn: number): number {
    return this.views.fresh().u8[this.meta(pfn) + PHYS.META_OFF_FLAGS];
  }
  /** @internal */
  setFrameFlags(pfn: number, v: number): void {
    this.views.fresh().u8[this.meta(pfn) + PHYS.META_OFF_FLAGS] = v;
  }
  /** @internal */
  frameAux(pfn: number): number {
    return this.views.fresh().u8[this.meta(pfn) + PHYS.META_OFF_AUX];
  }
  /** The head of the folio containing pfn, and its order. */
  folioOf(pfn: number): FolioRef {
    const f = this.frameFlags(pfn);
    if ((f & FRAME.TAIL) === 0) return { head: pfn, order: (f & FRAME.HEAD) !== 0 ? this.frameAux(pfn) : 0 };
    // tails of order-9 folios are the only compound tails besides hugetlb 1 GiB pages
    for (const order of [PMD_ORDER, 18]) {
      const head = pfn - (pfn % 2 ** order);
      if ((this.frameFlags(head) & FRAME.HEAD) !== 0 && this.frameAux(head) === order) return { head, order };
    }
    throw new EngineError(`tail frame ${pfn} has no head`);
  }
  /** get_page(). */
  getPage(pfn: number): void {
    const { head } = this.folioOf(pfn);
    this.setRefcount(head, this.refcount(head) + 1);
  }
  /** put_page(): frees the folio (and its contents) when the last reference goes. */
  putPage(pfn: number): void {
    const { head, order } = this.folioOf(pfn);
    const flags = this.frameFlags(head);
    if ((flags & FRAME.RESERVED) !== 0) return;
    if ((flags & FRAME.DEVICE_PRIVATE) !== 0) {
      // ZONE_DEVICE pages go back to their device, never to the page allocator
      if (this.refcount(head) > 0) this.devicePagePut(head);
      return;
    }
    const rc = this.refcount(head);
    if (rc <= 0) throw new EngineError(`put_page on free frame ${head}`);
    if (rc === 1) {
      for (let i = 0; i < 2 ** order; i++) this.contents.delete(head + i);
      this.raw.frameFree(head, order);
      for (const f of this.freeListeners) f(head, order);
    } else {
      this.setRefcount(head, rc - 1);
    }
  }
  /** put_page() of a hugetlb page: when the last reference goes it returns to its pool. */
  putHugetlbPage(pfn: number, shift: number): void {
    const { head } = this.folioOf(pfn);
    if (this.refcount(head) === 1) this.hugetlbFree.set(shift, (this.hugetlbFree.get(shift) ?? 0) + 1);
    this.putPage(head);
  }
  /** Adds pages to a hugetlb pool (nr_hugepages); shift 21 = 2 MiB, 30 = 1 GiB. */
  setHugetlbPages(shift: number, pages: number): void {
    argEnum("setHugetlbPages", "shift", shift, [21, 30]);
    argInt("setHugetlbPages", "pages", pages, 0, 2 ** 20);
    this.hugetlbTotal.set(shift, (this.hugetlbTotal.get(shift) ?? 0) + pages - (this.hugetlbFree.get(shift) ?? 0));
    this.hugetlbFree.set(shift, pages);
  }
  /** Frames (4 KiB pages, RAM and page tables) currently allocated from the engine's allocator. */
  framesInUse(): number {
    return this.raw.framesUsed();
  }
  /** Free frames of system RAM (4 KiB pages) left before allocations fail (VM_FAULT_OOM / -ENOMEM). */
  ramFramesLeft(): number {
    return this.raw.ramFramesLeft();
  }

  // ---- contents (materialised only when written) ----------------------------------------

  /** Copies dst.length bytes of the frame's contents from byte `offset` into dst; a never-written frame reads as zeros. */
  readFrame(pfn: number, offset: number, dst: Uint8Array): void {
    const c = this.contents.get(pfn);
    if (c) dst.set(c.subarray(offset, offset + dst.length));
    else dst.fill(0);
  }
  /** Writes src into the frame's contents at byte `offset` (the contents are materialised on first write). */
  writeFrame(pfn: number, offset: number, src: Uint8Array): void {
    let c = this.contents.get(pfn);
    if (!c) {
      c = new Uint8Array(PAGE_SIZE);
      this.contents.set(pfn, c);
    }
    c.set(src, offset);
  }
  /** The materialised contents of a frame (a view, for copying by the caller), or null when never written. */
  frameContents(pfn: number): Uint8Array | null {
    return this.contents.get(pfn) ?? null;
  }
  /** copy_highpage(): the contents of frame dst become a copy of frame src's. */
  copyFrame(src: number, dst: number): void {
    const c = this.contents.get(src);
    if (c) this.contents.set(dst, c.slice());
    else this.contents.delete(dst);
  }
  /** clear_highpage(): the frame's contents become zeros. */
  clearFrame(pfn: number): void {
    this.contents.delete(pfn);
  }
  /** Frames whose contents have been materialised. */
  materialisedFrames(): number {
    return this.contents.size;
  }

  // ---- device pgmaps and owners ----------------------------------------------------------

  /** @internal A stable non-zero id for an owner object (pointer identity); null/undefined is 0. */
  ownerId(owner: unknown): number {
    if (owner === null || owner === undefined) return 0;
    let id = this.ownerIds.get(owner);
    if (id === undefined) {
      id = this.ownerIds.size + 1;
      this.ownerIds.set(owner, id);
    }
    return id;
  }
  /** @internal memremap_pages(MEMORY_DEVICE_PRIVATE): reserves `count` device pfns owned by `owner`. */
  registerPgmap(owner: unknown, count: number, coherent = false): { index: number; firstPfn: number } {
    if (owner === null || owner === undefined)
      throw new ArgumentTypeError(
        "memremap_pages",
        "owner",
        "must not be null (a device-private pgmap needs an owner)",
        owner,
      );
    if (coherent) this.coherentPgmaps.add(this.pgmapCount + 1);
    if (this.pgmapCount + 1 >= MEM.PGMAP_MAX) throw new EngineError("too many device pgmaps");
    const index = ++this.pgmapCount;
    this.views.fresh().u32[(MEM.PGMAP_TABLE >>> 2) + index] = this.ownerId(owner);
    const firstPfn = this.raw.deviceRangeAlloc(count, index) >>> 0;
    if (firstPfn === 0) throw new EngineError("device pfn space exhausted");
    this.deviceRanges.push({ first: firstPfn, count });
    return { index, firstPfn };
  }
  /** MEMORY_DEVICE_COHERENT pgmaps (their pages are mapped by ordinary present PTEs). */
  private readonly coherentPgmaps = new Set<number>();
  /** A page of device-coherent memory (CPU accessible; HMM treats it as a normal page, P15). */
  isDeviceCoherent(pfn: number): boolean {
    return (
      this.hasStructPage(pfn) &&
      (this.frameFlags(pfn) & FRAME.DEVICE_PRIVATE) !== 0 &&
      this.coherentPgmaps.has(this.frameAux(pfn))
    );
  }
  /** A page of device-private memory (only ever mapped by device-private entries). */
  isDevicePrivatePage(pfn: number): boolean {
    return (
      this.hasStructPage(pfn) &&
      (this.frameFlags(pfn) & FRAME.DEVICE_PRIVATE) !== 0 &&
      !this.coherentPgmaps.has(this.frameAux(pfn))
    );
  }
  /** @internal Drops a reference to a device-private page; at zero the owning device gets it back. */
  devicePagePut(pfn: number): void {
    const rc = this.refcount(pfn);
    if (rc <= 0) throw new EngineError(`put of free device page ${pfn}`);
    this.setRefcount(pfn, rc - 1);
    if (rc === 1) this.pgmaps.get(this.frameAux(pfn))?.pageFree(pfn);
  }
  /** @internal Owner id of the pgmap behind a device-private pfn (0 if none). */
  pgmapOwnerId(pfn: number): number {
    if (!this.hasStructPage(pfn) || (this.frameFlags(pfn) & FRAME.DEVICE_PRIVATE) === 0) return 0;
    return this.views.fresh().u32[(MEM.PGMAP_TABLE >>> 2) + this.frameAux(pfn)];
  }
  /** @internal */
  highestMemmapPfn(): number {
    return this.raw.highestMemmapPfnValue() >>> 0;
  }

  // ---- state digest ---------------------------------------------------------------------

  /** @internal Called with every folio the page allocator gets back (per-page state keyed by pfn must forget it). */
  addFreeListener(f: (head: number, order: number) => void): void {
    this.freeListeners.push(f);
  }

  /** @internal Adds a contributor to stateDigest() (the mm layer registers its per-engine state). */
  addDigestSource(f: DigestSource): void {
    this.digestSources.push(f);
  }

  /**
   * Calls f(pfn, refcount, mapcount, flags, aux) for every frame with metadata whose flags are
   * non-zero: allocated RAM frames (heads and tails), device pages and the reserved zero pages.
   * Free RAM frames have flags 0 (their refcount field then links the allocator's free lists).
   */
  forEachFrame(f: (pfn: number, refcount: number, mapcount: number, flags: number, aux: number) => void): void {
    const { u8, u32 } = this.views.fresh();
    const dir = MEM.META_DIR_BASE >>> 2;
    // pfns below the RAM high-water mark (zero pages and RAM), then every device range
    const spans: [number, number][] = [
      [0, this.ramHighWater],
      ...this.deviceRanges.map((r): [number, number] => [r.first, r.first + r.count]),
    ];
    for (const [first, end] of spans) {
      for (let c = Math.floor(first / 512); c * 512 < end; c++) {
        const base = u32[dir + c];
        if (base === 0) continue;
        const lo = Math.max(first, c * 512) - c * 512;
        const hi = Math.min(end, c * 512 + 512) - c * 512;
        for (let i = lo; i < hi; i++) {
          const p = base + i * PHYS.META_BYTES;
          const flags = u8[p + PHYS.META_OFF_FLAGS];
          if (flags === 0) continue;
          const mc = u8[p + PHYS.META_OFF_MAPCOUNT] | (u8[p + PHYS.META_OFF_MAPCOUNT + 1] << 8);
          f(c * 512 + i, u32[p >>> 2], mc, flags, u8[p + PHYS.META_OFF_AUX]);
        }
      }
    }
  }

  /**
   * A stable fingerprint (16 hex digits) of the whole simulated machine: the metadata of every
   * frame in use, materialised frame contents, swap slots, hugetlb pools, device free pages,
   * migrations in flight, and (through the mm layer) every live address space's VMAs, page-table
   * entries, lock and notifier state, and the machine-wide page state (KSM, MADV_FREE, migration
   * entries). Equal states give equal digests in every host; a refused call leaves it unchanged.
   * Statistics and counters that only describe history (fault counts, ids of engines) are excluded.
   */
  stateDigest(): string {
    const h = new StateHasher();
    this.digestInto(h);
    return h.digest();
  }

  /** @internal Feeds the engine's state into h (see stateDigest). */
  digestInto(h: StateHasher): void {
    h.str("frames").num(this.framesInUse());
    this.forEachFrame(
      (pfn, rc, mc, flags, aux) =>
        void h
          .u32(pfn)
          .u32(rc)
          .u32(mc)
          .u32(flags | (aux << 8)),
    );
    h.str("contents").num(this.contents.size);
    for (const pfn of [...this.contents.keys()].sort((a, b) => a - b)) {
      const c = this.contents.get(pfn)!;
      if (c.some((x) => x !== 0)) h.num(pfn).bytes(c);
    }
    h.str("swap");
    this.swap.digestInto(h);
    h.str("hugetlb");
    for (const [shift, n] of this.hugetlbFree) h.num(shift).num(n);
    h.str("pgmaps");
    for (const [index, ops] of this.pgmaps) {
      const free = (ops as { freePages?: unknown }).freePages;
      h.num(index).num(typeof free === "number" ? free : -1);
    }
    h.str("migrations");
    for (const pfn of [...this.pendingMigrations.keys()].sort((a, b) => a - b)) h.num(pfn);
    for (const f of this.digestSources) f(h);
  }

  // ---- statistics -----------------------------------------------------------------------

  /** Bytes of linear memory in use by the engine. */
  memoryBytes(): number {
    return this.raw.memory.buffer.byteLength;
  }
  /** Blocks of the WASM block allocator (page-table pages and per-frame metadata) in use; a leak check for tests. */
  blocksInUse(): number {
    return this.raw.blocksUsed();
  }
}
