// The layout constants of assembly/layout.ts, read from the engine's exported globals so that the
// host never re-types a bit. 32-bit values are numbers; 64-bit masks are bigints, and each also
// has a `hi` number (its upper 32 bits) for number-only fast paths.
import { compiledBuild } from "./builds.js";
import { instantiateModule } from "./wasm.js";

// every build exports the same layout globals (the ABI test checks it); the release one is read
const raw = instantiateModule(compiledBuild("release")) as unknown as Record<string, unknown>;

const names: string[] = [];
/** Every global this module read from the engine (the ABI test checks each against every build). */
export const LAYOUT_GLOBAL_NAMES: readonly string[] = names;

function g(name: string): WebAssembly.Global {
  if (!names.includes(name)) names.push(name);
  const v = raw[name];
  if (!(v instanceof WebAssembly.Global)) throw new Error(`layout constant ${name} missing from the engine`);
  return v;
}
/** A 32-bit constant. */
function n(name: string): number {
  const v = g(name).value;
  return typeof v === "bigint" ? Number(v) : (v as number) >>> 0 === v ? v : (v as number) >>> 0;
}
/** A signed 32-bit constant. */
function s(name: string): number {
  return g(name).value as number;
}
/** A 64-bit constant, as an unsigned bigint. */
function b(name: string): bigint {
  return BigInt.asUintN(64, g(name).value as bigint);
}
const hi = (v: bigint): number => Number(v >> 32n);

/** PAGE_SHIFT: log2 of the base page size (12). */
export const PAGE_SHIFT = s("PAGE_SHIFT");
/** PAGE_SIZE: bytes in a base page (4096). Addresses and lengths in the API are in bytes; "pages" counts are in these. */
export const PAGE_SIZE = s("PAGE_SIZE");
export const PMD_SHIFT = s("PMD_SHIFT");
export const PUD_SHIFT = s("PUD_SHIFT");
export const P4D_SHIFT = s("P4D_SHIFT");
export const PGDIR_SHIFT_L4 = s("PGDIR_SHIFT_L4");
export const PGDIR_SHIFT_L5 = s("PGDIR_SHIFT_L5");
export const PTRS_PER_TABLE = s("PTRS_PER_TABLE");
export const TABLE_INDEX_BITS = s("TABLE_INDEX_BITS");
export const PMD_ORDER = s("PMD_ORDER");
export const PUD_ORDER = s("PUD_ORDER");
export const VA_BITS_L4 = s("VA_BITS_L4");
export const VA_BITS_L5 = s("VA_BITS_L5");
/** Bytes mapped by one PMD / PUD / P4D entry (derived from the shifts above). */
export const PMD_SIZE = 2 ** PMD_SHIFT;
export const PUD_SIZE = 2 ** PUD_SHIFT;
export const P4D_SIZE = 2 ** P4D_SHIFT;
/** Bytes mapped by one entry at `level` (0 PTE, 1 PMD, 2 PUD, 3 P4D, 4 PGD of a 5-level table). */
export function levelSize(level: number): number {
  return 2 ** (PAGE_SHIFT + TABLE_INDEX_BITS * level);
}
/** Pages mapped by one entry at `level`. */
export function levelPages(level: number): number {
  return 2 ** (TABLE_INDEX_BITS * level);
}

