// The coherence invariants of a simulated machine, checked between operations (never inside one):
// what the kernel promises after every invalidation has returned, and the bookkeeping that must
// balance for that promise to mean anything (docs/semantics.md §4, §6).
//
//   * mirror ⊆ CPU: every entry a device mirror holds maps the same pfn as the CPU page table, with
//     no more permission (a device-private pfn only for the mirror whose owner owns the page);
//   * every reference and mapping of a frame is accounted for: refcount and mapcount recomputed
//     from all page tables, page caches and swap entries equal the stored ones, and no allocated
//     frame is unreachable (a leak);
//   * every entry lies inside a VMA (a huge leaf entirely inside one), no writable entry in a VMA
//     without VM_WRITE, no writable mapping of an anonymous page mapped twice (COW);
//   * the engine's VMA table (what the walker reads) equals the host's VMA list;
//   * no mmap lock held and no invalidation open after an operation returned.
import type { Engine } from "../../engine/engine.js";
import { FRAME, HMM_PFN_WRITE, PAGE_SIZE, PHYS, VM } from "../../engine/layout.js";
import * as pte from "../../engine/pte.js";
import type { Entry } from "../../engine/pte.js";
import { Device } from "../../drivers/device.js";
import type { Mirror } from "../../drivers/mirror.js";
import { hmmPfnToPfn } from "../../hmm/range-fault.js";
import { machineOf } from "../../mm/mm-struct.js";
import { type MmStruct, liveMms } from "../../mm/mm-struct.js";
import type { SimFile } from "../../mm/file.js";
import { hex } from "../../mm/vma.js";
import { argOptions } from "../../engine/validate.js";

/** One broken invariant: `kind` is a stable identifier, `message` says what and where. */
export interface InvariantViolation {
  /** Which invariant broke (a short identifier, e.g. "mapcount"). */
  kind: string;
  /** What was found. */
  message: string;
  /** Id of the Mm concerned (Mm.id), if any. */
  mmId?: number;
  /** Virtual byte address concerned, if any. */
  addr?: number;
  /** Frame concerned, if any. */
  pfn?: number;
}

/** Options of checkInvariants() / checkTeardown(). */
export interface CheckOptions {
  /** Device mirrors to check against the CPU page tables (mirror ⊆ CPU). */
  mirrors?: readonly Mirror[];
  /**
   * Files whose page caches hold references even when no VMA maps them any more (the caller
   * keeps them alive). Files mapped by a live Mm are found on their own.
   */
  files?: readonly SimFile[];
  /** Stop after this many violations (default 50). */
  limit?: number;
}

const PAGE = PAGE_SIZE;

/** Collects violations up to a limit. */
class Report {
  readonly out: InvariantViolation[] = [];
  constructor(private readonly limit: number) {}
  add(v: InvariantViolation): void {
    if (this.out.length < this.limit) this.out.push(v);
  }
  get full(): boolean {
    return this.out.length >= this.limit;
  }
}

/** What the page tables, page caches and swap entries say every frame should hold. */
interface Expected {
  /** Folio head -> references. */
  refs: Map<number, number>;
  /** Page -> mappings. */
  maps: Map<number, number>;
  /** Swap slot -> swap entries. */
  swap: Map<number, number>;
  /** Writable PTEs of private anonymous pages (each page must be mapped once: COW). */
  writableAnon: { mm: MmStruct; addr: number; pfn: number }[];
}

const bump = (m: Map<number, number>, k: number, by = 1): void => void m.set(k, (m.get(k) ?? 0) + by);

/**
 * Checks every invariant of the machine `engine` simulates; returns [] when all hold. Run it
 * between operations: inside one (from a notifier callback or hook) state is legitimately in flux.
 */
