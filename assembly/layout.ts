// The one place where every packed bit of the simulator is defined.
//
// The host (src/) never re-types a value from here: assembly/index.ts re-exports these constants as
// WebAssembly globals and src/layout.ts reads them by name when the module loads.
//
// Page-table entries use the real x86-64 encoding (arch/x86 pgtable_types.h, pgtable_64.h), so that
// words that the kernel derives from an entry by accident (the "garbage" pfns of protnone and
// non-present hugetlb entries) come out bit-exact.

// ---------------------------------------------------------------------------------------------
// Geometry (x86-64, 4 KiB pages)
// ---------------------------------------------------------------------------------------------
export const PAGE_SHIFT: i32 = 12;
export const PAGE_SIZE: i32 = 4096;
export const PTRS_PER_TABLE: i32 = 512;
export const TABLE_INDEX_BITS: i32 = 9;
export const PMD_SHIFT: i32 = 21;
export const PUD_SHIFT: i32 = 30;
export const P4D_SHIFT: i32 = 39;
/** PGDIR_SHIFT of a 4-level table; 5-level uses PGDIR_SHIFT_L5. */
export const PGDIR_SHIFT_L4: i32 = 39;
export const PGDIR_SHIFT_L5: i32 = 48;
/** Pages in a PMD / PUD mapping, as orders. */
export const PMD_ORDER: i32 = 9;
export const PUD_ORDER: i32 = 18;
/** Virtual address bits of the two geometries (TASK_SIZE is just below 1 << bits). */
export const VA_BITS_L4: i32 = 47;
export const VA_BITS_L5: i32 = 56;

// ---------------------------------------------------------------------------------------------
// Page-table entry (PTE, and PMD/PUD leaves), present form
//
//   63 62    59 58  57   52 51                                        12 11 10  9  8  7  6  5  4  3  2  1  0
//  +--+--------+--+--------+--------------------------------------------+--+--+--+--+--+--+--+--+--+--+--+--+
//  |NX| pkey   |DM| (sw)   |                 pfn (40 bits)              |SD|UW|SP|G |PS|D |A |CD|WT|U |RW|P |
//  +--+--------+--+--------+--------------------------------------------+--+--+--+--+--+--+--+--+--+--+--+--+
//   P  present            RW writable           U user             A accessed      D dirty
//   PS leaf at PMD/PUD level (_PAGE_PSE)        G global; with P clear it is _PAGE_PROTNONE (NUMA hint)
//   SP special: no struct page behind it (zero page, insert-pfn)   UW uffd-wp   SD soft-dirty
//   DM devmap (_PAGE_DEVMAP, SEED only)
//
// A table entry (non-leaf) is P|RW|U|A|D with the pfn of the next table; in this simulator that pfn
// is the table's address in WebAssembly memory >> 12.
//
// Non-present, non-zero entries store their pfn/offset inverted (L1TF mitigation); pte_pfn() undoes
// it, so a protnone entry still yields its real pfn.
// ---------------------------------------------------------------------------------------------
export const PTE_PRESENT: u64 = 1 << 0;
export const PTE_RW: u64 = 1 << 1;
export const PTE_USER: u64 = 1 << 2;
export const PTE_PWT: u64 = 1 << 3;
export const PTE_PCD: u64 = 1 << 4;
export const PTE_ACCESSED: u64 = 1 << 5;
export const PTE_DIRTY: u64 = 1 << 6;
export const PTE_PSE: u64 = 1 << 7;
export const PTE_GLOBAL: u64 = 1 << 8;
export const PTE_PROTNONE: u64 = 1 << 8;
export const PTE_SPECIAL: u64 = 1 << 9;
export const PTE_UFFD_WP: u64 = 1 << 10;
export const PTE_SOFT_DIRTY: u64 = 1 << 11;
export const PTE_DEVMAP: u64 = <u64>1 << 58;
export const PTE_NX: u64 = <u64>1 << 63;
export const PTE_PFN_SHIFT: i32 = 12;
export const PTE_PFN_BITS: i32 = 40;
/** Bits 12..51. */
export const PTE_PFN_MASK: u64 = ((<u64>1 << 52) - 1) & ~((<u64>1 << 12) - 1);
/** What a table entry carries besides the pfn (_PAGE_TABLE). */
export const PTE_TABLE_FLAGS: u64 = PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY;
/** pmd_bad() ignores these when comparing a table entry with _KERNPG_TABLE. */
export const PMD_BAD_IGNORED: u64 = PTE_USER | PTE_ACCESSED;
/** Bits below the pfn plus the high flag bits: everything pte_flags() sees. */
export const PTE_FLAGS_MASK: u64 = ~PTE_PFN_MASK;

