// The simulated machine of a scenario run: the engine, the processes and their mappings, the
// devices with one mirror per process they access, the mmap-lock queue, the data shadow, and the
// bookkeeping every actor shares (clocks, metrics, events, the invalidation that each mirror saw).
import { Engine, type EngineOptions } from "../../engine/engine.js";
import { PAGE_SIZE } from "../../engine/layout.js";
import { Mm } from "../../api/mm.js";
import { Device } from "../../drivers/device.js";
import type { Mirror } from "../../drivers/mirror.js";
import { DeviceTable } from "./table.js";
import { HMM_PFN_VALID, HMM_PFN_WRITE } from "../../engine/layout.js";
import {
  MMU_NOTIFY_EVENT_NAMES,
  MMU_NOTIFY_MIGRATE,
  type MmuIntervalNotifier,
  type MmuNotifierRange,
} from "../../mm/notifier.js";
import { SimFile } from "../../mm/file.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_HUGE_1GB,
  MAP_HUGE_2MB,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "../../mm/vma.js";
import { MADV_HUGEPAGE, madvise } from "../../ops/madvise.js";
import type { MmStruct } from "../../mm/mm-struct.js";
import type { VmFault } from "../../fault/fault.js";
import type { Costs } from "../cost/index.js";
import type { SimEvent } from "../events.js";
import type { Metrics, Counters } from "../metrics/metrics.js";
import type { DeviceSpec, MappingSpec, ProcessSpec, Scenario } from "../scenario/schema.js";

export const PAGE = PAGE_SIZE;

/** What an actor generator yields: nothing (an interleaving point) or a condition it waits for. */
export interface Wait {
  until(): boolean;
  reason: string;
}

/** One actor's run state. */
export interface ActorState {
  readonly index: number;
  readonly name: string;
  readonly kind: "device" | "cpu" | "daemon";
  /** Simulated time of this actor (ns). */
  clock: number;
  readonly counters: Counters;
  wait: Wait | null;
  done: boolean;
  /** Last simulated time this actor completed a unit of work (livelock detection). */
  lastProgressNs: number;
}

/** An invalidation as the simulator records it. */
export interface InvalidationRecord {
  id: number;
  event: string;
  start: number;
  end: number;
  actor: string;
  ts: number;
}

export interface MappingState {
  readonly spec: MappingSpec;
  addr: number;
  mapped: boolean;
  readonly file: SimFile | null;
  /** Expected u32 at the start of each page (by page index in the mapping). */
  readonly shadow: Map<number, number>;
  /** Pages whose contents are undefined (MADV_FREE'd): loads are not checked. */
  readonly unknown: Set<number>;
}

export interface ProcessState {
  readonly spec: ProcessSpec;
  readonly mm: Mm;
  readonly mappings: Map<string, MappingState>;
  readonly children: MmStruct[];
  /** Writers waiting for the mmap lock: new readers queue behind them (rwsem fairness). */
  writersWaiting: number;
}

/**
 * A device's mirror of one process: the driver's device page table (dmirror's), subscribed to the
 * process with an interval notifier, plus the invalidations that hit it.
 */
export interface MirrorState {
  readonly notifier: MmuIntervalNotifier;
  readonly dev: DeviceState;
  readonly proc: ProcessState;
  /** The device page table (page number -> pfn * 2 + writable). */
  readonly words: DeviceTable;
  /** Invalidations that changed this mirror's sequence, oldest first (hitBase = absolute index of hits[0]). */
  hits: InvalidationRecord[];
  hitBase: number;
  /** Device pfn -> page number it is committed at (to drop entries when the page is freed). */
  readonly devPages: Map<number, number>;
  /**
   * Bumped whenever the driver erases entries itself for a migration of its own pgmap owner (the
   * MIGRATE event it ignores): a fault in flight must not commit what it walked before that.
   */
  eraseGen: number;
}

/** Drops the device entries of pages [firstPage, lastPage). */
export function dropRange(m: MirrorState, firstPage: number, lastPage: number): void {
  m.words.dropRange(firstPage, lastPage);
}

