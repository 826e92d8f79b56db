// hmm_range_fault()'s page walk (mm/hmm.c driven by mm/pagewalk.c), one function per level.
//
// One call walks [last, end) of one address space and either finishes (0), fails with the kernel's
// errno, or stops with -EBUSY and an action for the host (a fault to run through the fault model,
// or a migration entry to wait for). The host then loops exactly like hmm_range_fault() does:
// check the notifier sequence, walk again from `last`.
//
// hmm_pfns and all requests are read through the high 32 bits of each word: every request and
// cpu flag (VALID/WRITE/ERROR) lives there, which keeps the per-page work on 32-bit values.
import {
  CTX_ACTION, CTX_FAULT_END, CTX_LAST, CTX_NEED, CTX_PAGES_WALKED, CTX_VMA_INDEX, EBUSY, EFAULT,
  EINVAL, EPERM, HMM_NEED_ALL_BITS, HMM_NEED_FAULT, HMM_NEED_WRITE_FAULT, HMM_PFN_ERROR,
  HMM_PFN_INOUT_FLAGS_LATE, HMM_PFN_ORDER_SHIFT_LATE, HMM_PFN_ORDER_SHIFT_SEED, HMM_PFN_VALID,
  HMM_PFN_WRITE, MM_LEVELS, MM_ROOT, MM_VMAS, MM_VMA_COUNT, PAGE_SHIFT, PGMAP_TABLE, PMD_ORDER,
  PMD_SHIFT, PROFILE_DEVICE_THP, PROFILE_LATE_LAYOUT, PROFILE_NO_DEVMAP, PUD_ORDER, PUD_SHIFT, SWP_DEVICE_EXCLUSIVE_READ,
  SWP_DEVICE_EXCLUSIVE_WRITE, SWP_DEVICE_READ, SWP_DEVICE_WRITE, SWP_MIGRATION_READ,
  SWP_MIGRATION_WRITE, SWP_PTE_MARKER, MAX_SWAPFILES, VMA_BYTES, VMA_END, VMA_FLAGS,
  VMA_HUGE_SHIFT, VMA_START, VM_HUGETLB, VM_IO, VM_PFNMAP, VM_READ, VM_WRITE, WALK_ACTION_FAULT,
  WALK_ACTION_NONE, WALK_ACTION_WAIT_MIGRATION, WALK_ACTION_SPLIT_PUD, WALK_CTX, ZERO_PFN, META_OFF_AUX, FRAME_DEVICE_PRIVATE,
  META_OFF_FLAGS, PTE_PFN_MASK, PTE_PRESENT, PTE_RW, PTE_SPECIAL,
} from "./layout";
import {
  isTableEntry, pmdBad, pmdDevmap, pmdPresent, pmdTransHuge, pteDevmap, pteNone, ptePfn,
  ptePresent, pteProtnone, pteSpecial, pteWrite, pudHuge, pudTransHuge, shiftOfLevel, swpOffset,
  swpType, tableOf, upperBad, upperPresent,
} from "./pgtable";
import { highestMemmapPfn, metaPtr } from "./frames";

// hmm pfn flag bits as seen in the high 32-bit half of a word
const VALID_HI: u32 = <u32>(HMM_PFN_VALID >> 32);
const WRITE_HI: u32 = <u32>(HMM_PFN_WRITE >> 32);
const REQ_FAULT_HI: u32 = VALID_HI;
const REQ_WRITE_HI: u32 = WRITE_HI;

