// Option value parsers: each checks its value and says what is wrong in the option's own terms
// (commander turns the thrown InvalidArgumentError into a usage error, exit 2).
import { InvalidArgumentError } from "commander";

/** An integer option in [min, max]. "" and "1.5" and "0x10" are rejected, not read as 0 or 1. */
export function intOption(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim()))
      throw new InvalidArgumentError(`${flag} needs an integer, got ${JSON.stringify(value)}`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `${flag} must be an integer >= ${min}, got ${value}`
          : `${flag} must be an integer in ${min}..${max}, got ${value}`,
      );
    }
    return n;
  };
}

/** One of a fixed set of words. */
export function choiceOption<T extends string>(flag: string, choices: readonly T[], message?: string) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(
        message ??
          `${flag} must be ${choices.slice(0, -1).join(", ")}${choices.length > 1 ? " or " : ""}${choices.at(-1)}, got ${JSON.stringify(value)}`,
      );
    }
    return value as T;
  };
}

/** A non-empty string (a file name, a schedule string). */
export function textOption(flag: string) {
  return (value: string): string => {
    if (value.trim() === "") throw new InvalidArgumentError(`${flag} needs a value`);
    return value;
  };
}
