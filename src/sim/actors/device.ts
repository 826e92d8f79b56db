// A device actor: an access stream (device/GPU threads) served by a driver that mirrors the CPU
// page table through HMM (the dmirror protocol): accesses that hit a committed entry cost a device
// access; the misses of a batch become one far-fault batch, served chunk by chunk with
// readBegin -> mmap read lock -> hmm_range_fault (stepped) -> unlock -> readRetry -> commit.
// The actor yields between walk passes, between faults, between the walk and the commit, and
// between batches: where the kernel lets other work in.
import { errnoName } from "../../engine/errors.js";
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, EBUSY, EFAULT, hmmRangeFaultBegin } from "../../hmm/range-fault.js";
import { PfnArray } from "../../hmm/pfns.js";
import { WouldBlockError } from "../../mm/notifier.js";
import { HMM_PFN_HI } from "../../engine/layout.js";
import { profileInfo } from "../../engine/profile.js";
import type { DeviceActorSpec } from "../scenario/schema.js";
import type { Rng } from "../sched/rng.js";
import { FAULT_COST, classifyFault, thpAfter } from "./classify.js";
import { migrateChunk } from "./migrate.js";
import { makePattern } from "./patterns.js";
import {
  type ActorState,
  type InvalidationRecord,
  type MappingState,
  type MirrorState,
  PAGE,
  type Wait,
  type World,
  fmtInv,
  hex,
} from "./world.js";

type Gen<T> = Generator<Wait | undefined, T, void>;

/** Why a device actor kept retrying without progress (the livelock report). */
export interface RetryCause {
  invalidation: InvalidationRecord | null;
  count: number;
}

/** The retry bookkeeping of one device actor since its last progress. */
export interface DeviceRetryLog {
  retries: number;
  stale: number;
  causes: Map<number, RetryCause>;
}

