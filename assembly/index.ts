// Entry point of the WebAssembly engine. Everything exported here is a number-only function or
// a constant of the layout module; src/wasm.ts describes these exports for the host.
export * from "./layout";
export { blockAlloc, blockFree, blocksUsed, heapBytes, memoryInit, memorySetLimit } from "./memory";
export {
  deviceRangeAlloc, frameAlloc, frameFree, framesInit, framesSetRamLimit, framesUsed, metaPtr,
  ramFramesLeft, highestMemmapPfnValue,
} from "./frames";
export {
  entryPtr, entryPtrStopLevel, installTable, mmCreate, mmDestroy, mmLevels, mmRoot, mmTables, nextPopulated,
  pruneTables, vmaReserve, vmaSet, vmaSetCount,
} from "./pgtable";
export { hmmWalk } from "./walk";
export { faultAnonRange, faultAnonFaulted } from "./fault";
export { copyPtes, protectPtes, zapPtes } from "./ptes";
