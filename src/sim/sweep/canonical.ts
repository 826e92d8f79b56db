// Canonical JSON and content hashes for sweep jobs. A job travels as canonical JSON (object keys
// sorted, no whitespace) so that the same point always produces the same bytes: a worker thread, a
// queue worker on another machine and a resubmission all see identical input, and the queue's job
// id (a hash of those bytes) makes resubmitting a sweep idempotent.
import { createHash } from "node:crypto";

/** Thrown for a value JSON cannot carry exactly (NaN, Infinity, undefined, functions, cycles). */
export class CanonicalJsonError extends TypeError {}

/** `value` as canonical JSON: keys sorted by code unit, arrays in order, no whitespace. */
export function canonicalJson(value: unknown): string {
  return write(value, "$", new Set());
}

function write(v: unknown, at: string, seen: Set<object>): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "string":
      return JSON.stringify(v);
    case "number":
      if (!Number.isFinite(v)) throw new CanonicalJsonError(`${at}: ${v} has no JSON form`);
      return JSON.stringify(Object.is(v, -0) ? 0 : v);
    case "object": {
      if (seen.has(v)) throw new CanonicalJsonError(`${at}: cyclic value`);
      seen.add(v);
      let out: string;
      if (Array.isArray(v)) {
        out = `[${v.map((x, i) => write(x, `${at}[${i}]`, seen)).join(",")}]`;
      } else {
        const o = v as Record<string, unknown>;
        const keys = Object.keys(o)
          .filter((k) => o[k] !== undefined)
          .sort();
        out = `{${keys.map((k) => `${JSON.stringify(k)}:${write(o[k], `${at}.${k}`, seen)}`).join(",")}}`;
      }
      seen.delete(v);
      return out;
    }
    default:
      throw new CanonicalJsonError(`${at}: a ${typeof v} has no JSON form`);
  }
}

/** SHA-256 of a string's UTF-8 bytes, as 64 lowercase hex digits. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
