// mmu notifiers (docs/semantics.md §4.2), the module the rest of the library and its users import.
// The code lives in three files along mm/mmu_notifier.c's own lines:
//   notifier-range.ts          the events (MMU_NOTIFY_*) and struct mmu_notifier_range
//   notifier-subscriptions.ts  struct mmu_notifier_subscriptions (invalidate bracket, interval tree,
//                              deferred updates) and struct mmu_interval_notifier
//   interval-notifier.ts       mmu_interval_read_begin / read_retry / check_retry / set_seq
// The lists below are the public names; the argument checks the files share stay internal.
export {
  MMU_NOTIFY_UNMAP,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_PROTECTION_VMA,
  MMU_NOTIFY_PROTECTION_PAGE,
  MMU_NOTIFY_SOFT_DIRTY,
  MMU_NOTIFY_RELEASE,
  MMU_NOTIFY_MIGRATE,
  MMU_NOTIFY_EXCLUSIVE,
  MMU_NOTIFY_EVENT_NAMES,
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  mmuNotifierRangeInit,
  type MmuNotifierEvent,
  type MmuNotifierRange,
  type InvalidateListener,
} from "./notifier-range.js";
export {
  MmuIntervalNotifier,
  MmuNotifierSubscriptions,
  WouldBlockError,
  type MmuIntervalNotifierOps,
  type IntervalNotifierInsertResult,
} from "./notifier-subscriptions.js";
export {
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalCheckRetry,
  mmuIntervalSetSeq,
} from "./interval-notifier.js";
