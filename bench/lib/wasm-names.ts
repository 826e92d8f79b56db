// Function names for a release build of the engine, for profiles. The release and SIMD builds ship
// without a "name" section (asconfig.json: no debug info), so a CPU profile shows their functions as
// wasm-function[N]. asc writes build/<build>.wat next to each binary from the same module: its
// top-level `(func $name` lines are the module's functions in index order. withFunctionNames() appends
// a name section built from them to the unchanged code, so the profiled module runs exactly the
// shipped instructions.
import { readFileSync } from "node:fs";

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function readLeb(b: Uint8Array, at: number): [number, number] {
  let n = 0;
  let shift = 0;
  for (;;) {
    const x = b[at++];
    n += (x & 0x7f) * 2 ** shift;
    shift += 7;
    if ((x & 0x80) === 0) return [n, at];
  }
}
const bytesOf = (s: string): number[] => [...leb(Buffer.byteLength(s)), ...Buffer.from(s)];

/** Imported and defined function counts of a module (sections 2 and 3). */
function functionCounts(wasm: Uint8Array): { imported: number; defined: number } {
  let imported = 0;
  let defined = 0;
  let at = 8;
  while (at < wasm.length) {
    const id = wasm[at];
    const [size, body] = readLeb(wasm, at + 1);
    if (id === 2) {
      let [n, p] = readLeb(wasm, body);
      for (; n > 0; n--) {
        for (let k = 0; k < 2; k++) {
          const [len, q] = readLeb(wasm, p);
          p = q + len; // module and field names
        }
        const kind = wasm[p++];
        if (kind === 0) {
          imported++;
          p = readLeb(wasm, p)[1];
        } else if (kind === 1) {
          p += 1; // reftype
          p = wasm[p] & 1 ? readLeb(wasm, readLeb(wasm, p + 1)[1])[1] : readLeb(wasm, p + 1)[1];
        } else if (kind === 2) {
          p = wasm[p] & 1 ? readLeb(wasm, readLeb(wasm, p + 1)[1])[1] : readLeb(wasm, p + 1)[1];
        } else {
          p += 2; // global: valtype, mutability
        }
      }
    } else if (id === 3) {
      defined = readLeb(wasm, body)[0];
    }
    at = body + size;
  }
  return { imported, defined };
}

/**
 * `wasm` with a name section listing the functions of `watFile` (the text of the same build).
 * Throws when the text does not describe the binary's functions.
 */
export function withFunctionNames(wasm: Uint8Array, watFile: string): Uint8Array {
  const names = [...readFileSync(watFile, "utf8").matchAll(/^ \(func \$(\S+)/gm)].map((m) => m[1]);
  const { imported, defined } = functionCounts(wasm);
  if (names.length !== defined) {
    throw new Error(
      `${watFile} names ${names.length} functions, the binary defines ${defined}: rebuild (npm run asbuild)`,
    );
  }
  const entries: number[] = [];
  names.forEach((n, i) => entries.push(...leb(imported + i), ...bytesOf(n.replace(/^assembly\//, ""))));
  const sub = [...leb(names.length), ...entries];
  const payload = [...bytesOf("name"), 1, ...leb(sub.length), ...sub];
  const out = new Uint8Array(wasm.length + 1 + leb(payload.length).length + payload.length);
  out.set(wasm, 0);
  out.set([0, ...leb(payload.length), ...payload], wasm.length);
  return out;
}
