// A device mirror driven on the page's main thread; the result is written into the page.
import { Engine, MAP_ANONYMOUS, MAP_PRIVATE, Mirror, Mm, PROT_READ, PROT_WRITE } from "hmmsim";

const PAGE = 4096;
const engine = new Engine();
const mm = new Mm(engine);
const addr = mm.mmap({ length: 256 * PAGE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
const gpu = new Mirror(mm);
const lines = [
  `build: ${engine.build}`,
  `fault: ${gpu.fault(addr, addr + 256 * PAGE, true)}`,
  `mirrored pages: ${gpu.entries.size}`,
];
mm.munmap(addr, 128 * PAGE);
lines.push(`after munmap: ${gpu.entries.size}`, `coherent: ${gpu.verify().ok}`);
const out = document.getElementById("out");
if (out) out.textContent = lines.join("\n");