export function checkInvariants(engine: Engine, options: CheckOptions = {}): InvariantViolation[] {
  const opts = argOptions<CheckOptions>("checkInvariants", "opts", options);
  const r = new Report(opts.limit ?? 50);
  const mms = liveMms(engine);
  const exp: Expected = { refs: new Map(), maps: new Map(), swap: new Map(), writableAnon: [] };
  const files = new Set<SimFile>(opts.files ?? []);
  for (const mm of mms) {
    checkMmState(mm, r);
    checkVmaTable(mm, r);
    walkEntries(mm, exp, r);
    for (const v of mm.vmas) if (v.file) files.add(v.file);
  }
  for (const f of files) {
    for (const [index, pfn] of f.pageCache) {
      if (!engine.hasStructPage(pfn)) {
        r.add({
          kind: "page-cache",
          message: `file ${f.name} index ${index} caches pfn ${pfn} without a struct page`,
          pfn,
        });
        continue;
      }
      bump(exp.refs, engine.folioOf(pfn).head);
    }
  }
  for (const w of exp.writableAnon) {
    const n = exp.maps.get(w.pfn) ?? 0;
    if (n > 1)
      r.add({
        kind: "cow",
        message: `mm ${w.mm.id}: writable PTE at ${hex(w.addr)} maps anonymous pfn ${w.pfn}, which is mapped ${n} times`,
        mmId: w.mm.id,
        addr: w.addr,
        pfn: w.pfn,
      });
  }
  checkFrames(engine, exp, r);
  checkSwap(engine, exp, r);
  for (const m of opts.mirrors ?? []) checkMirror(m, r);
  return r.out;
}

function checkMmState(mm: MmStruct, r: Report): void {
  if (mm.isLocked) r.add({ kind: "lock-held", message: `mm ${mm.id}: the mmap lock is still held`, mmId: mm.id });
  const n = mm.notifiers;
  if (n.activeInvalidateRanges !== 0 || (n.invalidateSeq & 1) !== 0) {
    r.add({
      kind: "open-invalidation",
      message: `mm ${mm.id}: ${n.activeInvalidateRanges} invalidation(s) open, sequence ${n.invalidateSeq}`,
      mmId: mm.id,
    });
  }
  let prevEnd = 0;
  for (const v of mm.vmas) {
    const bad =
      !Number.isSafeInteger(v.start / PAGE) ||
      v.start % PAGE !== 0 ||
      v.end % PAGE !== 0 ||
      v.start >= v.end ||
      v.start < prevEnd ||
      v.end > mm.taskSize + PAGE;
    if (bad)
      r.add({
        kind: "vma-list",
        message: `mm ${mm.id}: bad VMA ${v} (previous ends at ${hex(prevEnd)})`,
        mmId: mm.id,
        addr: v.start,
      });
    if (v.isHugetlb && (v.start % 2 ** v.hugeShift !== 0 || v.end % 2 ** v.hugeShift !== 0)) {
      r.add({
        kind: "vma-list",
        message: `mm ${mm.id}: hugetlb VMA ${v} not aligned to its page size`,
        mmId: mm.id,
        addr: v.start,
      });
    }
    prevEnd = v.end;
  }
}

function checkVmaTable(mm: MmStruct, r: Report): void {
  const t = mm.engineVmaTable();
  const same =
    t.length === mm.vmas.length &&
    mm.vmas.every(
      (v, i) =>
        t[i].start === v.start && t[i].end === v.end && t[i].flags === v.flags >>> 0 && t[i].hugeShift === v.hugeShift,
    );
  if (!same) {
    const show = t.map((x) => `[${hex(x.start)}-${hex(x.end)} ${x.flags.toString(16)}]`).join(" ");
    r.add({
      kind: "vma-table",
      message: `mm ${mm.id}: engine VMA table ${show} differs from the VMA list ${mm.vmas.join(" ")}`,
      mmId: mm.id,
    });
  }
}