export function* deviceActor(w: World, a: ActorState, spec: DeviceActorSpec, rng: Rng, log: DeviceRetryLog): Gen<void> {
  const ps = w.procs.get(spec.process)!;
  const ms = ps.mappings.get(spec.mapping)!;
  const dev = w.devices.get(spec.device)!;
  const mst = w.mirrorOf(dev, ps);
  const driver = dev.spec.driver;
  const next = makePattern(spec.pattern, ms.spec.pages, rng);
  const pfns = new PfnArray(w.engine, driver.faultChunk);
  const buf4 = new Uint8Array(4);
  const m = w.metrics;
  const c = a.counters;
  const costs = w.costs;
  const total = spec.count ?? Infinity;
  const endNs = spec.durationNs ?? w.scenario.run.durationNs ?? Infinity;
  const chunk = driver.faultChunk;
  const pending: number[] = [];
  const chunks = new Map<number, boolean>();
  const words = mst.words;
  const hitNs = costs["gpu.accessNs"];
  a.clock = spec.startNs;
  a.lastProgressNs = a.clock;
  let done = 0;

  /** The device's load or store through a committed entry: checks the data the CPU last wrote. */
  let reads = 0;
  let writes = 0;
  const access = (page: number, write: boolean): void => {
    const vp = ms.addr / PAGE + page;
    const word = mst.words.get(vp);
    if (word < 0 || (write && (word & 1) === 0)) return;
    const pfn = (word - (word & 1)) / 2;
    if (write) {
      const v = (w.step * 64 + a.index + 1) >>> 0;
      buf4[0] = v;
      buf4[1] = v >>> 8;
      buf4[2] = v >>> 16;
      buf4[3] = v >>> 24;
      w.engine.writeFrame(pfn, 0, buf4);
      ms.shadow.set(page, v);
      ms.unknown.delete(page);
      writes++;
    } else {
      w.engine.readFrame(pfn, 0, buf4);
      const got = (buf4[0] | (buf4[1] << 8) | (buf4[2] << 16) | (buf4[3] << 24)) >>> 0;
      const want = ms.shadow.get(page) ?? 0;
      reads++;
      if (got !== want && !ms.unknown.has(page))
        w.violation(
          "data",
          `${a.name} read ${got} at page ${page} of ${spec.process}.${spec.mapping} (pfn ${hex(pfn)}), the CPU last wrote ${want}`,
        );
    }
  };

  try {
    while (done < total && a.clock < endNs && !ps.mm.exited && !w.stopped) {
      const batchStart = a.clock;
      pending.length = 0;
      chunks.clear();
      let accesses = 0;
      let hits = 0;
      for (let k = 0; k < driver.faultBatch && done < total; k++) {
        done++;
        accesses++;
        const page = next();
        const write = spec.writeRatio > 0 && rng.float() < spec.writeRatio;
        if (!ms.mapped) {
          // a far fault the driver cannot serve (no VMA): it costs a fault batch and fails
          m.inc(c, "device.errors.unmapped");
          a.clock += costs["gpu.farFaultBatchNs"];
          continue;
        }
        const vp = ms.addr / PAGE + page;
        const word = words.get(vp);
        if (word >= 0 && (!write || (word & 1) === 1)) {
          a.clock += hitNs;
          hits++;
          access(page, write);
          continue;
        }
        pending.push(page, write ? 1 : 0);
        const cs = page - (page % chunk);
        chunks.set(cs, (chunks.get(cs) ?? false) || write);
      }
      m.inc(c, "device.accesses", accesses);
      if (hits > 0) {
        m.inc(c, "device.hits", hits);
        m.sample("device.access", hitNs, hits);
      }
      let ok = true;
      if (pending.length > 0) {
        m.inc(c, "device.faultBatches");
        a.clock += costs["gpu.farFaultBatchNs"];
        for (const [cs, write] of chunks) {
          if (!ms.mapped || w.stopped) break;
          const s = ms.addr + cs * PAGE;
          const e = ms.addr + Math.min(cs + chunk, ms.spec.pages) * PAGE;
          const r = yield* driverFault(w, a, mst, ms, s, e, write, pfns, log);
          if (r !== 0) {
            ok = false;
            m.inc(c, `device.errors.${errnoName(-r)}`);
          }
        }
        for (let i = 0; i < pending.length; i += 2) access(pending[i], pending[i + 1] === 1);
        m.sample("device.access", a.clock - batchStart, pending.length / 2);
        m.sample("device.faultBatch", a.clock - batchStart);
        w.emit?.({
          type: "slice",
          actor: a.name,
          name: "fault batch",
          cat: "device",
          ts: batchStart,
          dur: a.clock - batchStart,
          args: { faults: pending.length / 2, chunks: chunks.size },
        });
      }
      if (reads > 0) m.inc(c, "device.reads", reads);
      if (writes > 0) m.inc(c, "device.writes", writes);
      reads = writes = 0;
      if (ok) {
        a.lastProgressNs = a.clock;
        log.retries = 0;
        log.stale = 0;
        log.causes.clear();
      }
      a.clock += spec.thinkNs;
      yield;
    }
  } finally {
    pfns.free();
  }
}

/** mmu_interval_read_begin: waits (blocks the actor) while the subscription's epoch is running. */
function* readBegin(mst: MirrorState): Gen<number> {
  for (;;) {
    try {
      return mst.proc.mm.notifiers.readBegin(mst.notifier);
    } catch (e) {
      if (!(e instanceof WouldBlockError)) throw e;
      const subs = mst.proc.mm.notifiers;
      yield { until: () => subs.activeInvalidateRanges === 0, reason: "mmu_interval_read_begin" };
    }
  }
}