// the walk in progress (struct hmm_vma_walk + struct hmm_range + struct mm_walk)
let mm: usize = 0;
let pfns: usize = 0; // hmm_pfns[0] corresponds to rangeStart
let rangeStart: u64 = 0;
let defaultHi: u32 = 0;
let maskHi: u32 = 0;
let owner: u32 = 0; // dev_private_owner id; 0 is NULL and never matches
let orderShift: u64 = HMM_PFN_ORDER_SHIFT_SEED;
let deviceThp = false; // PROFILE_DEVICE_THP: PMD-level device-private entries exist
let noDevmap = false; // PROFILE_NO_DEVMAP: no devmap exemptions; every leaf PUD is reported
let inout: u64 = 0; // LATE: input bits carried into every output word
let last: u64 = 0;
let vmaIndex: i32 = -1; // walk->vma; -1 is NULL
let vmaFlags: u32 = 0;
let pagesWalked: i64 = 0;
// per-page requests are all default_flags (pfn_flags_mask carries no request bit)
let uniformRequest = false;
// with uniform requests: every page asks for a write fault, so a read-only entry must fault
let requireWrite = false;

// ---- output and request helpers -------------------------------------------------------------

@inline function slotOf(addr: u64): usize {
  assert(addr >= rangeStart, "walk: address below the start of hmm_pfns");
  return pfns + (<usize>((addr - rangeStart) >> PAGE_SHIFT) << 3);
}

/** OUT(x): SEED overwrites the word; LATE keeps the sticky input bits. */
@inline function out(p: usize, v: u64): void {
  if (inout != 0) v |= load<u64>(p) & inout;
  store<u64>(p, v);
}

/** Stores w, w+1, w+2, ... into n words at p (a huge leaf: consecutive pfns, same flags). */
@inline function storeSeq(p: usize, n: usize, w: u64): void {
  let stop = p + (n << 3);
  if (ASC_FEATURE_SIMD) {
    let v = i64x2.replace_lane(i64x2.splat(w), 1, w + 1);
    let two = i64x2.splat(2);
    let four = i64x2.splat(4);
    let six = i64x2.splat(6);
    let eight = i64x2.splat(8);
    for (; p + 64 <= stop; p += 64) {
      v128.store(p, v);
      v128.store(p, i64x2.add(v, two), 16);
      v128.store(p, i64x2.add(v, four), 32);
      v128.store(p, i64x2.add(v, six), 48);
      v = i64x2.add(v, eight);
    }
    for (; p + 16 <= stop; p += 16) {
      v128.store(p, v);
      v = i64x2.add(v, two);
    }
    if (p < stop) store<u64>(p, i64x2.extract_lane(v, 0));
  } else {
    for (; p < stop; p += 8) store<u64>(p, w++);
  }
}

/** hmm_pfns_fill(). */
function fill(addr: u64, end: u64, v: u64): i32 {
  let p = slotOf(addr);
  let n = <usize>((end - addr) >> PAGE_SHIFT);
  let stop = p + (n << 3);
  if (inout == 0 && v == 0) {
    memory.fill(p, 0, n << 3);
    pagesWalked += <i64>n;
    return 0;
  }
  if (inout == 0) {
    if (ASC_FEATURE_SIMD) {
      let vv = i64x2.splat(v);
      for (; p + 16 <= stop; p += 16) v128.store(p, vv);
    }
    for (; p < stop; p += 8) store<u64>(p, v);
  } else {
    for (; p < stop; p += 8) store<u64>(p, v | (load<u64>(p) & inout));
  }
  pagesWalked += <i64>n;
  return 0;
}

/** hmm_pte_need_fault() on the high halves of the request word and the cpu flags. */
@inline function need(reqHi: u32, cpuHi: u32): i32 {
  let r = (reqHi & maskHi) | defaultHi;
  if ((r & REQ_FAULT_HI) == 0) return 0;
  if ((r & REQ_WRITE_HI) != 0 && (cpuHi & WRITE_HI) == 0) return HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT;
  if ((cpuHi & VALID_HI) == 0) return HMM_NEED_FAULT;
  return 0;
}

/** hmm_range_need_fault() over [addr, end). */
function needRange(addr: u64, end: u64, cpuHi: u32): i32 {
  if (((defaultHi | maskHi) & REQ_FAULT_HI) == 0) return 0;
  let p = slotOf(addr);
  let stop = p + (<usize>((end - addr) >> PAGE_SHIFT) << 3);
  let r = 0;
  for (; p < stop; p += 8) {
    r |= need(load<u32>(p, 4), cpuHi);
    if (r == HMM_NEED_ALL_BITS) break;
  }
  return r;
}

