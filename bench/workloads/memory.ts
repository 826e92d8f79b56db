// MEM: linear memory per populated 4 KiB page (each page with its own frame, so its 8-byte struct
// page exists next to its 8-byte PTE): the whole WebAssembly memory (fixed regions, heap, growth
// headroom) and the blocks in use (page tables, frame-metadata chunks, mm, VMA table).
import { type Ctx, engineOf } from "../lib/context.js";
import type { MemoryFigure } from "../lib/report.js";
import { GiB, PMD_SIZE, type Scene, newScene, writePteTables } from "../lib/scenes.js";

export function memoryFigure(label: string, s: Scene): MemoryFigure {
  const memoryBytes = s.eng.memoryBytes();
  return {
    label,
    pages: s.populated,
    memoryBytes,
    memoryBytesPerPage: memoryBytes / s.populated,
    blockBytesPerPage: (s.eng.blocksInUse() * 4096) / s.populated,
  };
}

/** A fresh engine with `bytes` of populated 4 KiB pages, measured, then dropped. */
export function memoryAt(c: Ctx, bytes: number): MemoryFigure {
  const s = newScene(engineOf(c, "release"), bytes);
  const step = (16 * GiB) / PMD_SIZE;
  for (let t = 0; t < bytes / PMD_SIZE; t += step)
    writePteTables(s, s.start + t * PMD_SIZE, Math.min(step, bytes / PMD_SIZE - t));
  const f = memoryFigure(`${bytes / GiB} GiB of 4 KiB pages`, s);
  c.log(
    `  MEM ${f.label}: ${f.memoryBytesPerPage.toFixed(2)} B/page of linear memory, ${f.blockBytesPerPage.toFixed(2)} B/page in blocks`,
  );
  return f;
}
