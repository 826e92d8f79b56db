// The built-in default simulation: a GPU-like device mirrors a process's heap while the CPU
// writes, mprotects, unmaps and the driver migrates pages to device memory and back. Every step
// checks the device mirror against the CPU page table and the data against a shadow copy.
import { Device } from "../drivers/device.js";
import { Engine } from "../engine/engine.js";
import { EBUSY, type WalkEngine } from "../hmm/range-fault.js";
import { PAGE_SIZE } from "../engine/layout.js";
import { Mirror } from "../drivers/mirror.js";
import { Mm } from "../api/mm.js";
import { MMU_NOTIFY_EVENT_NAMES } from "../mm/notifier.js";
import type { Profile } from "../engine/profile.js";
import { Rng } from "./sched/rng.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../mm/vma.js";

export interface SimOptions {
  /** Pages in the mirrored heap (default 4096 = 16 MiB). */
  pages?: number;
  /** Rounds of the scenario (default 64). */
  rounds?: number;
  seed?: number;
  levels?: 4 | 5;
  profile?: Profile;
  engine?: WalkEngine;
  /** Called with each progress / report line. */
  log?: (line: string) => void;
}

export interface SimReport {
  pages: number;
  rounds: number;
  deviceFaults: number;
  externalRetries: number;
  invalidations: Record<string, number>;
  migratedToDevice: number;
  migratedToRam: number;
  cpuFaults: number;
  walkPasses: number;
  mirrorMismatches: number;
  dataMismatches: number;
  finalSeq: number;
  ok: boolean;
}

export function runDefaultSimulation(opts: SimOptions = {}): SimReport {
  const pages = opts.pages ?? 4096;
  const rounds = opts.rounds ?? 64;
  if (!Number.isInteger(pages) || pages < 64) throw new RangeError(`pages must be an integer >= 64, got ${pages}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${rounds}`);
  const log = opts.log ?? (() => {});
  // every random choice from the simulator's seeded generator: a run is a function of its seed
  const rng = Rng.seeded(opts.seed ?? 1);
  const engine = new Engine();
  const mm = new Mm(engine, { levels: opts.levels ?? 4, profile: opts.profile ?? "v6.1" });
  const gpu = new Device(engine, { pages: Math.max(64, pages >> 2) });
  const mirror = new Mirror(mm, { owner: gpu.owner, engine: opts.engine });
  const len = pages * PAGE_SIZE;
  const base = mm.mmap({ length: len, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  const shadow = new Map<number, number>();
  log(
    `hmmsim default simulation: ${pages} pages (${len / 2 ** 20} MiB) at 0x${base.toString(16)}, ` +
      `${mm.levels}-level, profile ${mm.profile}, ${rounds} rounds, seed ${opts.seed ?? 1}`,
  );

  let migratedToDevice = 0;
  let mapped = true;
  let protRead = false;
  const pick = (n: number) => rng.int(n);
  for (let r = 0; r < rounds; r++) {
    const op = pick(6);
    const p0 = pick(pages - 32);
    const n = 1 + pick(32);
    const a = base + p0 * PAGE_SIZE;
    const b = a + n * PAGE_SIZE;
    if (!mapped) {
      mm.mmap({ addr: base, length: len, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | 0x10 });
      mapped = true;
      protRead = false;
      shadow.clear();
      log(`round ${r}: remapped the heap`);
    }
    if (op === 0 && !protRead) {
      for (let p = p0; p < p0 + n; p++) {
        const v = (r * 65536 + p) >>> 0;
        mm.cpuWriteU32(base + p * PAGE_SIZE, v);
        shadow.set(p, v);
      }
    } else if (op === 1) {
      const ret = mirror.fault(a, b, !protRead && rng.float() < 0.5);
      if (ret !== 0 && ret !== EBUSY) log(`round ${r}: device fault [${p0}, ${p0 + n}) -> ${ret}`);
    } else if (op === 2 && !protRead) {
      migratedToDevice += gpu.migrateToDevice(mm, a, b);
    } else if (op === 3) {
      mm.mprotect(base, len, protRead ? PROT_READ | PROT_WRITE : PROT_READ);
      protRead = !protRead;
    } else if (op === 4) {
      for (let p = p0; p < p0 + n; p++) {
        const got = mm.cpuReadU32(base + p * PAGE_SIZE);
        if (got !== (shadow.get(p) ?? 0))
          throw new Error(`data mismatch at page ${p}: ${got} != ${shadow.get(p) ?? 0}`);
      }
    } else if (op === 5 && rng.float() < 0.2) {
      mm.munmap(base, len);
      mapped = false;
    }
    if ((r + 1) % 16 === 0)
      log(`round ${r + 1}/${rounds}: ${mirror.entries.size} device entries, seq ${mm.notifiers.invalidateSeq}`);
  }
  // final check: the device mirror agrees with the CPU page table, the data with the shadow
  const v = mirror.verify();
  let dataMismatches = 0;
  if (mapped) {
    for (const [p, val] of shadow) if (mm.cpuReadU32(base + p * PAGE_SIZE) !== val) dataMismatches++;
  }
  const invalidations: Record<string, number> = {};
  for (const rng of mirror.log) {
    const name = MMU_NOTIFY_EVENT_NAMES[rng.event];
    invalidations[name] = (invalidations[name] ?? 0) + 1;
  }
  const report: SimReport = {
    pages,
    rounds,
    deviceFaults: mirror.stats.faults,
    externalRetries: mirror.stats.retries,
    invalidations,
    migratedToDevice,
    migratedToRam: gpu.migrateToRamCalls,
    cpuFaults: mm.stats.faults,
    walkPasses: mm.stats.walkPasses,
    mirrorMismatches: v.mismatches,
    dataMismatches,
    finalSeq: mm.notifiers.invalidateSeq,
    ok: v.ok && dataMismatches === 0,
  };
  mm.exit();
  return report;
}
