// Argument checks shared by every public entry point. Each returns the checked value or throws a
// typed error naming the function, the argument and the rule (docs/errors.md): a value of the wrong
// JavaScript type throws ArgumentTypeError, a number breaking a rule InvalidArgumentError, and a
// syscall argument the kernel itself answers (unknown flag bits, a misaligned address) is left to
// the caller, which throws the kernel's ErrnoError. Nothing here touches simulated state, so a
// call refused here leaves the machine exactly as it was.
import { ArgumentTypeError, InvalidArgumentError } from "./errors.js";

/** 2^64: user addresses and lengths are unsigned long. */
const U64 = 2 ** 64;

/** A JavaScript number that is a (possibly huge) exact integer: no NaN, ±Infinity, fraction. */
export function argNumber(fn: string, name: string, x: unknown): number {
  if (typeof x !== "number") throw new ArgumentTypeError(fn, name, "must be a number", x);
  if (!Number.isFinite(x)) throw new InvalidArgumentError(fn, name, "must be finite", x);
  return x;
}

/** An integer in [min, max] (both inclusive); -0 counts as 0. */
export function argInt(fn: string, name: string, x: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = argNumber(fn, name, x);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(fn, name, "must be an integer", x);
  if (n < min || n > max) throw new InvalidArgumentError(fn, name, `must be in [${min}, ${max}]`, x);
  return n === 0 ? 0 : n;
}

/**
 * A user address or length (unsigned long): an integer in [0, 2^64). Values above 2^53 are
 * accepted when exactly representable (5-level addresses reach 2^57; page-aligned ones are exact).
 */
export function argULong(fn: string, name: string, x: unknown): number {
  const n = argNumber(fn, name, x);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(fn, name, "must be an integer", x);
  if (n < 0 || n >= U64) throw new InvalidArgumentError(fn, name, "must be in [0, 2^64)", x);
  return n === 0 ? 0 : n;
}

/** A C int of flag bits (prot, flags, advice): an integer in [-2^31, 2^32). */
export function argBits(fn: string, name: string, x: unknown): number {
  const n = argNumber(fn, name, x);
  if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 32) {
    throw new InvalidArgumentError(fn, name, "must be a 32-bit integer", x);
  }
  return n >>> 0;
}

/** A retry / iteration budget: a non-negative safe integer (NaN and Infinity would loop forever). */
export function argBudget(fn: string, name: string, x: unknown, max = 1e9): number {
  return argInt(fn, name, x, 0, max);
}

/** A boolean. */
export function argBool(fn: string, name: string, x: unknown): boolean {
  if (typeof x !== "boolean") throw new ArgumentTypeError(fn, name, "must be a boolean", x);
  return x;
}

/** One of the listed values. */
export function argEnum<T>(fn: string, name: string, x: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(x as T)) {
    throw new InvalidArgumentError(fn, name, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`, x);
  }
  return x as T;
}

/** A function (a callback). */
export function argFunction<F>(fn: string, name: string, x: unknown): F {
  if (typeof x !== "function") throw new ArgumentTypeError(fn, name, "must be a function", x);
  return x as F;
}

/** An options object (undefined gives {}). */
export function argOptions<T extends object>(fn: string, name: string, x: unknown): Partial<T> {
  if (x === undefined) return {};
  if (typeof x !== "object" || x === null || Array.isArray(x))
    throw new ArgumentTypeError(fn, name, "must be an object", x);
  return x as Partial<T>;
}

/** An instance of cls. */
export function argInstance<T>(
  fn: string,
  name: string,
  x: unknown,
  cls: abstract new (...a: never[]) => T,
  what: string,
): T {
  if (!(x instanceof cls)) throw new ArgumentTypeError(fn, name, `must be ${what}`, x);
  return x;
}

/** A Uint8Array. */
export function argBytes(fn: string, name: string, x: unknown): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new ArgumentTypeError(fn, name, "must be a Uint8Array", x);
  return x;
}
