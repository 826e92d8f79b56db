// The mmu notifier events and the range an invalidation covers (docs/semantics.md §4.2, §7):
// `enum mmu_notifier_event`, `struct mmu_notifier_range` and `mmu_notifier_range_init`, with the
// argument checks the subscriptions apply to a range a caller built by hand.
//
// This module loads without the Wasm engine: it imports nothing, so the constants can be used
// before an Engine exists.

/** `MMU_NOTIFY_UNMAP`: the range is being unmapped (munmap, exit, OOM reaper). */
export const MMU_NOTIFY_UNMAP = 0;
/** `MMU_NOTIFY_CLEAR`: page-table entries are cleared (zap, COW break, THP split, reclaim, migration). */
export const MMU_NOTIFY_CLEAR = 1;
/** `MMU_NOTIFY_PROTECTION_VMA`: protection change of a VMA range (mprotect, NUMA hinting, uffd-wp). */
export const MMU_NOTIFY_PROTECTION_VMA = 2;
/** `MMU_NOTIFY_PROTECTION_PAGE`: protection change of individual pages (fork COW, page_mkclean). */
export const MMU_NOTIFY_PROTECTION_PAGE = 3;
/** `MMU_NOTIFY_SOFT_DIRTY`: soft-dirty bits are being cleared over the whole mm. */
export const MMU_NOTIFY_SOFT_DIRTY = 4;
/** `MMU_NOTIFY_RELEASE`: the mm is going away (`mn_itree_release`, see {@link MmuNotifierSubscriptions.release}). */
export const MMU_NOTIFY_RELEASE = 5;
/** `MMU_NOTIFY_MIGRATE`: device migration; `owner` is the caller's pgmap owner. */
export const MMU_NOTIFY_MIGRATE = 6;
/** `MMU_NOTIFY_EXCLUSIVE`: conversion to device-exclusive entries; `owner` is the caller's owner. */
export const MMU_NOTIFY_EXCLUSIVE = 7;

/** `enum mmu_notifier_event` (values stable since v5.14). */
export type MmuNotifierEvent = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** Kernel names of the events, indexed by value: `MMU_NOTIFY_EVENT_NAMES[MMU_NOTIFY_CLEAR] === "MMU_NOTIFY_CLEAR"`. */
export const MMU_NOTIFY_EVENT_NAMES: readonly string[] = Object.freeze([
  "MMU_NOTIFY_UNMAP",
  "MMU_NOTIFY_CLEAR",
  "MMU_NOTIFY_PROTECTION_VMA",
  "MMU_NOTIFY_PROTECTION_PAGE",
  "MMU_NOTIFY_SOFT_DIRTY",
  "MMU_NOTIFY_RELEASE",
  "MMU_NOTIFY_MIGRATE",
  "MMU_NOTIFY_EXCLUSIVE",
]);

/** `MMU_NOTIFIER_RANGE_BLOCKABLE` bit of {@link MmuNotifierRange.flags}. */
export const MMU_NOTIFIER_RANGE_BLOCKABLE = 1;

/**
 * Marks an error as one of the library's typed errors (`instanceof HmmsimError`, docs/errors.md)
 * by the registered symbol errors.ts checks, so that this module keeps loading without the engine.
 * @internal
 */
export function branded<E extends Error>(e: E): E {
  (e as unknown as Record<symbol, unknown>)[Symbol.for("hmmsim.error")] = true;
  return e;
}

/**
 * What an invalidate callback receives (`struct mmu_notifier_range`).
 *
 * Addresses are byte addresses (page aligned in practice, up to 2^57, exactly representable);
 * `end` is exclusive. `end = Infinity` stands for the kernel's `ULONG_MAX` and is used by
 * whole-mm events (RELEASE, SOFT_DIRTY, the UNMAP of exit): `Number.MAX_SAFE_INTEGER` is *not* a
 * substitute, since it is a reachable address. `blockable` and `flags & MMU_NOTIFIER_RANGE_BLOCKABLE`
 * must agree; build ranges with {@link mmuNotifierRangeInit} to get that for free.
 * `owner` is only meaningful for MIGRATE and EXCLUSIVE; use `null` otherwise.
 */
export interface MmuNotifierRange {
  /** First byte address of the invalidated range. */
  start: number;
  /** End byte address, exclusive. */
  end: number;
  /** Why the range is invalidated (MMU_NOTIFY_*; docs/semantics.md §7). */
  event: MmuNotifierEvent;
  /** For MMU_NOTIFY_MIGRATE / EXCLUSIVE: the pgmap owner that started it (a driver skips its own). */
  owner: unknown;
  /** mmu_notifier_range_blockable(): the callback may sleep (false: return false to ask for a retry). */
  blockable: boolean;
  /** MMU_NOTIFIER_RANGE_BLOCKABLE when blockable. */
  flags: number;
}

/**
 * `mmu_notifier_range_init`: a consistent range. `blockable = false` is what
 * `mmu_notifier_invalidate_range_start_nonblock` (OOM reaper) uses.
 */
export function mmuNotifierRangeInit(
  start: number,
  end: number,
  event: MmuNotifierEvent,
  owner: unknown = null,
  blockable = true,
): MmuNotifierRange {
  return { start, end, event, owner, blockable, flags: blockable ? MMU_NOTIFIER_RANGE_BLOCKABLE : 0 };
}

/** Observer of invalidations; `curSeq` is the global sequence after the phase took effect. */
export type InvalidateListener = (phase: "start" | "end", range: MmuNotifierRange, curSeq: number) => void;

/** RangeError unless `v` is a non-negative integer (an address or a length). @internal */
export function assertAddress(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw branded(new RangeError(`${what} must be a non-negative integer, got ${v}`));
}

/** RangeError unless `range` is one {@link mmuNotifierRangeInit} could have built. @internal */
export function assertRange(range: MmuNotifierRange): void {
  assertAddress("range.start", range.start);
  if (!(range.end === Infinity || (Number.isInteger(range.end) && range.end > range.start))) {
    throw branded(
      new RangeError(`range.end must be an integer > start (${range.start}) or Infinity, got ${range.end}`),
    );
  }
  if (!Number.isInteger(range.event) || range.event < 0 || range.event >= MMU_NOTIFY_EVENT_NAMES.length) {
    throw branded(new RangeError(`range.event must be an MMU_NOTIFY_* value (0..7), got ${range.event}`));
  }
  if (range.blockable !== ((range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) !== 0)) {
    throw branded(
      new RangeError(
        `range.blockable (${range.blockable}) disagrees with flags & MMU_NOTIFIER_RANGE_BLOCKABLE (flags ${range.flags})`,
      ),
    );
  }
}
