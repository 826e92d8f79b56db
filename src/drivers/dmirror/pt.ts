// The device page table of one open dmirror file (struct dmirror's `pt` xarray): page index ->
// the page the device maps, tagged read, write or atomic (DPT_XA_TAG_*).

/** Entry tags (the low pointer bits the driver stores). */
export const DPT_TAG_READ = 0;
/** Device page-table tag: exclusive (atomic) access (make_device_exclusive_range). */
export const DPT_TAG_ATOMIC = 1;
/** Device page-table tag: writable mapping. */
export const DPT_TAG_WRITE = 3;

/** One device page-table entry (test_hmm.c keeps a pfn with tag bits in an xarray). */
export interface DptEntry {
  /** pfn of the mapped page (a system page, or a device page this device backs). */
  pfn: number;
  /** DPT_TAG_* access tag. */
  tag: number;
}

/** dmirror's device page table: virtual page number to device-visible pfn and access tag. */
export class DevicePageTable {
  private readonly map = new Map<number, DptEntry>();

  /** Entries present. */
  get size(): number {
    return this.map.size;
  }
  /** The entry for virtual page number `page`, or undefined. */
  get(page: number): DptEntry | undefined {
    return this.map.get(page);
  }
  /** Sets the entry for virtual page number `page`. */
  set(page: number, pfn: number, tag: number): void {
    this.map.set(page, { pfn, tag });
  }
  /** Removes the entry for virtual page number `page`. */
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
  /** Removes every entry. */
  clear(): void {
    this.map.clear();
  }
  /** The page indexes present, sorted (for tests and tracing). */
  pages(): number[] {
    return [...this.map.keys()].sort((a, b) => a - b);
  }
}