// ---------------------------------------------------------------------------------------------
// Non-present "swap" entries (x86-64 __swp_entry), P and PROTNONE both clear
//
//   63     59 58                                                                     9  8  7     3 2  1  0
//  +---------+------------------------------------------------------------------------+--+--+-----+--+--+--+
//  |  type   |                  ~offset (50 bits, stored inverted)                    |0 |EX| 0   |UW|SD|0 |
//  +---------+------------------------------------------------------------------------+--+--+-----+--+--+--+
//   EX _PAGE_SWP_EXCLUSIVE (= PSE position)   UW _PAGE_SWP_UFFD_WP (= USER)   SD _PAGE_SWP_SOFT_DIRTY (= RW)
//
// Swap types (v6.1 with MIGRATION, DEVICE_PRIVATE, MEMORY_FAILURE and PTE_MARKER configured):
// 0..22 are swap devices; the rest are "non-swap" entries whose offset is a pfn (or marker bits).
// ---------------------------------------------------------------------------------------------
export const SWP_TYPE_SHIFT: i32 = 59;
export const SWP_TYPE_BITS: i32 = 5;
export const SWP_OFFSET_FIRST_BIT: i32 = 9;
export const SWP_OFFSET_BITS: i32 = 50;
export const SWP_EXCLUSIVE: u64 = PTE_PSE;
export const SWP_UFFD_WP: u64 = PTE_USER;
export const SWP_SOFT_DIRTY: u64 = PTE_RW;
export const MAX_SWAPFILES: i32 = 23;
export const SWP_HWPOISON: i32 = 23;
export const SWP_MIGRATION_READ: i32 = 24;
export const SWP_MIGRATION_READ_EXCLUSIVE: i32 = 25;
export const SWP_MIGRATION_WRITE: i32 = 26;
export const SWP_DEVICE_WRITE: i32 = 27;
export const SWP_DEVICE_READ: i32 = 28;
export const SWP_DEVICE_EXCLUSIVE_WRITE: i32 = 29;
export const SWP_DEVICE_EXCLUSIVE_READ: i32 = 30;
export const SWP_PTE_MARKER: i32 = 31;
/** PTE marker bits carried in the offset of a SWP_PTE_MARKER entry (v6.1). */
export const PTE_MARKER_UFFD_WP: i32 = 1 << 0;
export const PTE_MARKER_SWAPIN_ERROR: i32 = 1 << 1;

// ---------------------------------------------------------------------------------------------
// HMM pfn words (include/linux/hmm.h), the output of hmm_range_fault()
//
// SEED (v5.10 .. v6.15):                         LATE (v6.16+, profile "v6.16"):
//   63  62  61  60     56 55              0        63  62  61  60  59  58  57    53 52            0
//  +---+---+---+---------+-----------------+      +---+---+---+---+---+---+--------+--------------+
//  | V | W | E |  order  |      pfn        |      | V | W | E |DMA|P2P|BUS| order  |     pfn      |
//  +---+---+---+---------+-----------------+      +---+---+---+---+---+---+--------+--------------+
//   V = VALID (input: REQ_FAULT)  W = WRITE (input: REQ_WRITE)  E = ERROR
//   DMA/P2P/BUS: DMA_MAPPED, P2PDMA, P2PDMA_BUS, sticky: carried from the input word to the output.
// ---------------------------------------------------------------------------------------------
export const HMM_PFN_VALID: u64 = <u64>1 << 63;
export const HMM_PFN_WRITE: u64 = <u64>1 << 62;
export const HMM_PFN_ERROR: u64 = <u64>1 << 61;
export const HMM_PFN_REQ_FAULT: u64 = HMM_PFN_VALID;
export const HMM_PFN_REQ_WRITE: u64 = HMM_PFN_WRITE;
export const HMM_PFN_ORDER_MASK: i32 = 0x1f;
export const HMM_PFN_ORDER_SHIFT_SEED: i32 = 56;
export const HMM_PFN_FLAGS_SEED: u64 = <u64>0xff << 56;
export const HMM_PFN_ORDER_SHIFT_LATE: i32 = 53;
export const HMM_PFN_FLAGS_LATE: u64 = ~((<u64>1 << 53) - 1);
export const HMM_PFN_DMA_MAPPED: u64 = <u64>1 << 60;
export const HMM_PFN_P2PDMA: u64 = <u64>1 << 59;
export const HMM_PFN_P2PDMA_BUS: u64 = <u64>1 << 58;
export const HMM_PFN_INOUT_FLAGS_LATE: u64 = HMM_PFN_DMA_MAPPED | HMM_PFN_P2PDMA | HMM_PFN_P2PDMA_BUS;