@inline function hiOf(v: u64): u32 { return <u32>(v >> 32); }
@inline function order(o: i32): u64 { return <u64>o << orderShift; }

/** hmm_vma_fault(): records the fault for the host, which runs handle_mm_fault over [addr, end). */
function fault(addr: u64, end: u64, required: i32): i32 {
  assert(addr < end && required != 0, "walk: empty fault range");
  last = addr;
  if ((required & HMM_NEED_WRITE_FAULT) != 0 && (vmaFlags & VM_WRITE) == 0) return -EPERM;
  store<i32>(WALK_CTX + CTX_ACTION, WALK_ACTION_FAULT);
  store<f64>(WALK_CTX + CTX_FAULT_END, <f64>(end >> PAGE_SHIFT));
  store<i32>(WALK_CTX + CTX_NEED, required);
  return -EBUSY;
}

/** migration_entry_wait(): the host completes the migration, then the walk restarts at addr. */
function waitMigration(addr: u64): i32 {
  last = addr;
  store<i32>(WALK_CTX + CTX_ACTION, WALK_ACTION_WAIT_MIGRATION);
  store<f64>(WALK_CTX + CTX_FAULT_END, <f64>((addr >> PAGE_SHIFT) + 1));
  return -EBUSY;
}

// ---- callbacks -----------------------------------------------------------------------------

/** hmm_vma_walk_hole(): no table below this point, or no VMA at all (vmaIndex < 0). */
function hole(addr: u64, end: u64): i32 {
  let required = needRange(addr, end, 0);
  if (vmaIndex < 0) {
    if (required != 0) return -EFAULT;
    return fill(addr, end, HMM_PFN_ERROR);
  }
  if (required != 0) return fault(addr, end, required);
  return fill(addr, end, 0);
}

/** The owner of the pgmap behind a device-private pfn. */
@inline function pgmapOwner(pfn: u64): u32 {
  let m = metaPtr(<u32>pfn);
  if (m == 0 || (load<u8>(m + META_OFF_FLAGS) & <u8>FRAME_DEVICE_PRIVATE) == 0) return 0;
  return load<u32>(<usize>PGMAP_TABLE + (<usize>load<u8>(m + META_OFF_AUX) << 2));
}

@inline function isDevicePrivateType(t: i32): bool {
  return t == SWP_DEVICE_WRITE || t == SWP_DEVICE_READ;
}

/** hmm_vma_handle_pte(): one page at addr; end is the end of the PMD chunk (for faults). */
@inline function handlePte(addr: u64, end: u64, pte: u64, p: usize): i32 {
  let reqHi = load<u32>(p, 4);
  if (pteNone(pte)) {
    let required = need(reqHi, 0);
    if (required != 0) return fault(addr, end, required);
    out(p, 0);
    return 0;
  }
  if (!ptePresent(pte)) {
    let t = swpType(pte);
    if (t == SWP_PTE_MARKER) {
      // pte_none_mostly(): a marker is handled exactly like an empty entry in SEED
      let required = need(reqHi, 0);
      if (required != 0) return fault(addr, end, required);
      out(p, 0);
      return 0;
    }
    if (isDevicePrivateType(t)) {
      let pfn = swpOffset(pte);
      if (owner != 0 && pgmapOwner(pfn) == owner) {
        let w: u64 = t == SWP_DEVICE_WRITE ? HMM_PFN_WRITE : 0;
        out(p, pfn | HMM_PFN_VALID | w);
        return 0;
      }
    }
    let required = need(reqHi, 0);
    if (required == 0) {
      out(p, 0);
      return 0;
    }
    if (t < MAX_SWAPFILES) return fault(addr, end, required);
    if (isDevicePrivateType(t)) return fault(addr, end, required);
    if (t == SWP_DEVICE_EXCLUSIVE_WRITE || t == SWP_DEVICE_EXCLUSIVE_READ) return fault(addr, end, required);
    if (t >= SWP_MIGRATION_READ && t <= SWP_MIGRATION_WRITE) return waitMigration(addr);
    return -EFAULT;
  }
  let cpuHi: u32 = pteProtnone(pte) ? 0 : (pteWrite(pte) ? VALID_HI | WRITE_HI : VALID_HI);
  let required = need(reqHi, cpuHi);
  if (required != 0) return fault(addr, end, required);
  let pfn = ptePfn(pte);
  // vm_normal_page() is NULL for special entries and pfns without a struct page
  let normal = !pteSpecial(pte) && pfn <= <u64>highestMemmapPfn;
  if (!normal && (noDevmap || !pteDevmap(pte)) && pfn != <u64>ZERO_PFN) {
    if (need(reqHi, 0) != 0) return -EFAULT;
    out(p, HMM_PFN_ERROR);
    return 0;
  }
  out(p, pfn | (<u64>cpuHi << 32));
  return 0;
}

