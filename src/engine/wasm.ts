// The WebAssembly engine's raw exports (numbers only across the boundary), instantiating a compiled
// module, and the host's views of linear memory. No host API beyond WebAssembly itself: this file
// runs in browsers, workers and Node alike.

export type { WasmBuild } from "./builds.js";

/** The raw exports of assembly/index.ts. Pointers are u32, page numbers f64. */
export interface RawExports {
  memory: WebAssembly.Memory;
  memoryInit(): number;
  blockAlloc(bytes: number): number;
  blockFree(ptr: number, bytes: number): void;
  blocksUsed(): number;
  heapBytes(): number;
  memorySetLimit(pages: number): number;
  framesInit(): number;
  frameAlloc(order: number, flags: number): number;
  frameFree(pfn: number, order: number): void;
  framesSetRamLimit(frames: number): void;
  framesUsed(): number;
  ramFramesLeft(): number;
  metaPtr(pfn: number): number;
  highestMemmapPfnValue(): number;
  deviceRangeAlloc(count: number, pgmap: number): number;
  mmCreate(levels: number): number;
  mmDestroy(mm: number): void;
  mmTables(mm: number): number;
  mmRoot(mm: number): number;
  mmLevels(mm: number): number;
  entryPtr(mm: number, page: number, level: number, alloc: number): number;
  entryPtrStopLevel(): number;
  installTable(mm: number, slot: number): number;
  nextPopulated(mm: number, page: number, endPage: number): number;
  pruneTables(mm: number, startPage: number, endPage: number): void;
  vmaReserve(mm: number, count: number): number;
  vmaSet(mm: number, i: number, startPage: number, endPage: number, flags: number, hugeShift: number): void;
  vmaSetCount(mm: number, count: number): void;
  faultAnonRange(mm: number, startPage: number, endPage: number, write: number, vmaWrite: number): number;
  faultAnonFaulted(): number;
  hmmWalk(
    mm: number, pfns: number, startPage: number, lastPage: number, endPage: number,
    defaultFlagsHi: number, pfnFlagsMaskHi: number, owner: number, profile: number,
  ): number;
  [constant: string]: unknown;
}

/** Instantiates a compiled engine module; the only import is the debug build's abort. */
export function instantiateModule(mod: WebAssembly.Module): RawExports {
  const instance = new WebAssembly.Instance(mod, {
    env: {
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new EngineAssertion(`engine assertion failed at ${line}:${col} (debug build)`);
      },
    },
  });
  return instance.exports as unknown as RawExports;
}

/** A debug-build assertion inside the WebAssembly engine. */
export class EngineAssertion extends Error {
  override name = "EngineAssertion";
}

/**
 * Views of linear memory, rebuilt whenever memory.grow has detached the old buffer. They are
 * internal to the host: no view is ever handed to a user.
 */
export class MemoryViews {
  private buf: ArrayBuffer;
  u8: Uint8Array;
  u32: Uint32Array;
  i32: Int32Array;
  f64: Float64Array;
  constructor(private readonly memory: WebAssembly.Memory) {
    this.buf = memory.buffer;
    this.u8 = new Uint8Array(this.buf);
    this.u32 = new Uint32Array(this.buf);
    this.i32 = new Int32Array(this.buf);
    this.f64 = new Float64Array(this.buf);
  }
  /** Call before using the views after anything that may have grown memory. */
  fresh(): this {
    // memory.grow detaches the old buffer (byteLength 0): a cheap test, unlike the memory.buffer getter
    if (this.buf.byteLength === 0) {
      this.buf = this.memory.buffer;
      this.u8 = new Uint8Array(this.buf);
      this.u32 = new Uint32Array(this.buf);
      this.i32 = new Int32Array(this.buf);
      this.f64 = new Float64Array(this.buf);
    }
    return this;
  }
}
