// Kernel daemons that change a process's page table behind its back, each at its period over a
// window of pages that advances and wraps: the NUMA-balancing scanner (protnone hinting entries),
// kswapd (reclaim to swap), khugepaged (collapse to THPs, under the mmap write lock), compaction
// (page migration) and KSM (merging identical pages).
import { ErrnoError, errnoName } from "../../engine/errors.js";
import { khugepagedScan } from "../../ops/madvise.js";
import { migratePages } from "../../ops/migrate.js";
import { ksmMerge, reclaimPages } from "../../ops/reclaim.js";
import type { DaemonActorSpec } from "../scenario/schema.js";
import { type ActorState, type MappingState, PAGE, type Wait, type World } from "./world.js";

type Gen<T> = Generator<Wait | undefined, T, void>;

export function* daemonActor(w: World, a: ActorState, spec: DaemonActorSpec): Gen<void> {
  const ps = w.procs.get(spec.process)!;
  const mm = ps.mm;
  const targets: MappingState[] = spec.mapping ? [ps.mappings.get(spec.mapping)!] : [...ps.mappings.values()];
  const m = w.metrics;
  const c = a.counters;
  const total = spec.count ?? Infinity;
  const endNs = spec.durationNs ?? w.scenario.run.durationNs ?? Infinity;
  let t = 0;
  let cursor = 0;
  a.clock = spec.startNs;
  a.lastProgressNs = a.clock;
  for (let i = 0; i < total && a.clock < endNs && !mm.exited && !w.stopped; i++) {
    const t0 = a.clock;
    const st = targets[t];
    const n = Math.min(spec.scanPages, st.spec.pages - cursor);
    if (spec.daemon === "khugepaged") {
      if (mm.isLocked) {
        ps.writersWaiting++;
        m.inc(c, "sim.blocked");
        try {
          yield { until: () => !mm.isLocked, reason: `mmap_write_lock(${ps.spec.name})` };
        } finally {
          ps.writersWaiting--;
        }
      }
    } else {
      const wt = w.readLockWait(ps);
      if (wt) {
        m.inc(c, "sim.blocked");
        yield wt;
      }
    }
    if (mm.exited) break;
    m.inc(c, "daemon.runs");
    m.inc(c, `daemon.${spec.daemon}.runs`);
    if (st.mapped) {
      const s = st.addr + cursor * PAGE;
      const len = n * PAGE;
      try {
        switch (spec.daemon) {
          case "numa-balancing":
            mm.numaHintingScan(s, s + len);
            break;
          case "kswapd": {
            const r = reclaimPages(mm, s, len);
            m.inc(c, "daemon.reclaimed", r.swappedOut + r.discarded + r.unmappedFile);
            break;
          }
          case "khugepaged": {
            const r = khugepagedScan(mm, { maxPages: spec.scanPages });
            m.inc(c, "daemon.collapsed", r.collapsed.length);
            a.clock += w.costs["khugepaged.collapseNs"] * r.collapsed.length;
            break;
          }
          case "compaction": {
            const r = migratePages(mm, s, len);
            m.inc(c, "daemon.migratedFolios", r.length);
            break;
          }
          case "ksm": {
            const addrs: number[] = [];
            for (let p = 0; p < n; p++) addrs.push(s + p * PAGE);
            m.inc(c, "daemon.merged", ksmMerge(mm, addrs).merged);
            break;
          }
        }
      } catch (e) {
        if (!(e instanceof ErrnoError)) throw e;
        m.inc(c, `daemon.errors.${errnoName(-e.errno)}`);
      }
      a.clock += w.costs["daemon.scanPageNs"] * n;
    }
    cursor += n;
    if (cursor >= st.spec.pages) {
      cursor = 0;
      t = (t + 1) % targets.length;
    }
    w.emit?.({
      type: "slice",
      actor: a.name,
      name: spec.daemon,
      cat: "daemon",
      ts: t0,
      dur: a.clock - t0,
      args: { pages: n },
    });
    a.lastProgressNs = a.clock;
    a.clock = Math.max(a.clock, t0 + spec.periodNs);
    yield;
  }
}
