// mmu interval notifiers (docs/semantics.md §4.2): one MmuNotifierSubscriptions per simulated mm.
//
// The simulator is single-threaded, so the kernel's two sleeping points cannot sleep here:
// `mmu_interval_read_begin` throws WouldBlockError (or waits via readBeginAsync), and
// `mmu_interval_notifier_remove` returns at once while the tree update it queued is applied when
// the running epoch ends.
import { ERRNO } from "../engine/layout.js";

const { EAGAIN, EOVERFLOW } = ERRNO;

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
 */
function branded<E extends Error>(e: E): E {
  (e as unknown as Record<symbol, unknown>)[Symbol.for("hmmsim.error")] = true;
  return e;
}

// Kept local (not imported from layout.ts) so this module loads without the Wasm engine.
const TWO_POW_64 = 1n << 64n;

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

/** `struct mmu_interval_notifier_ops`. */
export interface MmuIntervalNotifierOps {
  /**
   * Called for every invalidation overlapping the subscription. A driver normally takes its
   * update lock, calls {@link mmuIntervalSetSeq}(sub, curSeq) and tears down its mappings. It may
   * skip `setSeq` for events it knows are harmless (dmirror: MIGRATE with its own owner). Returning
   * false ("would block") is only allowed when `range.blockable` is false.
   */
  invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number): boolean;
}

/**
 * `struct mmu_interval_notifier`: one driver subscription to `[start, start + length)`.
 * Created by {@link MmuNotifierSubscriptions.intervalNotifierInsert}, not by callers.
 */
export class MmuIntervalNotifier {
  /** The subscription's own sequence number; odd whenever the protocol is followed. */
  invalidateSeq = 0;
  /** True once {@link MmuNotifierSubscriptions.intervalNotifierRemove} was called; no callback follows. */
  removed = false;
  /** @internal whether the subscription is in the interval tree (false while its insert is deferred). */
  inTree = false;

  /** @internal use {@link MmuNotifierSubscriptions.intervalNotifierInsert}. */
  constructor(
    /** The mm's notifier subscriptions this interval belongs to. */
    readonly subscriptions: MmuNotifierSubscriptions,
    /** First byte address of the interval. */
    readonly start: number,
    /** Length of the interval in bytes. */
    readonly length: number,
    /** The driver's callbacks (invalidate). */
    readonly ops: MmuIntervalNotifierOps,
  ) {}

  /** Inclusive last address, `start + length - 1` (inexact above 2^53; overlap tests do not use it). */
  get last(): number {
    return this.start + this.length - 1;
  }
}

/**
 * Thrown by {@link MmuNotifierSubscriptions.readBegin} where the kernel would sleep: the
 * subscription was invalidated in the epoch that is still running, and in a single-threaded
 * simulation nothing can end it while the caller waits. Use `readBeginAsync`, or end the epoch first.
 */
export class WouldBlockError extends Error {
  /** The class name, as Error.prototype.name. */
  override name = "WouldBlockError";
  constructor(
    /** The subscription whose read would block. */
    readonly sub: MmuIntervalNotifier,
    /** The running epoch's sequence number. */
    readonly seq: number,
  ) {
    super(
      `mmu_interval_read_begin would block: subscription [${sub.start}, +${sub.length}) was invalidated ` +
        `in the running epoch (seq ${seq}); it can only continue after invalidateRangeEnd ends the epoch ` +
        `(use readBeginAsync to wait for that)`,
    );
  }
}
// one of the library's typed errors (`instanceof HmmsimError`, docs/errors.md); the brand is set
// here by its registered symbol so that this module keeps loading without the engine
(WouldBlockError.prototype as unknown as Record<symbol, unknown>)[Symbol.for("hmmsim.error")] = true;

/** Observer of invalidations; `curSeq` is the global sequence after the phase took effect. */
export type InvalidateListener = (phase: "start" | "end", range: MmuNotifierRange, curSeq: number) => void;

function assertAddress(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw branded(new RangeError(`${what} must be a non-negative integer, got ${v}`));
}

