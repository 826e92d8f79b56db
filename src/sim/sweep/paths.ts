// Parameter paths: how a sweep file addresses a field of the scenario ("machine.ramPages",
// "actors[1].pattern.stride"). A path is dotted keys with [n] array indices.

/** One step of a path: an object key or an array index. */
export type PathSegment = string | number;

/** Thrown for a malformed path or one that does not fit the scenario. */
export class PathError extends Error {}

const KEY = /^[A-Za-z_$][\w$-]*/;

/** Splits "a.b[2].c" into ["a", "b", 2, "c"]. */
export function parsePath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  let rest = path;
  let first = true;
  while (rest.length > 0) {
    if (rest.startsWith("[")) {
      const m = /^\[(\d+)\]/.exec(rest);
      if (!m) throw new PathError(`bad path ${JSON.stringify(path)}: expected [index] at "${rest}"`);
      out.push(Number(m[1]));
      rest = rest.slice(m[0].length);
    } else {
      if (!first) {
        if (!rest.startsWith("."))
          throw new PathError(`bad path ${JSON.stringify(path)}: expected "." or "[" at "${rest}"`);
        rest = rest.slice(1);
      }
      const m = KEY.exec(rest);
      if (!m) throw new PathError(`bad path ${JSON.stringify(path)}: expected a key at "${rest}"`);
      out.push(m[0]);
      rest = rest.slice(m[0].length);
    }
    first = false;
  }
  if (out.length === 0) throw new PathError('bad path "": a parameter needs a path into the scenario');
  return out;
}

/**
 * Sets `value` at `path` in `root` (which the caller owns: it is changed in place). Missing object
 * keys are created (the scenario's defaults may not spell them out); an array index must exist,
 * since inventing array elements would invent actors or mappings.
 */
export function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const segs = parsePath(path);
  let cur: unknown = root;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const last = i === segs.length - 1;
    const where = describe(segs.slice(0, i));
    if (typeof seg === "number") {
      if (!Array.isArray(cur)) throw new PathError(`${path}: ${where} is not a list in the scenario`);
      if (seg >= cur.length) throw new PathError(`${path}: ${where} has ${cur.length} entries, no [${seg}]`);
      if (last) cur[seg] = value;
      else cur = cur[seg];
    } else {
      if (cur === null || typeof cur !== "object" || Array.isArray(cur)) {
        throw new PathError(`${path}: ${where} is not an object in the scenario`);
      }
      const o = cur as Record<string, unknown>;
      if (last) o[seg] = value;
      else {
        if (o[seg] === undefined) o[seg] = typeof segs[i + 1] === "number" ? [] : {};
        cur = o[seg];
      }
    }
  }
}

function describe(segs: PathSegment[]): string {
  if (segs.length === 0) return "the scenario";
  return segs.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
}
