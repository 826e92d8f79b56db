// Typed errors (docs/errors.md). Operations that the kernel answers with an errno throw
// `ErrnoError` carrying the negative errno; misuse of the API throws one of the classes below, all
// recognised by `instanceof HmmsimError`.
import { ERRNO } from "./layout.js";

const NAMES = new Map<number, string>(Object.entries(ERRNO).map(([k, v]) => [v, k]));

/** Name of a (positive or negative) errno value, e.g. errnoName(-14) === "EFAULT". */
export function errnoName(code: number): string {
  if (code === 0) return "0";
  const n = NAMES.get(Math.abs(code));
  return n ? (code < 0 ? `-${n}` : n) : String(code);
}

/**
 * Marks every error class of the library, so that `e instanceof HmmsimError` holds for all of
 * them, including the argument errors that extend the built-in RangeError / TypeError (so that
 * code testing for those keeps working). docs/errors.md lists the classes and when each is thrown.
 */
const BRAND = Symbol.for("hmmsim.error");

/** The base of every error the library throws on purpose (see docs/errors.md). */
export class HmmsimError extends Error {
  /** The class name, as Error.prototype.name (shown first by console and stack traces). */
  override name = "HmmsimError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
  /** `instanceof HmmsimError` holds for every library error, including InvalidArgumentError and ArgumentTypeError (which extend RangeError / TypeError); subclasses test their own prototype chain. */
  static override [Symbol.hasInstance](x: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class instanceof was asked about
    if (this === HmmsimError)
      return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[BRAND] === true;
    // biome-ignore lint/complexity/noThisInStatic: subclasses keep the ordinary prototype test
    return Function.prototype[Symbol.hasInstance].call(this, x);
  }
}
(HmmsimError.prototype as unknown as Record<symbol, unknown>)[BRAND] = true;

/** An operation failed the way the kernel would fail it: `errno` is negative (e.g. -EINVAL). */
export class ErrnoError extends HmmsimError {
  /** The class name, as Error.prototype.name (shown first by console and stack traces). */
  override name = "ErrnoError";
  /** @param errno The negative errno, e.g. -EINVAL (ERRNO.EINVAL is the positive value). */
  constructor(
    readonly errno: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${errnoName(errno)}: ${message}`, options);
  }
}

/**
 * An argument has the right type but breaks a rule (range, alignment, enum value, length) where
 * the kernel defines no errno for it. Extends RangeError; `argument` names it, `rule` states the rule.
 */
export class InvalidArgumentError extends RangeError {
  /** The class name, as Error.prototype.name (shown first by console and stack traces). */
  override name = "InvalidArgumentError";
  /**
   * @param fn The call that rejected the argument, e.g. "Mm.mmap".
   * @param argument The argument's name (a dotted path for an option, e.g. "options.length").
   * @param rule The rule it breaks, e.g. "must be a multiple of 4096".
   * @param value The value received (shown in the message); omitted, the message has no "got".
   */
  constructor(
    readonly fn: string,
    readonly argument: string,
    readonly rule: string,
    ...value: [unknown?]
  ) {
    super(`${fn}: ${argument} ${rule}${value.length === 0 ? "" : `, got ${show(value[0])}`}`);
    this.value = value[0];
  }
  /** The offending value, when one was given. */
  readonly value: unknown;
}
(InvalidArgumentError.prototype as unknown as Record<symbol, unknown>)[BRAND] = true;

/** An argument of the wrong JavaScript type (a string or null for a number, a missing callback). Extends TypeError. */
export class ArgumentTypeError extends TypeError {
  /** The class name, as Error.prototype.name (shown first by console and stack traces). */
  override name = "ArgumentTypeError";
  /**
   * @param fn The call that rejected the argument, e.g. "Mm.mmap".
   * @param argument The argument's name (a dotted path for an option, e.g. "options.length").
   * @param rule The rule it breaks, e.g. "must be a multiple of 4096".
   * @param value The value received (shown in the message); omitted, the message has no "got".
   */
  constructor(
    readonly fn: string,
    readonly argument: string,
    readonly rule: string,
    ...value: [unknown?]
  ) {
    super(`${fn}: ${argument} ${rule}${value.length === 0 ? "" : `, got ${show(value[0])}`}`);
    this.value = value[0];
  }
  /** The offending value, when one was given. */
  readonly value: unknown;
}
(ArgumentTypeError.prototype as unknown as Record<symbol, unknown>)[BRAND] = true;

/** An object used after the end of its life: an exited Mm, a freed PfnArray, a released Mirror, a removed notifier. */
export class UseAfterFreeError extends HmmsimError {
  /** The class name, as Error.prototype.name (shown first by console and stack traces). */
  override name = "UseAfterFreeError";
}

/** A lock is not in the state the call needs (an unlock without the lock, a call the kernel forbids from a callback). */
export class LockStateError extends HmmsimError {
  /** The class name, as Error.prototype.name (shown first by console and stack traces). */
  override name = "LockStateError";
}

/**
 * A user callback (notifier invalidate, migrateToRam, pageFree, a hook) threw. The kernel's
 * operation around it was completed consistently first; `cause` is what the callback threw.
 */
export class CallbackError extends HmmsimError {
  /** The class name, as Error.prototype.name (shown first by console and stack traces). */
  override name = "CallbackError";
  /** What the completed operation returned (e.g. the migrations of migratePages), if it returned. */
  result?: unknown;
  /**
   * @param callback Which callback threw, e.g. "mmu interval notifier invalidate".
   * @param cause What it threw.
   */
  constructor(
    readonly callback: string,
    cause: unknown,
  ) {
    super(`${callback} threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The WebAssembly engine trapped or ran out of linear memory; the message says where. */
export class EngineError extends HmmsimError {
  /** The class name, as Error.prototype.name (shown first by console and stack traces). */
  override name = "EngineError";
}

/**
 * The engine's linear memory is exhausted (its cap, EngineOptions.memoryLimit, or 4 GiB). The
 * operations that allocate catch it and fail the kernel's way (VM_FAULT_OOM, -ENOMEM) with the
 * state unchanged; it only escapes from calls that have no errno to give.
 */
export class OutOfEngineMemoryError extends EngineError {
  override name = "OutOfEngineMemoryError";
}

/** A simulation would block forever (single-threaded): e.g. waiting on a migration nobody finishes. */
export class SimulationDeadlock extends HmmsimError {
  /** The class name, as Error.prototype.name (shown first by console and stack traces). */
  override name = "SimulationDeadlock";
}

/** A short rendering of a bad argument value for error messages. */
export function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "bigint") return `${v}n`;
  if (v === null || v === undefined || typeof v === "boolean") return String(v);
  if (typeof v === "function") return "a function";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return `a ${(v as object).constructor?.name ?? "object"}`;
}

/** Wraps a call into the engine so that a trap surfaces as an explained EngineError. */
export function engineCall<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    // the reference walker raises ReferenceTrap exactly where the WebAssembly one would trap
    if (e instanceof WebAssembly.RuntimeError || (e instanceof Error && e.name === "ReferenceTrap")) {
      throw new EngineError(`WebAssembly engine trapped during ${what}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