/** hmm_vma_handle_pmd(): a present huge PMD (THP, huge zero page, devmap). */
function handlePmdLeaf(addr: u64, end: u64, pmd: u64): i32 {
  let cpu: u64 = pteProtnone(pmd) ? 0 :
    (pteWrite(pmd) ? HMM_PFN_VALID | HMM_PFN_WRITE : HMM_PFN_VALID) | order(PMD_ORDER);
  let required = needRange(addr, end, hiOf(cpu));
  if (required != 0) return fault(addr, end, required);
  let pfn = ptePfn(pmd) + ((addr & ((<u64>1 << PMD_SHIFT) - 1)) >> PAGE_SHIFT);
  let p = slotOf(addr);
  let n = <usize>((end - addr) >> PAGE_SHIFT);
  if (inout == 0) {
    storeSeq(p, n, pfn | cpu);
  } else {
    for (let a = addr; a < end; a += 4096, p += 8, pfn++) out(p, pfn | cpu);
  }
  pagesWalked += <i64>n;
  return 0;
}

@inline function isMigrationEntry(v: u64): bool {
  let t = swpType(v);
  return t >= SWP_MIGRATION_READ && t <= SWP_MIGRATION_WRITE;
}

/**
 * hmm_vma_handle_absent_pmd() (v6.19, rows M3L): a device-private PMD of the range's owner is
 * reported page by page with order 9 whatever the request; another owner's is ERROR without a
 * request and faulted (migrate_to_ram) with one; any other absent PMD is ERROR / -EFAULT.
 */
function handleAbsentPmd(addr: u64, end: u64, pmd: u64): i32 {
  let t = swpType(pmd);
  let devicePrivate = isDevicePrivateType(t);
  if (devicePrivate) {
    let pfn = swpOffset(pmd) + ((addr & ((<u64>1 << PMD_SHIFT) - 1)) >> PAGE_SHIFT);
    if (owner != 0 && pgmapOwner(swpOffset(pmd)) == owner) {
      let cpu = HMM_PFN_VALID | (t == SWP_DEVICE_WRITE ? HMM_PFN_WRITE : 0) | order(PMD_ORDER);
      let p = slotOf(addr);
      for (let a = addr; a < end; a += 4096, p += 8, pfn++) out(p, pfn | cpu);
      pagesWalked += <i64>((end - addr) >> PAGE_SHIFT);
      return 0;
    }
  }
  let required = needRange(addr, end, 0);
  if (required != 0) return devicePrivate ? fault(addr, end, required) : -EFAULT;
  return fill(addr, end, HMM_PFN_ERROR);
}

