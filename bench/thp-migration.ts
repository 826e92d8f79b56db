// benchmark_thp_migration of hmm-tests.c as a benchmark: migrate buffers of PMD/4 .. 128*PMD to
// a dmirror device and back (MIGRATE_TO_DEV then MIGRATE_TO_SYS), with and without THP, one
// warm-up round then 5 timed rounds each, and print times and throughput. Every ioctl must
// return 0 and move every page (a failure is reported and makes the exit code 1); times are
// never asserted.
//
//   npm run bench:thp                     # sizes up to 8*PMD, profile v6.19
//   npm run bench:thp -- --full           # also 128*PMD (256 MiB: needs ~1 GiB of heap)
//   npm run bench:thp -- --profile v6.1
import { Command, Option } from "commander";
import { Engine } from "../src/engine/engine.js";
import { PAGE_SIZE, PMD_SIZE } from "../src/engine/layout.js";
import { Mm } from "../src/api/mm.js";
import { PROFILES, type Profile } from "../src/engine/profile.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../src/mm/vma.js";
import { MADV_HUGEPAGE, MADV_NOHUGEPAGE, madvise } from "../src/ops/madvise.js";
import {
  DmirrorDriver,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  type DmirrorFile,
} from "../src/drivers/dmirror/index.js";

const PAGE = PAGE_SIZE;
const PMD = PMD_SIZE;
const ROUNDS = 5;

interface Row {
  size: number;
  thp: boolean;
  toDevMs: number;
  toSysMs: number;
  gbps: number;
  failures: number;
}

const opts = new Command("bench:thp")
  .description("benchmark_thp_migration of hmm-tests.c: dmirror migration to the device and back, THP and not")
  .addOption(new Option("--profile <profile>", "kernel profile").choices([...PROFILES]).default("v6.19"))
  .option("--full", "also 128*PMD (256 MiB: needs ~1 GiB of heap)", false)
  .showHelpAfterError()
  .parse()
  .opts<{ profile: Profile; full: boolean }>();

function ioctl(fd: DmirrorFile, req: number, addr: number, npages: number, mirror: Uint8Array): number {
  const cmd = { addr, ptr: mirror, npages, cpages: 0, faults: 0 };
  const ret = fd.ioctl(req, cmd);
  // every page must have moved (cpages), as the kernel benchmark's helpers check
  return ret === 0 && cmd.cpages !== npages ? -1 : ret;
}

/** run_migration_benchmark(): one buffer size, THP or not. */
function runOne(profile: Profile, size: number, thp: boolean): Row {
  const engine = new Engine();
  const mm = new Mm(engine, { profile });
  const fd = new DmirrorDriver(engine, { profile, coherent: false }).open(0, mm);
  const raw = mm.mmap({ length: size + PMD, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  const addr = Math.ceil(raw / PMD) * PMD;
  madvise(mm, addr, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  const data = new Uint8Array(size);
  new Int32Array(data.buffer).forEach((_, i, a) => {
    a[i] = i;
  });
  mm.cpuWrite(addr, data);
  const npages = size / PAGE;
  const mirror = new Uint8Array(size);
  let failures = 0;
  const check = (r: number): void => {
    if (r !== 0) failures++;
  };
  check(ioctl(fd, HMM_DMIRROR_MIGRATE_TO_DEV, addr, npages, mirror));
  check(ioctl(fd, HMM_DMIRROR_MIGRATE_TO_SYS, addr, npages, mirror));
  let toDev = 0;
  let toSys = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    check(ioctl(fd, HMM_DMIRROR_MIGRATE_TO_DEV, addr, npages, mirror));
    const t1 = process.hrtime.bigint();
    check(ioctl(fd, HMM_DMIRROR_MIGRATE_TO_SYS, addr, npages, mirror));
    const t2 = process.hrtime.bigint();
    toDev += Number(t1 - t0) / 1e6;
    toSys += Number(t2 - t1) / 1e6;
  }
  const toDevMs = toDev / ROUNDS;
  const toSysMs = toSys / ROUNDS;
  const gbps = (2 * size) / ((toDevMs + toSysMs) / 1000) / 1e9;
  return { size, thp, toDevMs, toSysMs, gbps, failures };
}

function main(): void {
  const profile = opts.profile;
  const sizes = [PMD / 4, PMD / 2, PMD, 2 * PMD, 4 * PMD, 8 * PMD];
  if (opts.full) sizes.push(128 * PMD);
  console.log(
    `benchmark_thp_migration (profile ${profile}, ${ROUNDS} rounds after one warm-up; node ${process.version})`,
  );
  console.log("size      THP   sys->dev ms  dev->sys ms  GB/s (both ways)  failed ioctls");
  let failed = 0;
  for (const size of sizes) {
    for (const thp of [true, false]) {
      const r = runOne(profile, size, thp);
      failed += r.failures;
      const label = size >= PMD ? `${size / PMD}*PMD` : `PMD/${PMD / size}`;
      console.log(
        `${label.padEnd(9)} ${(thp ? "yes" : "no").padEnd(5)} ${r.toDevMs.toFixed(2).padStart(11)}  ${r.toSysMs.toFixed(2).padStart(11)}  ${r.gbps.toFixed(3).padStart(16)}  ${r.failures}`,
      );
    }
  }
  if (failed > 0) {
    console.log(`${failed} ioctl(s) failed`);
    process.exitCode = 1;
  }
}

main();
