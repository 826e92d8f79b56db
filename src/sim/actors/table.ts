// A simulated driver's device page table: page number -> pfn * 2 + writable, kept in 512-entry
// blocks (one per 2 MiB of address space) so that committing a chunk is one block lookup and a
// run of typed-array stores: no BigInt, no heap number and no hash-table growth per page.
import { PTRS_PER_TABLE } from "../../engine/layout.js";

const BLOCK = PTRS_PER_TABLE;

export class DeviceTable {
  private readonly blocks = new Map<number, Float64Array>();
  /** Entries present. */
  size = 0;

  /** The entry of `page` (pfn * 2 + writable), or -1. */
  get(page: number): number {
    const b = this.blocks.get(Math.floor(page / BLOCK));
    if (b === undefined) return -1;
    return b[page % BLOCK] - 1;
  }

  set(page: number, word: number): void {
    const k = Math.floor(page / BLOCK);
    let b = this.blocks.get(k);
    if (b === undefined) this.blocks.set(k, (b = new Float64Array(BLOCK)));
    const i = page % BLOCK;
    if (b[i] === 0) this.size++;
    b[i] = word + 1;
  }

  delete(page: number): void {
    const b = this.blocks.get(Math.floor(page / BLOCK));
    if (b === undefined) return;
    const i = page % BLOCK;
    if (b[i] !== 0) {
      b[i] = 0;
      this.size--;
    }
  }

  /** Drops the entries of pages [first, last). */
  dropRange(first: number, last: number): void {
    if (this.size === 0) return;
    if (first <= 0 && last === Infinity) {
      this.blocks.clear();
      this.size = 0;
      return;
    }
    const k0 = Math.floor(first / BLOCK);
    const k1 = last === Infinity ? Infinity : Math.ceil(last / BLOCK);
    const visit = (k: number, b: Float64Array): void => {
      const s = Math.max(first, k * BLOCK) - k * BLOCK;
      const e = Math.min(last, (k + 1) * BLOCK) - k * BLOCK;
      for (let i = s; i < e; i++) {
        if (b[i] !== 0) {
          b[i] = 0;
          this.size--;
        }
      }
    };
    if (k1 - k0 < this.blocks.size) {
      for (let k = k0; k < k1; k++) {
        const b = this.blocks.get(k);
        if (b !== undefined) visit(k, b);
      }
    } else {
      for (const [k, b] of this.blocks) if (k >= k0 && k < k1) visit(k, b);
    }
  }

  /** Every entry as [page, word], in block order. */
  *entries(): IterableIterator<[number, number]> {
    for (const [k, b] of this.blocks) {
      for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) yield [k * BLOCK + i, b[i] - 1];
    }
  }
}
