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
  zapPtes(mm: number, startPage: number, endPage: number, stopAtFree: number): number;
  protectPtes(mm: number, startPage: number, endPage: number, mode: number): number;
  copyPtes(src: number, dst: number, startPage: number, endPage: number, cow: number, shared: number): number;
  hmmWalk(
    mm: number,
    pfns: number,
    startPage: number,
    lastPage: number,
    endPage: number,
    defaultFlagsHi: number,
    pfnFlagsMaskHi: number,
    owner: number,
    profile: number,
  ): number;
}

/** The name of every raw export function. */
export type RawFunctionName = Exclude<keyof RawExports, "memory">;

/**
 * The parameter count of every raw export function. The compiler checks that this lists exactly
 * the functions of RawExports; the ABI test (test/host/abi.test.ts) checks it against
 * WebAssembly.Module.exports of each build, so the host's view of the engine cannot drift.
 */
export const RAW_FUNCTION_ARITY: Readonly<Record<RawFunctionName, number>> = {
  memoryInit: 0,
  blockAlloc: 1,
  blockFree: 2,
  blocksUsed: 0,
  heapBytes: 0,
  framesInit: 0,
  frameAlloc: 2,
  frameFree: 2,
  framesSetRamLimit: 1,
  framesUsed: 0,
  ramFramesLeft: 0,
  metaPtr: 1,
  highestMemmapPfnValue: 0,
  deviceRangeAlloc: 2,
  mmCreate: 1,
  mmDestroy: 1,
  mmTables: 1,
  mmRoot: 1,
  mmLevels: 1,
  entryPtr: 4,
  entryPtrStopLevel: 0,
  installTable: 2,
  nextPopulated: 3,
  pruneTables: 3,
  vmaReserve: 2,
  vmaSet: 6,
  vmaSetCount: 2,
  faultAnonRange: 5,
  faultAnonFaulted: 0,
  hmmWalk: 9,
  zapPtes: 4,
  protectPtes: 4,
  copyPtes: 6,
  memorySetLimit: 1,
};

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
