// Device-memory migration by the simulated driver: migrate-on-fault of a chunk to device memory
// (dmirror_migrate_to_device) and eviction of the oldest chunk back to RAM when the memory is
// full (dmirror_migrate_to_system, by range).
import { ErrnoError, errnoName } from "../../engine/errors.js";
import { FRAME } from "../../engine/layout.js";
import {
  MIGRATE_PFN_MIGRATE,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  hasFlag,
  migratePfn,
  migratePfnToPfn,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
} from "../../ops/migrate-device.js";
import { transferNs } from "../cost/index.js";
import {
  type ActorState,
  type DeviceState,
  type MirrorState,
  PAGE,
  type Wait,
  type World,
  dropRange,
} from "./world.js";

type Gen<T> = Generator<Wait | undefined, T, void>;

/** migrate_vma_* of a chunk to device memory (dmirror_migrate_to_device), evicting old chunks when full. */
export function* migrateChunk(w: World, a: ActorState, mst: MirrorState, s: number, e: number): Gen<void> {
  const ps = mst.proc;
  const mm = ps.mm;
  const dev = mst.dev;
  const m = w.metrics;
  const c = a.counters;
  const npages = (e - s) / PAGE;
  const wt = w.readLockWait(ps);
  if (wt) yield wt;
  if (mm.exited) return;
  const t0 = a.clock;
  mm.mmapReadLock();
  try {
    while (dev.device.freePages < npages && dev.migrated.length > 0) evict(w, a, dev);
    if (dev.device.freePages === 0) return;
    let moved: number;
    try {
      moved = dev.device.migrateToDevice(mm, s, e);
    } catch (err) {
      // migrate_vma_setup refuses a range without a VMA (unmapped meanwhile): the fault reports it
      if (!(err instanceof ErrnoError)) throw err;
      m.inc(c, `migrations.errors.${errnoName(-err.errno)}`);
      return;
    }
    if (moved > 0) {
      dev.migrated.push({ mst, start: s, end: e });
      dev.resident += moved;
      m.inc(c, "migrations.toDevice.pages", moved);
      m.inc(c, "migrations.toDevice.bytes", moved * PAGE);
      a.clock += w.costs["migrate.perPageNs"] * moved + transferNs(w.costs, moved * PAGE);
      // the pages moved under the mirror: drop the stale entries, the fault below maps the new ones
      // (every mirror of this pgmap owner ignored the MIGRATE event as its own, like dmirror)
      for (const d of w.devices.values()) {
        if (d.device.owner !== dev.device.owner) continue;
        for (const other of d.mirrors) {
          if (other.proc !== ps) continue;
          dropRange(other, s / PAGE, e / PAGE);
          other.eraseGen++;
        }
      }
      w.emit?.({
        type: "slice",
        actor: a.name,
        name: "migrate to device",
        cat: "migrate",
        ts: t0,
        dur: a.clock - t0,
        args: { pages: moved },
      });
      w.emit?.({ type: "counter", name: `${dev.spec.name} resident pages`, ts: a.clock, value: dev.resident });
    }
  } finally {
    mm.mmapReadUnlock();
  }
}

/**
 * Evicts the oldest migrated chunk back to system memory: migrate_vma over its range selecting
 * device-private pages (dmirror_migrate_to_system), so no rmap walk over the whole machine.
 */
function evict(w: World, a: ActorState, dev: DeviceState): void {
  const { mst, start, end } = dev.migrated.shift()!;
  const mm = mst.proc.mm;
  if (mm.exited) return;
  const t0 = a.clock;
  let n = 0;
  const vm = migrateVmaSetup(mm, {
    start,
    end,
    pgmapOwner: dev.device.owner,
    flags: MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  });
  if (typeof vm === "number") return;
  for (let i = 0; i < vm.npages; i++) {
    const spfn = migratePfnToPfn(vm.src[i]);
    if (!spfn || !hasFlag(vm.src[i], MIGRATE_PFN_MIGRATE)) continue;
    const dpfn = w.engine.allocFrames(0, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
    if (dpfn === 0) break;
    w.engine.copyFrame(spfn, dpfn);
    vm.dst[i] = migratePfn(dpfn);
    n++;
  }
  migrateVmaPages(vm);
  migrateVmaFinalize(vm);
  // the MIGRATE event was this owner's own: erase the entries like the driver does
  for (const d of w.devices.values()) {
    if (d.device.owner !== dev.device.owner) continue;
    for (const other of d.mirrors) {
      if (other.proc !== mst.proc) continue;
      dropRange(other, start / PAGE, end / PAGE);
      other.eraseGen++;
    }
  }
  if (n === 0) return;
  w.metrics.inc(a.counters, "migrations.toRam.pages", n);
  w.metrics.inc(a.counters, "migrations.toRam.bytes", n * PAGE);
  w.metrics.inc(a.counters, "migrations.evictions");
  a.clock += w.costs["migrate.perPageNs"] * n + transferNs(w.costs, n * PAGE);
  w.emit?.({
    type: "slice",
    actor: a.name,
    name: "evict to ram",
    cat: "migrate",
    ts: t0,
    dur: a.clock - t0,
    args: { pages: n },
  });
  w.emit?.({ type: "counter", name: `${dev.spec.name} resident pages`, ts: a.clock, value: dev.resident });
}
