// Machine-wide kernel state that belongs to one engine: the live address spaces (for rmap walks
// and file truncation), the id counter of Mms, and the page state the kernel keeps in struct page
// bits the engine's frame metadata has no room for (MADV_FREE lazy folios, the KSM stable tree,
// the locations of migration entries in flight). Everything lives in one MachineState per Engine,
// so two engines never see each other's ids or pages.
//
// This module needs nothing from mm-struct.ts (which imports it): the state is generic over the
// address-space type, and mm-struct.ts's machineOf() gives the MmStruct-typed view of it.
import type { Engine } from "../engine/engine.js";
import type { StateHasher } from "../engine/digest.js";
import { CallbackError, EngineError, HmmsimError } from "../engine/errors.js";
import type { Entry } from "../engine/pte.js";

/** What the registries need of an address space (MmStruct has it). */
export interface MachineMm {
  readonly id: number;
  readonly exited: boolean;
  digestInto(h: StateHasher): void;
}

/** Where a migration entry of a pending migration lives (remove_migration_ptes finds it by rmap). */
export interface MigrationLoc<M extends MachineMm = MachineMm> {
  mm: M;
  addr: number;
  /** 0 for a PTE, 1 for a PMD migration entry. */
  level: number;
  /** The present entry it replaced (its soft-dirty / uffd-wp / dirty / PSE bits are restored). */
  entry0: Entry;
}

/** The per-engine registries of the mm layer. */
export class MachineState<M extends MachineMm = MachineMm> {
  private nextMmId = 1;
  /** Live Mms in creation order (exited ones are dropped on the next liveMms()). */
  readonly mms = new Set<M>();
  /** Folios marked lazily freeable by MADV_FREE (folio_clear_swapbacked), by head pfn. */
  readonly lazyFree = new Set<number>();
  /** KSM stable tree: contents key -> KSM page pfn. */
  readonly ksmStable = new Map<string, number>();
  /**
   * The migration entries of pending migrations, by the pfn they carry. Every entry holds one
   * reference to the old page; fork adds the child's copy, mremap moves the address.
   */
  readonly migrationLocs = new Map<number, MigrationLoc<M>[]>();

  /** @internal Feeds the machine-wide page state and every live Mm into an engine digest. */
  digestInto(h: StateHasher): void {
    h.str("lazyfree");
    for (const pfn of [...this.lazyFree].sort((a, b) => a - b)) h.num(pfn);
    h.str("ksm");
    for (const [key, pfn] of [...this.ksmStable].sort((a, b) => a[1] - b[1])) h.num(pfn).str(key);
    h.str("miglocs");
    for (const [pfn, locs] of [...this.migrationLocs].sort((a, b) => a[0] - b[0])) {
      h.num(pfn).num(locs.length);
      for (const l of locs) h.num(l.mm.id).num(l.addr).num(l.level).u32(l.entry0.lo).u32(l.entry0.hi);
    }
    h.str("mms");
    for (const mm of this.mms) if (!mm.exited) mm.digestInto(h);
  }

  /** Depth of driver callbacks (pageFree, migrateToRam) running on this engine. */
  driverCallbackDepth = 0;
  /** Depth of kernel operations running on this engine (see runOp). */
  opDepth = 0;
  /** Exceptions user callbacks threw during the running operation, rethrown when it completes. */
  callbackErrors: { what: string; error: unknown }[] = [];

  /** Ids are per engine: the first Mm of every engine is 1. */
  allocMmId(): number {
    return this.nextMmId++;
  }
}

const states = new WeakMap<Engine, MachineState>();

/** The error a callback's exception surfaces as: the library's own typed errors as they are, anything else wrapped. */
export function callbackError(what: string, e: unknown): Error {
  return e instanceof HmmsimError ? (e as Error) : new CallbackError(what, e);
}

/**
 * Runs one kernel operation on engine. A user callback (notifier, pageFree, migrateToRam) that
 * throws inside it cannot stop it: its exception is recorded (reportCallbackError), the operation
 * completes consistently, and the first recorded exception is thrown when the outermost operation
 * returns (wrapped in CallbackError unless it is one of the library's typed errors).
 */
export function runOp<T>(engine: Engine, f: () => T): T {
  const m = machineState(engine);
  // an outermost operation starts with no deferred errors (the array is only replaced when used)
  if (m.opDepth++ === 0 && m.callbackErrors.length !== 0) m.callbackErrors = [];
  let r: T | undefined;
  let failed = false;
  let failure: unknown;
  try {
    r = f();
  } catch (e) {
    failed = true;
    // a trap of the WebAssembly engine never escapes bare: it says which operation it hit
    failure =
      e instanceof WebAssembly.RuntimeError
        ? new EngineError(`WebAssembly engine trapped: ${e.message}`, { cause: e })
        : e;
  }
  if (--m.opDepth === 0) {
    const errs = m.callbackErrors;
    // the callback's exception comes first: an error the operation raised afterwards (a fault
    // failing because migrateToRam threw) is its consequence
    if (errs.length > 0) {
      m.callbackErrors = [];
      const err = callbackError(errs[0].what, errs[0].error);
      if (!failed && err instanceof CallbackError) err.result = r;
      throw err;
    }
  }
  if (failed) throw failure;
  return r as T;
}

/** Whether a callback's exception can be deferred (an operation is running); records it if so. */
export function deferCallbackError(engine: Engine, what: string, e: unknown): boolean {
  const m = machineState(engine);
  if (m.opDepth === 0) return false;
  m.callbackErrors.push({ what, error: e });
  return true;
}

/** Records a callback's exception for the running operation, or throws it (wrapped) when none runs. */
export function reportCallbackError(engine: Engine, what: string, e: unknown): void {
  if (!deferCallbackError(engine, what, e)) throw callbackError(what, e);
}

/**
 * The mm-layer state of `engine`, created on first use. Layers that need the address spaces typed
 * use machineOf() of mm-struct.ts.
 */
export function machineState(engine: Engine): MachineState {
  let s = states.get(engine);
  if (!s) {
    const state = new MachineState();
    states.set(engine, state);
    engine.addDigestSource((h) => state.digestInto(h));
    // a freed frame is no KSM page and no lazily freeable folio any more: its pfn may be reused
    engine.addFreeListener((head) => {
      state.lazyFree.delete(head);
      for (const [key, pfn] of state.ksmStable) if (pfn === head) state.ksmStable.delete(key);
    });
    s = state;
  }
  return s;
}