export const PTE = {
  PRESENT: b("PTE_PRESENT"),
  RW: b("PTE_RW"),
  USER: b("PTE_USER"),
  ACCESSED: b("PTE_ACCESSED"),
  DIRTY: b("PTE_DIRTY"),
  PSE: b("PTE_PSE"),
  PROTNONE: b("PTE_PROTNONE"),
  SPECIAL: b("PTE_SPECIAL"),
  UFFD_WP: b("PTE_UFFD_WP"),
  SOFT_DIRTY: b("PTE_SOFT_DIRTY"),
  DEVMAP: b("PTE_DEVMAP"),
  NX: b("PTE_NX"),
  PFN_MASK: b("PTE_PFN_MASK"),
  TABLE_FLAGS: b("PTE_TABLE_FLAGS"),
  PMD_BAD_IGNORED: b("PMD_BAD_IGNORED"),
} as const;
/** The same PTE bits as numbers within the low / high 32-bit halves of an entry. */
export const PTE_LO = {
  PRESENT: Number(PTE.PRESENT),
  RW: Number(PTE.RW),
  USER: Number(PTE.USER),
  ACCESSED: Number(PTE.ACCESSED),
  DIRTY: Number(PTE.DIRTY),
  PSE: Number(PTE.PSE),
  PROTNONE: Number(PTE.PROTNONE),
  SPECIAL: Number(PTE.SPECIAL),
  UFFD_WP: Number(PTE.UFFD_WP),
  SOFT_DIRTY: Number(PTE.SOFT_DIRTY),
} as const;
export const PTE_HI = { DEVMAP: hi(PTE.DEVMAP), NX: hi(PTE.NX) } as const;

export const SWP = {
  TYPE_SHIFT: s("SWP_TYPE_SHIFT"),
  OFFSET_FIRST_BIT: s("SWP_OFFSET_FIRST_BIT"),
  OFFSET_BITS: s("SWP_OFFSET_BITS"),
  EXCLUSIVE: b("SWP_EXCLUSIVE"),
  SOFT_DIRTY: b("SWP_SOFT_DIRTY"),
  UFFD_WP: b("SWP_UFFD_WP"),
  MAX_SWAPFILES: s("MAX_SWAPFILES"),
  HWPOISON: s("SWP_HWPOISON"),
  MIGRATION_READ: s("SWP_MIGRATION_READ"),
  MIGRATION_READ_EXCLUSIVE: s("SWP_MIGRATION_READ_EXCLUSIVE"),
  MIGRATION_WRITE: s("SWP_MIGRATION_WRITE"),
  DEVICE_WRITE: s("SWP_DEVICE_WRITE"),
  DEVICE_READ: s("SWP_DEVICE_READ"),
  DEVICE_EXCLUSIVE_WRITE: s("SWP_DEVICE_EXCLUSIVE_WRITE"),
  DEVICE_EXCLUSIVE_READ: s("SWP_DEVICE_EXCLUSIVE_READ"),
  PTE_MARKER: s("SWP_PTE_MARKER"),
  MARKER_UFFD_WP: s("PTE_MARKER_UFFD_WP"),
  MARKER_SWAPIN_ERROR: s("PTE_MARKER_SWAPIN_ERROR"),
} as const;