/** The mirrors as the invariant checker reads them (mm, owner, entries as HMM words). */
export function mirrorViews(w: World): Mirror[] {
  const out: Mirror[] = [];
  for (const d of w.devices.values()) {
    for (const m of d.mirrors) {
      const entries = new Map<number, bigint>();
      for (const [page, word] of m.words.entries())
        entries.set(page, BigInt((word - (word & 1)) / 2) | HMM_PFN_VALID | (word & 1 ? HMM_PFN_WRITE : 0n));
      // exactly the fields checkInvariants reads of a Mirror
      out.push({ mm: m.proc.mm, owner: d.device.owner, entries } as unknown as Mirror);
    }
  }
  return out;
}

export interface DeviceState {
  readonly spec: DeviceSpec;
  readonly device: Device;
  readonly mirrors: MirrorState[];
  /** Chunks migrated to device memory, oldest first (eviction order). */
  readonly migrated: { mst: MirrorState; start: number; end: number }[];
  resident: number;
}

/** An actor that made no progress for run.livelockNs, and why. */
export interface LivelockReport {
  /** Name of the actor that stopped making progress. */
  actor: string;
  /** Its last progress, and when the livelock was declared (simulated ns). */
  sinceNs: number;
  /** When the livelock was declared, in simulated nanoseconds. */
  detectedNs: number;
  /** hmmRangeFault calls it repeated after -EBUSY since its last progress. */
  retries: number;
  /** Retries that failed against an invalidation an earlier retry had already failed against. */
  staleRetries: number;
  /** The explanation, naming the invalidation(s) that keep it retrying. */
  cause: string;
  /** The invalidations its retries were attributed to (the cycle), with the retries each caused. */
  cycle: LivelockCause[];
}

/** One invalidation a livelocked actor's retries were attributed to (an entry of LivelockReport.cycle). */
export interface LivelockCause {
  /** Id of the notifier event. */
  id: number;
  /** The invalidation's event name (e.g. "MMU_NOTIFY_CLEAR"). */
  event: string;
  /** First byte of the invalidated range. */
  start: number;
  /** End of the invalidated range (exclusive). */
  end: number;
  /** The actor whose operation raised it ("" for the scenario's setup). */
  by: string;
  /** When it was raised, in simulated nanoseconds. */
  ts: number;
  /** The retries it caused. */
  retries: number;
}

/** A problem found during a run. */
export interface SimViolation {
  /** Data mismatch (device vs CPU view), broken invariant, simulated deadlock, or an unexpected error. */
  kind: "data" | "invariant" | "deadlock" | "error";
  /** What was found. */
  message: string;
  /** The actor that was running, if any. */
  actor?: string;
  /** Simulated time it was found, in nanoseconds. */
  timeNs: number;
  /** Scheduling step it was found at. */
  step: number;
}

export class World {
  readonly engine: Engine;
  readonly procs = new Map<string, ProcessState>();
  readonly devices = new Map<string, DeviceState>();
  readonly actors: ActorState[] = [];
  /** The actor whose step is running (invalidations are charged to it). */
  current: ActorState | null = null;
  step = 0;
  invCount = 0;
  readonly violations: SimViolation[] = [];
  stopped = false;
  nextFlowId = 1;
  livelock: LivelockReport | null = null;
  /** Recent events, for violation reports (formatted only when a report needs them). */
  private readonly recent: (string | (() => string))[] = [];
  private readonly pendingInv: { rec: InvalidationRecord; seqs: number[]; mirrors: MirrorState[] }[] = [];

  constructor(
    readonly scenario: Scenario,
    readonly costs: Costs,
    readonly metrics: Metrics,
    public emit: ((e: SimEvent) => void) | null,
    engineOpts: EngineOptions,
  ) {
    const m = scenario.machine;
    this.engine = new Engine({
      ...engineOpts,
      ...(m.ramPages ? { ramFrames: m.ramPages } : {}),
      ...(m.swapPages !== undefined ? { swapPages: m.swapPages } : {}),
      ...(m.walker ? { walker: m.walker } : {}),
    });
    if (m.hugetlb.pages2M) this.engine.setHugetlbPages(21, m.hugetlb.pages2M);
    if (m.hugetlb.pages1G) this.engine.setHugetlbPages(30, m.hugetlb.pages1G);
    for (const d of scenario.devices) this.addDevice(d);
    for (const p of scenario.processes) this.addProcess(p);
  }

