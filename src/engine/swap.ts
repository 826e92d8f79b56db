// A simulated swap device: numbered slots holding the contents of swapped-out pages.
import { PAGE_SIZE } from "./layout.js";
import type { StateHasher } from "./digest.js";

/** A swap device (one swap type): slots holding the contents of swapped-out anonymous pages, with swap_map-style reference counts. */
export class SwapDevice {
  private readonly slots = new Map<number, { data: Uint8Array | null; refs: number }>();
  private next = 1;
  /** Slots that fail to read back (an I/O error: the swap-in fault returns SIGBUS). */
  readonly badSlots = new Set<number>();
  /**
   * @param type The swap type number written into swap entries.
   * @param capacity Slots (4 KiB pages) before store() fails (default: unbounded).
   */
  constructor(
    readonly type = 0,
    readonly capacity = Number.MAX_SAFE_INTEGER,
  ) {}

  /** Stores a page's contents; returns the slot (swp offset) or 0 when the device is full. */
  store(data: Uint8Array | null, refs = 1): number {
    if (this.slots.size >= this.capacity) return 0;
    const slot = this.next++;
    this.slots.set(slot, { data: data ? data.slice(0, PAGE_SIZE) : null, refs });
    return slot;
  }
  /** Whether the slot is in use. */
  has(slot: number): boolean {
    return this.slots.has(slot);
  }
  /** The slot's stored contents (null: an all-zero page, or a free slot). */
  read(slot: number): Uint8Array | null {
    return this.slots.get(slot)?.data ?? null;
  }
  /** swap_count(): references to the slot (PTEs and the swap cache), 0 when free. */
  refs(slot: number): number {
    return this.slots.get(slot)?.refs ?? 0;
  }
  /** swap_duplicate(): one more reference (fork copying a swap PTE). */
  dup(slot: number): void {
    const s = this.slots.get(slot);
    if (s) s.refs++;
  }
  /** Drops one swap-PTE reference; the slot is freed with the last. */
  free(slot: number): void {
    const s = this.slots.get(slot);
    if (!s) return;
    if (--s.refs <= 0) this.slots.delete(slot);
  }
  /** Slots in use. */
  get used(): number {
    return this.slots.size;
  }
  /** @internal Feeds every slot (offset, references, contents) into a state digest. */
  digestInto(h: StateHasher): void {
    h.num(this.slots.size);
    for (const [slot, s] of [...this.slots].sort((a, b) => a[0] - b[0])) {
      h.num(slot).num(s.refs);
      if (s.data?.some((x) => x !== 0)) h.bytes(s.data);
      else h.u32(0);
    }
    for (const b of [...this.badSlots].sort((a, b2) => a - b2)) h.num(b);
  }
}
