// A module Worker that runs a simulation off the main thread and posts its findings back.
import { Engine, MAP_ANONYMOUS, MAP_PRIVATE, Mirror, Mm, PROT_READ, PROT_WRITE } from "hmmsim";

const PAGE = 4096;

self.onmessage = (e: MessageEvent<{ pages: number; seed: number }>) => {
  const { pages } = e.data;
  const engine = new Engine();
  const mm = new Mm(engine);
  const addr = mm.mmap({ length: pages * PAGE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  for (let i = 0; i < pages; i += 2) mm.cpuWriteU32(addr + i * PAGE, i);
  const gpu = new Mirror(mm);
  const ret = gpu.fault(addr, addr + pages * PAGE, false);
  postMessage([
    `pages: ${pages}`,
    `fault: ${ret}`,
    `mirrored pages: ${gpu.entries.size}`,
    `CPU reads page 6: ${mm.cpuReadU32(addr + 6 * PAGE)}`,
  ]);
};
