// The host's view of the engine against what each build really exports: every raw function of
// RawExports with its parameter count, no unlisted function, and every layout global the host
// reads present in every build with the same value. A change to assembly/ that the host has not
// followed fails here, not as a wrong number somewhere else.
import { describe, expect, it } from "vitest";
import { WASM_BUILDS, compiledBuild } from "../../src/engine/builds.js";
import { LAYOUT_GLOBAL_NAMES } from "../../src/engine/layout.js";
import { RAW_FUNCTION_ARITY, instantiateModule } from "../../src/engine/wasm.js";

describe.each(WASM_BUILDS)("ABI of the %s build", (build) => {
  const mod = compiledBuild(build);
  const exports = WebAssembly.Module.exports(mod);
  const kinds = new Map(exports.map((e) => [e.name, e.kind]));
  const instance = instantiateModule(mod) as unknown as Record<string, unknown>;

  it("exports exactly the raw functions the host declares, with their parameter counts", () => {
    const declared = Object.keys(RAW_FUNCTION_ARITY).sort();
    const exported = exports
      .filter((e) => e.kind === "function")
      .map((e) => e.name)
      .sort();
    expect(exported).toEqual(declared);
    for (const [name, arity] of Object.entries(RAW_FUNCTION_ARITY)) {
      expect((instance[name] as (...a: number[]) => number).length, name).toBe(arity);
    }
    expect(kinds.get("memory")).toBe("memory");
  });

  it("exports every layout global the host reads, with the release build's value", () => {
    expect(LAYOUT_GLOBAL_NAMES.length).toBeGreaterThan(100);
    const release = instantiateModule(compiledBuild("release")) as unknown as Record<string, WebAssembly.Global>;
    for (const name of LAYOUT_GLOBAL_NAMES) {
      expect(kinds.get(name), name).toBe("global");
      expect((instance[name] as WebAssembly.Global).value, name).toEqual(release[name].value);
    }
  });
});