/** hmm_range_need_fault() results. */
export const HMM_NEED_FAULT: i32 = 1 << 0;
export const HMM_NEED_WRITE_FAULT: i32 = 1 << 1;
export const HMM_NEED_ALL_BITS: i32 = HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT;

// ---------------------------------------------------------------------------------------------
// Profiles: which kernel behaviour the walker follows. A profile is a set of these bits.
// ---------------------------------------------------------------------------------------------
/** v6.16 hmm.h layout: order at bit 53, sticky DMA bits preserved from input. */
export const PROFILE_LATE_LAYOUT: i32 = 1 << 0;
/** v6.19 device-private THP: absent PMDs go through hmm_vma_handle_absent_pmd (rows M3L). */
export const PROFILE_DEVICE_THP: i32 = 1 << 1;
/** ≈v6.17 devmap removal (P13 without the devmap exemption) and U3 for every leaf PUD (≈v6.10). */
export const PROFILE_NO_DEVMAP: i32 = 1 << 2;

// ---------------------------------------------------------------------------------------------
// vm_flags (include/linux/mm.h values)
// ---------------------------------------------------------------------------------------------
export const VM_READ: u32 = 0x00000001;
export const VM_WRITE: u32 = 0x00000002;
export const VM_EXEC: u32 = 0x00000004;
export const VM_SHARED: u32 = 0x00000008;
export const VM_MAYREAD: u32 = 0x00000010;
export const VM_MAYWRITE: u32 = 0x00000020;
export const VM_MAYEXEC: u32 = 0x00000040;
export const VM_MAYSHARE: u32 = 0x00000080;
export const VM_GROWSDOWN: u32 = 0x00000100;
export const VM_PFNMAP: u32 = 0x00000400;
export const VM_UFFD_WP: u32 = 0x00001000;
export const VM_LOCKED: u32 = 0x00002000;
export const VM_IO: u32 = 0x00004000;
export const VM_DONTCOPY: u32 = 0x00020000;
export const VM_DONTEXPAND: u32 = 0x00040000;
export const VM_ACCOUNT: u32 = 0x00100000;
export const VM_NORESERVE: u32 = 0x00200000;
export const VM_HUGETLB: u32 = 0x00400000;
export const VM_WIPEONFORK: u32 = 0x02000000;
export const VM_DONTDUMP: u32 = 0x04000000;
export const VM_SOFTDIRTY: u32 = 0x08000000;
export const VM_MIXEDMAP: u32 = 0x10000000;
export const VM_HUGEPAGE: u32 = 0x20000000;
export const VM_NOHUGEPAGE: u32 = 0x40000000;
export const VM_MERGEABLE: u32 = 0x80000000;

// ---------------------------------------------------------------------------------------------
// Errno values returned by hmm_range_fault() and the mm operations (negated).
// ---------------------------------------------------------------------------------------------
export const EPERM: i32 = 1;
export const ENOENT: i32 = 2;
export const EINTR: i32 = 4;
export const ENOMEM: i32 = 12;
export const EFAULT: i32 = 14;
export const EBUSY: i32 = 16;
export const EEXIST: i32 = 17;
export const EINVAL: i32 = 22;
export const ENOSPC: i32 = 28;
export const EAGAIN: i32 = 11;
export const EACCES: i32 = 13;
export const EOVERFLOW: i32 = 75;

// ---------------------------------------------------------------------------------------------
// Physical memory: frame numbers and per-frame metadata
//
// pfn space: [0, PFN_LIMIT). Below FIRST_RAM_PFN live the two zero pages; system RAM is handed out
// from FIRST_RAM_PFN up; device-private pgmaps get ranges from DEVICE_PFN_BASE up.
//
// Per-frame metadata, 8 bytes, in 4 KiB chunks of 512 frames reached through a directory indexed
// by pfn >> 9 (a chunk exists only once a frame in it has been handed out):
//
//   31                                   0   63      56 55      48 47                        32
//  +--------------------------------------+ +----------+----------+----------------------------+
//  |        refcount (free: next free)    | |   aux    |  flags   |         mapcount           |
//  +--------------------------------------+ +----------+----------+----------------------------+
//   aux = compound order for a head frame, pgmap index for a device-private frame
// ---------------------------------------------------------------------------------------------
export const PFN_LIMIT_SHIFT: i32 = 29;
export const PFN_LIMIT: u32 = 1 << 29;
export const ZERO_PFN: u32 = 0x100;
export const HUGE_ZERO_PFN: u32 = 0x200;
export const FIRST_RAM_PFN: u32 = 0x400;
export const DEVICE_PFN_BASE: u32 = 0x1c000000;
export const META_BYTES: i32 = 8;
export const META_OFF_REFCOUNT: i32 = 0;
export const META_OFF_MAPCOUNT: i32 = 4;
export const META_OFF_FLAGS: i32 = 6;
export const META_OFF_AUX: i32 = 7;
export const FRAME_ANON: u32 = 1 << 0;
export const FRAME_ANON_EXCLUSIVE: u32 = 1 << 1;
export const FRAME_HEAD: u32 = 1 << 2;
export const FRAME_TAIL: u32 = 1 << 3;
export const FRAME_HUGETLB: u32 = 1 << 4;
export const FRAME_FILE: u32 = 1 << 5;
export const FRAME_DEVICE_PRIVATE: u32 = 1 << 6;
export const FRAME_RESERVED: u32 = 1 << 7;