/** Every leaf entry of mm: inside a VMA, permission within the VMA's, and what it holds. */
function walkEntries(mm: MmStruct, exp: Expected, r: Report): void {
  const eng = mm.engine;
  mm.forEachLeaf(0, mm.taskSize + PAGE, (addr, level, _ptr, e) => {
    const span = 2 ** (12 + 9 * level);
    const base = addr - (addr % span);
    const v = mm.vmaLookup(base);
    if (!v || base + span > v.end) {
      r.add({
        kind: "entry-outside-vma",
        message: `mm ${mm.id}: level-${level} entry at ${hex(base)} (+${span}) lies outside every VMA`,
        mmId: mm.id,
        addr: base,
      });
    }
    if (pte.isPresent(e)) {
      const pfn = pte.pfnOf(e);
      const writable = (e.lo & 1) !== 0 && pte.isWrite(e); // PRESENT and RW (protnone keeps RW as the saved bit)
      if (writable && v && (v.flags & VM.WRITE) === 0) {
        r.add({
          kind: "write-beyond-vma",
          message: `mm ${mm.id}: writable entry at ${hex(base)} in VMA ${v} without VM_WRITE`,
          mmId: mm.id,
          addr: base,
          pfn,
        });
      }
      if (
        pte.isSpecial(e) ||
        pte.isDevmap(e) ||
        !eng.hasStructPage(pfn) ||
        (eng.frameFlags(pfn) & FRAME.RESERVED) !== 0
      )
        return;
      const { head } = eng.folioOf(pfn);
      bump(exp.refs, head);
      bump(exp.maps, level === 0 ? pfn : head);
      if (writable && level === 0 && (eng.frameFlags(head) & FRAME.ANON) !== 0 && v && !v.isShared)
        exp.writableAnon.push({ mm, addr: base, pfn });
      return;
    }
    if (pte.isRegularSwap(e)) {
      bump(exp.swap, pte.swapOffset(e));
      return;
    }
    if (pte.isMigration(e) || pte.isDevicePrivate(e) || pte.isDeviceExclusive(e)) {
      const pfn = pte.swapOffset(e);
      if (!eng.hasStructPage(pfn)) {
        r.add({
          kind: "dangling-entry",
          message: `mm ${mm.id}: entry at ${hex(base)} names pfn ${pfn} without a struct page`,
          mmId: mm.id,
          addr: base,
          pfn,
        });
        return;
      }
      const { head } = eng.folioOf(pfn);
      bump(exp.refs, head);
      bump(exp.maps, level === 0 ? pfn : head);
    }
  });
}

/** Refcounts, mapcounts and leaks of every frame in use. */
function checkFrames(engine: Engine, exp: Expected, r: Report): void {
  const machine = machineOf(engine);
  // folios with migrations in flight hold references the tables no longer show
  const busy = new Set<number>();
  const busyHead = (pfn: number): void => void (engine.hasStructPage(pfn) && busy.add(engine.folioOf(pfn).head));
  for (const pfn of machine.migrationLocs.keys()) busyHead(pfn);
  for (const pfn of engine.pendingMigrations.keys()) busyHead(pfn);
  for (const mm of liveMms(engine)) for (const pfn of mm.pendingMigrations.keys()) busyHead(pfn);
  const hugetlbUsed = new Map<number, number>();
  const deviceUsed = new Map<number, number>();
  // frames come in ascending pfn order: a tail belongs to the last head seen
  let lastHead = -1;
  engine.forEachFrame((pfn, rc, mc, flags, aux) => {
    if (r.full || (flags & FRAME.RESERVED) !== 0) return;
    if ((flags & FRAME.HEAD) !== 0) lastHead = pfn;
    const head = (flags & FRAME.TAIL) !== 0 ? lastHead : pfn;
    if (busy.has(head)) return;
    const wantMaps = exp.maps.get(pfn) ?? 0;
    if (mc !== wantMaps) {
      r.add({
        kind: "mapcount",
        message: `pfn ${pfn}: mapcount ${mc}, the page tables map it ${wantMaps} time(s)`,
        pfn,
      });
    }
    if ((flags & FRAME.TAIL) !== 0) return;
    const want = exp.refs.get(pfn) ?? 0;
    if ((flags & FRAME.DEVICE_PRIVATE) !== 0) {
      if (rc > 0) bump(deviceUsed, aux);
      if (rc !== want)
        r.add({ kind: "refcount", message: `device pfn ${pfn}: refcount ${rc}, ${want} reference(s) found`, pfn });
      return;
    }
    if (want === 0) {
      r.add({
        kind: "leak",
        message: `pfn ${pfn} (flags ${flags.toString(16)}, order ${(flags & FRAME.HEAD) !== 0 ? aux : 0}) is allocated with refcount ${rc} but nothing references it`,
        pfn,
      });
    } else if (rc !== want) {
      r.add({ kind: "refcount", message: `pfn ${pfn}: refcount ${rc}, ${want} reference(s) found`, pfn });
    }
    if ((flags & FRAME.HUGETLB) !== 0) bump(hugetlbUsed, aux + 12);
  });
  for (const head of exp.refs.keys()) {
    if (busy.has(head)) continue;
    const flags = engine.frameFlags(head);
    if (flags === 0)
      r.add({ kind: "free-frame-mapped", message: `pfn ${head} is free but still referenced`, pfn: head });
  }
  for (const [shift, total] of engine.hugetlbTotal) {
    const free = engine.hugetlbFree.get(shift) ?? 0;
    const used = hugetlbUsed.get(shift) ?? 0;
    if (total > 0 && free + used !== total) {
      r.add({
        kind: "hugetlb-pool",
        message: `hugetlb ${(2 ** shift) >> 20} MiB pool: ${free} free + ${used} in use != ${total} pages`,
      });
    }
  }
  for (const ops of engine.pgmaps.values()) {
    if (!(ops instanceof Device)) continue;
    const used = deviceUsed.get(ops.pgmapIndex) ?? 0;
    if (used + ops.freePages !== ops.npages) {
      r.add({
        kind: "device-pages",
        message: `device pgmap ${ops.pgmapIndex}: ${used} in use + ${ops.freePages} free != ${ops.npages} pages`,
      });
    }
  }
}

