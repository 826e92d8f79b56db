// The per-mm interval notifiers (docs/semantics.md §4.2): `struct mmu_notifier_subscriptions`
// (the global sequence, the invalidate_range_start/end bracket, the interval tree and the list of
// tree updates deferred while an epoch runs) and `struct mmu_interval_notifier` with the methods of
// the sequence protocol drivers follow (interval-notifier.ts has them as the kernel's functions).
//
// The two share this module because each names the other: a subscription points back at its
// MmuNotifierSubscriptions, which creates subscriptions, checks them with instanceof and calls
// their callbacks. Apart, they would form an import cycle (docs/architecture.md, rule 2).
//
// The simulator is single-threaded, so the kernel's two sleeping points cannot sleep here:
// `mmu_interval_read_begin` throws WouldBlockError (or waits via readBeginAsync), and
// `mmu_interval_notifier_remove` returns at once while the tree update it queued is applied when
// the running epoch ends.
import { ERRNO } from "../engine/layout.js";
import {
  MMU_NOTIFY_EVENT_NAMES,
  MMU_NOTIFY_RELEASE,
  type InvalidateListener,
  type MmuNotifierEvent,
  type MmuNotifierRange,
  assertAddress,
  assertRange,
  branded,
  mmuNotifierRangeInit,
} from "./notifier-range.js";

const { EAGAIN, EOVERFLOW } = ERRNO;

// Kept local (not imported from layout.ts) so this module loads without the Wasm engine.
const TWO_POW_64 = 1n << 64n;

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

/** What {@link MmuNotifierSubscriptions.intervalNotifierInsert} returns: the return code and, on success, the subscription. */
export interface IntervalNotifierInsertResult {
  /** 0 on success, -EOVERFLOW (-75) for an empty range or one reaching beyond 2^64 - 1. */
  ret: number;
  /** The new subscription (only when ret is 0). */
  sub?: MmuIntervalNotifier;
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
  intervalNotifierInsert(start: number, length: number, ops: MmuIntervalNotifierOps): IntervalNotifierInsertResult {
    assertAddress("start", start);
    assertAddress("length", length);
    if (typeof ops?.invalidate !== "function") {
      throw branded(
        new TypeError("mmu_interval_notifier_insert: ops must have an invalidate(sub, range, curSeq) function"),
      );
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
      throw branded(
        new Error("mmu_interval_notifier_remove must not be called from an invalidate callback (it would deadlock)"),
      );
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
      throw branded(
        new Error("invalidateRangeEnd without a matching invalidateRangeStart (or after it returned -EAGAIN)"),
      );
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
