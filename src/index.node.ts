// The package's Node entry (package.json "exports" → "node"): everything of the host-neutral entry,
// plus helpers that need the filesystem.
export * from "./index.js";
export { wasmPath } from "./engine/wasm-file.node.js";
