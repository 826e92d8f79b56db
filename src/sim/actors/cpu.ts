// A CPU thread of a process: loads and stores (faulting like user accesses) and mm operations
// (munmap, mprotect, madvise, mremap, fork, exit, remap), at a rate or at given times. Operations
// that take the mmap write lock queue as a waiting writer until no walk holds the read lock.
import { ErrnoError, errnoName } from "../../engine/errors.js";
import { getUnmappedArea } from "../../mm/vma-list.js";
import {
  MADV_COLLAPSE,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_PAGEOUT,
  madvise,
} from "../../ops/madvise.js";
import { fork } from "../../ops/fork.js";
import { MREMAP_FIXED, MREMAP_MAYMOVE, mremap } from "../../ops/mremap.js";
import type { CpuActorSpec, CpuOpSpec } from "../scenario/schema.js";
import type { Rng } from "../sched/rng.js";
import { FAULT_COST, classifyFault, thpAfter } from "./classify.js";
import {
  type ActorState,
  type MappingState,
  PAGE,
  type ProcessState,
  type Wait,
  type World,
  protOf,
  resetShadowAfterMap,
} from "./world.js";

type Gen<T> = Generator<Wait | undefined, T, void>;

const ADVICE = {
  dontneed: MADV_DONTNEED,
  free: MADV_FREE,
  pageout: MADV_PAGEOUT,
  hugepage: MADV_HUGEPAGE,
  nohugepage: MADV_NOHUGEPAGE,
  collapse: MADV_COLLAPSE,
} as const;
const READ_LOCK_ADVICE = new Set(["dontneed", "free", "pageout"]);

export function* cpuActor(w: World, a: ActorState, spec: CpuActorSpec, rng: Rng): Gen<void> {
  const ps = w.procs.get(spec.process)!;
  const total = spec.count ?? Infinity;
  const endNs = spec.durationNs ?? w.scenario.run.durationNs ?? Infinity;
  const weights = spec.ops.map((o) => o.weight);
  const wsum = weights.reduce((x, y) => x + y, 0);
  const repeat = spec.ops.filter((o) => o.atNs === undefined);
  a.clock = spec.startNs;
  a.lastProgressNs = a.clock;
  for (let i = 0; i < total && a.clock < endNs && !ps.mm.exited && !w.stopped; i++) {
    let op: CpuOpSpec;
    if (spec.mode === "sequence") {
      // an op with atNs runs once, at that time; the others repeat in order
      op = i < spec.ops.length ? spec.ops[i] : repeat[(i - spec.ops.length) % Math.max(1, repeat.length)];
      if (op === undefined) break;
    } else {
      let u = rng.float() * wsum;
      let k = 0;
      while (k < weights.length - 1 && u >= weights[k]) u -= weights[k++];
      op = spec.ops[k];
    }
    if (op.atNs !== undefined && a.clock < op.atNs) a.clock = op.atNs;
    if (a.clock >= endNs) break;
    const t0 = a.clock;
    yield* runOp(w, a, ps, op, i, rng);
    w.emit?.({ type: "slice", actor: a.name, name: `${op.op}`, cat: "cpu", ts: t0, dur: a.clock - t0 });
    a.lastProgressNs = a.clock;
    a.clock += spec.periodNs;
    yield;
  }
}

function* writeLock(w: World, a: ActorState, ps: ProcessState): Gen<void> {
  if (!ps.mm.isLocked) return;
  ps.writersWaiting++;
  w.metrics.inc(a.counters, "sim.blocked");
  try {
    yield { until: () => !ps.mm.isLocked, reason: `mmap_write_lock(${ps.spec.name})` };
  } finally {
    ps.writersWaiting--;
  }
}

/** The first page and page count an op works on (a random start when op.at is "random"). */
function span(
  st: MappingState,
  op: { page: number; pages?: number; at: "fixed" | "random" },
  rng: Rng,
): [number, number] {
  if (op.at === "random") {
    const pages = op.pages ?? 1;
    return [rng.int(st.spec.pages - pages + 1), pages];
  }
  return [op.page, op.pages ?? st.spec.pages - op.page];
}