  private addDevice(spec: DeviceSpec): void {
    const owner = spec.owner !== undefined ? this.devices.get(spec.owner)?.device.owner : undefined;
    const st: DeviceState = { spec, device: undefined as unknown as Device, mirrors: [], migrated: [], resident: 0 };
    (st as { device: Device }).device = new Device(this.engine, {
      pages: spec.memoryPages,
      coherent: spec.kind === "coherent",
      ...(owner !== undefined ? { owner } : {}),
      pageFree: (pfn) => this.devicePageFreed(st, pfn),
    });
    // dmirror_devmem_fault erases its device-table entry itself (the MIGRATE it raises is its own
    // and ignored): do the same for every mirror of this pgmap owner before the default migration
    const device = st.device;
    const base = device.migrateToRam.bind(device);
    device.migrateToRam = (vmf: VmFault): number => {
      for (const d of this.devices.values()) {
        if (d.device.owner !== device.owner) continue;
        for (const m of d.mirrors) {
          if (m.proc.mm !== vmf.mm) continue;
          m.words.delete(Math.floor(vmf.address / PAGE));
          m.eraseGen++;
        }
      }
      return base(vmf);
    };
    this.devices.set(spec.name, st);
  }

  private addProcess(spec: ProcessSpec): void {
    const m = this.scenario.machine;
    const mm = new Mm(this.engine, {
      levels: m.levels,
      profile: m.profile,
      thp: m.thp,
      hugeZeroPage: spec.hugeZeroPage,
      numaMigrateOnFault: spec.numaMigrateOnFault,
    });
    const ps: ProcessState = { spec, mm, mappings: new Map(), children: [], writersWaiting: 0 };
    this.procs.set(spec.name, ps);
    mm.notifiers.onInvalidate((phase, range) => this.onInvalidate(ps, phase, range));
    for (const ms of spec.mappings) {
      const file =
        ms.kind === "file-private" || ms.kind === "file-shared"
          ? new SimFile(
              `${spec.name}.${ms.name}`,
              ms.pages * PAGE,
              "regular",
              ms.init === "index" ? indexContents(ms.pages) : null,
            )
          : null;
      const st: MappingState = { spec: ms, addr: 0, mapped: false, file, shadow: new Map(), unknown: new Set() };
      ps.mappings.set(ms.name, st);
      this.mapMapping(ps, st, false);
      if (ms.init === "index") {
        for (let p = 0; p < ms.pages; p++) {
          if (!file) mm.cpuWriteU32(st.addr + p * PAGE, p);
          st.shadow.set(p, p);
        }
      }
      if (ms.populate !== "none") mm.populate(st.addr, ms.pages * PAGE, ms.populate === "write");
    }
  }

  /** mmap()s a mapping (again, at its address, when `fixed`). */
  mapMapping(ps: ProcessState, st: MappingState, fixed: boolean): void {
    const ms = st.spec;
    const prot = protOf(ms.prot);
    const length = ms.pages * PAGE;
    const fixedFlags = fixed ? MAP_FIXED : 0;
    const addr = fixed ? { addr: st.addr } : {};
    const mm = ps.mm;
    switch (ms.kind) {
      case "anon":
        st.addr = mm.mmap({ ...addr, length, prot, flags: MAP_PRIVATE | MAP_ANONYMOUS | fixedFlags });
        break;
      case "anon-shared":
        st.addr = mm.mmap({ ...addr, length, prot, flags: MAP_SHARED | MAP_ANONYMOUS | fixedFlags });
        break;
      case "file-private":
        st.addr = mm.mmap({ ...addr, length, prot, flags: MAP_PRIVATE | fixedFlags, file: st.file as SimFile });
        break;
      case "file-shared":
        st.addr = mm.mmap({ ...addr, length, prot, flags: MAP_SHARED | fixedFlags, file: st.file as SimFile });
        break;
      case "hugetlb":
        st.addr = mm.mmap({
          ...addr,
          length,
          prot,
          flags:
            MAP_PRIVATE |
            MAP_ANONYMOUS |
            MAP_HUGETLB |
            fixedFlags |
            (ms.hugeSize === "1G" ? MAP_HUGE_1GB : MAP_HUGE_2MB),
        });
        break;
      case "device": {
        const dev = this.devices.get(ms.device as string) as DeviceState;
        st.addr = dev.device.mmap(mm, length, prot, "mixedmap");
        break;
      }
    }
    if (ms.hugepage && (ms.kind === "anon" || ms.kind === "anon-shared")) madvise(mm, st.addr, length, MADV_HUGEPAGE);
    st.mapped = true;
  }