/** One chunk through the driver protocol (dmirror_range_fault + commit). Returns 0 or a negative errno. */
function* driverFault(
  w: World,
  a: ActorState,
  mst: MirrorState,
  ms: MappingState,
  s: number,
  e: number,
  write: boolean,
  pfns: PfnArray,
  log: DeviceRetryLog,
): Gen<number> {
  const ps = mst.proc;
  const mm = ps.mm;
  const dev = mst.dev;
  const driver = dev.spec.driver;
  const m = w.metrics;
  const c = a.counters;
  const costs = w.costs;
  const npages = (e - s) / PAGE;
  const fine = w.scenario.run.interleave === "fault";
  const notifier = mst.notifier;
  const migrate = driver.migrateOnFault === "always" || (driver.migrateOnFault === "write" && write);
  if (migrate) yield* migrateChunk(w, a, mst, s, e);
  // pages that were on another device came back to RAM during the walk (migrate_to_ram): a driver
  // that migrates on fault moves them on to its own memory, once, and maps them again
  let pulled = 0;
  let remigrated = false;
  const t0 = a.clock;
  let seq = yield* readBegin(mst);
  let hitPos = mst.hitBase + mst.hits.length;
  let gen = mst.eraseGen;
  const defaultFlags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0n);
  for (;;) {
    if (w.stopped) return EBUSY;
    if (a.clock - t0 > driver.retryBudgetNs) {
      m.inc(c, "retries.budgetExhausted");
      w.emit?.({ type: "instant", actor: a.name, name: "retry budget exhausted", cat: "retry", ts: a.clock });
      w.note(`${a.name}: retry budget of ${driver.retryBudgetNs}ns exhausted on [${hex(s)}, ${hex(e)})`);
      return EBUSY;
    }
    const wt = w.readLockWait(ps);
    if (wt) {
      m.inc(c, "sim.blocked");
      yield wt;
    }
    if (mm.exited || !ms.mapped) return EFAULT;
    mm.mmapReadLock();
    const callStart = a.clock;
    a.clock += costs["hmm.callNs"];
    m.inc(c, "hmm.calls");
    m.inc(c, "hmm.pages", npages);
    let r: number;
    try {
      const st = hmmRangeFaultBegin(
        {
          notifier,
          notifierSeq: seq,
          start: s,
          end: e,
          hmmPfns: pfns,
          defaultFlags,
          devPrivateOwner: dev.device.owner,
        },
        { engine: w.engine.walker, fine },
      );
      if (typeof st === "number") {
        r = st;
      } else {
        for (;;) {
          const fa = st.nextFaultAddr;
          const stepStart = a.clock;
          const kind = fa >= 0 ? classifyFault(mm, fa, st.writeFault) : null;
          const before = st.stats.faultedPages;
          r = st.step();
          if (kind !== null) {
            const k = thpAfter(mm, fa, kind);
            const n = st.stats.faultedPages - before;
            m.inc(c, `faults.${k}`, n);
            if (k === "migrateToRam") {
              m.inc(c, "migrations.toRam.pages", n);
              pulled += n;
            }
            a.clock += k === "thp" ? costs["fault.thpNs"] : costs[FAULT_COST[k]] * n;
            w.emit?.({
              type: "slice",
              actor: a.name,
              name: `fault ${k}`,
              cat: "fault",
              ts: stepStart,
              dur: a.clock - stepStart,
              args: { addr: hex(fa), pages: n },
            });
          } else {
            a.clock += costs["walk.pageNs"] * st.walkedPages;
            w.emit?.({
              type: "slice",
              actor: a.name,
              name: "walk pass",
              cat: "hmm",
              ts: stepStart,
              dur: a.clock - stepStart,
              args: { pages: st.walkedPages },
            });
          }
          if (r <= 0) break;
          // another actor may run here: between passes, or between the faults of a chunk
          yield;
        }
        m.inc(c, "hmm.passes", st.stats.passes);
        if (st.stats.passes > 1) m.inc(c, "hmm.rewalks", st.stats.passes - 1);
        m.inc(c, "hmm.faultedPages", st.stats.faultedPages);
        if (st.stats.migrationWaits) m.inc(c, "hmm.migrationWaits", st.stats.migrationWaits);
      }
    } finally {
      mm.mmapReadUnlock();
    }
    w.emit?.({
      type: "slice",
      actor: a.name,
      name: "hmm_range_fault",
      cat: "hmm",
      ts: callStart,
      dur: a.clock - callStart,
      args: { start: hex(s), pages: npages, ret: errnoName(r) },
    });
    if (r === EBUSY) {
      retried(w, a, mst, hitPos, "ebusy", log);
      if (driver.refreshSeqOnBusy) {
        seq = yield* readBegin(mst);
        hitPos = mst.hitBase + mst.hits.length;
        gen = mst.eraseGen;
      }
      yield;
      continue;
    }
    if (r !== 0) return r;
    // between the walk returning and the driver taking its lock
    yield;
    if (mm.notifiers.readRetry(notifier, seq)) {
      retried(w, a, mst, hitPos, "readRetry", log);
      if (driver.refreshSeqOnBusy) {
        seq = yield* readBegin(mst);
        hitPos = mst.hitBase + mst.hits.length;
        gen = mst.eraseGen;
      }
      yield;
      continue;
    }
    if (mst.eraseGen !== gen) {
      // the driver erased entries for its own migration meanwhile (under its lock in a real driver)
      retried(w, a, mst, -1, "ownMigration", log);
      seq = yield* readBegin(mst);
      hitPos = mst.hitBase + mst.hits.length;
      gen = mst.eraseGen;
      yield;
      continue;
    }
    commit(w, a, mst, s, npages, pfns);
    if (migrate && pulled > 0 && !remigrated) {
      remigrated = true;
      yield* migrateChunk(w, a, mst, s, e);
      seq = yield* readBegin(mst);
      hitPos = mst.hitBase + mst.hits.length;
      gen = mst.eraseGen;
      continue;
    }
    return 0;
  }
}