// hmm.h flag words (identical in both profiles) and both profiles' order layouts.
/** HMM_PFN_VALID (bigint, bit 63): output: the pfn field is valid and the page is mapped (docs/semantics.md §1.2). */
export const HMM_PFN_VALID = b("HMM_PFN_VALID");
/** HMM_PFN_WRITE (bigint): output: the CPU mapping is writable. */
export const HMM_PFN_WRITE = b("HMM_PFN_WRITE");
/** HMM_PFN_ERROR (bigint): output: the page cannot be accessed (docs/semantics.md §1.3). */
export const HMM_PFN_ERROR = b("HMM_PFN_ERROR");
/** HMM_PFN_REQ_FAULT (bigint): input: fault the page in if it is not present (same bit as HMM_PFN_VALID). */
export const HMM_PFN_REQ_FAULT = b("HMM_PFN_REQ_FAULT");
/** HMM_PFN_REQ_WRITE (bigint): input: fault it in writable (same bit as HMM_PFN_WRITE). */
export const HMM_PFN_REQ_WRITE = b("HMM_PFN_REQ_WRITE");
/** HMM_PFN_DMA_MAPPED (bigint, "v6.16" layout): input/output bit kept for the driver's DMA state; never set by the walk. */
export const HMM_PFN_DMA_MAPPED = b("HMM_PFN_DMA_MAPPED");
/** HMM_PFN_P2PDMA (bigint, "v6.16" layout): driver-owned peer-to-peer DMA bit, kept by the walk. */
export const HMM_PFN_P2PDMA = b("HMM_PFN_P2PDMA");
/** HMM_PFN_P2PDMA_BUS (bigint, "v6.16" layout): driver-owned bus-address bit, kept by the walk. */
export const HMM_PFN_P2PDMA_BUS = b("HMM_PFN_P2PDMA_BUS");
export const HMM_PFN_ORDER_MASK = s("HMM_PFN_ORDER_MASK");
/** Bit position of the map-order field in the "v6.1" layout. */
export const HMM_PFN_ORDER_SHIFT_SEED = s("HMM_PFN_ORDER_SHIFT_SEED");
/** Bit position of the map-order field in the "v6.16" layout. */
export const HMM_PFN_ORDER_SHIFT_LATE = s("HMM_PFN_ORDER_SHIFT_LATE");
/** HMM_PFN_FLAGS (bigint) in the "v6.1" layout: every bit that is not the pfn. */
export const HMM_PFN_FLAGS_SEED = b("HMM_PFN_FLAGS_SEED");
/** HMM_PFN_FLAGS (bigint) in the "v6.16" layout. */
export const HMM_PFN_FLAGS_LATE = b("HMM_PFN_FLAGS_LATE");
/** HMM_PFN_INOUT_FLAGS (bigint, "v6.16"): bits the walk preserves from input to output. */
export const HMM_PFN_INOUT_FLAGS_LATE = b("HMM_PFN_INOUT_FLAGS_LATE");
/** High halves of the flag words, for number-only callers. */
export const HMM_PFN_HI = {
  VALID: hi(HMM_PFN_VALID),
  WRITE: hi(HMM_PFN_WRITE),
  ERROR: hi(HMM_PFN_ERROR),
  DMA_MAPPED: hi(HMM_PFN_DMA_MAPPED),
  P2PDMA: hi(HMM_PFN_P2PDMA),
  P2PDMA_BUS: hi(HMM_PFN_P2PDMA_BUS),
  INOUT_LATE: hi(HMM_PFN_INOUT_FLAGS_LATE),
} as const;
export const HMM_NEED_FAULT = s("HMM_NEED_FAULT");
export const HMM_NEED_WRITE_FAULT = s("HMM_NEED_WRITE_FAULT");
export const HMM_NEED_ALL_BITS = s("HMM_NEED_ALL_BITS");
export const PROFILE_LATE_LAYOUT = s("PROFILE_LATE_LAYOUT");
export const PROFILE_DEVICE_THP = s("PROFILE_DEVICE_THP");
export const PROFILE_NO_DEVMAP = s("PROFILE_NO_DEVMAP");

/**
 * vm_flags bits of a VMA (Vma.flags), as in include/linux/mm.h (x86-64 values).
 *
 * @property READ VM_READ: readable.
 * @property WRITE VM_WRITE: writable.
 * @property EXEC VM_EXEC: executable.
 * @property SHARED VM_SHARED: shared mapping (writes reach the object, no COW).
 * @property MAYREAD VM_MAYREAD: mprotect() may add VM_READ.
 * @property MAYWRITE VM_MAYWRITE: mprotect() may add VM_WRITE.
 * @property MAYEXEC VM_MAYEXEC: mprotect() may add VM_EXEC.
 * @property MAYSHARE VM_MAYSHARE: MAP_SHARED was asked for.
 * @property GROWSDOWN VM_GROWSDOWN: a stack that grows down.
 * @property PFNMAP VM_PFNMAP: raw pfns without struct pages (hmmRangeFault fails with -EFAULT).
 * @property UFFD_WP VM_UFFD_WP: userfaultfd write-protect registered.
 * @property LOCKED VM_LOCKED: mlock()ed.
 * @property IO VM_IO: memory-mapped I/O (not walked by hmmRangeFault).
 * @property DONTCOPY VM_DONTCOPY: not copied on fork (MADV_DONTFORK).
 * @property DONTEXPAND VM_DONTEXPAND: mremap() cannot grow it.
 * @property ACCOUNT VM_ACCOUNT: committed memory is accounted.
 * @property NORESERVE VM_NORESERVE: no swap reservation.
 * @property HUGETLB VM_HUGETLB: a hugetlb mapping.
 * @property WIPEONFORK VM_WIPEONFORK: the child of fork gets zero-filled memory.
 * @property DONTDUMP VM_DONTDUMP: excluded from core dumps.
 * @property SOFTDIRTY VM_SOFTDIRTY: soft-dirty tracking state of the VMA.
 * @property MIXEDMAP VM_MIXEDMAP: pages and raw pfns mixed (vm_insert_page / vmf_insert_pfn).
 * @property HUGEPAGE VM_HUGEPAGE: MADV_HUGEPAGE was applied.
 * @property NOHUGEPAGE VM_NOHUGEPAGE: MADV_NOHUGEPAGE was applied.
 * @property MERGEABLE VM_MERGEABLE: KSM may merge its pages (MADV_MERGEABLE).
 * @namespace
 */
