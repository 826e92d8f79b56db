// W8: mm operations over populated spaces, ns per populated page: mprotect (read-only, then back to
// read-write: every PTE rewritten), fork (the child copies the populated anonymous tables and the
// parent's PTEs are write-protected for COW), munmap (zap: every page's frame freed) and exit of a
// populated mm. Spaces are populated through real write faults before each sequence (untimed).
// Each sequence runs in a fresh engine, so the first fork's child tables (8 B per page) are linear
// memory nothing has touched yet, and the first touch of such memory (the OS's page fault) is part
// of its figure; "fork-reused" is a second fork after the first child exited, whose tables reuse
// the freed ones (as W5w is to W5).
import { fork } from "../../src/ops/fork.js";
import { PROT_READ, PROT_WRITE } from "../../src/mm/vma.js";
import { type Ctx, engineOf, logWorkload } from "../lib/context.js";
import { type Figure, type Workload, fmtBytes } from "../lib/report.js";
import { GiB, PAGE, newScene, populateByFaults } from "../lib/scenes.js";
import { median, now } from "../lib/timing.js";

const OPS = ["mprotect", "fork", "fork-reused", "munmap", "exit"] as const;
type Op = (typeof OPS)[number];

export function mmOps(c: Ctx, bytes: number): Workload {
  const pages = bytes / PAGE;
  const title = `mm operations over populated 4 KiB pages, ${fmtBytes(bytes)}`;
  c.log(`W8: ${title}`);
  /** Wall and CPU ns of f. */
  const tm = (f: () => void): [number, number] => {
    const c0 = process.cpuUsage();
    const t0 = now();
    f();
    const wall = Number(now() - t0);
    const cu = process.cpuUsage(c0);
    return [wall, (cu.user + cu.system) * 1000];
  };
  /** One sequence: [wall, cpu] ns per operation kind (mprotect: the mean of its two calls). */
  const sequence = (): Record<Op, [number, number]> => {
    const s = newScene(engineOf(c, "simd"), bytes);
    populateByFaults(s);
    const mm = s.mm;
    const m1 = tm(() => mm.mprotect(s.start, bytes, PROT_READ));
    const m2 = tm(() => mm.mprotect(s.start, bytes, PROT_READ | PROT_WRITE));
    let child: ReturnType<typeof fork> | undefined;
    const f = tm(() => {
      child = fork(mm);
    });
    child!.exit();
    const f2 = tm(() => {
      child = fork(mm);
    });
    child!.exit();
    const u = tm(() => mm.munmap(s.start, bytes));
    const s2 = newScene(engineOf(c, "simd"), bytes);
    populateByFaults(s2);
    const x = tm(() => s2.mm.exit());
    return { mprotect: [(m1[0] + m2[0]) / 2, (m1[1] + m2[1]) / 2], fork: f, "fork-reused": f2, munmap: u, exit: x };
  };
  // calibrate: sequences per round so that the timed operations of a round last about batchMs
  const first = sequence();
  const opNs = OPS.reduce((a, k) => a + first[k][0], 0);
  const perRound = Math.max(1, Math.min(50, Math.round((c.batchMs * 1e6) / opNs)));
  const rounds = bytes > 4 * GiB ? Math.min(c.rounds, 3) : c.rounds;
  const wall = Object.fromEntries(OPS.map((k) => [k, [] as number[]])) as Record<Op, number[]>;
  const cpu = Object.fromEntries(OPS.map((k) => [k, [] as number[]])) as Record<Op, number[]>;
  for (let r = 0; r < rounds; r++) {
    const acc = Object.fromEntries(OPS.map((k) => [k, [0, 0]])) as Record<Op, [number, number]>;
    for (let i = 0; i < perRound; i++) {
      const q = sequence();
      for (const k of OPS) {
        acc[k][0] += q[k][0];
        acc[k][1] += q[k][1];
      }
    }
    for (const k of OPS) {
      wall[k].push(acc[k][0] / perRound / pages);
      cpu[k].push(acc[k][1] / perRound / pages);
    }
  }
  const figures: Figure[] = OPS.map((k) => ({
    name: k,
    unit: "ns/page",
    value: median(cpu[k]),
    wall: median(wall[k]),
    perCall: 0,
    batchOps: perRound,
    rounds: cpu[k],
  }));
  const w: Workload = {
    id: bytes >= 16 * GiB ? "W8-large" : "W8",
    title,
    pages,
    figures,
    notes: [
      `SIMD build; each round runs ${perRound} sequence(s) of populate, mprotect R, mprotect RW, fork (child exited untimed), fork again (fork-reused; child exited untimed), munmap, then populate and exit of a second space; ${rounds} rounds, medians`,
    ],
  };
  logWorkload(c, w);
  return w;
}