/** The driver's commit under its lock: the device page table takes the walk's output. */
function commit(w: World, a: ActorState, mst: MirrorState, s: number, npages: number, pfns: PfnArray): void {
  const first = s / PAGE;
  const dev = mst.dev.device;
  const words = mst.words;
  // the words straight from engine memory, read as numbers (pfn below the order field, WRITE bit)
  const pfnHiMask = 2 ** (profileInfo(mst.proc.mm.profile).orderShift - 32) - 1;
  const u32 = w.engine.mem().u32;
  const base = pfns.ptr >>> 2;
  const devFirst = dev.firstPfn;
  const devEnd = dev.firstPfn + dev.npages;
  for (let i = 0; i < npages; i++) {
    const hi = u32[base + 2 * i + 1];
    const pfn = (hi & pfnHiMask) * 4294967296 + u32[base + 2 * i];
    words.set(first + i, pfn * 2 + ((hi & HMM_PFN_HI.WRITE) !== 0 ? 1 : 0));
    if (pfn >= devFirst && pfn < devEnd) mst.devPages.set(pfn, first + i);
  }
  w.metrics.inc(a.counters, "device.tableUpdates", npages);
  w.emit?.({
    type: "instant",
    actor: a.name,
    name: "commit",
    cat: "device",
    ts: a.clock,
    args: { start: hex(s), pages: npages },
  });
}

/** An external retry: counted, attributed to the invalidation that caused it, charged the back-off. */
function retried(
  w: World,
  a: ActorState,
  mst: MirrorState,
  hitPos: number,
  kind: "ebusy" | "readRetry" | "ownMigration",
  log: DeviceRetryLog,
): void {
  const m = w.metrics;
  const c = a.counters;
  m.inc(c, "retries.external");
  m.inc(c, `retries.${kind}`);
  const idx = hitPos - mst.hitBase;
  const cause = kind !== "ownMigration" && idx >= 0 && idx < mst.hits.length ? mst.hits[idx] : null;
  const prev = cause ? log.causes.get(cause.id) : undefined;
  if (cause) {
    m.inc(c, `retries.cause.${cause.event}`);
    if (prev) {
      prev.count++;
      // the same invalidation blamed again: the driver is retrying with a sequence it already saw fail
      log.stale++;
      m.inc(c, "retries.staleSeq");
    } else {
      log.causes.set(cause.id, { invalidation: cause, count: 1 });
    }
  } else {
    m.inc(c, kind === "ownMigration" ? "retries.cause.ownMigration" : "retries.cause.unknown");
  }
  log.retries++;
  // an effect cannot precede its cause: the device learns of the invalidation no earlier than it happened
  if (cause && cause.ts > a.clock) a.clock = cause.ts;
  w.emit?.({
    type: "instant",
    actor: a.name,
    name: kind === "ebusy" ? "-EBUSY" : kind,
    cat: "retry",
    ts: a.clock,
    args: { cause: cause ? cause.id : 0 },
  });
  if (cause && w.emit)
    w.emit({
      type: "flow",
      id: w.nextFlowId++,
      name: `${cause.event} -> ${kind}`,
      from: { actor: cause.actor, ts: cause.ts },
      to: { actor: a.name, ts: a.clock },
    });
  if (!prev) w.note(`${a.name}: ${kind} caused by ${cause ? fmtInv(cause) : "an unknown invalidation"}`);
  a.clock += w.costs["retry.backoffNs"];
  w.checkLivelock(a, log);
}