// ---------------------------------------------------------------------------------------------
// WebAssembly memory map
//
//   0x000000 +---------------------------+
//            | static data (asc)         |
//   0x010000 +---------------------------+ HEADER_BASE
//            | walk context / results    |  WALK_CTX (256 B)
//            | pgmap owner table         |  PGMAP_TABLE (256 x u32)
//   0x020000 +---------------------------+ META_DIR_BASE
//            | frame metadata directory  |  (PFN_LIMIT >> 9) x u32 = 4 MiB
//   0x420000 +---------------------------+ HEAP_BASE
//            | 4 KiB blocks: page tables,|  bump-allocated, recycled via a free list;
//            | metadata chunks, mm       |  memory grows by doubling
//            | structs, VMA tables, pfn  |
//            | arrays                    |
//            +---------------------------+
// ---------------------------------------------------------------------------------------------
export const HEADER_BASE: u32 = 0x10000;
export const WALK_CTX: u32 = 0x10000;
export const PGMAP_TABLE: u32 = 0x10400;
export const PGMAP_MAX: i32 = 256;
export const META_DIR_BASE: u32 = 0x20000;
export const HEAP_BASE: u32 = 0x420000;
export const BLOCK_SIZE: i32 = 4096;

// Walk context: inputs written by the host before hmmWalk(), outputs read after it.
export const CTX_LAST: i32 = 0; // f64 page number, in/out
export const CTX_FAULT_END: i32 = 8; // f64 page number, out: end of the chunk to fault
export const CTX_ACTION: i32 = 16; // i32 out: WALK_ACTION_*
export const CTX_NEED: i32 = 20; // i32 out: HMM_NEED_* of the fault
export const CTX_VMA_INDEX: i32 = 24; // i32 out: index of the VMA to fault in
export const CTX_PAGES_WALKED: i32 = 28; // i32 out: statistics

/** What the host must do when hmmWalk() returns -EBUSY. */
export const WALK_ACTION_NONE: i32 = 0;
export const WALK_ACTION_FAULT: i32 = 1;
export const WALK_ACTION_WAIT_MIGRATION: i32 = 2;
/** split_huge_pud(): the host zaps the PUD at CTX_LAST inside CLEAR over its 1 GiB, then resumes. */
export const WALK_ACTION_SPLIT_PUD: i32 = 3;

/** protectPtes() modes (ptes.ts), chosen by the host from the VMA's new vm_flags. */
export const PROT_MODE_NONE: i32 = 0; // no VM_READ, VM_WRITE or VM_EXEC: protnone entries
export const PROT_MODE_PRIVATE_WRITE: i32 = 1; // VM_WRITE, private: RW when exclusive anonymous
export const PROT_MODE_READ: i32 = 2; // no VM_WRITE: read-only entries

// mm struct (one per address space), one 4 KiB block
export const MM_ROOT: i32 = 0; // u32 pointer to the PGD table
export const MM_LEVELS: i32 = 4; // i32: 4 or 5
export const MM_VMAS: i32 = 8; // u32 pointer to the VMA table
export const MM_VMA_COUNT: i32 = 12; // i32
export const MM_VMA_CAP: i32 = 16; // i32 (entries)
export const MM_TABLES: i32 = 20; // i32 number of page-table pages owned
export const MM_BYTES: i32 = 64;

// VMA table entry: [start address u64][end address u64][vm_flags u32][huge page shift u32] = 24 bytes
// (vmaSet() takes page numbers and stores byte addresses)
export const VMA_START: i32 = 0;
export const VMA_END: i32 = 8;
export const VMA_FLAGS: i32 = 16;
export const VMA_HUGE_SHIFT: i32 = 20;
export const VMA_BYTES: i32 = 24;
