// The device page table of one open dmirror file (struct dmirror's `pt` xarray): page index ->
// the page the device maps, tagged read, write or atomic (DPT_XA_TAG_*).

/** Entry tags (the low pointer bits the driver stores). */
export const DPT_TAG_READ = 0;
export const DPT_TAG_ATOMIC = 1;
export const DPT_TAG_WRITE = 3;

export interface DptEntry {
  /** pfn of the mapped page (a system page, or a device page this device backs). */
  pfn: number;
  tag: number;
}

export class DevicePageTable {
  private readonly map = new Map<number, DptEntry>();

  get size(): number {
    return this.map.size;
  }
  get(page: number): DptEntry | undefined {
    return this.map.get(page);
  }
  set(page: number, pfn: number, tag: number): void {
    this.map.set(page, { pfn, tag });
  }
  erase(page: number): void {
    this.map.delete(page);
  }
  /** xa_for_each_range + xa_erase over [first, last], both inclusive. */
  eraseRange(first: number, last: number): void {
    if (last - first + 1 < this.map.size) {
      for (let p = first; p <= last; p++) this.map.delete(p);
    } else {
      for (const p of [...this.map.keys()]) if (p >= first && p <= last) this.map.delete(p);
    }
  }
  clear(): void {
    this.map.clear();
  }
  /** The page indexes present, sorted (for tests and tracing). */
  pages(): number[] {
    return [...this.map.keys()].sort((a, b) => a - b);
  }
}