function assertRange(range: MmuNotifierRange): void {
  assertAddress("range.start", range.start);
  if (!(range.end === Infinity || (Number.isInteger(range.end) && range.end > range.start))) {
    throw branded(new RangeError(`range.end must be an integer > start (${range.start}) or Infinity, got ${range.end}`));
  }
  if (!Number.isInteger(range.event) || range.event < 0 || range.event >= MMU_NOTIFY_EVENT_NAMES.length) {
    throw branded(new RangeError(`range.event must be an MMU_NOTIFY_* value (0..7), got ${range.event}`));
  }
  if (range.blockable !== ((range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) !== 0)) {
    throw branded(new RangeError(
      `range.blockable (${range.blockable}) disagrees with flags & MMU_NOTIFIER_RANGE_BLOCKABLE (flags ${range.flags})`,
    ));
  }
}

/**
 * `struct mmu_notifier_subscriptions` restricted to interval notifiers: the per-mm sequence
 * counter, the interval tree (kept sorted by start, ties in insertion order) and the list of tree
 * updates deferred while an invalidation epoch runs.
 */
export class MmuNotifierSubscriptions {
  /** The address space these subscriptions belong to (set by its constructor). */
  owner: object | undefined = undefined;
  /** Global sequence; starts at 2. Even = idle, odd = an epoch touching some interval is running. */
  invalidateSeq = 2;
  /** Number of invalidateRangeStart calls not yet ended. */
  activeInvalidateRanges = 0;
  /**
   * Set by the owning address space: offered every exception a callback or listener throws (and
   * the misuse of a blockable range refused). When it returns true the exception was recorded to
   * be rethrown after the running kernel operation completes, and the callback counts as having
   * succeeded; otherwise the exception propagates at once (ending the range first).
   */
  onCallbackError: ((e: unknown) => boolean) | null = null;

  private readonly tree: MmuIntervalNotifier[] = [];
  // Applied first-in first-out (the brief's choice). The kernel pushes onto an hlist head and so
  // applies them last-in first-out; that only changes the order of deferred subs with equal starts.
  private readonly deferred: MmuIntervalNotifier[] = [];
  private readonly waiters: { seq: number; resolve: () => void }[] = [];
  private readonly listeners = new Set<InvalidateListener>();
  private callbackDepth = 0;

  /** Whether an invalidate callback of these subscriptions is running. */
  get inCallback(): boolean {
    return this.callbackDepth > 0;
  }

  /** The subscriptions currently in the interval tree, in callback order (deferred inserts excluded). */
  intervals(): readonly MmuIntervalNotifier[] {
    return [...this.tree];
  }

  /**
   * `mmu_interval_notifier_insert`. Returns `{ ret: 0, sub }`, or `{ ret: -EOVERFLOW }` (-75) when
   * `length` is 0 or `start + length - 1` exceeds 2^64 - 1.
   * @throws RangeError if start/length are not non-negative integers; TypeError if `ops.invalidate` is missing.
   */
  intervalNotifierInsert(
    start: number,
    length: number,
    ops: MmuIntervalNotifierOps,
  ): { ret: number; sub?: MmuIntervalNotifier } {
    assertAddress("start", start);
    assertAddress("length", length);
    if (typeof ops?.invalidate !== "function") {
      throw branded(new TypeError("mmu_interval_notifier_insert: ops must have an invalidate(sub, range, curSeq) function"));
    }
    if (length === 0 || BigInt(start) + BigInt(length) > TWO_POW_64) return { ret: -EOVERFLOW };
    const sub = new MmuIntervalNotifier(this, start, length, ops);
    if (this.activeInvalidateRanges === 0) {
      // Odd and different from the idle global value, so readBegin never waits on a fresh sub.
      sub.invalidateSeq = this.invalidateSeq - 1;
      this.treeInsert(sub);
    } else if (this.invalidateSeq & 1) {
      // The running epoch may cover the new interval, so the sub starts out "collided"; the
      // tree must not change under the running callbacks, hence the deferral.
      this.deferred.push(sub);
      sub.invalidateSeq = this.invalidateSeq;
    } else {
      // A running invalidation touches no interval, yet it might cover the new one: open an epoch.
      this.invalidateSeq |= 1;
      this.treeInsert(sub);
      sub.invalidateSeq = this.invalidateSeq;
    }
    return { ret: 0, sub };
  }