/** hmm_vma_walk_pmd(): the PMD entry at pmdp covers [addr, end). */
function walkPmd(pmdp: usize, addr: u64, end: u64): i32 {
  let pmd = load<u64>(pmdp);
  if (pmd == 0) return hole(addr, end);
  if (!pmdPresent(pmd) && isMigrationEntry(pmd)) {
    if (needRange(addr, end, 0) != 0) return waitMigration(addr);
    return fill(addr, end, 0);
  }
  if (!pmdPresent(pmd)) {
    if (deviceThp) return handleAbsentPmd(addr, end, pmd);
    if (needRange(addr, end, 0) != 0) return -EFAULT;
    return fill(addr, end, HMM_PFN_ERROR);
  }
  if (pmdDevmap(pmd) || pmdTransHuge(pmd)) return handlePmdLeaf(addr, end, pmd);
  if (pmdBad(pmd)) {
    if (needRange(addr, end, 0) != 0) return -EFAULT;
    return fill(addr, end, HMM_PFN_ERROR);
  }
  let ptep = tableOf(pmd) + (<usize>((addr >> PAGE_SHIFT) & 511) << 3);
  let p = slotOf(addr);
  if (uniformRequest && inout == 0) {
    // Fast path for the common case, same result as handlePte(): a present, non-special entry
    // with a struct page that satisfies the (uniform) request is just pfn | VALID [| WRITE].
    let highest = <u64>highestMemmapPfn;
    let needWrite = requireWrite;
    let m: u64 = PTE_PRESENT | PTE_SPECIAL | (needWrite ? PTE_RW : 0);
    let want: u64 = PTE_PRESENT | (needWrite ? PTE_RW : 0);
    let topMasked: u64 = highest << PAGE_SHIFT; // compare (v & PFN_MASK) without shifting first
    let p0 = p;
    let stop = p + (<usize>((end - addr) >> PAGE_SHIFT) << 3);
    if (ASC_FEATURE_SIMD) {
      let flagMask = i64x2.splat(m);
      let flagWant = i64x2.splat(want);
      let pfnMask = i64x2.splat(PTE_PFN_MASK);
      let top = i64x2.splat(topMasked);
      let valid = i64x2.splat(HMM_PFN_VALID);
      let rw = i64x2.splat(PTE_RW);
      for (; p + 32 <= stop; ptep += 32, p += 32) {
        let v0 = v128.load(ptep);
        let v1 = v128.load(ptep, 16);
        let f0 = v128.and(v0, pfnMask);
        let f1 = v128.and(v1, pfnMask);
        let ok = v128.and(
          v128.and(i64x2.eq(v128.and(v0, flagMask), flagWant), i64x2.le_s(f0, top)),
          v128.and(i64x2.eq(v128.and(v1, flagMask), flagWant), i64x2.le_s(f1, top)));
        if (i64x2.all_true(ok)) {
          v128.store(p, v128.or(v128.or(i64x2.shr_u(f0, PAGE_SHIFT), valid), i64x2.shl(v128.and(v0, rw), 61)));
          v128.store(p, v128.or(v128.or(i64x2.shr_u(f1, PAGE_SHIFT), valid), i64x2.shl(v128.and(v1, rw), 61)), 16);
          continue;
        }
        let a = addr + (<u64>(p - p0) << 9);
        for (let j: usize = 0; j < 32; j += 8) {
          let r = handlePte(a + (<u64>j << 9), end, load<u64>(ptep + j), p + j);
          if (r != 0) return r;
        }
      }
    } else {
      for (; p + 32 <= stop; ptep += 32, p += 32) {
        let v0 = load<u64>(ptep);
        let v1 = load<u64>(ptep, 8);
        let v2 = load<u64>(ptep, 16);
        let v3 = load<u64>(ptep, 24);
        let f0 = v0 & PTE_PFN_MASK;
        let f1 = v1 & PTE_PFN_MASK;
        let f2 = v2 & PTE_PFN_MASK;
        let f3 = v3 & PTE_PFN_MASK;
        let bad = ((v0 & m) ^ want) | ((v1 & m) ^ want) | ((v2 & m) ^ want) | ((v3 & m) ^ want);
        let inRange = (f0 <= topMasked) & (f1 <= topMasked) & (f2 <= topMasked) & (f3 <= topMasked);
        if (bad == 0 && inRange) {
          store<u64>(p, (f0 >> PAGE_SHIFT) | HMM_PFN_VALID | ((v0 & PTE_RW) << 61));
          store<u64>(p, (f1 >> PAGE_SHIFT) | HMM_PFN_VALID | ((v1 & PTE_RW) << 61), 8);
          store<u64>(p, (f2 >> PAGE_SHIFT) | HMM_PFN_VALID | ((v2 & PTE_RW) << 61), 16);
          store<u64>(p, (f3 >> PAGE_SHIFT) | HMM_PFN_VALID | ((v3 & PTE_RW) << 61), 24);
          continue;
        }
        let a = addr + (<u64>(p - p0) << 9);
        for (let j: usize = 0; j < 32; j += 8) {
          let r = handlePte(a + (<u64>j << 9), end, load<u64>(ptep + j), p + j);
          if (r != 0) return r;
        }
      }
    }
    for (; p < stop; ptep += 8, p += 8) {
      let v = load<u64>(ptep);
      let f = v & PTE_PFN_MASK;
      if ((v & m) == want && f <= topMasked) {
        store<u64>(p, (f >> PAGE_SHIFT) | HMM_PFN_VALID | ((v & PTE_RW) << 61));
        continue;
      }
      let r = handlePte(addr + (<u64>(p - p0) << 9), end, v, p);
      if (r != 0) return r;
    }
  } else {
    for (let a = addr; a < end; a += 4096, ptep += 8, p += 8) {
      let r = handlePte(a, end, load<u64>(ptep), p);
      if (r != 0) return r;
    }
  }
  pagesWalked += <i64>((end - addr) >> PAGE_SHIFT);
  return 0;
}