function checkSwap(engine: Engine, exp: Expected, r: Report): void {
  for (const [slot, n] of exp.swap) {
    const refs = engine.swap.refs(slot);
    if (refs !== n)
      r.add({ kind: "swap", message: `swap slot ${slot}: ${refs} reference(s) recorded, ${n} swap entries` });
  }
  if (engine.swap.used !== exp.swap.size) {
    r.add({
      kind: "swap-leak",
      message: `swap: ${engine.swap.used} slot(s) in use, ${exp.swap.size} referenced by swap entries`,
    });
  }
}

/** mirror ⊆ CPU: same pfn, no more permission, device-private pages only of the mirror's owner. */
function checkMirror(m: Mirror, r: Report): void {
  const mm = m.mm;
  if (mm.exited) {
    if (m.entries.size > 0)
      r.add({
        kind: "mirror-after-exit",
        message: `mirror of exited mm ${mm.id} still holds ${m.entries.size} entries`,
        mmId: mm.id,
      });
    return;
  }
  const eng = mm.engine;
  if (m.entries.size === 0) return;
  // one walk of the CPU leaves under the mirrored pages instead of a lookup per page
  let lo = Infinity;
  let hi = -Infinity;
  for (const page of m.entries.keys()) {
    if (page < lo) lo = page;
    if (page > hi) hi = page;
  }
  const leaves = new Map<number, { level: number; entry: Entry }>();
  mm.forEachLeaf(lo * PAGE, (hi + 1) * PAGE, (a, level, _p, entry) => {
    const span = 2 ** (9 * level);
    const first = Math.floor(a / PAGE / span) * span;
    for (let p = Math.max(first, lo); p < Math.min(first + span, hi + 1); p++)
      if (m.entries.has(p)) leaves.set(p, { level, entry });
  });
  for (const [page, word] of m.entries) {
    if (r.full) return;
    const addr = page * PAGE;
    const pfn = hmmPfnToPfn(word, mm.profile);
    const write = (word & HMM_PFN_WRITE) !== 0n;
    const leaf = leaves.get(page) ?? { level: -1, entry: pte.NONE };
    const e: Entry = leaf.entry;
    const where = { mmId: mm.id, addr, pfn };
    let cpuPfn = -1;
    let cpuWrite = false;
    if (leaf.level >= 0 && (e.lo & 1) !== 0) {
      const span = 2 ** (12 + 9 * leaf.level);
      cpuPfn = pte.pfnOf(e) + Math.floor((addr % span) / PAGE);
      cpuWrite = pte.isWrite(e);
    } else if (leaf.level === 0 && (pte.isDevicePrivate(e) || pte.isDeviceExclusive(e))) {
      cpuPfn = pte.swapOffset(e);
      cpuWrite = pte.isWritableSwapLike(e);
      if (pte.isDevicePrivate(e) && eng.pgmapOwnerId(cpuPfn) !== eng.ownerId(m.owner)) {
        r.add({
          kind: "mirror-owner",
          message: `mirror (mm ${mm.id}) maps device-private pfn ${cpuPfn} at ${hex(addr)} of another owner`,
          ...where,
        });
        continue;
      }
    }
    if (cpuPfn < 0) {
      const what = leaf.level < 0 ? "nothing" : pte.isProtnone(e) ? "a protnone entry" : "a non-present entry";
      r.add({
        kind: "mirror-stale",
        message: `mirror (mm ${mm.id}) maps pfn ${pfn} at ${hex(addr)} where the CPU has ${what}`,
        ...where,
      });
    } else if (cpuPfn !== pfn) {
      r.add({
        kind: "mirror-pfn",
        message: `mirror (mm ${mm.id}) maps pfn ${pfn} at ${hex(addr)}, the CPU maps pfn ${cpuPfn}`,
        ...where,
      });
    } else if (write && !cpuWrite) {
      r.add({
        kind: "mirror-permission",
        message: `mirror (mm ${mm.id}) maps pfn ${pfn} at ${hex(addr)} writable, the CPU read-only`,
        ...where,
      });
    } else if (pfn === PHYS.ZERO_PFN && write) {
      r.add({
        kind: "mirror-permission",
        message: `mirror (mm ${mm.id}) maps the zero page writable at ${hex(addr)}`,
        ...where,
      });
    }
  }
}