  /**
   * `mmu_interval_notifier_remove`. No callback reaches `sub` afterwards. While an epoch runs the
   * tree update is deferred to its end (the kernel would sleep until then).
   * @throws Error when called from inside an invalidate callback (a deadlock in the kernel), for a
   * subscription of another mm, or twice.
   */
  intervalNotifierRemove(sub: MmuIntervalNotifier): void {
    this.assertOwn(sub);
    if (this.callbackDepth > 0) {
      throw branded(new Error("mmu_interval_notifier_remove must not be called from an invalidate callback (it would deadlock)"));
    }
    if (sub.removed) throw branded(new Error("mmu_interval_notifier_remove: subscription already removed"));
    sub.removed = true;
    if (!sub.inTree) {
      this.deferred.splice(this.deferred.indexOf(sub), 1);
    } else if (this.invalidateSeq & 1) {
      this.deferred.push(sub);
    } else {
      this.treeRemove(sub);
    }
  }

  /**
   * `mmu_interval_read_begin`: the sequence to pass to readRetry/checkRetry later.
   * @throws WouldBlockError when `sub` was invalidated in the epoch that is still running.
   */
  readBegin(sub: MmuIntervalNotifier): number {
    this.assertOwn(sub);
    const seq = sub.invalidateSeq;
    if (seq === this.invalidateSeq) throw new WouldBlockError(sub, seq);
    return seq;
  }

  /** `mmu_interval_read_begin` that waits, resolving once the blocking epoch has ended. */
  readBeginAsync(sub: MmuIntervalNotifier): Promise<number> {
    this.assertOwn(sub);
    const seq = sub.invalidateSeq;
    if (seq !== this.invalidateSeq) return Promise.resolve(seq);
    return new Promise((resolve) => this.waiters.push({ seq, resolve: () => resolve(seq) }));
  }

  /** `mmu_interval_read_retry`: true if `sub` was invalidated since readBegin returned `seq`. */
  readRetry(sub: MmuIntervalNotifier, seq: number): boolean {
    this.assertOwn(sub);
    return sub.invalidateSeq !== seq;
  }

  /** `mmu_interval_check_retry`: the lock-free hint variant; same answer in a single thread. */
  checkRetry(sub: MmuIntervalNotifier, seq: number): boolean {
    this.assertOwn(sub);
    return sub.invalidateSeq !== seq;
  }

  /** `mmu_interval_set_seq`: called by an invalidate callback with the `curSeq` it received. */
  setSeq(sub: MmuIntervalNotifier, curSeq: number): void {
    this.assertOwn(sub);
    sub.invalidateSeq = curSeq;
  }

  /**
   * `mmu_notifier_invalidate_range_start` (or `..._nonblock` when `!range.blockable`).
   * Returns 0, or -EAGAIN (-11) when a non-blockable range met a callback returning false; the
   * range is then already ended and the caller must NOT call invalidateRangeEnd.
   * @throws Error if a callback of a blockable range returns false (the kernel WARNs); that, or any
   * exception from a callback or listener, also ends the range before propagating.
   */
  invalidateRangeStart(range: MmuNotifierRange): number {
    assertRange(range);
    return this.startRange(range, false);
  }

  /** `mmu_notifier_invalidate_range_end`: the last active range to end closes the epoch. */
  invalidateRangeEnd(range: MmuNotifierRange): void {
    if (this.activeInvalidateRanges === 0) {
      throw branded(new Error("invalidateRangeEnd without a matching invalidateRangeStart (or after it returned -EAGAIN)"));
    }
    this.endRange(range);
  }

  /**
   * Convenience: invalidateRangeStart, then `body` (e.g. the page-table change), then
   * invalidateRangeEnd. Returns the start's result; on -EAGAIN neither body nor end runs.
   */
  invalidate(
    start: number,
    end: number,
    event: MmuNotifierEvent,
    owner: unknown = null,
    opts: { blockable?: boolean } = {},
    body?: () => void,
  ): number {
    const range = mmuNotifierRangeInit(start, end, event, owner, opts.blockable ?? true);
    const ret = this.invalidateRangeStart(range);
    if (ret !== 0) return ret;
    try {
      body?.();
    } finally {
      this.invalidateRangeEnd(range);
    }
    return 0;
  }

  /**
   * `mn_itree_release` (process exit): every subscription is called with MMU_NOTIFY_RELEASE over
   * `[0, Infinity)` (blockable), as one start/end pair; the callbacks' results are ignored.
   */
  release(): void {
    const range = mmuNotifierRangeInit(0, Infinity, MMU_NOTIFY_RELEASE);
    this.startRange(range, true);
    this.endRange(range);
  }

