// Option parsers shared by the bench scripts (commander): a value that breaks the rule is refused
// with a message naming it, instead of becoming NaN.
import { InvalidArgumentError } from "commander";

/** A positive integer option value. */
export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("needs a positive integer");
  return n;
}