/** hmm_vma_walk_pud() (SEED: only devmap leaf PUDs are reported) and walk_pud_range(). */
function walkPud(pudp: usize, addr: u64, end: u64): i32 {
  let pud = load<u64>(pudp);
  if (pud == 0) return hole(addr, end);
  if (pudTransHuge(pud) || pmdDevmap(pud) || (noDevmap && pudHuge(pud))) {
    // pud_trans_huge_lock() succeeded: HMM handles the leaf itself (later kernels: any pud_leaf)
    if (pudHuge(pud) && (noDevmap || pmdDevmap(pud))) {
      if (!upperPresent(pud)) return hole(addr, end);
      let cpu: u64 = (pteWrite(pud) ? HMM_PFN_VALID | HMM_PFN_WRITE : HMM_PFN_VALID) | order(PUD_ORDER);
      let required = needRange(addr, end, hiOf(cpu));
      if (required != 0) return fault(addr, end, required);
      let pfn = ptePfn(pud) + ((addr & ((<u64>1 << PUD_SHIFT) - 1)) >> PAGE_SHIFT);
      let p = slotOf(addr);
      for (let a = addr; a < end; a += 4096, p += 8, pfn++) out(p, pfn | cpu);
      pagesWalked += <i64>((end - addr) >> PAGE_SHIFT);
      return 0;
    }
    // ACTION_SUBTREE on a trans-huge PUD: split_huge_pud() zaps it inside a CLEAR invalidation,
    // which the host raises; the walk then resumes here and finds a hole
    last = addr;
    store<i32>(WALK_CTX + CTX_ACTION, WALK_ACTION_SPLIT_PUD);
    store<f64>(WALK_CTX + CTX_FAULT_END, <f64>(end >> PAGE_SHIFT));
    return -EBUSY;
  }
  if (!isTableEntry(pud)) {
    // a PUD that is neither a table nor a leaf HMM knows: reported like a bad PMD
    if (needRange(addr, end, 0) != 0) return -EFAULT;
    return fill(addr, end, HMM_PFN_ERROR);
  }
  let t = tableOf(pud);
  let a = addr;
  while (a < end) {
    let next = ((a >> PMD_SHIFT) + 1) << PMD_SHIFT;
    if (next > end || next == 0) next = end;
    let pmdp = t + (<usize>((a >> PMD_SHIFT) & 511) << 3);
    let r = walkPmd(pmdp, a, next);
    if (r != 0) return r;
    a = next;
  }
  return 0;
}

