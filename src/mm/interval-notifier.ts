// The driver's side of the interval-notifier sequence protocol (docs/semantics.md §4.2) under the
// kernel's names: mmu_interval_read_begin (mm/mmu_notifier.c) and the inline helpers
// mmu_interval_read_retry, mmu_interval_check_retry and mmu_interval_set_seq
// (include/linux/mmu_notifier.h). Each forwards to the subscriptions the notifier belongs to,
// which own the sequence counter (notifier-subscriptions.ts).
import type { MmuIntervalNotifier } from "./notifier-subscriptions.js";

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