/**
 * The teardown check: after every Mm has exited, everything the machine handed out came back —
 * no frame in use beyond the page caches of `files`, every hugetlb page in its pool, every device
 * page on its device's free list, no swap slot, no migration in flight.
 */
export function checkTeardown(engine: Engine, opts: { files?: readonly SimFile[] } = {}): InvariantViolation[] {
  const r = new Report(50);
  const live = liveMms(engine);
  if (live.length > 0)
    r.add({ kind: "teardown-mm", message: `${live.length} Mm(s) still live: ${live.map((m) => m.id).join(", ")}` });
  let cached = 0;
  const cachedHuge = new Map<number, number>();
  for (const f of opts.files ?? []) {
    for (const pfn of f.pageCache.values()) {
      const { order } = engine.folioOf(pfn);
      cached += 2 ** order;
      if (engine.frameFlags(pfn) & FRAME.HUGETLB) bump(cachedHuge, order + 12);
    }
  }
  if (engine.framesInUse() !== cached) {
    r.add({
      kind: "teardown-frames",
      message: `${engine.framesInUse()} frame(s) still in use, ${cached} held by page caches`,
    });
  }
  for (const [shift, total] of engine.hugetlbTotal) {
    const free = engine.hugetlbFree.get(shift) ?? 0;
    if (free + (cachedHuge.get(shift) ?? 0) !== total)
      r.add({
        kind: "teardown-hugetlb",
        message: `hugetlb ${(2 ** shift) >> 20} MiB pool: ${free} of ${total} pages free`,
      });
  }
  for (const ops of engine.pgmaps.values()) {
    if (ops instanceof Device && ops.freePages !== ops.npages) {
      r.add({
        kind: "teardown-device",
        message: `device pgmap ${ops.pgmapIndex}: ${ops.freePages} of ${ops.npages} pages free`,
      });
    }
  }
  if (engine.swap.used !== 0)
    r.add({ kind: "teardown-swap", message: `${engine.swap.used} swap slot(s) still in use` });
  const machine = machineOf(engine);
  if (machine.migrationLocs.size > 0 || engine.pendingMigrations.size > 0) {
    r.add({
      kind: "teardown-migration",
      message: `${engine.pendingMigrations.size} migration(s) in flight, ${machine.migrationLocs.size} folio(s) with migration entries`,
    });
  }
  return r.out;
}

/** Formats violations one per line (for error messages and fuzzer reports). */
export function formatViolations(vs: readonly InvariantViolation[]): string {
  return vs.map((v) => `${v.kind}: ${v.message}`).join("\n");
}
