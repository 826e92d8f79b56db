// A reverse map (rmap_walk) for the simulator: every (mm, VMA) that maps a folio.
//
// The kernel finds the mappings of an anonymous folio through its anon_vma (every VMA forked from
// the one that faulted it, at the folio's linear index) and of a file folio through the file's
// i_mmap tree. The simulator keeps neither, so:
//   * file folios: every live Mm's VMAs mapping the same file are looked up at the folio's file
//     index (exact, like i_mmap);
//   * anonymous folios: every live Mm's VMAs that have an anon_vma are scanned for entries mapping
//     the folio (this also finds pages moved by mremap, where the address changed).
// The common case, a folio whose every mapping lies in the VMA it was found through, needs no scan.
// Hits come in Mm creation order (a parent before its children), then address order.
import type { Engine } from "../engine/engine.js";
import { FRAME, PAGE_SIZE, VM } from "../engine/layout.js";
import { type MmStruct, liveMms } from "./mm-struct.js";
import * as pte from "../engine/pte.js";
import type { Vma } from "./vma.js";
import type { SimFile } from "./file.js";
import { type FolioView, folioAt, isNormalPage } from "./folio.js";

/** The part of a folio mapped by one VMA of one Mm. */
export interface RmapHit {
  /** The address space. */
  mm: MmStruct;
  /** The VMA mapping (part of) the folio. */
  vma: Vma;
  /** The folio as seen through that VMA, with its mappings. */
  view: FolioView;
}

/** rmap_walk() of one folio: every VMA of every Mm that maps it (anon_vma or i_mmap in the kernel). */
export interface Rmap {
  /** Head pfn of the folio. */
  head: number;
  /** Folio order: log2 of its 4 KiB pages. */
  order: number;
  /** One hit per VMA mapping the folio. */
  hits: RmapHit[];
  /** Present mappings over all hits. */
  mappings: number;
  /** Some mapping is a migration or device-exclusive entry (the folio is locked elsewhere). */
  busy: boolean;
  /** For a page-cache folio: its file and index (in 4 KiB pages); null for anonymous folios. */
  file: RmapFile | null;
}

/** Where a page-cache folio lives in its file (Rmap.file): what i_mmap is searched by. */
export interface RmapFile {
  /** The file whose page cache holds the folio. */
  file: SimFile;
  /** The folio's first page in the file, in 4 KiB pages. */
  index: number;
}

const PAGE = PAGE_SIZE;

/**
 * rmap_walk() of the folio mapped at addr of (mm, v): every VMA of every live Mm mapping it.
 * null when addr maps no normal page.
 */
export function rmapWalk(mm: MmStruct, v: Vma, addr: number): Rmap | null {
  const f0 = folioAt(mm, v, addr);
  if (!f0) return null;
  const eng = mm.engine;
  const flags = eng.frameFlags(f0.head);
  let file: Rmap["file"] = null;
  if (!(flags & FRAME.ANON) && v.file) {
    // page-cache folio: its index from this mapping
    const first = f0.mappings[0];
    file = { file: v.file, index: v.pageIndex(first.addr) - first.sub };
  }
  // fast path: every mapping of the folio is in this VMA (mapcount counts them all)
  if (f0.mapcount === f0.mappings.length) {
    return {
      head: f0.head,
      order: f0.order,
      hits: [{ mm, vma: v, view: f0 }],
      mappings: f0.mappings.length,
      busy: false,
      file,
    };
  }
  return rmapOfFolio(eng, f0.head, f0.order, file);
}

/** The rmap of a folio given by head pfn (and file index for page-cache folios). */
export function rmapOfFolio(eng: Engine, head: number, order: number, file: Rmap["file"]): Rmap {
  const n = 2 ** order;
  const size = n * PAGE;
  const r: Rmap = { head, order, hits: [], mappings: 0, busy: false, file };
  for (const m of liveMms(eng)) {
    for (const v of m.vmas) {
      if (v.isHugetlb || v.flags & (VM.PFNMAP | VM.IO)) continue;
      let s = v.start;
      let e = v.end;
      if (file && (flags(eng, head) & FRAME.ANON) === 0) {
        if (v.file !== file.file) continue;
        const a = v.start + (file.index - v.pgoff) * PAGE;
        s = Math.max(v.start, a);
        e = Math.min(v.end, a + size);
        if (s >= e) continue;
      } else if (!v.anonVma) {
        continue;
      }
      const starts = new Map<number, number>();
      m.forEachLeaf(s, e, (a, level, _p, en) => {
        if (pte.isMigration(en) || pte.isDeviceExclusive(en)) {
          const p = pte.swapOffset(en);
          if (p >= head && p < head + n) r.busy = true;
          return;
        }
        if (level > 1 || !isNormalPage(m, en)) return;
        const p = pte.pfnOf(en);
        if (p < head || p >= head + n) return;
        const fa = level === 1 ? a - (a % size) : a - (p - head) * PAGE;
        if (!starts.has(fa)) starts.set(fa, a);
      });
      for (const at of starts.values()) {
        const view = folioAt(m, v, at);
        if (!view || view.head !== head) continue;
        r.hits.push({ mm: m, vma: v, view });
        r.mappings += view.mappings.length;
      }
    }
  }
  return r;
}

function flags(eng: Engine, pfn: number): number {
  return eng.frameFlags(pfn);
}

/**
 * The device-private entries mapping a device page in every live Mm (a device page is shared after
 * fork): one hit per entry, covering one page, in the shape rmapOfFolio returns.
 */
export function deviceRmap(eng: Engine, pfn: number): Rmap {
  const r: Rmap = { head: pfn, order: 0, hits: [], mappings: 0, busy: false, file: null };
  for (const m of liveMms(eng)) {
    for (const v of m.vmas) {
      if (!v.anonVma) continue;
      m.forEachLeaf(v.start, v.end, (a, level, ptr, en) => {
        if (level !== 0 || !pte.isDevicePrivate(en) || pte.swapOffset(en) !== pfn) return;
        const view: FolioView = {
          head: pfn,
          order: 0,
          addr: a,
          end: a + PAGE,
          mapcount: 0,
          mappings: [{ addr: a, level: 0, ptr, entry: en, sub: 0 }],
        };
        r.hits.push({ mm: m, vma: v, view });
        r.mappings++;
      });
    }
  }
  return r;
}