export const VM = {
  READ: n("VM_READ"),
  WRITE: n("VM_WRITE"),
  EXEC: n("VM_EXEC"),
  SHARED: n("VM_SHARED"),
  MAYREAD: n("VM_MAYREAD"),
  MAYWRITE: n("VM_MAYWRITE"),
  MAYEXEC: n("VM_MAYEXEC"),
  MAYSHARE: n("VM_MAYSHARE"),
  GROWSDOWN: n("VM_GROWSDOWN"),
  PFNMAP: n("VM_PFNMAP"),
  UFFD_WP: n("VM_UFFD_WP"),
  LOCKED: n("VM_LOCKED"),
  IO: n("VM_IO"),
  DONTCOPY: n("VM_DONTCOPY"),
  DONTEXPAND: n("VM_DONTEXPAND"),
  ACCOUNT: n("VM_ACCOUNT"),
  NORESERVE: n("VM_NORESERVE"),
  HUGETLB: n("VM_HUGETLB"),
  WIPEONFORK: n("VM_WIPEONFORK"),
  DONTDUMP: n("VM_DONTDUMP"),
  SOFTDIRTY: n("VM_SOFTDIRTY"),
  MIXEDMAP: n("VM_MIXEDMAP"),
  HUGEPAGE: n("VM_HUGEPAGE"),
  NOHUGEPAGE: n("VM_NOHUGEPAGE"),
  MERGEABLE: n("VM_MERGEABLE"),
} as const;

/**
 * Linux errno values (positive, as in errno.h); hmmRangeFault and the syscalls return their
 * negatives, ErrnoError.errno carries the negative. Values are the x86-64 ones.
 *
 * @property EPERM Operation not permitted (1): e.g. a device-exclusive or protection conflict.
 * @property EACCES Permission denied (13).
 * @property ENOENT No such entry (2).
 * @property EINTR Interrupted (4).
 * @property EAGAIN Try again (11).
 * @property ENOMEM Out of memory (12).
 * @property EFAULT Bad address (14): e.g. no VMA or an unwalkable mapping under hmmRangeFault.
 * @property EBUSY Busy (16): the notifier sequence changed; retry from mmu_interval_read_begin().
 * @property EEXIST Already exists (17): e.g. MAP_FIXED_NOREPLACE over a mapping.
 * @property EINVAL Invalid argument (22).
 * @property ENOSPC No space left (28).
 * @property EOVERFLOW Value too large (75).
 * @namespace
 */
export const ERRNO = {
  EPERM: s("EPERM"),
  EACCES: s("EACCES"),
  ENOENT: s("ENOENT"),
  EINTR: s("EINTR"),
  EAGAIN: s("EAGAIN"),
  ENOMEM: s("ENOMEM"),
  EFAULT: s("EFAULT"),
  EBUSY: s("EBUSY"),
  EEXIST: s("EEXIST"),
  EINVAL: s("EINVAL"),
  ENOSPC: s("ENOSPC"),
  EOVERFLOW: s("EOVERFLOW"),
} as const;