  /** Reports every start/end (also those touching no interval) to `listener`; returns an unsubscribe function. */
  onInvalidate(listener: InvalidateListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private startRange(range: MmuNotifierRange, ignoreFalse: boolean): number {
    this.activeInvalidateRanges++;
    let open = true;
    try {
      const subs = this.overlapping(range);
      if (subs.length > 0) this.invalidateSeq |= 1;
      const curSeq = this.invalidateSeq;
      this.notify("start", range, curSeq);
      for (const sub of subs) {
        // Its remover has already returned, even though the tree update waits for the epoch's end.
        if (sub.removed) continue;
        this.callbackDepth++;
        let ok: boolean;
        try {
          ok = sub.ops.invalidate(sub, range, curSeq);
        } catch (e) {
          if (!this.onCallbackError?.(e)) throw e;
          ok = true;
        } finally {
          this.callbackDepth--;
        }
        if (ok || ignoreFalse) continue;
        if (range.blockable) {
          const e = new Error(
            `invalidate callback of [${sub.start}, +${sub.length}) returned false for a blockable ` +
              `${MMU_NOTIFY_EVENT_NAMES[range.event]} range; only non-blockable ranges may fail`,
          );
          if (this.onCallbackError?.(e)) continue;
          throw e;
        }
        open = false;
        this.endRange(range);
        return -EAGAIN;
      }
      return 0;
    } catch (e) {
      // An exception must not strand an open epoch: every later readBegin would block forever.
      if (open) this.endRange(range);
      throw e;
    }
  }

  private endRange(range: MmuNotifierRange): void {
    if (--this.activeInvalidateRanges === 0 && this.invalidateSeq & 1) {
      this.invalidateSeq++;
      for (const sub of this.deferred.splice(0)) {
        if (sub.inTree) this.treeRemove(sub);
        else this.treeInsert(sub);
      }
      for (const w of this.waiters.splice(0)) w.resolve();
    }
    this.notify("end", range, this.invalidateSeq);
  }

  private notify(phase: "start" | "end", range: MmuNotifierRange, curSeq: number): void {
    for (const l of [...this.listeners]) {
      try {
        l(phase, range, curSeq);
      } catch (e) {
        if (!this.onCallbackError?.(e)) throw e;
      }
    }
  }

  // Same test as the kernel's [start, end-1] vs [sub.start, sub.last] query, written with
  // exclusive ends so that no "- 1" is rounded away above 2^53.
  private overlapping(range: MmuNotifierRange): MmuIntervalNotifier[] {
    const out: MmuIntervalNotifier[] = [];
    for (const sub of this.tree) {
      if (sub.start >= range.end) break;
      if (sub.start + sub.length > range.start) out.push(sub);
    }
    return out;
  }

  private treeInsert(sub: MmuIntervalNotifier): void {
    let lo = 0;
    let hi = this.tree.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.tree[mid]!.start <= sub.start) lo = mid + 1;
      else hi = mid;
    }
    this.tree.splice(lo, 0, sub);
    sub.inTree = true;
  }

  private treeRemove(sub: MmuIntervalNotifier): void {
    this.tree.splice(this.tree.indexOf(sub), 1);
    sub.inTree = false;
  }

  private assertOwn(sub: MmuIntervalNotifier): void {
    if (!(sub instanceof MmuIntervalNotifier) || sub.subscriptions !== this) {
      throw branded(new Error("the subscription does not belong to this mm's MmuNotifierSubscriptions"));
    }
  }
}

/** `mmu_interval_read_begin`; see {@link MmuNotifierSubscriptions.readBegin}. */
export function mmuIntervalReadBegin(sub: MmuIntervalNotifier): number {
  return sub.subscriptions.readBegin(sub);
}

/** `mmu_interval_read_retry`; see {@link MmuNotifierSubscriptions.readRetry}. */
export function mmuIntervalReadRetry(sub: MmuIntervalNotifier, seq: number): boolean {
  return sub.subscriptions.readRetry(sub, seq);
}

/** `mmu_interval_check_retry`; see {@link MmuNotifierSubscriptions.checkRetry}. */
export function mmuIntervalCheckRetry(sub: MmuIntervalNotifier, seq: number): boolean {
  return sub.subscriptions.checkRetry(sub, seq);
}

/** `mmu_interval_set_seq`; see {@link MmuNotifierSubscriptions.setSeq}. */
export function mmuIntervalSetSeq(sub: MmuIntervalNotifier, curSeq: number): void {
  sub.subscriptions.setSeq(sub, curSeq);
}
