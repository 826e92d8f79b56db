// Development-only entry of the sweep pool's worker threads, used when hmmsim runs from its
// TypeScript sources under tsx (tests, `node --import tsx src/cli/main.ts`): Node 20 does not carry
// tsx's module hooks into worker threads, so the thread registers them itself before loading the
// real worker. Built code (dist/) loads pool-worker.js directly and never reads this file.
import { register } from "tsx/esm/api";

register();
const worker = await import(new URL("./pool-worker.ts", import.meta.url).href);
export default worker.default;