export const PHYS = {
  PFN_LIMIT: n("PFN_LIMIT"),
  ZERO_PFN: n("ZERO_PFN"),
  HUGE_ZERO_PFN: n("HUGE_ZERO_PFN"),
  FIRST_RAM_PFN: n("FIRST_RAM_PFN"),
  DEVICE_PFN_BASE: n("DEVICE_PFN_BASE"),
  META_BYTES: s("META_BYTES"),
  META_OFF_REFCOUNT: s("META_OFF_REFCOUNT"),
  META_OFF_MAPCOUNT: s("META_OFF_MAPCOUNT"),
  META_OFF_FLAGS: s("META_OFF_FLAGS"),
  META_OFF_AUX: s("META_OFF_AUX"),
} as const;
/** Frames per 4 KiB chunk of frame metadata (the metadata directory is indexed by pfn / this). */
export const META_CHUNK_FRAMES = PAGE_SIZE / PHYS.META_BYTES;
/**
 * Per-frame flag bits of the engine's struct page model (Engine.frameFlags()).
 *
 * @property ANON PageAnon(): the frame holds anonymous memory.
 * @property ANON_EXCLUSIVE PageAnonExclusive(): the anonymous page is exclusive to one mm (no COW needed).
 * @property HEAD PageHead(): first frame of a compound folio (its order is kept with it).
 * @property TAIL PageTail(): a later frame of a compound folio.
 * @property HUGETLB a hugetlb page.
 * @property FILE page-cache page of a SimFile.
 * @property DEVICE_PRIVATE is_device_private_page(): device memory the CPU cannot map.
 * @property RESERVED PageReserved(): never freed (the zero pages).
 * @namespace
 */
export const FRAME = {
  ANON: n("FRAME_ANON"),
  ANON_EXCLUSIVE: n("FRAME_ANON_EXCLUSIVE"),
  HEAD: n("FRAME_HEAD"),
  TAIL: n("FRAME_TAIL"),
  HUGETLB: n("FRAME_HUGETLB"),
  FILE: n("FRAME_FILE"),
  DEVICE_PRIVATE: n("FRAME_DEVICE_PRIVATE"),
  RESERVED: n("FRAME_RESERVED"),
} as const;

export const MEM = {
  WALK_CTX: n("WALK_CTX"),
  PGMAP_TABLE: n("PGMAP_TABLE"),
  PGMAP_MAX: s("PGMAP_MAX"),
  META_DIR_BASE: n("META_DIR_BASE"),
  HEAP_BASE: n("HEAP_BASE"),
  BLOCK_SIZE: s("BLOCK_SIZE"),
  MM_ROOT: s("MM_ROOT"),
  MM_LEVELS: s("MM_LEVELS"),
  MM_VMAS: s("MM_VMAS"),
  MM_VMA_COUNT: s("MM_VMA_COUNT"),
  VMA_BYTES: s("VMA_BYTES"),
  VMA_START: s("VMA_START"),
  VMA_END: s("VMA_END"),
  VMA_FLAGS: s("VMA_FLAGS"),
  VMA_HUGE_SHIFT: s("VMA_HUGE_SHIFT"),
} as const;
export const CTX = {
  LAST: s("CTX_LAST"),
  FAULT_END: s("CTX_FAULT_END"),
  ACTION: s("CTX_ACTION"),
  NEED: s("CTX_NEED"),
  VMA_INDEX: s("CTX_VMA_INDEX"),
  PAGES_WALKED: s("CTX_PAGES_WALKED"),
  ACTION_NONE: s("WALK_ACTION_NONE"),
  ACTION_FAULT: s("WALK_ACTION_FAULT"),
  ACTION_WAIT_MIGRATION: s("WALK_ACTION_WAIT_MIGRATION"),
  ACTION_SPLIT_PUD: s("WALK_ACTION_SPLIT_PUD"),
} as const;
/** Modes of the engine's protectPtes() (mprotect's batched change_pte_range). */
export const PROT_MODE = {
  NONE: s("PROT_MODE_NONE"),
  PRIVATE_WRITE: s("PROT_MODE_PRIVATE_WRITE"),
  READ: s("PROT_MODE_READ"),
} as const;
