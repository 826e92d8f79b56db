// A device mirror under CPU munmap and mprotect, in plain Node ESM.
// Run: node examples/node/mirror.mjs   (after `npm install`, which builds the package)
import { Engine, Mm, Mirror, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, MMU_NOTIFY_EVENT_NAMES } from "hmmsim";

const PAGE = 4096;
const engine = new Engine();
const mm = new Mm(engine);
const addr = mm.mmap({ length: 64 * PAGE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
mm.cpuWriteU32(addr, 0xcafe);

const gpu = new Mirror(mm); // a dmirror-like device page table
console.log("fault:", gpu.fault(addr, addr + 64 * PAGE, true));
console.log("mirrored pages:", gpu.entries.size);

mm.mprotect(addr, 16 * PAGE, PROT_READ); // the device must drop its writable entries
mm.munmap(addr + 32 * PAGE, 32 * PAGE); // and everything it maps here
console.log("events:", gpu.log.map((r) => MMU_NOTIFY_EVENT_NAMES[r.event]).join(" "));
console.log("mirrored pages:", gpu.entries.size);
console.log("refault read-only part:", gpu.fault(addr, addr + 16 * PAGE, false));
console.log("mirror matches the CPU page table:", gpu.verify().ok);