/** walk_pgd_range() / walk_p4d_range(): `level` is the paging level of the table t. */
function walkUpper(t: usize, level: i32, addr: u64, end: u64): i32 {
  let sh = shiftOfLevel(level);
  let a = addr;
  while (a < end) {
    let next = ((a >> sh) + 1) << sh;
    if (next > end || next == 0) next = end;
    let slot = t + (<usize>((a >> sh) & 511) << 3);
    let r: i32;
    if (level == 2) {
      r = walkPud(slot, a, next);
    } else {
      let e = load<u64>(slot);
      if (e != 0 && upperBad(e)) {
        // pgd_none_or_clear_bad(): a bad entry is cleared and walked as a hole
        store<u64>(slot, 0);
        e = 0;
      }
      r = e == 0 ? hole(a, next) : walkUpper(tableOf(e), level - 1, a, next);
    }
    if (r != 0) return r;
    a = next;
  }
  return 0;
}

/** hmm_vma_walk_hugetlb_entry() for each huge page of [addr, end) (walk_hugetlb_range()). */
function walkHugetlb(addr: u64, end: u64, hugeShift: i32): i32 {
  let size: u64 = <u64>1 << hugeShift;
  let a = addr;
  while (a < end) {
    let base = a & ~(size - 1);
    let next = base + size;
    if (next > end) next = end;
    let slot = hugePteOffset(base, hugeShift);
    let r: i32;
    if (slot == 0) {
      r = hole(a, next);
    } else {
      let entry = load<u64>(slot);
      let cpuFlags: u64 = (!ptePresent(entry) || pteProtnone(entry)) ? 0 :
        (pteWrite(entry) ? HMM_PFN_VALID | HMM_PFN_WRITE : HMM_PFN_VALID);
      cpuFlags |= order(hugeShift - PAGE_SHIFT);
      // QUIRK: the first page's request decides for the whole huge page
      let required = need(load<u32>(slotOf(a), 4), hiOf(cpuFlags));
      if (required != 0) {
        r = fault(a, next, required);
      } else {
        let pfn = ptePfn(entry) + ((a & (size - 1)) >> PAGE_SHIFT);
        let p = slotOf(a);
        for (let x = a; x < next; x += 4096, p += 8, pfn++) out(p, pfn | cpuFlags);
        pagesWalked += <i64>((next - a) >> PAGE_SHIFT);
        r = 0;
      }
    }
    if (r != 0) return r;
    a = next;
  }
  return 0;
}

/** huge_pte_offset(): the PUD slot (1 GiB) or PMD slot (2 MiB) of a hugetlb page, 0 if unreachable. */
function hugePteOffset(va: u64, hugeShift: i32): usize {
  let levels = load<i32>(mm + MM_LEVELS);
  let t = <usize>load<u32>(mm + MM_ROOT);
  for (let lv = levels - 1; lv >= 2; lv--) {
    let slot = t + (<usize>((va >> shiftOfLevel(lv)) & 511) << 3);
    if (lv == 2) {
      if (hugeShift == PUD_SHIFT) return slot;
      let pud = load<u64>(slot);
      if (!upperPresent(pud) || !isTableEntry(pud)) return 0;
      return tableOf(pud) + (<usize>((va >> PMD_SHIFT) & 511) << 3);
    }
    let e = load<u64>(slot);
    if (!upperPresent(e)) return 0;
    t = tableOf(e);
  }
  return 0;
}

// ---- walk_page_range() ---------------------------------------------------------------------

@inline function vmaPtr(i: i32): usize {
  return <usize>load<u32>(mm + MM_VMAS) + <usize>i * VMA_BYTES;
}