function* runOp(w: World, a: ActorState, ps: ProcessState, op: CpuOpSpec, i: number, rng: Rng): Gen<void> {
  const mm = ps.mm;
  const m = w.metrics;
  const c = a.counters;
  const costs = w.costs;
  m.inc(c, `cpu.ops.${op.op}`);
  const st = "mapping" in op ? ps.mappings.get(op.mapping)! : null;
  const [first, pages] = st && "page" in op ? span(st, op, rng) : [0, 0];
  const addr = st ? st.addr + first * PAGE : 0;
  const len = pages * PAGE;
  try {
    if (op.op === "read" || op.op === "write") {
      const wt = w.readLockWait(ps);
      if (wt) {
        m.inc(c, "sim.blocked");
        yield wt;
      }
      if (!st!.mapped) {
        m.inc(c, "cpu.errors.unmapped");
        return;
      }
      access(w, a, ps, st!, first, pages, op.op === "write", i);
      return;
    }
    a.clock += costs["cpu.syscallNs"];
    if (op.op === "madvise" && READ_LOCK_ADVICE.has(op.advice)) {
      const wt = w.readLockWait(ps);
      if (wt) {
        m.inc(c, "sim.blocked");
        yield wt;
      }
    } else {
      yield* writeLock(w, a, ps);
    }
    if (mm.exited) return;
    switch (op.op) {
      case "munmap": {
        mm.munmap(addr, len);
        // a shared file mapping's data lives on in the file (a remap reads it back); the rest is gone
        if (st!.spec.kind !== "file-shared") {
          for (let p = first; p < first + pages; p++) {
            st!.shadow.delete(p);
            st!.unknown.delete(p);
          }
        }
        if (pages === st!.spec.pages) st!.mapped = false;
        a.clock += costs["cpu.tlbFlushPageNs"] * Math.min(pages, 33);
        break;
      }
      case "remap":
        w.mapMapping(ps, st!, st!.addr !== 0);
        resetShadowAfterMap(st!);
        break;
      case "mprotect": {
        mm.mprotect(addr, len, protOf(op.prot));
        a.clock += costs["cpu.tlbFlushPageNs"] * Math.min(pages, 33);
        break;
      }
      case "madvise": {
        madvise(mm, addr, len, ADVICE[op.advice]);
        if (
          (op.advice === "dontneed" || op.advice === "free") &&
          (st!.spec.kind === "anon" || st!.spec.kind === "file-private")
        ) {
          // private data is gone (MADV_FREE: may be gone): the page reads as zero or as the file again
          for (let p = first; p < first + pages; p++) {
            if (op.advice === "free") st!.unknown.add(p);
            if (st!.spec.kind === "file-private" && st!.spec.init === "index") st!.shadow.set(p, p);
            else st!.shadow.delete(p);
          }
        }
        break;
      }
      case "mremap": {
        if (!st!.mapped) break;
        const len = st!.spec.pages * PAGE;
        const to = getUnmappedArea(mm, len, 2 ** 21);
        st!.addr = mremap(mm, st!.addr, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
        break;
      }
      case "fork":
        ps.children.push(fork(mm));
        break;
      case "exit":
        mm.exit();
        for (const s of ps.mappings.values()) s.mapped = false;
        break;
    }
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    m.inc(c, `cpu.errors.${errnoName(-e.errno)}`);
    w.note(`${a.name}: ${op.op} failed: ${e.message}`);
  }
}

/** Loads or stores the first word of each page, faulting like the CPU; loads check the data. */
function access(
  w: World,
  a: ActorState,
  ps: ProcessState,
  st: MappingState,
  first: number,
  pages: number,
  write: boolean,
  i: number,
): void {
  const mm = ps.mm;
  const m = w.metrics;
  const c = a.counters;
  const costs = w.costs;
  for (let p = first; p < first + pages; p++) {
    const addr = st.addr + p * PAGE;
    m.inc(c, "cpu.accesses");
    a.clock += costs["cpu.accessNs"];
    const kind = mm.translate(addr, write) ? null : classifyFault(mm, addr, write);
    if (write) {
      const v = ((i + 1) * 4096 + p + a.index * 0x1000000) >>> 0;
      mm.cpuWriteU32(addr, v);
      st.shadow.set(p, v);
      st.unknown.delete(p);
    } else {
      const got = mm.cpuReadU32(addr);
      const want = st.shadow.get(p) ?? 0;
      if (got !== want && !st.unknown.has(p)) {
        w.violation("data", `${a.name} read ${got} at page ${p} of ${ps.spec.name}.${st.spec.name}, expected ${want}`);
        return;
      }
    }
    if (kind !== null) {
      const k = thpAfter(mm, addr, kind);
      m.inc(c, `faults.${k}`);
      m.inc(c, "cpu.faults");
      if (k === "migrateToRam") m.inc(c, "migrations.toRam.pages");
      a.clock += costs[FAULT_COST[k]];
    }
  }
}
