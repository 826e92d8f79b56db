// Typed errors. Operations that the kernel answers with an errno return or throw `ErrnoError`
// carrying the negative errno; misuse of the API (bad arguments) throws `RangeError`/`TypeError`.
import { ERRNO } from "./layout.js";

const NAMES = new Map<number, string>(Object.entries(ERRNO).map(([k, v]) => [v, k]));

/** Name of a (positive or negative) errno value, e.g. errnoName(-14) === "EFAULT". */
export function errnoName(code: number): string {
  if (code === 0) return "0";
  const n = NAMES.get(Math.abs(code));
  return n ? (code < 0 ? `-${n}` : n) : String(code);
}

/** An operation failed the way the kernel would fail it: `errno` is negative (e.g. -EINVAL). */
export class ErrnoError extends Error {
  override name = "ErrnoError";
  constructor(readonly errno: number, message: string) {
    super(`${errnoName(errno)}: ${message}`);
  }
}

/** The WebAssembly engine trapped or ran out of linear memory; the message says where. */
export class EngineError extends Error {
  override name = "EngineError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A simulation would block forever (single-threaded): e.g. waiting on a migration nobody finishes. */
export class SimulationDeadlock extends Error {
  override name = "SimulationDeadlock";
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