  /** The mirror of device `dev` on process `ps` (created on first use). */
  mirrorOf(dev: DeviceState, ps: ProcessState): MirrorState {
    let ms = dev.mirrors.find((m) => m.proc === ps);
    if (!ms) {
      const owner = dev.device.owner;
      const words = new DeviceTable();
      const mm = ps.mm;
      const notifier = mm.intervalNotifierInsert(0, mm.taskSize + PAGE, {
        invalidate: (sub, range, curSeq) => {
          // dmirror ignores the migrations its own pgmap owner started (it updates its table itself)
          if (range.event === MMU_NOTIFY_MIGRATE && range.owner === owner) return true;
          mm.notifiers.setSeq(sub, curSeq);
          dropRange(
            state,
            Math.floor(range.start / PAGE),
            range.end === Infinity ? Infinity : Math.ceil(range.end / PAGE),
          );
          return true;
        },
      });
      const state: MirrorState = {
        notifier,
        dev,
        proc: ps,
        words,
        hits: [],
        hitBase: 0,
        devPages: new Map(),
        eraseGen: 0,
      };
      ms = state;
      dev.mirrors.push(ms);
    }
    return ms;
  }

  /** Invalidations: counted, charged to the running actor, and matched to the mirrors they hit. */
  private onInvalidate(ps: ProcessState, phase: "start" | "end", range: MmuNotifierRange): void {
    const cur = this.current;
    if (phase === "start") {
      const event = MMU_NOTIFY_EVENT_NAMES[range.event];
      const rec: InvalidationRecord = {
        id: ++this.invCount,
        event,
        start: range.start,
        end: range.end,
        actor: cur?.name ?? "",
        ts: cur?.clock ?? 0,
      };
      const mirrors: MirrorState[] = [];
      for (const d of this.devices.values()) for (const m of d.mirrors) if (m.proc === ps) mirrors.push(m);
      this.pendingInv.push({ rec, seqs: mirrors.map((m) => m.notifier.invalidateSeq), mirrors });
      if (cur) {
        this.metrics.inc(cur.counters, "invalidations.total");
        this.metrics.inc(cur.counters, `invalidations.${event}`);
      }
      return;
    }
    const p = this.pendingInv.pop();
    if (!p) return;
    let hit = 0;
    p.mirrors.forEach((m, i) => {
      if (m.notifier.invalidateSeq === p.seqs[i]) return;
      hit++;
      m.hits.push(p.rec);
      if (m.hits.length > 4096) {
        m.hits.splice(0, 2048);
        m.hitBase += 2048;
      }
    });
    if (cur && hit > 0)
      cur.clock += hit * (this.costs["invalidate.perNotifierNs"] + this.costs["invalidate.deviceTlbNs"]);
    if (this.emit) {
      const r = p.rec;
      this.emit({
        type: "instant",
        actor: r.actor,
        name: `invalidate ${r.event}`,
        cat: "invalidate",
        ts: r.ts,
        args: { id: r.id, start: hex(r.start), end: r.end === Infinity ? "inf" : hex(r.end), mirrorsHit: hit },
      });
    }
    if (hit > 0) this.note(() => `${fmtInv(p.rec)} hit ${hit} mirror(s)`);
  }

  /** A device page went back to the free list: committed entries that point at it are gone. */
  private devicePageFreed(dev: DeviceState, pfn: number): void {
    dev.resident = Math.max(0, dev.resident - 1);
    for (const m of dev.mirrors) {
      const page = m.devPages.get(pfn);
      if (page === undefined) continue;
      m.devPages.delete(pfn);
      const word = m.words.get(page);
      if (word >= 0 && (word - (word & 1)) / 2 === pfn) m.words.delete(page);
    }
  }