/** find_vma(): index of the first VMA whose end is above addr, or the VMA count. */
function findVma(addr: u64): i32 {
  let lo = 0;
  let hi = load<i32>(mm + MM_VMA_COUNT);
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    if (load<u64>(vmaPtr(mid) + VMA_END) <= addr) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function walkPageRange(start: u64, end: u64): i32 {
  if (start >= end) return -EINVAL;
  let count = load<i32>(mm + MM_VMA_COUNT);
  let vi = findVma(start);
  let a = start;
  while (a < end) {
    let next: u64;
    let err: i32;
    if (vi >= count || a < load<u64>(vmaPtr(vi) + VMA_START)) {
      vmaIndex = -1;
      vmaFlags = 0;
      next = vi >= count ? end : min(end, load<u64>(vmaPtr(vi) + VMA_START));
      err = hole(a, next);
    } else {
      let v = vmaPtr(vi);
      vmaIndex = vi;
      vmaFlags = load<u32>(v + VMA_FLAGS);
      next = min(end, load<u64>(v + VMA_END));
      vi++;
      if ((vmaFlags & (VM_IO | VM_PFNMAP)) != 0 || (vmaFlags & VM_READ) == 0) {
        // hmm_vma_walk_test(): an unsupported VMA is skipped, or a hard failure if faulting
        if (needRange(a, next, 0) != 0) return -EFAULT;
        fill(a, next, HMM_PFN_ERROR);
        err = 0;
      } else if ((vmaFlags & VM_HUGETLB) != 0) {
        err = walkHugetlb(a, next, load<i32>(v + VMA_HUGE_SHIFT));
      } else {
        let levels = load<i32>(mm + MM_LEVELS);
        err = walkUpper(<usize>load<u32>(mm + MM_ROOT), levels - 1, a, next);
      }
    }
    if (err != 0) return err;
    a = next;
  }
  return 0;
}

/**
 * One pass of hmm_range_fault(): walks [lastPage, endPage) of mm into the hmm_pfns array at
 * pfnsPtr (whose first word is for startPage). Returns 0, -EFAULT, -EPERM, -EINVAL, or -EBUSY
 * with WALK_CTX telling the host what to do before the next pass (CTX_LAST is where to restart).
 */
export function hmmWalk(
  mmPtr: usize, pfnsPtr: usize, startPage: f64, lastPage: f64, endPage: f64,
  defaultFlagsHi: u32, pfnFlagsMaskHi: u32, ownerId: u32, profile: i32,
): i32 {
  mm = mmPtr;
  pfns = pfnsPtr;
  rangeStart = <u64>startPage << PAGE_SHIFT;
  defaultHi = defaultFlagsHi;
  maskHi = pfnFlagsMaskHi;
  owner = ownerId;
  let late = (profile & PROFILE_LATE_LAYOUT) != 0;
  orderShift = late ? HMM_PFN_ORDER_SHIFT_LATE : HMM_PFN_ORDER_SHIFT_SEED;
  deviceThp = (profile & PROFILE_DEVICE_THP) != 0;
  noDevmap = (profile & PROFILE_NO_DEVMAP) != 0;
  inout = late ? HMM_PFN_INOUT_FLAGS_LATE : 0;
  last = <u64>lastPage << PAGE_SHIFT;
  pagesWalked = 0;
  vmaIndex = -1;
  uniformRequest = (maskHi & (REQ_FAULT_HI | REQ_WRITE_HI)) == 0;
  requireWrite = (defaultHi & (REQ_FAULT_HI | REQ_WRITE_HI)) == (REQ_FAULT_HI | REQ_WRITE_HI);
  store<i32>(WALK_CTX + CTX_ACTION, WALK_ACTION_NONE);
  let r = walkPageRange(last, <u64>endPage << PAGE_SHIFT);
  store<f64>(WALK_CTX + CTX_LAST, <f64>(last >> PAGE_SHIFT));
  store<i32>(WALK_CTX + CTX_VMA_INDEX, vmaIndex);
  store<i32>(WALK_CTX + CTX_PAGES_WALKED, <i32>pagesWalked);
  return r;
}
