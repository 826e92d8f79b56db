// The debug build checks the engine's allocator invariants where they would be broken (the release
// and SIMD builds compile these checks out): a bad free stops at the free, not pages later.
import { describe, expect, it } from "vitest";
import { Engine } from "../src/engine/engine.js";
import { EngineAssertion } from "../src/engine/wasm.js";
import { ENGINE_OPTS } from "./env.js";

const ANON = 1;
const debugEngine = (): Engine => new Engine({ ...ENGINE_OPTS, build: "debug" });

describe("debug-build assertions in the engine", () => {
  it("a frame freed twice is caught", () => {
    const e = debugEngine();
    const a = e.raw.frameAlloc(0, ANON) >>> 0;
    e.raw.frameAlloc(0, ANON);
    e.raw.frameFree(a, 0);
    e.raw.frameFree(a, 0);
    // the frame is on the free list twice: the second time it is handed out it is in use already
    e.raw.frameAlloc(0, ANON);
    expect(() => e.raw.frameAlloc(0, ANON)).toThrow(EngineAssertion);
  });

  it("a free of a pfn that is not RAM, or of the wrong order, is caught", () => {
    const e = debugEngine();
    expect(() => e.raw.frameFree(5, 0)).toThrow(EngineAssertion);
    const p = e.raw.frameAlloc(0, ANON) >>> 0;
    expect(() => e.raw.frameFree(p & ~511, 9)).toThrow(EngineAssertion);
  });

  it("a block freed outside the heap, or never allocated, is caught", () => {
    const e = debugEngine();
    expect(() => e.raw.blockFree(4096, 4096)).toThrow(EngineAssertion);
    // the root table of a new mm comes from a table slab whose next table was never handed out
    const mm = e.raw.mmCreate(4) >>> 0;
    const root = e.raw.mmRoot(mm) >>> 0;
    expect(() => e.raw.blockFree(root + 4096, 4096)).toThrow(EngineAssertion);
  });

  it("valid frees pass and the counts come back", () => {
    const e = debugEngine();
    const before = e.framesInUse();
    const pfns = Array.from({ length: 600 }, () => e.raw.frameAlloc(0, ANON) >>> 0);
    for (const p of pfns) e.raw.frameFree(p, 0);
    expect(e.framesInUse()).toBe(before);
  });
});