  /** Ends the run with a livelock report when `a` has made no progress for run.livelockNs. */
  checkLivelock(
    a: ActorState,
    log: {
      retries: number;
      stale: number;
      causes: Map<number, { invalidation: InvalidationRecord | null; count: number }>;
    },
  ): void {
    const limit = this.scenario.run.livelockNs;
    if (a.clock - a.lastProgressNs <= limit || this.livelock) return;
    const cycle = [...log.causes.values()]
      .filter((x) => x.invalidation)
      .map((x) => {
        const r = x.invalidation as InvalidationRecord;
        return { id: r.id, event: r.event, start: r.start, end: r.end, by: r.actor, ts: r.ts, retries: x.count };
      });
    const span = Math.round(a.clock - a.lastProgressNs);
    let cause: string;
    if (cycle.length === 1 && log.stale > 0) {
      const r = log.causes.values().next().value!.invalidation as InvalidationRecord;
      cause =
        `${a.name} retried ${log.retries} times in ${span} ns without completing a fault: every retry failed against the same ` +
        `${fmtInv(r)}. The driver keeps the notifierSeq it read before that invalidation (refreshSeqOnBusy: false), ` +
        `so hmm_range_fault returns -EBUSY at its first sequence check on every retry until the retry budget runs out.`;
    } else {
      const by = new Map<string, number>();
      for (const x of cycle)
        by.set(`${x.event} by ${x.by || "setup"}`, (by.get(`${x.event} by ${x.by || "setup"}`) ?? 0) + x.retries);
      cause =
        `${a.name} retried ${log.retries} times in ${span} ns without completing a fault batch: invalidations keep changing ` +
        `the notifier sequence before a walk can commit (${[...by].map(([k, n]) => `${k}: ${n}`).join(", ") || "no invalidation recorded"}).`;
    }
    this.livelock = {
      actor: a.name,
      sinceNs: a.lastProgressNs,
      detectedNs: a.clock,
      retries: log.retries,
      staleRetries: log.stale,
      cause,
      cycle: cycle.slice(-8),
    };
    this.note(`LIVELOCK: ${cause}`);
    this.stopped = true;
  }

  /** Remembers a line for violation reports (the last 32 to 64). */
  note(line: string | (() => string)): void {
    const step = this.step;
    const who = this.current ? this.current.name : "setup";
    const clock = this.current ? Math.round(this.current.clock) : 0;
    this.recent.push(() => `#${step} ${who}@${clock}ns: ${typeof line === "string" ? line : line()}`);
    if (this.recent.length > 64) this.recent.splice(0, 32);
  }

  /** The last n noted lines. */
  lastEvents(n: number): string[] {
    return this.recent.slice(-n).map((l) => (typeof l === "string" ? l : l()));
  }

  violation(kind: SimViolation["kind"], message: string): void {
    this.violations.push({
      kind,
      message,
      actor: this.current?.name,
      timeNs: this.current?.clock ?? 0,
      step: this.step,
    });
    this.note(`VIOLATION ${kind}: ${message}`);
    this.stopped = true;
  }

  /**
   * mmap_read_lock: waits while a writer waits (rwsem fairness). No actor keeps the write lock
   * across a yield, so a writer is never holding it when a reader is scheduled.
   */
  readLockWait(ps: ProcessState): Wait | null {
    if (ps.writersWaiting === 0) return null;
    return { until: () => ps.writersWaiting === 0, reason: `mmap_read_lock(${ps.spec.name})` };
  }
}

/**
 * The shadow of a mapping just mmap()ed again over its old range (remap: munmap + mmap or
 * MAP_FIXED): what a fresh mapping of its kind reads. Anonymous, hugetlb and device memory is new
 * and reads zero; a private file mapping reads the file, which private writes never reached (its
 * initial contents); a shared file mapping reads the file, which holds every store made through
 * the old mapping, so its shadow stands. Pages whose contents were undefined (MADV_FREE) are new.
 */
export function resetShadowAfterMap(st: MappingState): void {
  st.unknown.clear();
  if (st.spec.kind === "file-shared") return;
  st.shadow.clear();
  if (st.spec.kind === "file-private" && st.spec.init === "index")
    for (let p = 0; p < st.spec.pages; p++) st.shadow.set(p, p);
}

export function protOf(p: "none" | "r" | "rw"): number {
  return p === "none" ? PROT_NONE : p === "r" ? PROT_READ : PROT_READ | PROT_WRITE;
}

function indexContents(pages: number): Uint8Array {
  const b = new Uint8Array(pages * PAGE);
  const v = new DataView(b.buffer);
  for (let p = 0; p < pages; p++) v.setUint32(p * PAGE, p, true);
  return b;
}

export function hex(n: number): string {
  return "0x" + n.toString(16);
}

export function fmtInv(r: InvalidationRecord): string {
  return `invalidation #${r.id} ${r.event} [${hex(r.start)}, ${r.end === Infinity ? "inf" : hex(r.end)}) by ${r.actor || "setup"} at ${Math.round(r.ts)}ns`;
}
